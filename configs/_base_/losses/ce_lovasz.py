# Cross-entropy + Lovász, summed, for a decode head:
#   _base_ = [..., '../_base_/losses/ce_lovasz.py']
#   model = dict(decode_head=dict(loss_decode={{_base_.loss_ce_lovasz}}))
# The log shows both items, loss_ce and loss_lovasz. For a one-channel binary
# head (out_channels=1) the CE entry needs use_sigmoid=True; the Lovász entry
# switches to the hinge by itself. See docs/losses.md.
loss_ce_lovasz = [
    dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        loss_name='loss_ce'),
    dict(
        type='LovaszLoss',
        classes='present',
        per_image=False,
        loss_weight=1.0,
        loss_name='loss_lovasz'),
]
