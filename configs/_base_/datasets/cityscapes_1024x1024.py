# mmseg's Cityscapes with 1024x1024 crops (the SegFormer configs'), evaluated
# by PerClassIoUMetric (see cityscapes.py here).
_base_ = 'mmseg::_base_/datasets/cityscapes_1024x1024.py'
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
# mmseg's dataset dicts come with _scope_='mmseg' (an 'mmseg::' base), under
# which the pipelines would build upstream's LoadAnnotations; in mmseg_ext's
# scope they get mmseg_ext's, which checks every mask it loads (decodes, has
# its image's size, labels 0..18 or 255; see docs/datasets.md). Every other
# type still resolves to mmseg's.
train_dataloader = dict(dataset=dict(_scope_='mmseg_ext'))
val_dataloader = dict(dataset=dict(_scope_='mmseg_ext'))
test_dataloader = dict(dataset=dict(_scope_='mmseg_ext'))
