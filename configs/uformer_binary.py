# Short alias: UFormer (U-Net + SegFormer) on the binary Semantic Drone
# Dataset, 4 GPUs x 4 images (tools/dist_train.sh configs/uformer_binary.py 4).
_base_ = [
    './uformer/uformer_unet-s5-d16-mit-b0_4xb4-5k_drone-binary-512x512.py'
]
