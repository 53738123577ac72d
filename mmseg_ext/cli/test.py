"""``tools/test.py``: mmseg's test CLI plus a JSON report in the work dir."""
import argparse
import json
import os.path as osp
from typing import Dict, List, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmseg_ext.cli.common import add_common_args, build_runner, load_config
from mmseg_ext.engine.dist_utils import dist_session
from mmseg_ext.utils import check_checkpoint

__all__ = ['parse_args', 'main', 'REPORT_NAME']

#: File name of the JSON report written into the work dir.
REPORT_NAME = 'test_report.json'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse mmseg's ``tools/test.py`` arguments."""
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        type=str,
        help='directory to save the predicted label maps for offline use')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved (inside '
        'work_dir/timestamp/)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta', action='store_true', help='Test time augmentation')
    add_common_args(parser)
    return parser.parse_args(argv)


def _trigger_visualization_hook(cfg: Config,
                                args: argparse.Namespace) -> None:
    """Turn on mmseg's ``SegVisualizationHook`` for --show / --show-dir."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise ValueError(
            '--show/--show-dir need default_hooks.visualization='
            "dict(type='SegVisualizationHook') in the config.")
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir


def _per_class_report(runner: Runner) -> Optional[Dict]:
    """The per-class table of the first metric that keeps one."""
    for metric in runner.test_evaluator.metrics:
        report = getattr(metric, 'last_report', None)
        if report is not None:
            return report
    return None


def write_report(runner: Runner, metrics: Dict, config: str,
                 checkpoint: str) -> str:
    """Write ``work_dir/test_report.json`` and return its path.

    Args:
        runner (Runner): The runner that just tested.
        metrics (dict): What ``runner.test()`` returned.
        config (str): The config path.
        checkpoint (str): The checkpoint path.

    Returns:
        str: Path of the JSON file.
    """
    report = dict(
        config=config,
        checkpoint=checkpoint,
        metrics={k: float(v)
                 for k, v in metrics.items()})
    table = _per_class_report(runner)
    if table is not None:
        report['classes'] = table['classes']
        report['per_class'] = table['per_class']
    path = osp.join(runner.work_dir, REPORT_NAME)
    with open(path, 'w') as f:
        json.dump(report, f, indent=2)
    print_log(f'Test report written to {path}', logger='current')
    return path


def main(argv: Optional[List[str]] = None) -> Dict:
    """Evaluate a checkpoint, print the table and write the JSON report."""
    args = parse_args(argv)
    cfg = load_config(args)
    check_checkpoint(
        args.checkpoint, 'pass a .pth written by tools/train.py (e.g. '
        'work_dirs/<cfg>/iter_N.pth).')
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        _trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ValueError('--tta needs tta_model and tta_pipeline in the '
                             'config (as in mmseg::_base_/datasets/*).')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    with dist_session():
        runner = build_runner(cfg)
        metrics = runner.test()
        if is_main_process():
            write_report(runner, metrics, args.config, args.checkpoint)
    return metrics
