"""The config zoo for tests: the config list, tiny data, shrinking options.

Every config under ``configs/`` is found here, and the tests shrink each one
with ``--cfg-options``-style overrides (dotted keys merged with
``Config.merge_from_dict``) instead of editing it: narrow widths, 32x32
crops, one iteration, tiny generated data in each dataset's converted
layout, no pretrained weights.
"""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.config import Config, ConfigDict

from tests.helpers import REPO

CONFIG_ROOT = osp.join(REPO, 'configs')
#: The algorithm folders of the zoo, each with README.md and metafile.yaml.
ALGORITHMS = ('unet', 'deeplabv3plus', 'segformer', 'uformer')
#: Short aliases at the top of configs/ (not upstream-named).
ALIASES = ('uformer_binary.py', 'uformer_multiclass.py')
#: How many config files each folder holds: a glob that finds nothing (or
#: a config nobody expected) fails the count test.
EXPECTED_COUNTS = {
    '.': len(ALIASES),
    'unet': 7,
    'deeplabv3plus': 9,
    'segformer': 7,
    'uformer': 6,
    'demo': 7,
    '_base_/datasets': 9,
    '_base_/losses': 5,
    '_base_/models': 6,
    '_base_/schedules': 2,
    '_base_': 1,
}

#: The CPU-scale recipes for the real Semantic Drone Dataset (the 384x256
#: conversion, ``configs/_base_/datasets/semantic_drone_*_384x256.py``), the
#: zoo's one exception to "4 GPUs": ``2xb4`` is 2 CPU processes x 4 images
#: (``tools/dist_train.sh CONFIG 2`` on a 2-core CPU). They train from
#: scratch and reference no pretrained checkpoint.
CPU_RECIPES = (
    'unet/unet-s5-d16-c16_fcn_2xb4-ce-1.0-lovasz-1.0-800iter_'
    'drone-binary-192x192.py',
    'unet/unet-s5-d16-c16_fcn_2xb4-ce-1.0-lovasz-1.0-800iter_'
    'drone-5cls-192x192.py',
    'segformer/segformer_mit-b0-c64-convhead_2xb4-ce-1.0-lovasz-1.0-800iter_'
    'drone-binary-192x192.py',
    'segformer/segformer_mit-b0-c64-convhead_2xb4-ce-1.0-lovasz-1.0-800iter_'
    'drone-5cls-192x192.py',
    'uformer/uformer_unet-s5-d16-c16-mit-b0-c64_2xb4-ce-1.0-lovasz-1.0-'
    '800iter_drone-binary-192x192.py',
    'uformer/uformer_unet-s5-d16-c16-mit-b0-c64_2xb4-ce-1.0-lovasz-1.0-'
    '800iter_drone-5cls-192x192.py',
)
#: The processes (``{N}xb``) of the CPU recipes, and their data root.
CPU_RECIPE_GPUS = '2'
CPU_RECIPE_DATA_ROOT = 'data/semantic_drone_384x256/'

#: Upstream naming, ``{algorithm}_{backbone}_{N}xb{B}-{schedule}_{dataset}-
#: {crop}.py``, with optional training tokens (``ce-1.0-lovasz-1.0``)
#: before the schedule, as in mmseg's ``..._4xb4-ce-1.0-dice-3.0-40k_...``.
NAME_PATTERN = (r'^(?P<algorithm>[a-z0-9]+(?:-[a-z0-9]+)*)'
                r'_(?P<backbone>[a-z0-9]+(?:-[a-z0-9]+)*)'
                r'_(?P<gpus>\d+)xb(?P<batch>\d+)'
                r'-(?:(?P<extra>[a-z0-9.]+(?:-[a-z0-9.]+)*)-)?'
                r'(?P<schedule>\d+k|\d+iter)'
                r'_(?P<dataset>[a-z0-9]+(?:-[a-z0-9]+)*)'
                r'-(?P<crop>\d+x\d+)\.py$')

#: The name's dataset token -> (dataset type, drone flavour or None).
DATASET_TOKENS = {
    'drone-binary': ('SemanticDroneDataset', 'binary'),
    'drone-5cls': ('SemanticDroneDataset', 'multiclass'),
    'pascal-person-part': ('PascalPersonPartDataset', None),
    'cityscapes': ('CityscapesDataset', None),
    'synthetic-binary': ('BaseSegDataset', None),
    'synthetic-5cls': ('BaseSegDataset', None),
}

