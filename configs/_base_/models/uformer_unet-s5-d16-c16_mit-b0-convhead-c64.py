# The demo UFormer: the logit average (weights 0.5/0.5) of the narrow U-Net
# (fcn_unet_s5-d16-c16.py) and SegFormer MiT-b0 + SegformerConvHead
# (segformer_mit-b0-convhead-c64.py), trained jointly: each member with its
# own losses (logged with the prefixes m0./m1.), plus a cross-entropy on the
# fused logits (fused.), which trains the members to complement each other.
# The members are the models of the binary demo member configs (full
# configs in the mmseg_ext scope, so that mmseg_ext components inside them
# resolve). UFormer owns the one data preprocessor: pad to 128x128 in
# training, to a multiple of 32 (the MiT's stride) at test time. 2 classes:
# set model.num_classes for others (it reaches every member head).
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(128, 128),
    test_cfg=dict(size_divisor=32))
model = dict(
    type='UFormer',
    data_preprocessor=data_preprocessor,
    members=[
        dict(config='{{fileDirname}}/../../demo/'
             'unet-s5-d16-c16_fcn_2xb4-800iter_synthetic-binary-128x128.py'),
        dict(config='{{fileDirname}}/../../demo/segformer_mit-b0-c64-'
             'convhead_2xb4-800iter_synthetic-binary-128x128.py'),
    ],
    num_classes=2,
    # equal weights; tools/analysis_tools/tune_uformer_weights.py finds
    # better ones on the val split
    weights=[0.5, 0.5],
    fuse='logits',
    fused_loss=dict(
        type='CrossEntropyLoss', loss_weight=1.0, loss_name='loss_ce'))
