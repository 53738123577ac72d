# unet-s5-d16-c16_fcn_*_drone-binary-192x192 (the CPU-scale recipe for the
# real Semantic Drone Dataset) on the 5-class flavour (ground, vegetation,
# water, structure, dynamic): same model, losses, schedule and crops.
#   tools/dist_train.sh CONFIG 2
_base_ = [
    '../_base_/models/fcn_unet_s5-d16-c16.py',
    '../_base_/datasets/semantic_drone_multiclass_384x256.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
    '../_base_/losses/ce_lovasz.py',
]
crop_size = (192, 192)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=5, loss_decode={{_base_.loss_ce_lovasz}}),
    auxiliary_head=dict(num_classes=5))
