"""Every config trains one step and predicts on CPU, on tiny generated data.

Each config is shrunk by ``--cfg-options``-style overrides only (widths,
32x32 crops, one iteration, the folder README's no-pretrained keys; the
CPU recipes, which reference no checkpoint, run without them), then
built and run through mmseg_ext's runner, as ``tools/train.py`` does (so the
``mmseg::`` parts are adopted into the mmseg_ext scope).
"""
import math
from typing import Optional

import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook

from mmseg_ext.cli.common import build_model, build_runner
from mmseg_ext.registry import HOOKS, METRICS
from tests.test_configs.zoo import (CONFIG_ROOT, CPU_RECIPES, NO_PRETRAINED,
                                    algorithm_of, config_id, dataset_key, load,
                                    model_configs, pretrained_inits,
                                    shrink_model_options, tiny_options)


def _tiny_cfg(path: str, zoo_data: dict, work_dir: str,
              extra: Optional[dict] = None):
    cfg = load(path)
    options = tiny_options(cfg, zoo_data[dataset_key(cfg)], work_dir)
    if config_id(path) not in CPU_RECIPES:  # those need no key
        options.update(NO_PRETRAINED.get(algorithm_of(path), {}))
    options.update(extra or {})
    cfg.merge_from_dict(options)
    return cfg


@HOOKS.register_module(force=True)
class _SnapshotParams(Hook):
    """Keep the parameters as they are before the first training step."""

    def __init__(self) -> None:
        self.before = None

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self.before is None:
            self.before = {
                name: p.detach().clone()
                for name, p in runner.model.named_parameters()
            }


@pytest.mark.parametrize('path', model_configs(), ids=config_id)
def test_config_trains_one_step_and_predicts(path, zoo_data, tmp_path):
    cfg = _tiny_cfg(path, zoo_data, str(tmp_path),
                    {'custom_hooks': [dict(type='mmseg_ext._SnapshotParams')]})
    runner = build_runner(cfg)
    # the README's keys (the CPU recipes need none) leave nothing to download
    assert pretrained_inits(runner.model) == []

    runner.train()
    assert runner.iter == 1
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0, loss
    snapshot = next(h for h in runner.hooks if isinstance(h, _SnapshotParams))
    after = dict(runner.model.named_parameters())
    changed = [n for n, p in snapshot.before.items()
               if not torch.equal(p, after[n].detach())]
    assert changed, 'one optimiser step changed no parameter'
    assert all(torch.isfinite(p).all() for p in after.values())

    metrics = runner.test()
    assert 'mIoU' in metrics and 'aAcc' in metrics, metrics

    classes = runner.test_dataloader.dataset.metainfo['classes']
    batch = next(iter(runner.test_dataloader))
    runner.model.eval()
    with torch.no_grad():
        samples = runner.model.test_step(batch)
    assert len(samples) == len(batch['inputs'])
    for sample in samples:
        pred = sample.pred_sem_seg.data
        assert tuple(pred.shape[-2:]) == tuple(sample.ori_shape)
        assert 0 <= int(pred.min()) and int(pred.max()) < len(classes)


@METRICS.register_module(force=True)
class _ConstantMIoU(BaseMetric):
    """A validation metric that never improves."""

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        return dict(mIoU=50.0)


@HOOKS.register_module(force=True)
class _RecordLRAfterVal(Hook):
    """Record the learning rate after each validation's scheduler step."""
    priority = 'LOWEST'

    def __init__(self) -> None:
        self.lrs = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])


def test_drone_schedule_reduces_lr_on_plateau(zoo_data, tmp_path):
    """Adam 1e-3, x0.1 after 3 validations in a row without a better mIoU.

    The first validation sets the best mIoU; the next three do not beat it
    (patience 3); the fifth reduces the learning rate.
    """
    path = (f'{CONFIG_ROOT}/unet/'
            'unet-s5-d16_fcn_4xb4-5k_drone-binary-512x512.py')
    root = zoo_data['drone-binary']
    cfg = _tiny_cfg(path, zoo_data, str(tmp_path), {
        'train_cfg.max_iters': 5,
        'train_cfg.val_interval': 1,
        'val_cfg': dict(type='ValLoop'),
        'val_evaluator': dict(type='mmseg_ext._ConstantMIoU', _delete_=True),
        'val_dataloader': dict(
            _delete_=True,
            batch_size=1,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type='SemanticDroneDataset',
                flavour='binary',
                data_root=root,
                data_prefix=dict(
                    img_path='img_dir/val', seg_map_path='ann_dir/val'),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations'),
                    dict(type='PackSegInputs')
                ])),
        'custom_hooks': [dict(type='mmseg_ext._RecordLRAfterVal')],
    })
    runner = build_runner(cfg)
    runner.train()
    record = next(h for h in runner.hooks if isinstance(h, _RecordLRAfterVal))
    assert record.lrs == pytest.approx([1e-3, 1e-3, 1e-3, 1e-3, 1e-4])


LOCAL_PRETRAINED = {
    'deeplabv3plus/deeplabv3plus_r50-d8_4xb1-20k_pascal-person-part-512x512.py':
    ('model.pretrained', 'backbone'),
    'segformer/segformer_mit-b0-convhead_4xb1-20k_pascal-person-part-512x512.py':
    ('model.backbone.init_cfg.checkpoint', 'backbone'),
    'uformer/uformer_unet-s5-d16-mit-b0_4xb1-20k_pascal-person-part-512x512.py':
    ('model.members.1.backbone.init_cfg.checkpoint', 'members.1.backbone'),
}


@pytest.mark.parametrize('name', sorted(LOCAL_PRETRAINED))
def test_encoder_loads_from_a_local_checkpoint(name, tmp_path):
    """The README's local-path key initialises the encoder from a file."""
    path = f'{CONFIG_ROOT}/{name}'
    key, module_name = LOCAL_PRETRAINED[name]
    shrink = shrink_model_options(load(path))
    reference = build_model(
        path, dict(shrink, **NO_PRETRAINED[algorithm_of(path)]))
    encoder = reference.get_submodule(module_name)
    checkpoint = str(tmp_path / 'encoder.pth')
    torch.save({'state_dict': encoder.state_dict()}, checkpoint)

    model = build_model(path, dict(shrink, **{key: checkpoint}))
    loaded = model.get_submodule(module_name).state_dict()
    assert loaded.keys() == encoder.state_dict().keys()
    for k, value in encoder.state_dict().items():
        assert torch.equal(loaded[k], value), k
