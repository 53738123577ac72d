"""The drone id table: DESIGN.md's map, overrides, and the docs table."""
import os.path as osp

import numpy as np
import pytest

from mmseg_ext.datasets.semantic_drone_classes import (
    DRONE_CLASS_MAPS, DRONE_FLAVOURS, DRONE_SOURCE_CLASSES,
    DRONE_SOURCE_PALETTE, drone_id_map, drone_id_map_markdown,
    resolve_drone_class_map)
from tests.helpers import REPO


def test_default_maps_follow_design():
    assert len(DRONE_SOURCE_CLASSES) == len(DRONE_SOURCE_PALETTE) == 24
    binary, multi = drone_id_map('binary'), drone_id_map('multiclass')
    assert binary.shape == (256, ) and binary.dtype == np.uint8
    ids = {name: i for i, name in enumerate(DRONE_SOURCE_CLASSES)}
    background = ['paved-area', 'dirt', 'grass', 'gravel', 'rocks',
                  'vegetation', 'ar-marker']
    for name, i in ids.items():
        if name in ('unlabeled', 'conflicting'):
            assert binary[i] == multi[i] == 255
        else:
            assert binary[i] == (0 if name in background else 1), name
    groups = dict(
        ground=['paved-area', 'dirt', 'gravel', 'rocks', 'ar-marker'],
        vegetation=['grass', 'vegetation', 'tree', 'bald-tree'],
        water=['water', 'pool'],
        structure=['roof', 'wall', 'window', 'door', 'fence', 'fence-pole'],
        dynamic=['person', 'dog', 'car', 'bicycle', 'obstacle'])
    classes = DRONE_FLAVOURS['multiclass']['classes']
    assert list(groups) == list(classes)
    for target, members in groups.items():
        for name in members:
            assert multi[ids[name]] == classes.index(target), name
    assert (binary[24:] == 255).all() and (multi[24:] == 255).all()
    for flavour in DRONE_FLAVOURS:
        meta = DRONE_FLAVOURS[flavour]
        assert len(meta['classes']) == len(meta['palette'])


def test_overrides_by_name_id_and_ignore():
    lut = drone_id_map('multiclass', {
        'pool': 'structure', 19: 'ground', '0': 'vegetation', 'dog': None,
        'car': 'ignore', 'bicycle': '255'})
    assert lut[7] == 3 and lut[19] == 0 and lut[0] == 1
    assert lut[16] == lut[17] == lut[18] == 255
    assert lut[5] == 2  # untouched entries keep the default
    # the table itself is not modified
    assert DRONE_CLASS_MAPS['multiclass']['pool'] == 'water'
    table = resolve_drone_class_map('binary', {'water': 0})
    assert table['water'] == 'background'
    with pytest.raises(ValueError, match="source class 'tre'"):
        drone_id_map('binary', {'tre': 0})
    with pytest.raises(ValueError, match="binary class 'sky'"):
        drone_id_map('binary', {'tree': 'sky'})
    with pytest.raises(ValueError, match="id in 0..1"):
        drone_id_map('binary', {'tree': 2})
    with pytest.raises(ValueError, match='Unknown Semantic Drone flavour'):
        drone_id_map('5cls')


def test_docs_table_matches_code():
    with open(osp.join(REPO, 'docs', 'datasets.md'), encoding='utf-8') as f:
        doc = f.read()
    assert drone_id_map_markdown() in doc, (
        'docs/datasets.md: paste the output of '
        'mmseg_ext.datasets.semantic_drone_classes.drone_id_map_markdown()')
