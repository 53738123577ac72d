# Optimiser and scheduler of the Semantic Drone Dataset recipe: Adam,
# learning rate 1e-3, reduce-on-plateau with a factor of 0.1 and a patience
# of 3 (epochs).
#
# The recipe counts epochs; mmseg trains by iterations, so a validation
# round stands for an epoch: every 50 iterations, i.e. 800 images at batch
# 16 (binary: about one epoch of the split's 280 training images plus 500
# augmented copies) and 1600 images at batch 32 (5-class).
# mmengine's ReduceOnPlateauLR steps after every validation (it must be
# by_epoch=True; with IterBasedTrainLoop "epoch" means validation round) and
# multiplies the learning rate by 0.1 once the monitored metric has not
# improved for 3 rounds in a row. mmseg's validation computes no loss, so it
# watches the validation mIoU (rule='greater') instead of the loss.
# The recipe sets no total length: 5000 iterations (80k images at batch
# 16, about 100 such epochs; its training curves flatten near epoch 25).
_base_ = 'mmseg::_base_/schedules/schedule_20k.py'
max_iters = 5000
val_interval = 50
optim_wrapper = dict(
    optimizer=dict(
        type='Adam', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.0,
        _delete_=True))
param_scheduler = [
    dict(
        type='ReduceOnPlateauLR',
        monitor='mIoU',
        rule='greater',
        factor=0.1,
        patience=3,
        by_epoch=True)
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=500, max_keep_ckpts=2, save_best='mIoU'))
