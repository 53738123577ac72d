# DeepLabV3+ R50 on Cityscapes with class-weighted cross-entropy on both
# heads (each class weighted by its frequency); weights:
# configs/_base_/losses/cityscapes_weighted_ce.py (mmseg's CGNet Cityscapes
# weights). Otherwise as
# deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py (4 GPUs x 2).
# The loss is mmseg_ext's CrossEntropyLoss (mmseg 1.2.2's fails on ignored
# pixels): see configs/_base_/losses/cityscapes_weighted_ce.py.
_base_ = [
    './deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/losses/cityscapes_weighted_ce.py',
]
model = dict(
    decode_head=dict(loss_decode=_base_.loss_weighted_ce),
    auxiliary_head=dict(
        loss_decode=dict(_base_.loss_weighted_ce, loss_weight=0.4)))