#: ``--cfg-options`` that turn the pretrained encoders off, per algorithm
#: (documented in each folder's README): U-Net trains from scratch as
#: upstream's; DeepLabV3+ names its ResNet in ``model.pretrained``;
#: SegFormer in the backbone's ``init_cfg``; UFormer in its SegFormer
#: member's (member 1).
NO_PRETRAINED = {
    'unet': {},
    'deeplabv3plus': {'model.pretrained': None},
    'segformer': {'model.backbone.init_cfg': None},
    'uformer': {'model.members.1.backbone.init_cfg': None},
}

TINY_CROP = (32, 32)
#: (width, height) of the generated images; also the tiny resize scale.
TINY_IMAGE = (64, 48)


def pretrained_inits(model: torch.nn.Module) -> List[Tuple[str, str]]:
    """``(module name, checkpoint)`` of every ``Pretrained`` init_cfg."""
    found = []
    for name, module in model.named_modules():
        inits = getattr(module, 'init_cfg', None) or []
        for init in inits if isinstance(inits, list) else [inits]:
            if init.get('type') == 'Pretrained':
                found.append((name, init.get('checkpoint')))
    return found


def list_configs(folder: str = '.', recursive: bool = False) -> List[str]:
    """Config files (``*.py``) in ``configs/<folder>``, sorted."""
    pattern = '**/*.py' if recursive else '*.py'
    return sorted(
        osp.normpath(p) for p in glob.glob(
            osp.join(CONFIG_ROOT, folder, pattern), recursive=recursive))


def model_configs() -> List[str]:
    """Every config that defines a trainable model (not ``_base_``)."""
    return [
        path for path in list_configs(recursive=True)
        if '_base_' not in osp.relpath(path, CONFIG_ROOT).split(os.sep)
    ]


def config_id(path: str) -> str:
    """A short test id: the path under ``configs/``."""
    return osp.relpath(path, CONFIG_ROOT)


def member_model(member: dict) -> ConfigDict:
    """The model dict of a UFormer member written as ``dict(config=...)``."""
    return Config.fromfile(member['config']).model


def _shrink_single(model: dict, prefix: str) -> Dict[str, object]:
    """Options narrowing one EncoderDecoder (U-Net, ResNet or MiT)."""
    backbone = model['backbone']['type']
    opts: Dict[str, object] = {}
    aux = model.get('auxiliary_head') is not None
    if backbone == 'UNet':
        opts.update({
            'backbone.base_channels': 4,
            'decode_head.in_channels': 4,
            'decode_head.channels': 4,
        })
        if aux:
            opts.update({
                'auxiliary_head.in_channels': 8,
                'auxiliary_head.channels': 4
            })
    elif backbone.startswith('ResNet'):
        opts.update({
            'backbone.depth': 18,
            'backbone.stem_channels': 8,
            'backbone.base_channels': 4,
            'decode_head.in_channels': 32,
            'decode_head.channels': 8,
            'decode_head.c1_in_channels': 4,
            'decode_head.c1_channels': 4,
        })
        if aux:
            opts.update({
                'auxiliary_head.in_channels': 16,
                'auxiliary_head.channels': 4
            })
    elif backbone == 'MixVisionTransformer':
        opts.update({
            'backbone.embed_dims': 8,
            'backbone.num_heads': [1, 1, 2, 2],
            'backbone.num_layers': [1, 1, 1, 1],
            'decode_head.in_channels': [8, 8, 16, 16],
            'decode_head.channels': 16,
        })
    else:
        raise AssertionError(f'no shrinking rule for backbone {backbone!r}')
    # no dropout: one step on 2 images must not zero a whole tiny layer
    opts['decode_head.dropout_ratio'] = 0.0
    return {prefix + k: v for k, v in opts.items()}


def shrink_model_options(cfg: Config) -> Dict[str, object]:
    """Options that narrow the config's model, members included."""
    model = cfg.model
    if model['type'] != 'UFormer':
        return _shrink_single(model, 'model.')
    opts: Dict[str, object] = {}
    for i, member in enumerate(model['members']):
        opts.update(
            _shrink_single(member_model(member), f'model.members.{i}.'))
    return opts


def algorithm_of(path: str) -> str:
    """The zoo folder a config belongs to (an alias: its target's)."""
    parts = osp.relpath(path, CONFIG_ROOT).split(os.sep)
    if len(parts) > 1:
        return parts[0]
    model_type = Config.fromfile(path).model['type']
    assert model_type == 'UFormer', f'alias {path} of a {model_type}?'
    return 'uformer'


def dataset_key(cfg: Config) -> str:
    """Which generated dataset a config trains on."""
    dataset = cfg.train_dataloader.dataset
    if dataset['type'] == 'SemanticDroneDataset':
        return 'drone-' + dataset['flavour']
    return {
        'PascalPersonPartDataset': 'pascal-person-part',
        'CityscapesDataset': 'cityscapes',
        'BaseSegDataset': 'synthetic',
    }[dataset['type']]


