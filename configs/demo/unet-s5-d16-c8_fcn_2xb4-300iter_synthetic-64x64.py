# The demo of scripts/run_demo.sh: a narrow fcn_unet_s5-d16 (base_channels=8
# instead of 64) trained from scratch on the generated two-class dataset,
# 2 processes x batch 4, 300 iterations. Small enough for a 2-core laptop.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/synthetic_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_300iter.py',
]
crop_size = (64, 64)
# U-Net needs sides divisible by 16: pad test inputs (TTA rescales them)
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=16))
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(base_channels=8),
    decode_head=dict(in_channels=8, channels=8, num_classes=2),
    auxiliary_head=dict(in_channels=16, channels=8, num_classes=2),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(optimizer=dict(lr=3e-3, weight_decay=1e-4))
