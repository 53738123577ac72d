# mmseg_ext runtime: mmseg's, in the mmseg_ext scope, on the runner that
# trains distributed on CPU (gloo) as well as GPU (nccl).
_base_ = 'mmseg::_base_/default_runtime.py'
default_scope = 'mmseg_ext'
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
# scoped, so that mmseg's own tools/train.py finds it too
runner_type = 'mmseg_ext.DeviceAwareRunner'
# 'auto': nccl + one GPU per process with CUDA, gloo + CPU DDP without.
env_cfg = dict(dist_cfg=dict(backend='auto'))
