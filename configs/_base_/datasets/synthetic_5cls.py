# The generated drone-like dataset, 5-class flavour (the Semantic Drone
# Dataset's 5-class map, mmseg_ext/datasets/semantic_drone_classes.py):
#   python tools/misc/make_synthetic_dataset.py data/synthetic_5cls \
#       --flavour multiclass
# Same images as the binary flavour of the same seed, other label maps.
_base_ = './synthetic_binary.py'
data_root = 'data/synthetic_5cls'
metainfo = dict(
    classes=('ground', 'vegetation', 'water', 'structure', 'dynamic'),
    # SemanticDroneDataset's 5-class palette
    palette=[[128, 64, 128], [107, 142, 35], [28, 42, 168], [70, 70, 70],
             [255, 22, 96]])
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
