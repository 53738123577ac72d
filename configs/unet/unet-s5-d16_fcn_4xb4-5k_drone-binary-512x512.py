# fcn_unet_s5-d16 (mmseg's U-Net + FCN head, trained from scratch as
# upstream's) on the binary Semantic Drone Dataset, with the drone recipe:
# Tversky loss (alpha 0.3, beta 0.7: misses cost more than false alarms),
# Adam lr 1e-3, reduce-on-plateau (factor 0.1, patience 3),
# rotation/zoom + flips + crop.
# 4 GPUs x 4 images = 16 images per iteration, the recipe's batch of 16
# (tools/dist_train.sh CONFIG 4); on 1 GPU add
# --cfg-options train_dataloader.batch_size=16 for the same batch.
# One sigmoid output channel for the two classes: see
# configs/_base_/models/binary_sigmoid_head.py.
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/semantic_drone_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_plateau_5k.py',
    '../_base_/losses/tversky.py',
    '../_base_/models/binary_sigmoid_head.py',
]
crop_size = (512, 512)
# the U-Net needs sides divisible by 16: test images are padded
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=16))
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _base_.binary_head,
        loss_decode=dict(_base_.loss_tversky, _delete_=True)),
    auxiliary_head=dict(
        _base_.binary_head,
        loss_decode=dict(_base_.loss_tversky, loss_weight=0.4,
                         _delete_=True)),
    test_cfg=dict(mode='whole'))
