# SegFormer (MiT-b0, ImageNet weights) with mmseg_ext's SegformerConvHead
# on Pascal-Person-Part, with the Pascal-Person-Part recipe of the U-Net
# and DeepLabV3+ configs (the same recipe keeps the four models
# comparable): SGD lr 0.01, momentum 0.9, weight decay 5e-4 (mmseg's
# schedule, poly decay), short edge 512, random 512x512 crop, flip, batch 4.
# 4 GPUs x 1 image = 4 images per iteration, the recipe's batch
# (tools/dist_train.sh CONFIG 4); mmseg's 20k schedule.
# From scratch: --cfg-options model.backbone.init_cfg=None.
_base_ = [
    '../_base_/models/segformer_mit-b0_convhead.py',
    '../_base_/datasets/pascal_person_part.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor, decode_head=dict(num_classes=7))
