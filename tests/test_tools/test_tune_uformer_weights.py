"""tools/analysis_tools/tune_uformer_weights.py on a tiny two-member UFormer.

Member 0 is a narrow U-Net trained for a few iterations; member 1 is the
same network crafted to be wrong: its classifier always says "obstacle".
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from mmseg.evaluation import IoUMetric
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_ext.cli.tune_uformer_weights import main
from mmseg_ext.utils.scope import adopt_mmseg_scope
from mmseg_ext.registry import MODELS
from tests.helpers import DEMO_CONFIG, UFORMER_DEMO_CONFIG, run_tool

CLASSES = ('background', 'obstacle')
STEPS = 40  # training steps of the good member


def _write_config(path: str, data_root: str, members: list) -> None:
    """A tiny UFormer: two demo U-Nets on 32x32 images from data_root."""
    with open(path, 'w') as f:
        f.write(f"""_base_ = [{UFORMER_DEMO_CONFIG!r}]
model = dict(
    members=[dict(config={DEMO_CONFIG!r}), dict(config={DEMO_CONFIG!r})],
    data_preprocessor=dict(size=(32, 32)),
    member_checkpoints={members!r})
train_dataloader = dict(batch_size=4, dataset=dict(data_root={data_root!r}))
val_dataloader = dict(batch_size=2, dataset=dict(data_root={data_root!r}))
test_dataloader = dict(dataset=dict(data_root={data_root!r}))
""")


def _build(config: str, **model_options):
    """Config and model (member checkpoints not loaded yet)."""
    cfg = Config.fromfile(config)
    adopt_mmseg_scope(cfg)
    init_default_scope(cfg.default_scope)
    cfg.model.update(model_options)
    return cfg, MODELS.build(cfg.model)


def _predict_metrics(model, cfg) -> dict:
    """mmseg's IoUMetric over ``model.test_step`` on the val split."""
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    model.eval()
    with torch.no_grad():
        for data in Runner.build_dataloader(cfg.val_dataloader):
            outputs = model.test_step(data)
            metric.process(data, [out.to_dict() for out in outputs])
    return metric.compute_metrics(metric.results)


@pytest.fixture(scope='module')
def setup(synthetic_root, tmp_path_factory):
    """Member checkpoints (good, bad), a UFormer checkpoint, the config."""
    tmp = str(tmp_path_factory.mktemp('tune'))
    members = [osp.join(tmp, 'good.pth'), osp.join(tmp, 'bad.pth')]
    config = osp.join(tmp, 'uformer_tiny.py')
    _write_config(config, synthetic_root, members)
    set_random_seed(0)  # torch, numpy (RandomFlip) and random
    cfg, model = _build(config, member_checkpoints=None)
    good, bad = model.members
    for module in good.modules():  # BN statistics: the mean of the batches
        if isinstance(module, _BatchNorm):
            module.momentum = None
    optimizer = torch.optim.AdamW(good.parameters(), lr=3e-3)
    loader = iter(Runner.build_dataloader(cfg.train_dataloader, seed=0))
    model.train()
    for _ in range(STEPS):
        data = model.data_preprocessor(next(loader), True)
        loss, _ = good.parse_losses(
            good.loss(data['inputs'], data['data_samples']))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():  # always "obstacle", whatever the image
        bad.decode_head.conv_seg.weight.zero_()
        bad.decode_head.conv_seg.bias.copy_(torch.tensor([-20.0, 20.0]))
    for member, path in zip(model.members, members):
        torch.save(dict(state_dict=member.state_dict()), path)
    uformer_ckpt = osp.join(tmp, 'uformer.pth')
    torch.save(dict(state_dict=model.state_dict()), uformer_ckpt)
    return dict(tmp=tmp, config=config, ckpt=uformer_ckpt)


@pytest.fixture(scope='module')
def tuned(setup):
    """The tool without CKPT: the members load member_checkpoints."""
    out = osp.join(setup['tmp'], 'out', 'uformer_weights.py')
    result = main([
        setup['config'], '--out', out, '--device', 'cpu', '--work-dir',
        osp.join(setup['tmp'], 'work')
    ])
    return result, out


