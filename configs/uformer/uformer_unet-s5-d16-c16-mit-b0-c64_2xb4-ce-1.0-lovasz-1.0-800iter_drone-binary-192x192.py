# The CPU-scale recipe for the real binary Semantic Drone Dataset: UFormer,
# the 0.5/0.5 logit average of the two CPU-scale members, each exactly as
# its own config (configs/unet/unet-s5-d16-c16_fcn_*_drone-binary-192x192,
# configs/segformer/segformer_mit-b0-c64-convhead_*_drone-binary-192x192),
# trained jointly from scratch: each member's own losses plus
# cross-entropy + Lovász on the fused logits. Same data, crops and
# schedule as the members:
#   tools/dist_train.sh CONFIG 2
# The other ways to build it (members trained alone, weights tuned on val)
# are in configs/uformer/README.md.
_base_ = [
    '../_base_/models/uformer_unet-s5-d16-c16_mit-b0-convhead-c64.py',
    '../_base_/datasets/semantic_drone_binary_384x256.py',
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
             '1.0-lovasz-1.0-800iter_drone-binary-192x192.py'),
        dict(config='{{fileDirname}}/../segformer/segformer_mit-b0-c64-'
             'convhead_2xb4-ce-1.0-lovasz-1.0-800iter_drone-binary-'
             '192x192.py'),
    ],
    num_classes=2,
    fused_loss={{_base_.loss_ce_lovasz}})
