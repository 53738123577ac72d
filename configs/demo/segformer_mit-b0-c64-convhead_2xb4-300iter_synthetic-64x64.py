# SegFormer member of the demo UFormer: MiT-b0 (from scratch: no pretrained
# weights can be downloaded here) with mmseg_ext's SegformerConvHead at width
# 64, trained on the generated two-class dataset, 2 processes x batch 4 =
# 8 images per iteration, 300 iterations.
_base_ = [
    'mmseg::_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/synthetic_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_300iter.py',
]
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        type='SegformerConvHead',
        channels=64,
        upsample='deconv',
        num_classes=2))
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-2))
