# The Lovász loss option of a decode head, alone (mmseg_ext.LovaszLoss):
#   _base_ = [..., '../_base_/losses/lovasz.py']
#   model = dict(decode_head=dict(loss_decode={{_base_.loss_lovasz}}))
# Lovász-Softmax on multi-class heads, Lovász-hinge on one-channel binary
# heads (out_channels=1), picked from the logits; one Jaccard loss per class
# over the whole batch, averaged over the classes present in the batch; the
# head's ignore_index. Berman et al., CVPR 2018. See docs/losses.md.
loss_lovasz = dict(
    type='LovaszLoss',
    classes='present',
    per_image=False,
    loss_weight=1.0,
    loss_name='loss_lovasz')
