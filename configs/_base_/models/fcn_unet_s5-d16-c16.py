# A narrow fcn_unet_s5-d16 for CPU demos: base_channels=16 instead of 64
# (encoder widths 16-32-64-128-256), heads at the same width, whole-image
# inference, inputs padded to 128x128 in training and to a multiple of 16
# at test time (U-Net halves the side 4 times). 2 classes: set
# decode_head/auxiliary_head.num_classes for others.
_base_ = 'mmseg::_base_/models/fcn_unet_s5-d16.py'
data_preprocessor = dict(size=(128, 128), test_cfg=dict(size_divisor=16))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(base_channels=16),
    decode_head=dict(in_channels=16, channels=16, num_classes=2),
    auxiliary_head=dict(in_channels=32, channels=16, num_classes=2),
    test_cfg=dict(mode='whole'))
