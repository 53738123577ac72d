# Semantic Drone Dataset (TU Graz), 5-class flavour: ground (0),
# vegetation (1), water (2), structure (3), dynamic (4); unlabeled and
# conflicting pixels are 255 (ignored). Convert it with
# tools/dataset_converters/semantic_drone.py (see docs/datasets.md):
#   data/semantic_drone/multiclass/{img_dir,ann_dir}/{train,val,test}
# Same images, split and augmentation as the binary flavour
# (semantic_drone_binary.py, which explains them).
_base_ = './semantic_drone_binary.py'
data_root = 'data/semantic_drone/multiclass'
flavour = 'multiclass'
# 4 GPUs x 8 images = 32 images per iteration, the 5-class recipe's batch
# of 32
train_dataloader = dict(
    batch_size=8, dataset=dict(data_root=data_root, flavour=flavour))
val_dataloader = dict(dataset=dict(data_root=data_root, flavour=flavour))
test_dataloader = dict(dataset=dict(data_root=data_root, flavour=flavour))
