# The demo U-Net (unet-s5-d16-c16_fcn_2xb4-800iter_synthetic-binary-128x128.py)
# with cross-entropy + Lovász on its decode head (configs/_base_/losses/
# ce_lovasz.py); the auxiliary FCN head keeps its CE (weight 0.4). The binary
# dataset has 2 classes, so the head has 2 channels and the Lovász loss is
# the Lovász-Softmax.
_base_ = [
    './unet-s5-d16-c16_fcn_2xb4-800iter_synthetic-binary-128x128.py',
    '../_base_/losses/ce_lovasz.py',
]
model = dict(decode_head=dict(loss_decode={{_base_.loss_ce_lovasz}}))
