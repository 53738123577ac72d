# fcn_unet_s5-d16 on Cityscapes: mmseg's own config
# (mmseg::unet/unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py) in the
# mmseg_ext runtime. mmseg's 160k schedule (SGD lr 0.01, poly), 4 GPUs x 4
# images = 16 images per iteration, as upstream.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=4, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