def test_bad_member_gets_small_weight(tuned):
    result, _ = tuned
    best = result.candidates[result.best]
    assert best[1] <= 0.2
    good_alone = result.metrics[result.tagged('m0 alone')]['mIoU']
    bad_alone = result.metrics[result.tagged('m1 alone')]['mIoU']
    best_miou = result.metrics[result.best]['mIoU']
    assert best_miou >= good_alone > bad_alone + 10
    # 0.1 steps on 2 members: 11 points; the config's [0.5, 0.5] is one
    assert len(result.candidates) == 11
    assert result.tags[result.candidates.index([0.5, 0.5])] == ['current']


def test_rows_match_uformer_predict_with_those_weights(setup, tuned):
    """Members alone, and one mix, scored by IoUMetric on predict."""
    result, _ = tuned
    cfg, model = _build(setup['config'])
    model.init_weights()
    for weights in ([1.0, 0.0], [0.0, 1.0], [0.9, 0.1]):
        model.fixed_weights.copy_(torch.tensor(weights))
        expected = _predict_metrics(model, cfg)
        got = result.metrics[result.candidates.index(weights)]
        for key in ('mIoU', 'aAcc', 'mAcc'):
            # IoUMetric rounds to 2 decimals
            assert got[key] == pytest.approx(expected[key], abs=0.006)
    assert result.tagged('m0 alone') == result.candidates.index([1.0, 0.0])
    assert result.tagged('m1 alone') == result.candidates.index([0.0, 1.0])


def test_outputs_reproduce_best_with_test_tool(setup, tuned, tmp_path):
    result, out = tuned
    best = result.candidates[result.best]
    cfg = Config.fromfile(out)
    assert cfg.model.type == 'UFormer' and cfg.model.weights == best
    with open(out) as f:
        text = f.read()
    assert f'model = dict(weights={best})' in text
    assert f'config:     {setup["config"]}' in text and 'mIoU' in text
    with open(osp.splitext(out)[0] + '.json') as f:
        report = json.load(f)
    assert report['split'] == 'val' and report['metric'] == 'mIoU'
    assert len(report['candidates']) == len(result.candidates)
    assert report['best']['weights'] == best
    assert report['classes'] == list(CLASSES)

    work_dir = str(tmp_path / 'test')
    run_tool([
        'bash', '-c', '"$PYTHON" tools/test.py "$@"', '_', out,
        osp.splitext(out)[0] + '.pth', '--work-dir', work_dir
    ])
    with open(osp.join(work_dir, 'test_report.json')) as f:
        metrics = json.load(f)['metrics']
    for key in ('mIoU', 'aAcc', 'mAcc'):
        assert metrics[key] == pytest.approx(
            result.metrics[result.best][key], abs=0.006)


def test_uformer_checkpoint_gives_the_same_numbers(setup, tuned):
    result, _ = tuned
    with_ckpt = main([
        setup['config'], setup['ckpt'], '--split', 'test', '--step', '0.5',
        '--out',
        osp.join(setup['tmp'], 'ckpt', 'w.py'), '--device', 'cpu',
        '--work-dir',
        osp.join(setup['tmp'], 'ckpt')
    ])
    assert with_ckpt.candidates == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    for k, weights in enumerate(with_ckpt.candidates):
        same = result.candidates.index(weights)
        assert torch.equal(with_ckpt.confusions[k], result.confusions[same])


def test_errors_are_clear(setup, tmp_path):
    with pytest.raises(TypeError, match=r"'EncoderDecoder', not a UFormer"):
        main([DEMO_CONFIG, '--work-dir', str(tmp_path)])
    with pytest.raises(FileNotFoundError, match='missing.pth.*does not exist'):
        main([setup['config'], str(tmp_path / 'missing.pth')])
    with pytest.raises(ValueError, match='does not divide 1'):
        main([setup['config'], '--step', '0.3'])
    with pytest.raises(ValueError, match='would overwrite'):
        main([setup['config'], '--out', setup['config']])
    # a single member's checkpoint given as the UFormer's
    member = osp.join(setup['tmp'], 'good.pth')
    with pytest.raises(ValueError, match='not a checkpoint of this UFormer'):
        main([setup['config'], member, '--work-dir', str(tmp_path)])
