# deeplabv3plus_r50-d8_4xb8-5k_drone-5cls-512x512.py with the Lovasz option
# of the Pascal-Person-Part recipe (Berman et al., CVPR 2018):
# cross-entropy + Lovasz-Softmax, summed with weight 1.0 each, on the decode
# head (configs/_base_/losses/ce_lovasz.py) instead of the Tversky loss; the
# auxiliary head gets cross-entropy (weight 0.4). 4 GPUs x 8 images, as the
# base config.
_base_ = [
    './deeplabv3plus_r50-d8_4xb8-5k_drone-5cls-512x512.py',
    '../_base_/losses/ce_lovasz.py',
]
model = dict(
    decode_head=dict(loss_decode=_base_.loss_ce_lovasz),
    auxiliary_head=dict(
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=0.4,
            _delete_=True)))
