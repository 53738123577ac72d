# Semantic Drone Dataset (TU Graz), binary flavour: background (0) and
# obstacle (1); unlabeled/conflicting pixels are 255 (ignored). Convert it
# with tools/dataset_converters/semantic_drone.py (see docs/datasets.md):
#   data/semantic_drone/binary/{img_dir,ann_dir}/{train,val,test}
# Split of the drone recipe: 50 fixed test images, the other 350 split
# 80/20 into train (280) and val (70).
#
# Training augmentation of the recipe (random horizontal and vertical flips
# p=0.5, random rotation uniform in [-30, 30] degrees followed by a zoom
# against black bands, centred crop, nearest resize): the image resized
# (masks by nearest neighbour), a random rotation in [-30, 30] degrees
# followed by the smallest zoom that leaves no black corner
# (RandomRotateZoom; on half of the samples: the recipe gives no rate),
# horizontal and vertical flips with p=0.5 each, then a crop. The crop is
# mmseg's RandomCrop, a random 512x512 window, rather than a fixed centred
# one (our choice: more variety from 280 photos; mmcv's CenterCrop gives
# the centred version).
# The recipe gives no image size: images are resized to fit 1536x1024 (the
# 6000x4000 originals scaled by 0.256) and trained on 512x512 crops.
# Converting with --size 1536 1024 makes that Resize a no-op and spares
# decoding the 24-megapixel JPEGs at every iteration.
dataset_type = 'SemanticDroneDataset'
data_root = 'data/semantic_drone/binary'
flavour = 'binary'
image_scale = (1536, 1024)
crop_size = (512, 512)
# LoadAnnotations is mmseg_ext's here (default_scope): it stops on a mask that
# does not decode, fit its image or hold only class ids and 255, naming the
# file (docs/datasets.md); check_labels=False turns that off
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(
        type='RandomRotateZoom',
        prob=0.5,
        max_angle=30,
        pad_val=0,
        seg_pad_val=255),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    # annotations after Resize: metrics use the original-size masks
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
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
# 4 GPUs x 4 images = 16 images per iteration, the recipe's batch of 16
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        flavour=flavour,
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
        flavour=flavour,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
# the split's 50 fixed test images
test_dataloader = dict(
    val_dataloader,
    dataset=dict(
        val_dataloader['dataset'],
        data_prefix=dict(
            img_path='img_dir/test', seg_map_path='ann_dir/test')))
# aAcc, mIoU, mAcc (also known as "mPA"), with the per-class table
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
