# The demos' schedule: AdamW (lr 2e-3) with a poly decay over 800
# iterations, a validation and a checkpoint (plus the best mIoU one) every
# 100 iterations.
_base_ = 'mmseg::_base_/schedules/schedule_20k.py'
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4, _delete_=True))
max_iters = 800
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=100)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=100, max_keep_ckpts=2, save_best='mIoU'))
randomness = dict(seed=0)
