"""Checks and file helpers that every dataset converter shares.

Each converter reads a dataset's release, checks every image/mask pair
(:func:`read_image`, :func:`read_label`, :func:`check_same_size`,
:func:`check_label_values`) and writes the mmseg layout through
:func:`write_image` / :func:`copy_file`, which go through a ``.part`` file
renamed into place, so a crash never leaves a truncated image under its
final name, and inside :func:`staged_output`'s staging folder, published
only once the whole conversion is written. A problem raises
:class:`ConversionError` naming the file and the fix; the command-line
entry points turn it into an exit message.
"""
import argparse
import contextlib
import os
import os.path as osp
import shutil
import sys
from typing import (Callable, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Sequence)

import cv2
import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

from mmseg_ext.engine.atomic_save import commit_part

__all__ = [
    'ConversionError', 'STAGING_DIR', 'staged_output', 'read_image',
    'read_label',
    'check_same_size', 'check_label_values', 'write_image', 'copy_file',
    'link_or_copy', 'write_lines', 'pair_files', 'run_tasks',
    'format_counts', 'cli_errors', 'add_common_args'
]


class ConversionError(ValueError):
    """A release file a converter cannot use; the message names it."""


#: The folder inside the output folder that a conversion writes to first.
STAGING_DIR = '.converting'


@contextlib.contextmanager
def staged_output(out_dir: str, owned: Sequence[str],
                  overwrite: bool) -> Iterator[str]:
    """Write a conversion into a staging folder; publish it only if it ends.

    The converter writes everything under the yielded folder
    (``out_dir/.converting``). When the ``with`` block ends normally, each
    of ``owned`` replaces its earlier version in ``out_dir`` (renamed into
    place); when it raises (a bad file found half-way, a kill), the staging
    folder is deleted and ``out_dir`` is left exactly as it was: no partial
    dataset, and an earlier conversion survives a failed ``--overwrite``.

    Args:
        out_dir (str): The output folder (created if missing).
        owned (Sequence[str]): Paths, relative to ``out_dir``, that the
            converter writes. With ``overwrite`` their earlier versions are
            replaced (and nothing else is touched).
        overwrite (bool): Allow a non-empty ``out_dir``.

    Yields:
        str: The staging folder to write into.

    Raises:
        ConversionError: ``out_dir`` is a file, or is not empty and
            ``overwrite`` is False.
    """
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise ConversionError(f'Output {out_dir} exists and is not a folder.')
    staging = osp.join(out_dir, STAGING_DIR)
    if osp.isdir(out_dir) and set(os.listdir(out_dir)) - {STAGING_DIR}:
        if not overwrite:
            raise ConversionError(
                f'Output folder {out_dir} is not empty: choose an empty or '
                'new folder, or pass --overwrite to replace what an earlier '
                f'conversion wrote there ({", ".join(owned)}).')
    if osp.isdir(staging):  # left by a conversion that was killed
        shutil.rmtree(staging)
    os.makedirs(staging)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for rel in owned:
        path = osp.join(out_dir, rel)
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path)
        elif osp.lexists(path):
            os.remove(path)
        if osp.lexists(osp.join(staging, rel)):
            os.replace(osp.join(staging, rel), path)
    shutil.rmtree(staging)


def read_image(path: str) -> np.ndarray:
    """Read a colour image.

    Args:
        path (str): The image file.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, BGR.

    Raises:
        ConversionError: The file is missing or cannot be decoded.
    """
    if not osp.isfile(path):
        raise ConversionError(f'Image {path} does not exist.')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise ConversionError(
            f'Cannot read image {path}: the file is damaged or not an image '
            '(download it again).')
    return image


def read_label(path: str) -> np.ndarray:
    """Read a label map of ids (8-bit grey or palette PNG).

    A palette PNG gives its indices, not its colours.

    Args:
        path (str): The mask file.

    Returns:
        np.ndarray: ``(H, W)`` uint8 ids.

    Raises:
        ConversionError: The file is missing, cannot be decoded or holds
            colours rather than ids.
    """
    if not osp.isfile(path):
        raise ConversionError(f'Mask {path} does not exist.')
    try:
        with Image.open(path) as img:
            mode = img.mode
            label = np.array(img)
    except Exception as e:  # PIL raises many types for a bad file
        raise ConversionError(
            f'Cannot read mask {path}: {e} (download it again).') from e
    if mode not in ('L', 'P') or label.ndim != 2:
        raise ConversionError(
            f'Mask {path} has PIL mode {mode!r}: expected one id per pixel '
            '(an 8-bit grey or palette PNG), not a colour mask.')
    return label.astype(np.uint8, copy=False)


def check_same_size(image_path: str, image: np.ndarray, mask_path: str,
                    mask: np.ndarray) -> None:
    """Refuse an image and a mask of different sizes.

    Raises:
        ConversionError: Naming both files and both sizes (W x H).
    """
    if image.shape[:2] != mask.shape[:2]:
        raise ConversionError(
            f'Size mismatch: image {image_path} is '
            f'{image.shape[1]}x{image.shape[0]} but mask {mask_path} is '
            f'{mask.shape[1]}x{mask.shape[0]} (W x H); the pair must match.')


