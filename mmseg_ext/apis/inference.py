"""Build a trained segmentor for inference and run it on a split.

Configs, models and checkpoints go through the one builder,
:mod:`mmseg_ext.utils.builder` (every model of mmseg_ext's configs,
UFormer and binary ``out_channels=1`` included; the checkpoint must fit the
model exactly). What this module adds for inference: the class names and
palette (the checkpoint's, else the config's dataset, never Cityscapes'),
BN for SyncBN off CUDA, eval mode, the onnxruntime backend, and predictions
of a config's val or test split.
"""
import logging
from typing import TYPE_CHECKING, Dict, Iterator, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.utils import track_iter_progress
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_ext.engine.runner import DeviceAwareRunner
from mmseg_ext.registry import SCOPE
from mmseg_ext.utils import build_segmentor, load_config
from mmseg_ext.visualization import full_palette

if TYPE_CHECKING:  # the deploy extra is optional
    from mmseg_ext_deploy import OrtSegmentor

__all__ = [
    'load_inference_config', 'dataset_meta_of', 'model_num_classes',
    'init_model', 'onnx_providers', 'init_onnx_model', 'build_split_dataset',
    'iter_predictions'
]

#: What :func:`init_model` tells a user whose checkpoint does not exist.
CHECKPOINT_HINT = ('pass a .pth written by tools/train.py '
                   '(WORK_DIR/iter_N.pth or best_*.pth).')


def load_inference_config(config: Union[str, Config],
                          cfg_options: Optional[dict] = None) -> Config:
    """A config for inference: :func:`~mmseg_ext.utils.load_config`, then
    no pretrained weights and no ``train_cfg``.

    Args:
        config (str | Config): Config file path or loaded config (copied).
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        Config: The config, the default scope initialised to its own.

    Raises:
        ValueError: The config has no ``model``.
    """
    cfg = load_config(config, cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'{config} has no "model": not a model config')
    cfg.model.pop('pretrained', None)
    cfg.model.train_cfg = None
    init_default_scope(cfg.get('default_scope', SCOPE))
    return cfg


def model_num_classes(model: nn.Module) -> int:
    """Number of classes a segmentor predicts (2 for a 1-channel head)."""
    return int(model.decode_head.num_classes)


def dataset_meta_of(dataset_meta: Optional[dict], cfg: Config,
                    num_classes: int) -> Dict[str, list]:
    """``classes`` and ``palette`` for a model's outputs.

    From ``dataset_meta`` (a checkpoint's ``meta.dataset_meta``: mmengine's
    runner saves the training dataset's), else the ``metainfo`` of the
    config's test (or val) dataset, else ``'0'``, ``'1'``...; missing
    colours are filled as :func:`~mmseg_ext.visualization.full_palette`
    does.

    Args:
        dataset_meta (dict, optional): A checkpoint's dataset meta.
        cfg (Config): The model's config.
        num_classes (int): Classes the model predicts.

    Returns:
        dict: ``classes`` (list of ``num_classes`` names) and ``palette``
        (list of ``num_classes`` RGB lists).
    """
    meta = dict(dataset_meta or {})
    if not meta.get('classes'):
        for split in ('test', 'val'):
            dataset = cfg.get(f'{split}_dataloader', {}).get('dataset', {})
            if isinstance(dataset, dict) and dataset.get('metainfo'):
                meta = dict(dataset['metainfo'])
                break
    classes = list(meta.get('classes') or [])
    if len(classes) != num_classes:
        if classes:
            print_log(
                f'The model predicts {num_classes} classes but its dataset '
                f'meta names {len(classes)} ({classes}): using ids as names.',
                logger='current',
                level=logging.WARNING)
        classes = [str(i) for i in range(num_classes)]
    palette = full_palette(meta.get('palette'), num_classes).tolist()
    return dict(classes=classes, palette=palette)


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> BaseSegmentor:
    """A segmentor ready for inference, like ``mmseg.apis.init_model``.

    Built by :func:`mmseg_ext.utils.build_segmentor`: the config in the
    mmseg_ext scope, the checkpoint fitting the model exactly (no silently
    random layer), ``init_weights`` without one (a UFormer loads its
    ``member_checkpoints``). Then the class names and palette come from the
    checkpoint or the config (:func:`dataset_meta_of`, never Cityscapes'),
    and BN replaces SyncBN off CUDA.

    Args:
        config (str | Config): Config file path or config.
        checkpoint (str, optional): Checkpoint path or URL.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        BaseSegmentor: In eval mode on ``device``, with ``cfg`` and
        ``dataset_meta`` (``classes``, ``palette``).

    Raises:
        RuntimeError: ``device`` is CUDA and CUDA is not available.
        FileNotFoundError: The config or checkpoint file does not exist.
        CheckpointMismatchError: The checkpoint does not fit the config.
    """
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {device}, but CUDA is not available '
                           'here: use --device cpu.')
    cfg = load_inference_config(config, cfg_options)
    model = build_segmentor(cfg, checkpoint, hint=CHECKPOINT_HINT)
    model.dataset_meta = dataset_meta_of(model.dataset_meta, cfg,
                                         model_num_classes(model))
    if not device.startswith('cuda'):
        model = revert_sync_batchnorm(model)
    return model.to(device).eval()


