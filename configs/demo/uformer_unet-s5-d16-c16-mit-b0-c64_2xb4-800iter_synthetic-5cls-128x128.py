# The demo UFormer (uformer_*_synthetic-binary-*) on the 5-class flavour
# (ground, vegetation, water, structure, dynamic): the 5-class member
# configs (cross-entropy + Lovász on their decode heads) and cross-entropy
# + Lovász on the fused logits. `FLAVOUR=multiclass bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/uformer_unet-s5-d16-c16_mit-b0-convhead-c64.py',
    '../_base_/datasets/synthetic_5cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
    '../_base_/losses/ce_lovasz.py',
]
model = dict(
    members=[
        dict(config='{{fileDirname}}/'
             'unet-s5-d16-c16_fcn_2xb4-800iter_synthetic-5cls-128x128.py'),
        dict(config='{{fileDirname}}/segformer_mit-b0-c64-convhead_'
             '2xb4-800iter_synthetic-5cls-128x128.py'),
    ],
    num_classes=5,
    fused_loss={{_base_.loss_ce_lovasz}})
