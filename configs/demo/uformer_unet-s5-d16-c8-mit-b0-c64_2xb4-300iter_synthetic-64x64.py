# The demo UFormer: the logit average of the two demo members (a narrow
# fcn_unet_s5-d16 and SegFormer MiT-b0 + SegformerConvHead), trained jointly
# (each member's own losses, prefixed m0./m1.), 2 processes x batch 4 = 8
# images per iteration, 300 iterations. Members are the member configs'
# models: override them with e.g.
#   --cfg-options model.members.0.backbone.base_channels=16
_base_ = [
    '../_base_/datasets/synthetic_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_300iter.py',
]
# U-Net needs sides divisible by 16, MiT by 32: pad test inputs to 32
# (the UFormer's one data_preprocessor serves both members)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(64, 64),
    test_cfg=dict(size_divisor=32))
model = dict(
    type='UFormer',
    data_preprocessor=data_preprocessor,
    members=[
        dict(config='{{fileDirname}}/'
             'unet-s5-d16-c8_fcn_2xb4-300iter_synthetic-64x64.py'),
        dict(config='{{fileDirname}}/'
             'segformer_mit-b0-c64-convhead_2xb4-300iter_synthetic-64x64.py'),
    ],
    # equal weights; tools/analysis_tools/tune_uformer_weights.py finds
    # better ones on the val split
    weights=[0.5, 0.5],
    fuse='logits')
