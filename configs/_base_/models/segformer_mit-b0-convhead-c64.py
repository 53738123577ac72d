# SegFormer MiT-b0 (from scratch: no pretrained weights can be downloaded
# here) with mmseg_ext's SegformerConvHead at width 64 and deconvolution
# upsampling; inputs padded to 128x128 in training and to a multiple of 32
# at test time. 2 classes: set decode_head.num_classes for others.
_base_ = 'mmseg::_base_/models/segformer_mit-b0.py'
data_preprocessor = dict(size=(128, 128), test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        type='SegformerConvHead',
        channels=64,
        upsample='deconv',
        num_classes=2))
