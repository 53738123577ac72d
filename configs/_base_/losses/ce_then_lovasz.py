# Cross-entropy first, then Lovász for the last 20% of the iterations, the
# schedule that the Lovász-Softmax authors suggest (github.com/bermanmaxim/
# LovaszSoftmax, FAQ: "optimizing with cross-entropy first and finetuning
# with our loss"):
#   _base_ = [..., '../_base_/losses/ce_then_lovasz.py']
#   model = dict(decode_head=dict(loss_decode={{_base_.loss_ce_then_lovasz}}))
#   custom_hooks = [{{_base_.ce_then_lovasz_hook}}]
# Until the switch the Lovász weight is 0 and the loss is not computed; from
# iteration round(0.8 * max_iters) on the decode head's CE weight is 0 and
# the Lovász weight 1 (an auxiliary head keeps its own CE). See
# docs/losses.md.
loss_ce_then_lovasz = [
    dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        loss_name='loss_ce'),
    dict(
        type='LovaszLoss',
        classes='present',
        per_image=False,
        loss_weight=0.0,
        loss_name='loss_lovasz'),
]
ce_then_lovasz_hook = dict(
    type='LossScheduleHook',
    switch_ratio=0.8,
    loss_weights={
        'decode_head.loss_ce': 0.0,
        'decode_head.loss_lovasz': 1.0
    })
