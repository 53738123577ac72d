"""Predict image files: list the inputs, name the outputs, skip what cannot
be read, write masks and overlays (``tools/infer.py``).

A PyTorch model runs through :class:`~mmseg_ext.apis.MMSegExtInferencer`
(mmseg's test pipeline, ``test_step`` and ``SegLocalVisualizer``); an
exported file through ``mmseg_ext_deploy.OrtSegmentor`` (its own
preprocessing and drawing, without torch).
"""
import glob
import logging
import os
import os.path as osp
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, List, Optional, Tuple, Union

import mmcv
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_iter_progress
from torch import nn

from .inference import model_num_classes
from .mmseg_ext_inferencer import MMSegExtInferencer

if TYPE_CHECKING:  # the deploy extra is optional
    from mmseg_ext_deploy import OrtSegmentor

__all__ = [
    'IMAGE_EXTENSIONS', 'list_images', 'output_names', 'InferenceReport',
    'infer_images'
]

#: File endings a folder INPUT is searched for (case-insensitive).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


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


def _read_image(path: str) -> Tuple[Optional[np.ndarray], str]:
    """``(BGR image, '')``, or ``(None, reason)`` if it cannot be read."""
    try:
        image = mmcv.imread(path, channel_order='bgr')
    except Exception as err:  # a decoder error of any kind: skip the file
        return None, f'{type(err).__name__}: {err}'
    if image is None or image.size == 0:
        return None, 'not a decodable image'
    return image, ''


#: Predicts a BGR image ``(H, W, 3)``, writes its overlay to the given
#: file; returns the ``(H, W)`` class ids (uint8; uint16 above 256 classes).
_Writer = Callable[[np.ndarray, str], np.ndarray]


def _predict_and_draw(model: Union[nn.Module, MMSegExtInferencer,
                                   'OrtSegmentor'], opacity: float) -> _Writer:
    """The backend's prediction and drawing of one image."""
    if isinstance(model, (nn.Module, MMSegExtInferencer)):
        inferencer = model if isinstance(
            model, MMSegExtInferencer) else MMSegExtInferencer(model)
        dtype = (np.uint8 if model_num_classes(inferencer.model) <= 256 else
                 np.uint16)

        def write(image: np.ndarray, overlay_path: str) -> np.ndarray:
            prediction = inferencer.predict_image(image)
            inferencer.save_overlay(image, prediction, overlay_path, opacity)
            return prediction.pred_sem_seg.data[0].cpu().numpy().astype(dtype)
    else:  # an OrtSegmentor: its own preprocessing, drawing and mask dtype

        def write(image: np.ndarray, overlay_path: str) -> np.ndarray:
            mask = model.predict(image).mask
            mmcv.imwrite(model.overlay(image, mask, opacity), overlay_path)
            return mask

    return write


def infer_images(model: Union[nn.Module, MMSegExtInferencer, 'OrtSegmentor'],
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
        model (nn.Module | MMSegExtInferencer | OrtSegmentor): A segmentor
            from :func:`~mmseg_ext.apis.init_model` or an inferencer; or
            from :func:`~mmseg_ext.apis.init_onnx_model` (onnxruntime).
        paths (list[str]): Image files (:func:`list_images`).
        out_dir (str): Output folder.
        opacity (float): Weight of the colours in the overlays, ``[0, 1]``.
        progress (bool): Show a progress bar.

    Returns:
        InferenceReport: Written files and skipped inputs.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f'--opacity must be in [0, 1], got {opacity}')
    write = _predict_and_draw(model, opacity)
    report = InferenceReport()
    jobs = list(zip(paths, output_names(paths)))
    for path, name in (track_iter_progress(jobs)
                       if progress and jobs else jobs):
        image, reason = _read_image(path)
        if image is None:
            print_log(f'skipped {path}: {reason}', logger='current',
                      level=logging.WARNING)
            report.skipped.append((path, reason))
            continue
        mask_path = osp.join(out_dir, 'masks', name)
        overlay_path = osp.join(out_dir, 'overlays', name)
        mmcv.imwrite(write(image, overlay_path), mask_path)
        report.written.append((path, mask_path, overlay_path))
    return report
