# Pascal-Person-Part (7 classes: background, head, torso, lower-arms,
# upper-arms, lower-legs, upper-legs; 255 ignored). Convert it with
# tools/dataset_converters/pascal_person_part.py (see docs/datasets.md):
#   data/pascal_person_part/{img_dir,ann_dir}/{train,val}
# Augmentation of the Pascal-Person-Part recipe: resize so that the short
# edge is 512, a random 512x512 crop, a random horizontal flip with p=0.5.
dataset_type = 'PascalPersonPartDataset'
data_root = 'data/pascal_person_part'
crop_size = (512, 512)
# keep_ratio into (2048, 512): the short edge becomes 512 for any image
# whose long edge is under 4x its short one (all of PASCAL's)
image_scale = (2048, 512)
# LoadAnnotations is mmseg_ext's here (default_scope): it stops on a mask that
# does not decode, fit its image or hold only class ids and 255, naming the
# file (docs/datasets.md); check_labels=False turns that off
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    # annotations after Resize: metrics use the original-size masks
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
        ])
]
# 4 GPUs x 1 image = 4 images per iteration, the recipe's batch of 4
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
