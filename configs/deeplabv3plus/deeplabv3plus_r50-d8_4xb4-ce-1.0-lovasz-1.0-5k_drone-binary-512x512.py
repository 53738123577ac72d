# deeplabv3plus_r50-d8_4xb4-5k_drone-binary-512x512.py with the Lovasz
# option of the Pascal-Person-Part recipe (Berman et al., CVPR 2018):
# cross-entropy + Lovasz, summed with weight 1.0 each, on the decode head
# (configs/_base_/losses/ce_lovasz.py) instead of the Tversky loss; the
# auxiliary head gets cross-entropy (weight 0.4). The head has one sigmoid
# channel, so the CE entries are binary (use_sigmoid=True) and the Lovasz
# loss is the Lovasz hinge. 4 GPUs x 4 images, as the base config.
_base_ = [
    './deeplabv3plus_r50-d8_4xb4-5k_drone-binary-512x512.py',
    '../_base_/losses/ce_lovasz.py',
]
loss_ce, loss_lovasz = _base_.loss_ce_lovasz
model = dict(
    decode_head=dict(
        loss_decode=[dict(loss_ce, use_sigmoid=True), loss_lovasz]),
    auxiliary_head=dict(
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=0.4,
            _delete_=True)))
