"""``tools/analysis_tools/tune_uformer_weights.py``: tune UFormer's weights.

``python tools/analysis_tools/tune_uformer_weights.py CONFIG [CKPT]`` runs
each member of the config's :class:`~mmseg_ext.models.UFormer` once over the
val split (``--split test`` for the test split), scores every weight vector
of a grid on the simplex (:mod:`mmseg_ext.evaluation.uformer_weight_search`),
prints the members alone, the config's weights and the best candidates, and
writes, by default into the work dir:

* ``uformer_weights.py``: CONFIG as ``_base_`` plus
  ``model = dict(weights=[...])`` (mmengine refuses a key defined in two files
  of one ``_base_`` list, so the override inherits CONFIG itself);
* ``uformer_weights.pth``: the evaluated model with the tuned weights, so that
  ``tools/test.py uformer_weights.py uformer_weights.pth`` reports the tuned
  numbers (``tools/test.py`` does not load ``member_checkpoints``, and a
  UFormer checkpoint restores the weights it was saved with);
* ``uformer_weights.json``: every candidate's metrics, best first.

Without CKPT the members load their ``member_checkpoints`` (members trained
separately, then combined); with it the UFormer checkpoint is loaded.
"""
import argparse
import json
import logging
import os
import os.path as osp
import time
from typing import List, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu

from mmseg_ext.cli.common import (add_runtime_args, add_split_arg,
                                  evaluator_ignore_index, load_config)
from mmseg_ext.engine.runner import DeviceAwareRunner
from mmseg_ext.evaluation.uformer_weight_search import (
    METRICS, WeightSearchResult, format_table, format_weights,
    search_uformer_weights, simplex_grid)
from mmseg_ext.models.segmentors.uformer import UFormer
from mmseg_ext.registry import MODELS, SCOPE
from mmseg_ext.utils import (CheckpointMismatchError, atomic_torch_save,
                             build_segmentor, check_checkpoint)

__all__ = [
    'parse_args', 'main', 'check_uformer_config', 'override_text',
    'tuned_state_dict'
]

#: Default file name of the override config, in the work dir.
OVERRIDE_NAME = 'uformer_weights.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the arguments of ``tune_uformer_weights.py``."""
    parser = argparse.ArgumentParser(
        description='Grid-search the member weights of a UFormer on the val '
        '(or test) split and write the best as a config override')
    parser.add_argument('config', help='UFormer config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='UFormer checkpoint; without it the members load their '
        'model.member_checkpoints')
    add_split_arg(parser, default='val')
    parser.add_argument(
        '--step',
        type=float,
        default=0.1,
        help='grid step on the weight simplex; 1/step must be whole')
    parser.add_argument(
        '--metric', choices=METRICS, default='mIoU', help='what to maximise')
    parser.add_argument(
        '--top', type=int, default=10, help='how many candidates to list')
    parser.add_argument(
        '--out',
        help=f'override config to write (default WORK_DIR/{OVERRIDE_NAME}); '
        'its checkpoint (.pth) and the JSON of all candidates are written '
        'next to it')
    parser.add_argument(
        '--work-dir',
        help='the dir for the log and the outputs (default: the config\'s '
        'work_dir or ./work_dirs/<config name>)')
    add_runtime_args(parser)
    parser.set_defaults(launcher='none', local_rank=0)
    return parser.parse_args(argv)


def check_uformer_config(cfg: Config) -> None:
    """Raise a TypeError unless the config's model is a UFormer.

    Args:
        cfg (Config): The loaded config (default scope initialised).
    """
    model_type = cfg.model.get('type') if 'model' in cfg else None
    cls = MODELS.get(model_type) if isinstance(model_type,
                                               str) else model_type
    if not (isinstance(cls, type) and issubclass(cls, UFormer)):
        raise TypeError(
            f'The config\'s model is {model_type!r}, not a UFormer: '
            'tune_uformer_weights tunes the member weights of mmseg_ext\'s '
            "UFormer (model = dict(type='UFormer', members=[...], "
            "weights=[...]), e.g. configs/demo/uformer_*.py).")


