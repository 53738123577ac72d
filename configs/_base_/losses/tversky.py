# (Focal) Tversky loss for a decode head (mmseg_ext.TverskyLoss):
#   _base_ = [..., '../_base_/losses/tversky.py']
#   model = dict(decode_head=dict(loss_decode={{_base_.loss_tversky}}))
# TI = (TP + smooth) / (TP + alpha FP + beta FN + smooth) per class, loss
# (1 - TI) ** (1 / gamma) (gamma=1: plain Tversky; Abraham & Khan 2019 use
# 4/3). beta > alpha punishes missed pixels (false negatives) more than false
# alarms. Softmax on multi-class heads, sigmoid on one-channel binary heads
# (out_channels=1). TP/FP/FN per image, as mmseg's TverskyLoss. See
# docs/losses.md.
loss_tversky = dict(
    type='TverskyLoss',
    alpha=0.3,
    beta=0.7,
    gamma=1.0,
    smooth=1.0,
    per_image=True,
    loss_weight=1.0,
    loss_name='loss_tversky')
