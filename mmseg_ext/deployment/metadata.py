"""The metadata a deployed ONNX file carries (``mmseg_ext`` metadata prop).

The schema is shared with the torch-free runtime
(:mod:`mmseg_ext_deploy.metadata`, which owns ``METADATA_KEY``,
``FORMAT_VERSION`` and the validation); this module fills it from a built
segmentor and its config: classes and palette, the data preprocessor's
normalisation and padding, the test pipeline's ``Resize``, the test mode
(whole or slide, with crop and stride), the binary threshold and, for a
UFormer, its fusion.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from torch import nn

from mmseg_ext.apis import dataset_meta_of
from mmseg_ext_deploy.metadata import (FORMAT_VERSION, METADATA_KEY,
                                       validate_metadata)

__all__ = [
    'METADATA_KEY', 'FORMAT_VERSION', 'ExportConfigError', 'inference_mode',
    'pipeline_resize', 'preprocessor_settings', 'default_input_shape',
    'check_slide_fusion', 'export_metadata'
]

#: Test-pipeline transforms that do not change the image the model sees.
_NEUTRAL_TRANSFORMS = ('LoadImageFromFile', 'LoadImageFromNDArray',
                       'LoadAnnotations', 'PackSegInputs',
                       'LoadBiomedicalImageFromFile')


class ExportConfigError(ValueError):
    """The config asks for something a deployed file cannot reproduce."""


def _plain(value):
    """Tuples/lists of numbers as lists, None as None."""
    return None if value is None else [int(v) for v in value]


def inference_mode(model: nn.Module) -> Dict[str, object]:
    """``test_mode``, ``crop_size`` and ``stride`` of a segmentor.

    A UFormer's members each infer with their own ``test_cfg``; a deployed
    file has one, so they must agree.

    Args:
        model (nn.Module): A built segmentor.

    Returns:
        dict: ``test_mode`` ('whole' or 'slide'), ``crop_size`` and
        ``stride`` (``[h, w]`` in slide mode, else None).

    Raises:
        ExportConfigError: An unknown mode, a slide mode without crop or
            stride, or UFormer members that disagree (naming them).
    """
    members = getattr(model, 'members', None)
    owners = ([
        (f'member {i} ({type(m).__name__})', m) for i, m in enumerate(members)
    ] if members is not None else [(type(model).__name__, model)])
    settings = []
    for label, owner in owners:
        cfg = dict(getattr(owner, 'test_cfg', None) or {})
        mode = cfg.get('mode', 'whole')
        if mode not in ('whole', 'slide'):
            raise ExportConfigError(
                f'{label}: test_cfg.mode={mode!r} cannot be exported (only '
                "'whole' and 'slide')")
        crop = stride = None
        if mode == 'slide':
            if 'crop_size' not in cfg or 'stride' not in cfg:
                raise ExportConfigError(
                    f'{label}: slide test_cfg needs crop_size and stride, '
                    f'got {cfg}')
            crop, stride = _plain(cfg['crop_size']), _plain(cfg['stride'])
        settings.append((label, (mode, crop, stride)))
    first = settings[0][1]
    if any(s != first for _, s in settings):
        listing = '; '.join(f'{label}: mode={s[0]}, crop_size={s[1]}, '
                            f'stride={s[2]}' for label, s in settings)
        raise ExportConfigError(
            f'The UFormer members infer differently ({listing}). A deployed '
            'file runs one test mode for the fused graph: give every member '
            'the same test_cfg (e.g. --cfg-options '
            "model.members.0.test_cfg.mode=whole ...).")
    mode, crop, stride = first
    return dict(test_mode=mode, crop_size=crop, stride=stride)


def _pipeline(cfg: Config) -> List[dict]:
    for key in ('test_dataloader', 'val_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('dataset', {}).get('pipeline') is not None:
            return list(loader['dataset']['pipeline'])
    return []


def pipeline_resize(cfg: Config) -> Optional[Dict[str, object]]:
    """The test pipeline's ``Resize`` as ``{'scale': [w, h], 'keep_ratio'}``.

    Args:
        cfg (Config): The model's config.

    Returns:
        dict | None: None when the pipeline does not resize.

    Raises:
        ExportConfigError: A transform the runtime cannot reproduce (named),
            a ``Resize`` by ``scale_factor`` or more than one ``Resize``.
    """
    found = None
    for transform in _pipeline(cfg):
        kind = str(transform.get('type', '')).split('.')[-1]
        if kind in _NEUTRAL_TRANSFORMS:
            continue
        if kind != 'Resize':
            raise ExportConfigError(
                f'The test pipeline\'s {kind} cannot be reproduced by the '
                'deployed runtime (it knows Resize(scale, keep_ratio) '
                'only); remove it from test_dataloader.dataset.pipeline to '
                'export.')
        if found is not None:
            raise ExportConfigError('The test pipeline resizes twice; the '
                                    'deployed runtime resizes once.')
        if transform.get('scale') is None:
            raise ExportConfigError(
                f'The test pipeline\'s Resize has no scale ({transform}); '
                'the deployed runtime knows Resize(scale=(w, h), '
                'keep_ratio) only.')
        scale = transform['scale']
        if isinstance(scale, (int, float)):
            scale = (scale, scale)
        found = dict(
            scale=[int(s) for s in scale],
            keep_ratio=bool(transform.get('keep_ratio', False)))
    return found


def preprocessor_settings(model: nn.Module) -> Dict[str, object]:
    """Normalisation and test-time padding of the model's preprocessor.

    Args:
        model (nn.Module): A built segmentor.

    Returns:
        dict: ``mean``, ``std`` (after the channel swap, as mmseg applies
        them), ``bgr_to_rgb`` (any channel swap), ``pad_val`` (of the
        normalised tensor), ``size_divisor`` and ``pad_size`` (its
        ``test_cfg``).
    """
    pre = model.data_preprocessor
    if getattr(pre, '_enable_normalize', False):
        # float32 buffers: their shortest decimal (123.675, not
        # 123.67500305175781)
        mean = [float(str(np.float32(v))) for v in pre.mean.flatten()]
        std = [float(str(np.float32(v))) for v in pre.std.flatten()]
    else:
        mean, std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    test_cfg = dict(getattr(pre, 'test_cfg', None) or {})
    size_divisor = test_cfg.get('size_divisor')
    pad_size = _plain(test_cfg.get('size'))
    if size_divisor is not None and pad_size is not None:
        raise ExportConfigError(
            'data_preprocessor.test_cfg sets both size and size_divisor; '
            'a deployed file pads one way: keep one.')
    return dict(
        mean=mean,
        std=std,
        bgr_to_rgb=bool(getattr(pre, 'channel_conversion', False)),
        pad_val=float(getattr(pre, 'pad_val', 0)),
        size_divisor=None if size_divisor is None else int(size_divisor),
        pad_size=pad_size)


def _round_up(value: int, divisor: Optional[int]) -> int:
    if not divisor:
        return int(value)
    return int(math.ceil(value / divisor) * divisor)


def default_input_shape(settings: Dict[str, object],
                        resize: Optional[Dict[str, object]],
                        preprocessor: Dict[str, object]) -> Tuple[int, int]:
    """``(H, W)`` of a fixed-shape export when ``--shape`` is not given.

    The slide crop; else the test-time pad size; else the test ``Resize``
    scale (rounded up to the size divisor); else 512x512.
    """
    if settings['test_mode'] == 'slide':
        return tuple(settings['crop_size'])
    if preprocessor['pad_size'] is not None:
        return tuple(preprocessor['pad_size'])
    if resize is not None:
        w, h = resize['scale']
        divisor = preprocessor['size_divisor']
        return _round_up(h, divisor), _round_up(w, divisor)
    return 512, 512


def check_slide_fusion(fuse: Optional[str], settings: Dict[str,
                                                           object]) -> None:
    """Refuse a UFormer the runtime's sliding windows would change.

    mmseg slides each member and fuses the averaged windows; the runtime
    slides the fused graph. Fusing logits is linear, so the two agree;
    fusing probabilities does not commute with averaging, so they differ
    where windows overlap.

    Args:
        fuse (str, optional): ``'logits'``, ``'probs'`` or None.
        settings (dict): :func:`inference_mode`.

    Raises:
        ExportConfigError: ``'probs'`` with overlapping slide windows.
    """
    if fuse != 'probs' or settings['test_mode'] != 'slide':
        return
    if any(s < c for s, c in zip(settings['stride'], settings['crop_size'])):
        raise ExportConfigError(
            "A UFormer with fuse='probs' and overlapping slide windows "
            f"(crop_size {settings['crop_size']}, stride "
            f"{settings['stride']}) averages each member's windows "
            'before fusing; the deployed runtime slides the fused graph, '
            "which differs where windows overlap. Use fuse='logits', "
            'whole mode, or stride equal to crop_size.')


def export_metadata(model: nn.Module,
                    cfg: Config,
                    checkpoint: Optional[dict] = None,
                    input_shape: Optional[Sequence[int]] = None,
                    dynamic: bool = False) -> Dict[str, object]:
    """The metadata JSON object of a deployed file (``docs/deployment.md``).

    Args:
        model (nn.Module): The built segmentor.
        cfg (Config): Its config (test pipeline, dataset metainfo).
        checkpoint (dict, optional): The loaded checkpoint (its
            ``meta.dataset_meta`` names the classes).
        input_shape (sequence[int], optional): ``(H, W)`` of a fixed-shape
            export; None with ``dynamic``.
        dynamic (bool): Whether N, H and W are dynamic axes.

    Returns:
        dict: The metadata, validated by the runtime's schema.

    Raises:
        ExportConfigError: The config cannot be deployed as one file
            (see :func:`inference_mode`, :func:`pipeline_resize`), or a
            UFormer fuses probabilities with overlapping slide windows.
    """
    settings = inference_mode(model)
    preprocessor = preprocessor_settings(model)
    resize = pipeline_resize(cfg)
    out_channels = int(model.out_channels)
    num_classes = int(model.decode_head.num_classes)
    names = dataset_meta_of(
        (checkpoint or {}).get('meta', {}).get('dataset_meta'), cfg,
        num_classes)
    fuse = weights = None
    if hasattr(model, 'fuse_mode'):
        fuse = model.fuse_mode
        weights = [float(w) for w in model.weights.detach().cpu()]
        check_slide_fusion(fuse, settings)
    meta = dict(
        format_version=FORMAT_VERSION,
        model=type(model).__name__,
        classes=list(names['classes']),
        palette=[[int(c) for c in rgb] for rgb in names['palette']],
        out_channels=out_channels,
        **preprocessor,
        test_resize=resize,
        **settings,
        align_corners=bool(model.align_corners),
        input_shape=None if dynamic else _plain(input_shape),
        dynamic=bool(dynamic),
        fuse=fuse,
        weights=weights)
    if out_channels == 1:  # sigmoid > threshold; argmax otherwise
        meta['threshold'] = float(model.decode_head.threshold)
    validate_metadata(meta)
    return meta
