# Class-weighted cross-entropy for Cityscapes' 19 classes: each class is
# weighted according to its frequency in the dataset. The weights are the
# ones mmseg ships for Cityscapes, in mmseg::_base_/models/cgnet.py (CGNet,
# Wu et al. 2020), rarer classes weigh more (road 2.60 ... bicycle 10.06), in
# CityscapesDataset's class order.
#   _base_ = [..., '../_base_/losses/cityscapes_weighted_ce.py']
#   model = dict(decode_head=dict(loss_decode=_base_.loss_weighted_ce))
# In scope mmseg_ext, 'CrossEntropyLoss' is mmseg_ext's: mmseg 1.2.2's own
# indexes the class weights with every label, the ignored 255 included, and
# raises IndexError on any batch with an ignored pixel, i.e. on every
# Cityscapes batch (open-mmlab/mmsegmentation#3734). Ours averages over the
# class weights of the labelled pixels (avg_non_ignore=True: PyTorch's
# weighted mean); see mmseg_ext/models/losses/cross_entropy_loss.py.
cityscapes_class_weight = [
    2.5959933, 6.7415504, 3.5354059, 9.8663225, 9.690899, 9.369352,
    10.289121, 9.953208, 4.3097677, 9.490387, 7.674431, 9.396905, 10.347791,
    6.3927646, 10.226669, 10.241062, 10.280587, 10.396974, 10.055647
]
loss_weighted_ce = dict(
    type='CrossEntropyLoss',
    use_sigmoid=False,
    loss_weight=1.0,
    class_weight=cityscapes_class_weight,
    avg_non_ignore=True)
