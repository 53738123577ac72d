# fcn_unet_s5-d16 (mmseg's U-Net + FCN head, from scratch) on
# Pascal-Person-Part, the FCN + U-Net baseline of the Pascal-Person-Part
# recipe: SGD lr 0.01, momentum 0.9, weight decay 5e-4 (mmseg's schedule,
# poly decay), short edge 512, random 512x512 crop, flip, batch 4.
# 4 GPUs x 1 image = 4 images per iteration, the recipe's batch
# (tools/dist_train.sh CONFIG 4). This config runs mmseg's 20k schedule;
# for a short 2000-iteration run (when GPU time is scarce):
# --cfg-options train_cfg.max_iters=2000 param_scheduler.0.end=2000.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/pascal_person_part.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (512, 512)
# the U-Net needs sides divisible by 16: test images are padded
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=16))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=7),
    auxiliary_head=dict(num_classes=7),
    test_cfg=dict(mode='whole'))
