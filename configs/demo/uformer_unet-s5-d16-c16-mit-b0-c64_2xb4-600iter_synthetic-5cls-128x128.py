# The demo UFormer (uformer_*_synthetic-binary-*) on the 5-class flavour
# (ground, vegetation, water, structure, dynamic).
# `FLAVOUR=multiclass bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/uformer_unet-s5-d16-c16_mit-b0-convhead-c64.py',
    '../_base_/datasets/synthetic_5cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_600iter.py',
]
model = dict(num_classes=5)
