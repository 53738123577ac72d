"""Build a trained segmentor and run it on a split or on image files.

Every model of mmseg_ext's configs works here, UFormer included (binary
``out_channels=1`` too): the config's ``mmseg::`` parts are built in the
mmseg_ext scope (:func:`~mmseg_ext.engine.scope.adopt_mmseg_scope`), and
checkpoints load through mmengine's loader, which importing mmseg_ext makes
safe (:mod:`mmseg_ext.engine.safe_checkpoint`).
"""
import glob
import logging
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import cv2
import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import (_load_checkpoint,
                                        _load_checkpoint_to_model)
from mmengine.utils import ProgressBar
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_ext.engine.checkpoint_fit import check_checkpoint_fits
from mmseg_ext.engine.runner import DeviceAwareRunner
from mmseg_ext.engine.scope import adopt_mmseg_scope
from mmseg_ext.registry import MODELS, SCOPE
from mmseg_ext.utils.logging_utils import quiet_logger
from mmseg_ext.visualization import full_palette, overlay

if TYPE_CHECKING:  # the deploy extra is optional
    from mmseg_ext_deploy import OrtSegmentor

__all__ = [
    'IMAGE_EXTENSIONS', 'load_inference_config', 'dataset_meta_of',
    'load_weights', 'init_model', 'model_num_classes',
    'build_split_dataset', 'iter_predictions', 'list_images',
    'output_names', 'InferenceReport', 'infer_images', 'init_onnx_model',
    'onnx_providers'
]

#: File endings a folder INPUT is searched for (case-insensitive).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


