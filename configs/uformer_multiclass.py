# Short alias: UFormer (U-Net + SegFormer) on the 5-class Semantic Drone
# Dataset, 4 GPUs x 8 images
# (tools/dist_train.sh configs/uformer_multiclass.py 4).
_base_ = ['./uformer/uformer_unet-s5-d16-mit-b0_4xb8-5k_drone-5cls-512x512.py']
