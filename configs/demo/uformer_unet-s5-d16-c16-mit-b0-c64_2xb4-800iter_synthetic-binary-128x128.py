# The demo of scripts/run_demo.sh: the UFormer of the narrow U-Net
# (base_channels=16) and SegFormer MiT-b0 + SegformerConvHead, logits
# averaged 0.5/0.5, trained jointly from scratch on the generated drone-like
# binary dataset (background, obstacle), 2 processes x batch 4 = 8 images
# of 128x128 per iteration, 800 iterations. The members alone:
# unet-s5-d16-c16_fcn_* and segformer_mit-b0-c64-convhead_* (same schedule).
_base_ = [
    '../_base_/models/uformer_unet-s5-d16-c16_mit-b0-convhead-c64.py',
    '../_base_/datasets/synthetic_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw_800iter.py',
]