def load_inference_config(config: Union[str, Config],
                          cfg_options: Optional[dict] = None) -> Config:
    """Read a config for inference, in its own scope.

    Args:
        config (str | Config): Config file path or loaded config (copied).
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        Config: The config, ``mmseg::`` parts adopted into the mmseg_ext
        scope, the default scope initialised to the config's.
    """
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(
                f'Config file {config!r} does not exist (configs live in '
                'configs/, e.g. configs/demo/).')
        cfg = Config.fromfile(config)
    elif isinstance(config, Config):
        cfg = config.copy()
    else:
        raise TypeError(f'config must be a path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'{config} has no "model": not a model config')
    cfg.model.pop('pretrained', None)
    cfg.model.train_cfg = None
    adopt_mmseg_scope(cfg)
    init_default_scope(cfg.get('default_scope', SCOPE))
    return cfg


def model_num_classes(model: nn.Module) -> int:
    """Number of classes a segmentor predicts (2 for a 1-channel head)."""
    return int(model.decode_head.num_classes)


def dataset_meta_of(checkpoint: Optional[dict], cfg: Config,
                    num_classes: int) -> Dict[str, list]:
    """``classes`` and ``palette`` for a model's outputs.

    From the checkpoint's ``meta.dataset_meta`` (mmengine's runner saves the
    training dataset's), else the ``metainfo`` of the config's test (or
    val) dataset, else ``'0'``, ``'1'``...; missing colours are filled as
    :func:`~mmseg_ext.visualization.full_palette` does.

    Args:
        checkpoint (dict, optional): A loaded checkpoint.
        cfg (Config): The model's config.
        num_classes (int): Classes the model predicts.

    Returns:
        dict: ``classes`` (list of ``num_classes`` names) and ``palette``
        (list of ``num_classes`` RGB lists).
    """
    meta = dict((checkpoint or {}).get('meta', {}).get('dataset_meta') or {})
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


def load_weights(model: nn.Module, checkpoint: Optional[dict],
                 cfg: Config, source: str = 'the checkpoint') -> None:
    """Load a checkpoint's weights (strictly) and set ``dataset_meta``.

    Args:
        model (nn.Module): The built segmentor.
        checkpoint (dict, optional): Loaded with mmengine's (safe) loader;
            None keeps the initialisation.
        cfg (Config): The model's config (for the class names).
        source (str): How errors name the checkpoint.

    Raises:
        CheckpointMismatchError: The checkpoint's weights do not fit the
            model (counts and examples of the keys).
    """
    if checkpoint is not None:
        check_checkpoint_fits(
            model, checkpoint, source,
            hint='\nPass the config the checkpoint was trained with: it '
            'does not fit the config\'s model.')
        _load_checkpoint_to_model(model, checkpoint, strict=False)
    model.dataset_meta = dataset_meta_of(checkpoint, cfg,
                                         model_num_classes(model))


def build_segmentor(
        config: Union[str, Config],
        checkpoint: Optional[str] = None,
        cfg_options: Optional[dict] = None
) -> Tuple[BaseSegmentor, Optional[dict]]:
    """Build a config's segmentor and load a checkpoint into it (strictly).

    Args:
        config (str | Config): Config file path or config.
        checkpoint (str, optional): Checkpoint path or URL; None runs
            ``init_weights`` (a UFormer loads its ``member_checkpoints``).
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        tuple: ``(model, loaded checkpoint or None)``; the model has
        ``cfg`` and ``dataset_meta``, in training mode on the CPU.
    """
    cfg = load_inference_config(config, cfg_options)
    model = MODELS.build(cfg.model)
    loaded = None
    if checkpoint is None:
        with quiet_logger():  # one INFO line per parameter otherwise
            model.init_weights()
    else:
        loaded = _load_checkpoint(checkpoint, map_location='cpu')
    load_weights(model, loaded, cfg, source=checkpoint)
    model.cfg = cfg
    return model, loaded


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> BaseSegmentor:
    """A segmentor ready for inference, like ``mmseg.apis.init_model``.

    Differences: the config is built in the mmseg_ext scope, the checkpoint
    must fit the model exactly (no silently random layer), the class names
    come from the checkpoint or the config (never Cityscapes'), BN replaces
    SyncBN on the CPU, and without a checkpoint ``init_weights`` runs (so a
    UFormer loads its ``member_checkpoints``).

    Args:
        config (str | Config): Config file path or config.
        checkpoint (str, optional): Checkpoint path or URL.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        BaseSegmentor: In eval mode on ``device``, with ``cfg`` and
        ``dataset_meta``.
    """
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {device}, but CUDA is not available '
                           'here: use --device cpu.')
    if checkpoint is not None and '://' not in checkpoint and \
            not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f'Checkpoint {checkpoint!r} does not exist; pass a .pth written '
            'by tools/train.py (WORK_DIR/iter_N.pth or best_*.pth).')
    model, _ = build_segmentor(config, checkpoint, cfg_options)
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
    :func:`infer_images`, run by onnxruntime.

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
            outputs: ``inputs``, ``data_samples``).
        indices (Sequence[int], optional): The items to predict; all by
            default.
        progress (bool): Show a progress bar over the images.

    Yields:
        SegDataSample: With ``gt_sem_seg`` (if the pipeline loads it),
        ``pred_sem_seg`` at the original size, ``img_path`` in its metainfo
        (and the members' ``pred_sem_seg_m{i}`` for a UFormer with
        ``keep_member_preds``).
    """
    indices = range(len(dataset)) if indices is None else indices
    bar = ProgressBar(len(indices)) if progress and len(indices) else None
    for index in indices:
        yield model.test_step(pseudo_collate([dataset[index]]))[0]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')


def list_images(spec: str) -> List[str]:
    """The image files an INPUT names, sorted.

    Args:
        spec (str): An image file, a folder (its files ending in
            :data:`IMAGE_EXTENSIONS`, not recursive) or a glob pattern
            (``**`` recursive; every matched file).

    Returns:
        list[str]: File paths (may be empty for a folder or glob).

    Raises:
        FileNotFoundError: ``spec`` is neither a file, a folder nor a glob.
    """
    if osp.isdir(spec):
        return sorted(
            osp.join(spec, name) for name in os.listdir(spec)
            if name.lower().endswith(IMAGE_EXTENSIONS)
            and osp.isfile(osp.join(spec, name)))
    if osp.isfile(spec):
        return [spec]
    if glob.has_magic(spec):
        return sorted(p for p in glob.glob(spec, recursive=True)
                      if osp.isfile(p))
    raise FileNotFoundError(f'INPUT {spec!r} is not a file, a folder or a '
                            'glob pattern (quote globs: "dir/*.jpg").')


def output_names(paths: List[str]) -> List[str]:
    """Output names (``.png``): the inputs' tree below their common folder.

    ``a/x.jpg`` and ``a/b/y.png`` (common folder ``a``) give ``x.png`` and
    ``b/y.png``; inputs that would share a name keep their extension
    (``x_jpg.png``, ``x_png.png``).
    """
    if not paths:
        return []
    absolute = [osp.abspath(p) for p in paths]
    root = osp.commonpath([osp.dirname(p) for p in absolute])
    stems = [osp.splitext(osp.relpath(p, root))[0] for p in absolute]
    counts = Counter(stems)
    names = []
    for path, stem in zip(absolute, stems):
        if counts[stem] > 1:
            stem += '_' + osp.splitext(path)[1].lstrip('.')
        names.append(stem + '.png')
    return names


@dataclass
class InferenceReport:
    """What :func:`infer_images` did.

    Attributes:
        written (list[tuple[str, str, str]]): ``(input, mask, overlay)``
            paths per predicted image.
        skipped (list[tuple[str, str]]): ``(input, reason)`` per unreadable
            image.
    """
    written: List[Tuple[str, str, str]] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0: every image predicted; 1: some skipped; 2: none could be read
        (or there was none)."""
        if not self.written:
            return 2
        return 1 if self.skipped else 0


