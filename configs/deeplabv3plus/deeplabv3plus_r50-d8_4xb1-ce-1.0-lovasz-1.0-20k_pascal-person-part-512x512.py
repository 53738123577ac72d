# DeepLabV3+ R50 on Pascal-Person-Part with cross-entropy + Lovasz-Softmax
# (weight 1.0 each) on the decode head, the Lovasz option of the
# Pascal-Person-Part recipe (Berman et al., CVPR 2018); the auxiliary head
# keeps its cross-entropy (weight 0.4). Otherwise as
# deeplabv3plus_r50-d8_4xb1-20k_pascal-person-part-512x512.py (4 GPUs x 1).
_base_ = [
    './deeplabv3plus_r50-d8_4xb1-20k_pascal-person-part-512x512.py',
    '../_base_/losses/ce_lovasz.py',
]
model = dict(decode_head=dict(loss_decode=_base_.loss_ce_lovasz))
