# unet-s5-d16-c16_fcn_*_synthetic-binary-* on the 5-class flavour (ground,
# vegetation, water, structure, dynamic), with cross-entropy + Lovász on the
# decode head (the auxiliary head keeps its CE): the dynamic class covers
# about 1% of the pixels, and with CE alone the demo never predicts it.
# `FLAVOUR=multiclass MODEL=unet bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16-c16.py',
    '../_base_/datasets/synthetic_5cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
    '../_base_/losses/ce_lovasz.py',
]
model = dict(
    decode_head=dict(num_classes=5, loss_decode={{_base_.loss_ce_lovasz}}),
    auxiliary_head=dict(num_classes=5))