def _inference_pipeline(cfg: Config) -> Compose:
    """The test pipeline for decoded images: no annotations, ndarray input."""
    dataloader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not dataloader:
        raise ValueError('The config has no test_dataloader (or '
                         'val_dataloader) whose pipeline inference could use.')
    pipeline = []
    for transform in dataloader['dataset']['pipeline']:
        transform = dict(transform)
        if transform['type'] in ('LoadAnnotations', 'mmseg.LoadAnnotations',
                                 'mmseg_ext.LoadAnnotations'):
            continue
        if transform['type'] in ('LoadImageFromFile',
                                 'mmseg.LoadImageFromFile'):
            transform = dict(type='LoadImageFromNDArray')
        pipeline.append(transform)
    return Compose(pipeline)


def _read_image(path: str) -> Tuple[Optional[np.ndarray], str]:
    """``(BGR image, '')``, or ``(None, reason)`` if it cannot be read."""
    try:
        image = mmcv.imread(path, channel_order='bgr')
    except Exception as err:  # a decoder error of any kind: skip the file
        return None, f'{type(err).__name__}: {err}'
    if image is None or image.size == 0:
        return None, 'not a decodable image'
    return image, ''


def _write_png(path: str, image: np.ndarray) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    if not cv2.imwrite(path, image):
        raise OSError(f'could not write {path}')


@torch.no_grad()
def infer_images(model: Union[BaseSegmentor, 'OrtSegmentor'],
                 paths: List[str],
                 out_dir: str,
                 opacity: float = 0.5,
                 progress: bool = True) -> InferenceReport:
    """Predict image files; write class-id masks and colour overlays.

    For each input (named by :func:`output_names`):
    ``out_dir/masks/NAME.png``, the class ids (uint8; uint16 above 256
    classes) at the image's size, and ``out_dir/overlays/NAME.png``, the
    image with the prediction in the palette of ``model.dataset_meta`` (an
    ONNX model: of its metadata) blended over it. Unreadable images are
    logged (named, with the reason) and skipped.

    Args:
        model (BaseSegmentor | mmseg_ext_deploy.OrtSegmentor): From
            :func:`init_model`, or :func:`init_onnx_model` (onnxruntime).
        paths (list[str]): Image files (:func:`list_images`).
        out_dir (str): Output folder.
        opacity (float): Weight of the colours in the overlays, ``[0, 1]``.
        progress (bool): Show a progress bar.

    Returns:
        InferenceReport: Written files and skipped inputs.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f'--opacity must be in [0, 1], got {opacity}')
    if isinstance(model, nn.Module):
        pipeline = _inference_pipeline(model.cfg)
        num_classes = model_num_classes(model)
        palette = model.dataset_meta['palette']

        def predict(image: np.ndarray) -> torch.Tensor:
            data = pipeline(dict(img=image))
            data = dict(inputs=[data['inputs']],
                        data_samples=[data['data_samples']])
            return model.test_step(data)[0].pred_sem_seg.data[0].cpu()
    else:  # an OrtSegmentor: its own preprocessing, from its metadata
        num_classes = model.num_classes
        palette = model.metadata['palette']

        def predict(image: np.ndarray) -> np.ndarray:
            return model.predict(image).mask

    palette_bgr = np.asarray(palette, dtype=np.uint8)[:, ::-1]
    dtype = np.uint8 if num_classes <= 256 else np.uint16
    report = InferenceReport()
    bar = ProgressBar(len(paths)) if progress and paths else None
    for path, name in zip(paths, output_names(paths)):
        image, reason = _read_image(path)
        if image is None:
            print_log(f'skipped {path}: {reason}', logger='current',
                      level=logging.WARNING)
            report.skipped.append((path, reason))
        else:
            mask = np.asarray(predict(image)).astype(dtype)
            mask_path = osp.join(out_dir, 'masks', name)
            overlay_path = osp.join(out_dir, 'overlays', name)
            _write_png(mask_path, mask)
            _write_png(overlay_path,
                       overlay(image, mask, palette_bgr, opacity))
            report.written.append((path, mask_path, overlay_path))
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')
    return report
