# The demo's SegFormer member trained alone: MiT-b0 + SegformerConvHead
# (width 64) from scratch on the generated drone-like binary dataset
# (background, obstacle), 2 processes x batch 4 = 8 images of 128x128 per
# iteration, 800 iterations. `MODEL=segformer bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/segformer_mit-b0-convhead-c64.py',
    '../_base_/datasets/synthetic_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
]