def _load_model(cfg: Config, checkpoint: Optional[str],
                device: str) -> UFormer:
    """Build the UFormer and load its weights as ``tools/test.py`` would.

    With ``checkpoint`` (a UFormer checkpoint) it must fit the model
    exactly (``module.`` prefixes removed); without it
    :meth:`UFormer.init_weights` loads the member checkpoints.

    Raises:
        ValueError: ``checkpoint`` does not fit the UFormer, e.g. it is the
            checkpoint of one member.
    """
    try:
        model = build_segmentor(cfg, checkpoint, init_weights=False)
    except CheckpointMismatchError as err:
        raise ValueError(
            f'{checkpoint} is not a checkpoint of this UFormer. For '
            'checkpoints of the single members, leave CKPT out and set '
            f'model.member_checkpoints=[...].\n{err}') from None
    if checkpoint is None:
        if all(ckpt is None for ckpt in model.member_checkpoints):
            print_log(
                'No CKPT and no model.member_checkpoints: the members keep '
                'their initialisation (init_cfg); weights tuned on untrained '
                'members mean little.',
                logger='current',
                level=logging.WARNING)
        model.init_weights()
    model = revert_sync_batchnorm(model).to(device)
    model.eval()
    return model


def override_text(config: str, out: str, weights: Sequence[float],
                  learn_weights: bool, notes: Sequence[str]) -> str:
    """The override config: CONFIG as ``_base_`` plus the tuned weights.

    mmengine refuses a key (``model``) defined in two files of one
    ``_base_`` list, so the override inherits CONFIG itself: it can be
    passed to ``tools/test.py`` directly, or be the ``_base_`` of a config.

    Args:
        config (str): The tuned config's path.
        out (str): Where the override will be written (``_base_`` is
            relative to its folder).
        weights (Sequence[float]): The weights to write.
        learn_weights (bool): Whether CONFIG learns the weights; then the
            override fixes them (``learn_weights=False``).
        notes (Sequence[str]): Comment lines on how they were obtained.

    Returns:
        str: The file's text.
    """
    base = osp.relpath(osp.abspath(config), osp.dirname(osp.abspath(out)))
    ckpt = osp.basename(osp.splitext(out)[0] + '.pth')
    lines = ['# UFormer member weights tuned by '
             'tools/analysis_tools/tune_uformer_weights.py']
    lines += [f'#   {note}' for note in notes]
    lines += [
        f'# Evaluate: python tools/test.py THIS_FILE {ckpt} (the model',
        '# evaluated here, with these weights); or make THIS_FILE the',
        '# _base_ of a config of yours.',
        f'_base_ = [{base!r}]',
    ]
    if learn_weights:
        lines += [
            '# the config learns the weights: fix them to the tuned ones',
            f'model = dict(weights={format_weights(weights)}, '
            'learn_weights=False)'
        ]
    else:
        lines.append(f'model = dict(weights={format_weights(weights)})')
    return '\n'.join(lines) + '\n'


def tuned_state_dict(model: UFormer) -> dict:
    """``model``'s members' state, for a config that fixes the weights.

    UFormer's fixed weights are not part of its state (the config's
    ``model.weights`` always win), and learned ``weight_logits`` are dropped
    because the override config fixes the weights. The file matters when
    the members came from ``member_checkpoints``: ``tools/test.py`` needs
    one checkpoint of the whole UFormer.

    Args:
        model (UFormer): The evaluated model.

    Returns:
        dict: A CPU state dict.
    """
    state = weights_to_cpu(get_state_dict(model))
    state.pop('weight_logits', None)
    return state


