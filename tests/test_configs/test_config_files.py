"""The config files: they load, are all counted, named upstream's way, and
their names, READMEs and metafiles agree with their values."""
import os
import os.path as osp
import re
from collections import Counter

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmseg_ext.utils.scope import adopt_mmseg_scope
from mmseg_ext.registry import MODELS
from tests.test_configs.zoo import (ALGORITHMS, ALIASES, CONFIG_ROOT,
                                    CPU_RECIPE_DATA_ROOT, CPU_RECIPE_GPUS,
                                    CPU_RECIPES, DATASET_TOKENS,
                                    EXPECTED_COUNTS, NAME_PATTERN,
                                    NO_PRETRAINED, algorithm_of, config_id,
                                    list_configs, load, member_model,
                                    model_configs, pretrained_inits,
                                    shrink_model_options)

ALL_CONFIGS = list_configs(recursive=True)
UPSTREAM_NAMED = [
    p for p in model_configs() if osp.basename(p) not in ALIASES
    or osp.dirname(p) != CONFIG_ROOT
]
ZOO = [p for p in model_configs() if algorithm_of(p) in ALGORITHMS]

MIT_B0 = ('https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/'
          'segformer/mit_b0_20220624-7e0fe6dd.pth')
#: The encoder checkpoints each algorithm references, the upstream way.
PRETRAINED = {
    'unet': [],
    'deeplabv3plus': [('backbone', 'open-mmlab://resnet50_v1c')],
    'segformer': [('backbone', MIT_B0)],
    'uformer': [('members.1.backbone', MIT_B0)],
}


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=config_id)
def test_every_config_file_loads(path):
    cfg = Config.fromfile(path)
    assert cfg.filename == path


def test_every_config_file_is_counted():
    """An empty glob, a lost or an unexpected config fails here."""
    folders = Counter(
        osp.relpath(osp.dirname(p), CONFIG_ROOT) for p in ALL_CONFIGS)
    assert dict(folders) == EXPECTED_COUNTS
    assert len(ALL_CONFIGS) == sum(EXPECTED_COUNTS.values()) == 61
    assert len(model_configs()) == 38
    # 4 algorithms x 4 datasets, variants, aliases, 6 CPU recipes
    assert len(ZOO) == 31
    assert sorted(config_id(p) for p in ZOO
                  if config_id(p) in CPU_RECIPES) == sorted(CPU_RECIPES)


@pytest.mark.parametrize('path', UPSTREAM_NAMED, ids=config_id)
def test_name_follows_upstream_and_matches_values(path):
    """``{algorithm}_{backbone}_{N}xb{B}-{schedule}_{dataset}-{crop}.py``,
    and the name never disagrees with the config."""
    name = osp.basename(path)
    match = re.match(NAME_PATTERN, name)
    assert match, f'{name} does not follow the upstream pattern'
    folder = osp.basename(osp.dirname(path))
    cfg = Config.fromfile(path)
    if folder in ALGORITHMS:
        assert match['algorithm'].startswith(folder), name
        if config_id(path) in CPU_RECIPES:
            # the documented exception: 2 CPU processes on the real data
            assert match['gpus'] == CPU_RECIPE_GPUS, name
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader'):
                root = cfg[loader]['dataset']['data_root']
                assert root.startswith(CPU_RECIPE_DATA_ROOT), (loader, root)
        else:
            assert match['gpus'] == '4', 'the zoo assumes 4 GPUs'
    assert int(match['batch']) == cfg.train_dataloader.batch_size
    schedule = match['schedule']
    iters = (int(schedule[:-1]) * 1000
             if schedule.endswith('k') else int(schedule[:-len('iter')]))
    assert iters == cfg.train_cfg.max_iters
    height, width = (int(v) for v in match['crop'].split('x'))
    assert tuple(cfg.model.data_preprocessor['size']) == (height, width)
    assert tuple(cfg.crop_size) == (height, width)
    dataset_type, flavour = DATASET_TOKENS[match['dataset']]
    dataset = cfg.train_dataloader.dataset
    assert dataset['type'] == dataset_type
    assert dataset.get('flavour') == flavour
    for loader in ('val_dataloader', 'test_dataloader'):
        assert cfg[loader]['dataset']['type'] == dataset_type
        assert cfg[loader]['dataset'].get('flavour') == flavour
    if match['extra'] == 'ce-1.0-lovasz-1.0':
        if cfg.model['type'] == 'UFormer':
            # every member's decode head, and the loss on the fused logits
            loss_lists = [
                member_model(m).decode_head.loss_decode
                for m in cfg.model['members']
            ] + [cfg.model.fused_loss]
        else:
            loss_lists = [cfg.model.decode_head.loss_decode]
        for losses in loss_lists:
            assert [(loss['type'], loss['loss_weight'])
                    for loss in losses] == [('CrossEntropyLoss', 1.0),
                                            ('LovaszLoss', 1.0)]


def _zoo_model_dicts(cfg: Config) -> list:
    model = cfg.model
    if model['type'] == 'UFormer':
        return [member_model(m) for m in model['members']]
    return [model]


