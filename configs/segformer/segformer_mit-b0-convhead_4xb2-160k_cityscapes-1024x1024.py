# SegFormer (MiT-b0, ImageNet weights) with mmseg_ext's SegformerConvHead
# on Cityscapes, with mmseg's SegFormer recipe
# (mmseg::segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py):
# AdamW lr 6e-5 (heads x10), 1500 warm-up iterations then poly decay over
# 160k iterations, 1024x1024 crops, sliding-window test.
# Upstream trains on 8 GPUs x 1 image; here 4 GPUs x 2 images = the same
# 8 images per iteration, so the learning rate is unchanged
# (tools/dist_train.sh CONFIG 4).
# From scratch: --cfg-options model.backbone.init_cfg=None.
_base_ = [
    '../_base_/models/segformer_mit-b0_convhead.py',
    '../_base_/datasets/cityscapes_1024x1024.py',
    '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(768, 768)))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'head': dict(lr_mult=10.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False,
    )
]
train_dataloader = dict(batch_size=2, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
