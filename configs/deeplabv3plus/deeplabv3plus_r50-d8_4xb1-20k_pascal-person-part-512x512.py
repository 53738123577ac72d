# DeepLabV3+ (Chen et al., ECCV 2018) with an ImageNet ResNet-50 (V1c) on
# Pascal-Person-Part, with the Pascal-Person-Part recipe: SGD lr 0.01,
# momentum 0.9, weight decay 5e-4 (mmseg's schedule, poly decay), short
# edge 512, random 512x512 crop, flip, batch 4. 4 GPUs x 1 image = 4 images
# per iteration, the recipe's batch (tools/dist_train.sh CONFIG 4). This
# config runs mmseg's 20k schedule; for a short 2000-iteration run (when
# GPU time is scarce):
# --cfg-options train_cfg.max_iters=2000 param_scheduler.0.end=2000.
# Pretrained encoder: model.pretrained='open-mmlab://resnet50_v1c' (from
# the base). From scratch: --cfg-options model.pretrained=None.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/pascal_person_part.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=7),
    auxiliary_head=dict(num_classes=7))
