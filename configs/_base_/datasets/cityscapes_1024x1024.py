# mmseg's Cityscapes with 1024x1024 crops (the SegFormer configs'), evaluated
# by PerClassIoUMetric (see cityscapes.py here).
_base_ = 'mmseg::_base_/datasets/cityscapes_1024x1024.py'
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
