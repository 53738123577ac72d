# UFormer (the U-Net + SegFormer logit average) on Pascal-Person-Part:
# fcn_unet_s5-d16 and SegFormer MiT-b0 + SegformerConvHead, each member
# exactly as its own config for this dataset (configs/unet/,
# configs/segformer/), trained jointly with the Pascal-Person-Part recipe:
# SGD lr 0.01, momentum 0.9, weight decay 5e-4 (mmseg's 20k schedule),
# short edge 512, random 512x512 crop, flip.
# 4 GPUs x 1 image = 4 images per iteration, the recipe's batch
# (tools/dist_train.sh CONFIG 4).
# From scratch: --cfg-options model.members.1.backbone.init_cfg=None.
_base_ = [
    '../_base_/models/uformer.py',
    '../_base_/datasets/pascal_person_part.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
crop_size = (512, 512)
# the U-Net member needs sides divisible by 16, MiT works best with 32
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    members=[
        dict(config='{{fileDirname}}/../unet/'
             'unet-s5-d16_fcn_4xb1-20k_pascal-person-part-512x512.py'),
        dict(config='{{fileDirname}}/../segformer/'
             'segformer_mit-b0-convhead_4xb1-20k_pascal-person-part-512x512.py'),
    ])