def check_label_values(mask: np.ndarray, num_ids: int, path: str,
                       extra: Iterable[int] = ()) -> None:
    """Refuse a mask holding an id outside ``0..num_ids-1`` and ``extra``.

    Raises:
        ConversionError: Naming the file and the unknown values.
    """
    allowed = np.zeros(256, dtype=bool)
    allowed[:num_ids] = True
    allowed[list(extra)] = True
    values = np.unique(mask)
    unknown = values[~allowed[values]]
    if unknown.size:
        extra_txt = ''.join(f', {v}' for v in extra)
        raise ConversionError(
            f'Mask {path} holds values {unknown.tolist()} outside the known '
            f'ids 0..{num_ids - 1}{extra_txt}: is it the right label folder, '
            'or a damaged file?')


def _commit_bytes(data: bytes, path: str) -> None:
    part = f'{path}.part'
    with open(part, 'wb') as f:
        f.write(data)
    commit_part(part, path)


def write_image(path: str, array: np.ndarray,
                params: Optional[List[int]] = None) -> None:
    """Encode ``array`` by ``path``'s suffix and write it atomically.

    Args:
        path (str): Final file name; its folder must exist.
        array (np.ndarray): ``(H, W, 3)`` BGR or ``(H, W)`` uint8.
        params (list[int], optional): ``cv2.imencode`` parameters.
    """
    ok, data = cv2.imencode(osp.splitext(path)[1], array, params or [])
    if not ok:
        raise ConversionError(f'Could not encode {path}.')
    _commit_bytes(data.tobytes(), path)


def copy_file(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` through a ``.part`` file."""
    part = f'{dst}.part'
    shutil.copyfile(src, part)
    commit_part(part, dst)


def link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` as ``dst`` (a copy where links are refused)."""
    if osp.lexists(dst):
        os.remove(dst)
    try:
        os.link(src, dst)
    except OSError:
        copy_file(src, dst)


def write_lines(path: str, lines: Iterable[str]) -> None:
    """Write one line per item, atomically."""
    _commit_bytes(''.join(f'{line}\n' for line in lines).encode(), path)


def pair_files(image_dir: str, image_suffix: str, mask_dir: str,
               mask_suffix: str) -> List[str]:
    """Names (without suffix) present in both folders, sorted.

    Args:
        image_dir (str): Folder of ``NAME + image_suffix`` files.
        image_suffix (str): E.g. ``'.jpg'``.
        mask_dir (str): Folder of ``NAME + mask_suffix`` files.
        mask_suffix (str): E.g. ``'.png'``.

    Returns:
        list[str]: The paired names.

    Raises:
        ConversionError: A file lacks its partner (the first ones are named)
            or there is no image at all.
    """
    def names(folder: str, suffix: str) -> set:
        return {
            f[:-len(suffix)]
            for f in os.listdir(folder)
            if f.endswith(suffix) and not f.startswith('.')
        }

    images = names(image_dir, image_suffix)
    masks = names(mask_dir, mask_suffix)
    if not images:
        raise ConversionError(f'No *{image_suffix} image in {image_dir}.')
    for have, lack, have_dir, lack_dir, what, suffix in (
            (images, masks, image_dir, mask_dir, 'mask', mask_suffix),
            (masks, images, mask_dir, image_dir, 'image', image_suffix)):
        missing = sorted(have - lack)
        if missing:
            shown = ', '.join(
                osp.join(lack_dir, n + suffix) for n in missing[:5])
            more = f' and {len(missing) - 5} more' if len(missing) > 5 else ''
            raise ConversionError(
                f'Missing {what} for {len(missing)} file(s) of {have_dir}: '
                f'{shown}{more} do(es) not exist. Every image needs its mask '
                'and every mask its image.')
    return sorted(images)


def run_tasks(func: Callable, tasks: Sequence, nproc: int = 1) -> list:
    """Run ``func`` on every task with mmengine's progress bar.

    Args:
        func (Callable): A module-level function (picklable for ``nproc``
            > 1) taking one task.
        tasks (Sequence): The tasks.
        nproc (int): Worker processes. Defaults to 1.

    Returns:
        list: ``func``'s results, in task order.
    """
    if not tasks:
        return []
    if nproc > 1:
        return track_parallel_progress(
            func, list(tasks), nproc, file=sys.stdout)
    return track_progress(func, list(tasks), file=sys.stdout)


def format_counts(title: str, counts: Mapping[str, int],
                  where: str) -> str:
    """One line: ``title: train 280, val 70, test 50 -> where``."""
    parts = ', '.join(f'{split} {n}' for split, n in counts.items())
    return f'{title}: {parts} (total {sum(counts.values())}) -> {where}'


def cli_errors(main: Callable[[], Dict]) -> Callable[[], Dict]:
    """Turn a :class:`ConversionError` into an exit message (status 1)."""
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except ConversionError as e:
            raise SystemExit(f'error: {e}') from e

    wrapped.__doc__ = main.__doc__
    wrapped.__name__ = main.__name__
    return wrapped



def add_common_args(parser: argparse.ArgumentParser,
                    overwrite_help: str) -> None:
    """Add ``--nproc`` and ``--overwrite``, which every converter takes."""
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes (default 1)')
    parser.add_argument(
        '--overwrite', action='store_true', help=overwrite_help)