def _shrink_pipeline(pipeline: list) -> list:
    """The pipeline with tiny resize scales and crops."""
    out = []
    for step in pipeline:
        step = dict(step)
        if step['type'] in ('Resize', 'RandomResize') and 'scale' in step:
            step['scale'] = TINY_IMAGE
        if step['type'] == 'RandomCrop':
            step['crop_size'] = TINY_CROP
        out.append(step)
    return out


def tiny_options(cfg: Config, data_root: str,
                 work_dir: str) -> Dict[str, object]:
    """Options for one CPU training step and one test pass on tiny data."""
    opts: Dict[str, object] = {
        'work_dir': work_dir,
        'launcher': 'none',
        'randomness': dict(seed=0),
        'train_cfg.max_iters': 1,
        'train_cfg.val_interval': 100,
        'val_cfg': None,
        'val_dataloader': None,
        'val_evaluator': None,
        'default_hooks.checkpoint': None,
        'default_hooks.logger.interval': 1,
        'model.data_preprocessor.size': TINY_CROP,
        'train_dataloader.batch_size': 2,
    }
    for loader in ('train_dataloader', 'test_dataloader'):
        opts.update({
            f'{loader}.num_workers': 0,
            f'{loader}.persistent_workers': False,
            f'{loader}.dataset.data_root': data_root,
            f'{loader}.dataset.pipeline':
            _shrink_pipeline(cfg[loader]['dataset']['pipeline']),
        })
    opts.update(shrink_model_options(cfg))
    return opts


def _label_map(rng: np.random.Generator, num_classes: int,
               size: Tuple[int, int]) -> np.ndarray:
    """Blocks of every class in turn, some random pixels ignored (255)."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    offset = int(rng.integers(0, num_classes))
    label = ((xs // 8 + ys // 8 + offset) % num_classes).astype(np.uint8)
    label[rng.random((height, width)) < 0.05] = 255
    return label


def _write_pair(img_path: str, ann_path: str, rng: np.random.Generator,
                num_classes: int) -> None:
    os.makedirs(osp.dirname(img_path), exist_ok=True)
    os.makedirs(osp.dirname(ann_path), exist_ok=True)
    width, height = TINY_IMAGE
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(img_path, image), img_path
    assert cv2.imwrite(ann_path, _label_map(rng, num_classes, TINY_IMAGE))


def write_tiny_datasets(root: str, per_split: int = 2) -> Dict[str, str]:
    """Tiny datasets in the converters' output layouts.

    * drone-binary / drone-multiclass (``tools/dataset_converters/
      semantic_drone.py``): ``img_dir/{train,val,test}/NAME.jpg``,
      ``ann_dir/.../NAME.png``;
    * pascal-person-part: ``img_dir/{train,val}/NAME.jpg`` + ``.png``;
    * cityscapes (mmseg's converter): ``leftImg8bit/SPLIT/CITY/
      X_leftImg8bit.png``, ``gtFine/SPLIT/CITY/X_gtFine_labelTrainIds.png``.

    Returns:
        dict[str, str]: Dataset key (see :func:`dataset_key`) -> root.
    """
    rng = np.random.default_rng(0)
    roots = {}
    layouts = {
        'drone-binary': (2, ('train', 'val', 'test')),
        'drone-multiclass': (5, ('train', 'val', 'test')),
        'pascal-person-part': (7, ('train', 'val')),
    }
    for key, (num_classes, splits) in layouts.items():
        base = osp.join(root, key)
        img_suffix = '.jpg'
        for split in splits:
            for i in range(per_split):
                _write_pair(
                    osp.join(base, 'img_dir', split, f'{i:03d}{img_suffix}'),
                    osp.join(base, 'ann_dir', split, f'{i:03d}.png'), rng,
                    num_classes)
        roots[key] = base
    base = osp.join(root, 'cityscapes')
    for split in ('train', 'val'):
        for i in range(per_split):
            name = f'aachen_{i:06d}_000019'
            _write_pair(
                osp.join(base, 'leftImg8bit', split, 'aachen',
                         name + '_leftImg8bit.png'),
                osp.join(base, 'gtFine', split, 'aachen',
                         name + '_gtFine_labelTrainIds.png'), rng, 19)
    roots['cityscapes'] = base
    return roots


def load(path: str, options: Optional[Dict[str, object]] = None) -> Config:
    """``Config.fromfile`` plus ``--cfg-options``-style overrides."""
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    return cfg
