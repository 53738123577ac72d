# SegFormer (MiT-b0, ImageNet weights) with mmseg_ext's SegformerConvHead,
# a hand-made convolutional decoder, on the 5-class Semantic Drone Dataset
# with the drone recipe: Tversky loss (alpha 0.3, beta 0.7), Adam lr 1e-3,
# reduce-on-plateau (factor 0.1, patience 3), rotation/zoom + flips + crop.
# 4 GPUs x 8 images = 32 images per iteration, the 5-class recipe's batch
# of 32 (tools/dist_train.sh CONFIG 4).
# From scratch: --cfg-options model.backbone.init_cfg=None.
_base_ = [
    '../_base_/models/segformer_mit-b0_convhead.py',
    '../_base_/datasets/semantic_drone_multiclass.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_plateau_5k.py',
    '../_base_/losses/tversky.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        num_classes=5, loss_decode=dict(_base_.loss_tversky, _delete_=True)))
