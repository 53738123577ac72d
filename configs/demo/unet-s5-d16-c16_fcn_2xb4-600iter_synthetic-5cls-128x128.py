# unet-s5-d16-c16_fcn_*_synthetic-binary-* on the 5-class flavour (ground,
# vegetation, water, structure, dynamic).
# `FLAVOUR=multiclass MODEL=unet bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16-c16.py',
    '../_base_/datasets/synthetic_5cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_600iter.py',
]
model = dict(
    decode_head=dict(num_classes=5), auxiliary_head=dict(num_classes=5))
