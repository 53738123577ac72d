# UFormer, the U-Net + SegFormer ensemble for drone images: the average of
# the logits of fcn_unet_s5-d16 and SegFormer MiT-b0 + SegformerConvHead,
# each member exactly as its own config for this dataset (configs/unet/ and
# configs/segformer/, one sigmoid channel, Tversky loss), on the binary
# Semantic Drone Dataset with the drone recipe: Adam lr 1e-3,
# reduce-on-plateau (factor 0.1, patience 3), rotation/zoom + flips + crop.
# 4 GPUs x 4 images = 16 images per iteration, the recipe's batch of 16
# (tools/dist_train.sh configs/uformer_binary.py 4).
# Trained jointly here: the sum of both members' losses. To train the
# members separately and then average them instead, set
# model.member_checkpoints and model.freeze (see configs/uformer/README.md).
# From scratch: --cfg-options model.members.1.backbone.init_cfg=None.
_base_ = [
    '../_base_/models/uformer.py',
    '../_base_/datasets/semantic_drone_binary.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_plateau_5k.py',
]
crop_size = (512, 512)
# the U-Net member needs sides divisible by 16, MiT works best with 32
data_preprocessor = dict(size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    data_preprocessor=data_preprocessor,
    members=[
        dict(config='{{fileDirname}}/../unet/'
             'unet-s5-d16_fcn_4xb4-5k_drone-binary-512x512.py'),
        dict(config='{{fileDirname}}/../segformer/'
             'segformer_mit-b0-convhead_4xb4-5k_drone-binary-512x512.py'),
    ])
