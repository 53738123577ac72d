# The CPU-scale recipe for the real binary Semantic Drone Dataset: the
# narrow fcn_unet_s5-d16 (base_channels=16, as the demo's U-Net member)
# from scratch, cross-entropy + Lovász on the decode head (CE on the
# auxiliary head), AdamW lr 2e-3 with a poly decay over 800 iterations of
# 2 processes x 4 crops of 192x192 from the 384x256 conversion
# (semantic_drone_binary_384x256.py), on a 2-core CPU:
#   tools/dist_train.sh CONFIG 2
# The full-scale GPU recipe is unet-s5-d16_fcn_4xb4-5k_drone-binary-512x512.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16-c16.py',
    '../_base_/datasets/semantic_drone_binary_384x256.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
    '../_base_/losses/ce_lovasz.py',
]
crop_size = (192, 192)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(loss_decode={{_base_.loss_ce_lovasz}}))
