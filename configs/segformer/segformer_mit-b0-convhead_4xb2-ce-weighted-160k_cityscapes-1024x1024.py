# SegFormer (MiT-b0) + SegformerConvHead on Cityscapes with class-weighted
# cross-entropy (each class weighted by its frequency); weights:
# configs/_base_/losses/cityscapes_weighted_ce.py (mmseg's CGNet Cityscapes
# weights). Otherwise as
# segformer_mit-b0-convhead_4xb2-160k_cityscapes-1024x1024.py (4 GPUs x 2).
# The loss is mmseg_ext's CrossEntropyLoss (mmseg 1.2.2's fails on ignored
# pixels): see configs/_base_/losses/cityscapes_weighted_ce.py.
_base_ = [
    './segformer_mit-b0-convhead_4xb2-160k_cityscapes-1024x1024.py',
    '../_base_/losses/cityscapes_weighted_ce.py',
]
model = dict(decode_head=dict(loss_decode=_base_.loss_weighted_ce))
