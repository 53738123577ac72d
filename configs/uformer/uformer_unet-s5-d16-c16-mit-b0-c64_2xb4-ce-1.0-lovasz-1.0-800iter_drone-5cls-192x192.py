# uformer_unet-s5-d16-c16-mit-b0-c64_*_drone-binary-192x192 (the CPU-scale
# recipe for the real Semantic Drone Dataset) on the 5-class flavour: the
# 5-class members, cross-entropy + Lovász on the fused logits.
#   tools/dist_train.sh CONFIG 2
_base_ = [
    '../_base_/models/uformer_unet-s5-d16-c16_mit-b0-convhead-c64.py',
    '../_base_/datasets/semantic_drone_multiclass_384x256.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
    '../_base_/losses/ce_lovasz.py',
]
crop_size = (192, 192)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    members=[
        dict(config='{{fileDirname}}/../unet/unet-s5-d16-c16_fcn_2xb4-ce-'
             '1.0-lovasz-1.0-800iter_drone-5cls-192x192.py'),
        dict(config='{{fileDirname}}/../segformer/segformer_mit-b0-c64-'
             'convhead_2xb4-ce-1.0-lovasz-1.0-800iter_drone-5cls-'
             '192x192.py'),
    ],
    num_classes=5,
    fused_loss={{_base_.loss_ce_lovasz}})
