# The demo's U-Net member trained alone: the narrow fcn_unet_s5-d16
# (base_channels=16) from scratch on the generated drone-like binary dataset
# (background, obstacle), 2 processes x batch 4 = 8 images of 128x128 per
# iteration, 800 iterations. `MODEL=unet bash scripts/run_demo.sh`.
_base_ = [
    '../_base_/models/fcn_unet_s5-d16-c16.py',
    '../_base_/datasets/synthetic_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
]
