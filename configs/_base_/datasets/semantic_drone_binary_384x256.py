# The binary Semantic Drone Dataset at CPU scale: every photo resized to
# 384x256 once, by the converter (0.064 of the 6000x4000 originals, 0.256
# of the 1500x1000 copy), so that a 2-core CPU trains a model in minutes:
#   python tools/dataset_converters/semantic_drone.py RELEASE \
#       data/semantic_drone_384x256 --size 384 256 --nproc 2
# Split, classes and augmentation are those of semantic_drone_binary.py
# (50 fixed test photos, 280 train / 70 val; RandomRotateZoom +-30 degrees
# on half of the samples, horizontal and vertical flips, a random crop), at
# this scale: a 192x192 crop (half the width, 3/4 of the height) in
# training, the whole 384x256 image at val/test time. No Resize: the
# converted images already have the training scale.
_base_ = './semantic_drone_binary.py'
data_root = 'data/semantic_drone_384x256/binary'
image_scale = (384, 256)
crop_size = (192, 192)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# 2 CPU processes x 4 images = 8 images per iteration; images are small, so
# each process loads its own (no worker processes competing for 2 cores)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