def _write_outputs(args: argparse.Namespace, cfg: Config, model: UFormer,
                   result: WeightSearchResult, classes: Sequence[str],
                   num_images: int, out: str) -> List[str]:
    """Write the override config, its checkpoint and the JSON report.

    Returns:
        list[str]: The paths of the three files.
    """
    best, current = result.best, result.tagged('current')
    stem = osp.splitext(out)[0]

    def summary(k: int) -> str:
        m = result.metrics[k]
        return ', '.join(f'{name} {m[name]:.2f}' for name in METRICS)

    notes = [
        f'config:     {args.config}',
        f'checkpoint: {args.checkpoint or "none (model.member_checkpoints)"}',
        f'data:       {args.split} split, {num_images} images',
        f'search:     grid step {args.step}, {len(result.candidates)} '
        f'candidates, best {result.metric}',
        f'best:       {summary(best)}',
        f'was:        {format_weights(result.candidates[current])}: '
        f'{summary(current)}',
    ]
    if args.cfg_options:
        notes.append(f'tuned with --cfg-options {args.cfg_options} '
                     '(not repeated here)')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(
            override_text(args.config, out, result.candidates[best],
                          bool(cfg.model.get('learn_weights', False)),
                          notes))
    report = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        split=args.split,
        num_images=num_images,
        step=args.step,
        classes=list(classes),
        **result.to_dict(classes))
    with open(stem + '.json', 'w') as f:
        json.dump(report, f, indent=2)
    atomic_torch_save(
        dict(
            meta=dict(tuned_weights=report['best'], config=args.config),
            state_dict=tuned_state_dict(model)),
        stem + '.pth')
    return [out, stem + '.pth', stem + '.json']


def main(argv: Optional[List[str]] = None) -> WeightSearchResult:
    """Tune the weights of a UFormer config; print and write the results."""
    args = parse_args(argv)
    simplex_grid(2, args.step)  # a bad step fails before any work
    if args.top < 1:
        raise ValueError(f'--top must be >= 1, got {args.top}')
    check_checkpoint(
        args.checkpoint, 'pass a UFormer .pth written by tools/train.py, or '
        'no CKPT to use the config\'s model.member_checkpoints.')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('--device cuda, but CUDA is not available here: '
                           'use --device cpu.')
    cfg = load_config(args)
    init_default_scope(cfg.get('default_scope', SCOPE))
    check_uformer_config(cfg)
    out = args.out or osp.join(cfg.work_dir, OVERRIDE_NAME)
    if not out.endswith('.py'):
        raise ValueError(f'--out must be a .py config path, got {out!r}')
    for path, given in ((out, args.config),
                        (osp.splitext(out)[0] + '.pth', args.checkpoint)):
        if given and osp.abspath(path) == osp.abspath(given):
            raise ValueError(f'--out {out} would overwrite {given}: choose '
                             'another name')

    os.makedirs(cfg.work_dir, exist_ok=True)
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    MMLogger.get_instance(
        f'tune_uformer_weights_{stamp}',
        log_file=osp.join(cfg.work_dir, f'tune_uformer_weights_{stamp}.log'),
        log_level=cfg.get('log_level', 'INFO'))
    model = _load_model(cfg, args.checkpoint, args.device)
    dataloader = DeviceAwareRunner.build_dataloader(
        cfg[f'{args.split}_dataloader'])
    classes = list(dataloader.dataset.metainfo['classes'])
    if model.out_channels > 1 and model.out_channels != len(classes):
        raise ValueError(
            f'The UFormer predicts {model.out_channels} classes but the '
            f'{args.split} dataset has {len(classes)} ({classes}).')

    print_log(
        f'Tuning {len(model.members)} member weights on the {args.split} '
        f'split ({len(dataloader.dataset)} images), grid step {args.step}',
        logger='current')
    result = search_uformer_weights(
        model,
        dataloader,
        num_classes=len(classes),
        step=args.step,
        metric=args.metric,
        ignore_index=evaluator_ignore_index(cfg, args.split))
    out, ckpt, report = _write_outputs(args, cfg, model, result, classes,
                                       len(dataloader.dataset), out)
    best = format_weights(result.candidates[result.best])
    score = result.metrics[result.best][result.metric]
    print_log(
        '\n' + format_table(result, top=args.top) +
        f'\n\nbest weights ({result.metric} {score:.2f}): {best}'
        f'\n  as options: --cfg-options model.weights="'
        f'{best.replace(" ", "")}"'
        f'\n  override config: {out}'
        f'\n  evaluate: python tools/test.py {out} {ckpt}'
        f'\n  all candidates: {report}',
        logger='current')
    return result
