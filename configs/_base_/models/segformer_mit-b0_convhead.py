# SegFormer MiT-b0 (mmseg's model base) with mmseg_ext's SegformerConvHead,
# a hand-made decoder for drone images (a convolution instead of the last
# MLP; ReLU, learnable upsampling), at mmseg's SegformerHead width (256
# channels).
# The encoder starts from mmseg's ImageNet-1k MiT-b0 weights, referenced as
# the upstream SegFormer configs do; train from scratch with
#   --cfg-options model.backbone.init_cfg=None
# or from a local copy with
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/mit_b0.pth
_base_ = 'mmseg::_base_/models/segformer_mit-b0.py'
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    decode_head=dict(type='SegformerConvHead', upsample='deconv'))
