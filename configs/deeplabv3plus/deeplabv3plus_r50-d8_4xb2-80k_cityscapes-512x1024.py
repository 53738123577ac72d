# DeepLabV3+ R50 on Cityscapes: mmseg's own config
# (mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py)
# in the mmseg_ext runtime. mmseg's 80k schedule (SGD lr 0.01, poly),
# 4 GPUs x 2 images = 8 images per iteration, as upstream.
# Pretrained encoder: model.pretrained='open-mmlab://resnet50_v1c' (from
# the base). From scratch: --cfg-options model.pretrained=None.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
