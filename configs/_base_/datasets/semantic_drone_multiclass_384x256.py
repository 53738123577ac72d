# The 5-class Semantic Drone Dataset at CPU scale (ground, vegetation,
# water, structure, dynamic): same photos, split, scale and pipelines as
# semantic_drone_binary_384x256.py, converted in the same run (the
# converter writes both flavours). 2 processes x 4 images per iteration.
_base_ = './semantic_drone_binary_384x256.py'
data_root = 'data/semantic_drone_384x256/multiclass'
flavour = 'multiclass'
train_dataloader = dict(dataset=dict(data_root=data_root, flavour=flavour))
val_dataloader = dict(dataset=dict(data_root=data_root, flavour=flavour))
test_dataloader = dict(dataset=dict(data_root=data_root, flavour=flavour))
