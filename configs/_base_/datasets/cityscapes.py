# mmseg's Cityscapes (CityscapesDataset, 19 classes, 512x1024 crops; convert
# with mmseg's tools/dataset_converters/cityscapes.py, see docs/datasets.md),
# evaluated by PerClassIoUMetric: the same numbers as mmseg's IoUMetric, and
# tools/test.py also writes the per-class table to test_report.json.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