def onnx_providers(device: str = 'cpu') -> Optional[list]:
    """onnxruntime execution providers for a ``--device``.

    Args:
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.

    Returns:
        list | None: None (CPU) or the CUDA provider (with ``device_id``)
        followed by the CPU one.
    """
    if device == 'cpu':
        return None
    if device == 'cuda' or device.startswith('cuda:'):
        index = device.partition(':')[2] or '0'
        if not index.isdigit():
            raise ValueError(f'--device {device}: expected cuda:N')
        return [('CUDAExecutionProvider', dict(device_id=int(index))),
                'CPUExecutionProvider']
    raise ValueError(f'--device {device}: expected cpu, cuda or cuda:N')


def init_onnx_model(onnx_file: str,
                    device: str = 'cpu',
                    num_threads: Optional[int] = None) -> 'OrtSegmentor':
    """An exported model (``tools/deployment/pytorch2onnx.py``) ready for
    :func:`~mmseg_ext.apis.infer_images`, run by onnxruntime.

    Args:
        onnx_file (str): The ``.onnx`` file; it holds weights, classes,
            palette and preprocessing, so no config is needed.
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` (CUDA needs
            the onnxruntime-gpu package).
        num_threads (int, optional): onnxruntime's intra-op threads.

    Returns:
        mmseg_ext_deploy.OrtSegmentor: The model.
    """
    # imported here: mmseg_ext works without the deploy extra installed
    try:
        from mmseg_ext_deploy import OrtSegmentor
    except ImportError as err:
        raise ImportError(
            f'The onnxruntime backend needs mmseg_ext_deploy ({err}): '
            'pip install "mmseg-ext-plugin[deploy]", or -e ".[deploy]" in '
            'a clone.') from None
    return OrtSegmentor(onnx_file, providers=onnx_providers(device),
                        intra_op_num_threads=num_threads)


def build_split_dataset(cfg: Config, split: str = 'test'):
    """The dataset of the config's ``{split}_dataloader`` (val or test)."""
    key = f'{split}_dataloader'
    if not cfg.get(key):
        raise ValueError(f'The config has no {key}: choose --split val or '
                         'test, or add it to the config.')
    return DeviceAwareRunner.build_dataloader(cfg[key]).dataset


@torch.no_grad()
def iter_predictions(model: BaseSegmentor,
                     dataset: Sequence[dict],
                     indices: Optional[Sequence[int]] = None,
                     progress: bool = True) -> Iterator[SegDataSample]:
    """Predict dataset items one at a time, in index order.

    Args:
        model (BaseSegmentor): From :func:`init_model`.
        dataset (Sequence[dict]): An mmseg dataset (items are pipeline
            outputs: ``inputs`` ``(3, H, W)``, ``data_samples``).
        indices (Sequence[int], optional): The items to predict; all by
            default.
        progress (bool): Show a progress bar over the images.

    Yields:
        SegDataSample: With ``gt_sem_seg`` (if the pipeline loads it),
        ``pred_sem_seg`` ``(1, H0, W0)`` at the original size, ``img_path``
        in its metainfo (and the members' ``pred_sem_seg_m{i}`` for a
        UFormer with ``keep_member_preds``).
    """
    indices = range(len(dataset)) if indices is None else indices
    if progress and len(indices):
        indices = track_iter_progress(list(indices))
    for index in indices:
        yield model.test_step(pseudo_collate([dataset[index]]))[0]
