# UFormer (mmseg_ext): the weighted average of its members' logits, the
# U-Net + SegFormer ensemble for drone images. Every config sets
# model.members, typically the sibling U-Net and SegFormer configs of the
# same dataset:
#   members=[dict(config=<path of the U-Net config>), dict(config=...)]
# UFormer normalises and pads a batch once, with its own data_preprocessor
# (mmseg's ImageNet mean/std, the same as every member's).
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='UFormer',
    data_preprocessor=data_preprocessor,
    members=None,
    # equal weights; tools/analysis_tools/tune_uformer_weights.py searches
    # better ones on the val split
    weights=[0.5, 0.5],
    fuse='logits')
