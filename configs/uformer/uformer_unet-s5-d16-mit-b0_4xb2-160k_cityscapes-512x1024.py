# UFormer (the U-Net + SegFormer logit average) on Cityscapes:
# fcn_unet_s5-d16 and
# SegFormer MiT-b0 + SegformerConvHead, each member's model exactly as its
# own Cityscapes config (configs/unet/, configs/segformer/; the SegFormer
# member keeps its 1024x1024 sliding-window test), trained jointly on
# 512x1024 crops with mmseg's 160k schedule (SGD lr 0.01, poly decay: the
# U-Net's upstream Cityscapes schedule; mmseg has none for an ensemble).
# 4 GPUs x 2 images = 8 images per iteration (two models per GPU: half the
# U-Net config's 4 images per GPU; tools/dist_train.sh CONFIG 4).
# To keep each member's own schedule, train them alone and combine them
# with model.member_checkpoints (see configs/uformer/README.md).
# From scratch: --cfg-options model.members.1.backbone.init_cfg=None.
_base_ = [
    '../_base_/models/uformer.py',
    '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    members=[
        dict(config='{{fileDirname}}/../unet/'
             'unet-s5-d16_fcn_4xb4-160k_cityscapes-512x1024.py'),
        dict(config='{{fileDirname}}/../segformer/'
             'segformer_mit-b0-convhead_4xb2-160k_cityscapes-1024x1024.py'),
    ])
train_dataloader = dict(batch_size=2, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
