# segformer_mit-b0-c64-convhead_*_synthetic-binary-* on the 5-class flavour
# (ground, vegetation, water, structure, dynamic), with cross-entropy +
# Lovász on the decode head (the dynamic class covers about 1% of the
# pixels). `FLAVOUR=multiclass MODEL=segformer bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/segformer_mit-b0-convhead-c64.py',
    '../_base_/datasets/synthetic_5cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
    '../_base_/losses/ce_lovasz.py',
]
model = dict(
    decode_head=dict(num_classes=5, loss_decode={{_base_.loss_ce_lovasz}}))
