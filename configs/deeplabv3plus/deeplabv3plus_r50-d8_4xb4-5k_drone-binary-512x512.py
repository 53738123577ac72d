# DeepLabV3+ with an ImageNet ResNet-50 (V1c, mmseg's model base) on the
# binary Semantic Drone Dataset, with the drone recipe: Tversky loss
# (alpha 0.3, beta 0.7), Adam lr 1e-3, reduce-on-plateau (factor 0.1,
# patience 3), rotation/zoom + flips + crop.
# 4 GPUs x 4 images = 16 images per iteration, the recipe's batch of 16
# (tools/dist_train.sh CONFIG 4).
# One sigmoid output channel for the two classes: see
# configs/_base_/models/binary_sigmoid_head.py.
# Pretrained encoder: model.pretrained='open-mmlab://resnet50_v1c' (from
# the base). From scratch: --cfg-options model.pretrained=None.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/semantic_drone_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_plateau_5k.py',
    '../_base_/losses/tversky.py',
    '../_base_/models/binary_sigmoid_head.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        _base_.binary_head,
        loss_decode=dict(_base_.loss_tversky, _delete_=True)),
    auxiliary_head=dict(
        _base_.binary_head,
        loss_decode=dict(_base_.loss_tversky, loss_weight=0.4,
                         _delete_=True)))