def _norm_types(node) -> list:
    if isinstance(node, dict):
        found = [node['norm_cfg']['type']] if 'norm_cfg' in node else []
        return found + [t for v in node.values() for t in _norm_types(v)]
    if isinstance(node, (list, tuple)):
        return [t for v in node for t in _norm_types(v)]
    return []


@pytest.mark.parametrize('path', ZOO, ids=config_id)
def test_zoo_config_uses_syncbn_and_the_mmseg_ext_scope(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg_ext'
    assert cfg.runner_type == 'mmseg_ext.DeviceAwareRunner'
    for model in _zoo_model_dicts(cfg):
        types = _norm_types(model)
        assert types and set(types) == {'SyncBN'}, types


def _unbuilt_model(path: str, options: dict):
    """The model as the runner builds it, without ``init_weights``."""
    cfg = load(path, options)
    adopt_mmseg_scope(cfg)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('path', ZOO, ids=config_id)
def test_pretrained_encoders_and_the_keys_that_turn_them_off(path):
    """Encoders reference upstream checkpoints; the README's keys drop them.

    The CPU recipes train from scratch: they reference no checkpoint at all
    (members included), and the keys change nothing. For single models the
    generic ``model.pretrained=None model.backbone.init_cfg=None`` works
    too.
    """
    algorithm = algorithm_of(path)
    shrink = shrink_model_options(load(path))
    model = _unbuilt_model(path, shrink)
    if config_id(path) in CPU_RECIPES:
        assert pretrained_inits(model) == []
    else:
        assert pretrained_inits(model) == PRETRAINED[algorithm]
    model = _unbuilt_model(path, dict(shrink, **NO_PRETRAINED[algorithm]))
    assert pretrained_inits(model) == []
    if algorithm != 'uformer':
        generic = {'model.pretrained': None, 'model.backbone.init_cfg': None}
        model = _unbuilt_model(path, dict(shrink, **generic))
        assert pretrained_inits(model) == []


def _readme_links(folder: str) -> list:
    with open(osp.join(CONFIG_ROOT, folder, 'README.md')) as f:
        text = f.read()
    return re.findall(r'\]\(([^)\s]+\.py)\)', text)


@pytest.mark.parametrize('folder', ALGORITHMS)
def test_readme_links_exactly_the_folder_configs(folder):
    configs = {osp.basename(p) for p in list_configs(folder)}
    assert configs
    links = _readme_links(folder)
    local = [link for link in links if '/' not in link]
    for link in links:
        target = osp.normpath(osp.join(CONFIG_ROOT, folder, link))
        assert osp.isfile(target), f'{folder}/README.md links {link}'
    # every config of the folder has exactly one row in a results table
    assert sorted(local) == sorted(configs)


@pytest.mark.parametrize('folder', ALGORITHMS)
def test_metafile_lists_exactly_the_folder_configs(folder):
    with open(osp.join(CONFIG_ROOT, folder, 'metafile.yaml')) as f:
        meta = yaml.safe_load(f)
    (collection, ) = meta['Collections']
    assert collection['README'] == f'configs/{folder}/README.md'
    configs = {osp.basename(p) for p in list_configs(folder)}
    names = []
    for model in meta['Models']:
        config = model['Config']
        assert config.startswith(f'configs/{folder}/')
        assert osp.isfile(osp.join(CONFIG_ROOT, os.pardir, config)), config
        assert model['Name'] == osp.basename(config)[:-len('.py')]
        assert model['In Collection'] == collection['Name']
        cfg = Config.fromfile(osp.join(CONFIG_ROOT, os.pardir, config))
        match = re.match(NAME_PATTERN, osp.basename(config))
        assert model['Metadata']['Batch Size'] == (
            int(match['gpus']) * cfg.train_dataloader.batch_size)
        # Results only where someone measured them: the CPU-scale recipes
        # on the real drone data (tests/test_results.py checks the numbers
        # against the committed reports); no weights are published
        if osp.relpath(config, 'configs') not in CPU_RECIPES:
            assert 'Results' not in model, config
        assert 'Weights' not in model
        names.append(osp.basename(config))
    assert sorted(names) == sorted(configs)


@pytest.mark.parametrize('alias, flavour, num_classes, out_channels', [
    ('uformer_binary.py', 'binary', 2, 1),
    ('uformer_multiclass.py', 'multiclass', 5, 5),
])
def test_alias_resolves_to_the_drone_uformer(alias, flavour, num_classes,
                                             out_channels):
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, alias))
    assert cfg.model['type'] == 'UFormer'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader]['dataset']
        assert dataset['type'] == 'SemanticDroneDataset'
        assert dataset['flavour'] == flavour
    members = [member_model(m) for m in cfg.model['members']]
    assert [m['backbone']['type'] for m in members] == [
        'UNet', 'MixVisionTransformer'
    ]
    assert members[1]['decode_head']['type'] == 'SegformerConvHead'
    for member in members:
        head = member['decode_head']
        assert head['num_classes'] == num_classes
        assert head.get('out_channels', num_classes) == out_channels
        assert head['loss_decode']['type'] == 'TverskyLoss'
