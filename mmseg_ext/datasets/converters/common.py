"""Checks and file helpers that every dataset converter shares.

Each converter reads a dataset's release, checks every image/mask pair
(:func:`read_image`, which decodes a photo as training will, with
``mmcv.imfrombytes``; :func:`read_label`, :func:`check_same_size`,
:func:`check_label_values`; a colour mask is read by :func:`read_mask` and
turned into ids by :func:`snap_to_palette`) and writes the mmseg layout through
:func:`write_image` / :func:`copy_file`, which go through a ``.part`` file
renamed into place, so a crash never leaves a truncated image under its
final name, and inside :func:`staged_output`'s staging folder, published
only once the whole conversion is written. :func:`run_tasks` runs the
workers; an error or Ctrl-C stops every worker before the staging folder
is removed. A problem raises :class:`ConversionError` naming the file and
the fix; the command-line entry points (:mod:`mmseg_ext.cli.convert_common`)
turn it into an exit message (and a ``SIGTERM`` into a clean exit).
"""
import contextlib
import multiprocessing
import os
import os.path as osp
import shutil
import signal
import sys
from typing import (Callable, Iterable, Iterator, List, Mapping, Optional,
                    Sequence, Tuple)

import cv2
import mmcv
import numpy as np
from mmengine.utils import track_iter_progress, track_progress
from PIL import Image

from mmseg_ext.utils.atomic_save import commit_part

__all__ = [
    'ConversionError', 'STAGING_DIR', 'TRAINING_DECODE', 'staged_output',
    'read_image', 'read_label', 'read_mask', 'max_color_tolerance',
    'check_color_tolerance', 'snap_to_palette', 'check_same_size',
    'check_label_values', 'write_image', 'copy_file', 'link_or_copy',
    'write_lines', 'pair_files', 'run_tasks', 'format_counts'
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
    dataset, an earlier conversion survives a failed ``--overwrite``, and
    an ``out_dir`` that this call created (with any parent folders it
    created) is removed again.

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
    created = _missing_folders(out_dir)
    os.makedirs(staging)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # deepest first, each only if empty
            try:
                os.rmdir(folder)
            except OSError:
                break
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


def _missing_folders(path: str) -> List[str]:
    """``path`` and its parents that do not exist yet, deepest first."""
    missing = []
    folder = osp.abspath(path)
    while not osp.lexists(folder):
        missing.append(folder)
        parent = osp.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return missing


#: How training decodes a photo: mmseg's ``LoadImageFromFile`` (mmcv's)
#: reads the bytes and calls ``mmcv.imfrombytes`` with its defaults
#: ``color_type='color'`` and ``imdecode_backend='cv2'``, which every
#: config here keeps. ``cv2.imdecode`` (what the ``'cv2'`` backend runs)
#: refuses a JPEG cut short, which ``cv2.imread`` still decodes.
TRAINING_DECODE = dict(flag='color', backend='cv2')


def read_image(path: str) -> np.ndarray:
    """Read a colour image with the decoder that training uses.

    The bytes go through ``mmcv.imfrombytes(**TRAINING_DECODE)``, as in
    mmseg's ``LoadImageFromFile``, so a photo that the converter accepts is
    one that training can load (``cv2.imread`` is more lenient: it decodes a
    truncated JPEG, leaving its missing rows grey).

    Args:
        path (str): The image file.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8, BGR.

    Raises:
        ConversionError: The file is missing or the decoder cannot read it
            (the message names the file, its size and the fix).
    """
    if not osp.isfile(path):
        raise ConversionError(f'Image {path} does not exist.')
    with open(path, 'rb') as f:
        data = f.read()
    try:
        image = mmcv.imfrombytes(data, **TRAINING_DECODE)
    except Exception:  # cv2.error for an empty or odd buffer
        image = None
    if image is None:
        truncated = ''
        if data[:2] == b'\xff\xd8' and b'\xff\xd9' not in data[-64:]:
            truncated = (': a JPEG without its end marker, cut short (an '
                         'interrupted download or unpacking?); cv2.imread '
                         'and image viewers may still show its top part')
        raise ConversionError(
            f'Cannot read image {path} ({len(data)} bytes) with '
            "mmcv.imfrombytes(flag='color', backend='cv2'), the decoder of "
            "mmseg's LoadImageFromFile in training: the file is damaged, "
            f'truncated or not an image{truncated}. Download or unpack it '
            'again (or remove it and its mask from the release).')
    return image


def _open_mask(path: str) -> Tuple[np.ndarray, str]:
    """The pixels of a mask PNG as stored, and its PIL mode."""
    if not osp.isfile(path):
        raise ConversionError(f'Mask {path} does not exist.')
    try:
        with Image.open(path) as img:
            mode = img.mode
            array = np.array(img)
    except Exception as e:  # PIL raises many types for a bad file
        raise ConversionError(
            f'Cannot read mask {path}: {e} (download it again).') from e
    return array, mode


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
    label, mode = _open_mask(path)
    if mode not in ('L', 'P') or label.ndim != 2:
        raise ConversionError(
            f'Mask {path} has PIL mode {mode!r}: expected one id per pixel '
            '(an 8-bit grey or palette PNG), not a colour mask.')
    return label.astype(np.uint8, copy=False)


def read_mask(path: str) -> np.ndarray:
    """Read a mask of ids or of colours, told apart by its channels.

    Args:
        path (str): The mask file.

    Returns:
        np.ndarray: ``(H, W)`` uint8 ids for an 8-bit grey or palette PNG
        (a palette PNG gives its indices, as :func:`read_label`), or
        ``(H, W, 3)`` RGB / ``(H, W, 4)`` RGBA uint8 colours for a colour
        PNG (to be turned into ids by :func:`snap_to_palette`).

    Raises:
        ConversionError: The file is missing, cannot be decoded or is
            neither (e.g. 16-bit or grey + alpha).
    """
    array, mode = _open_mask(path)
    if mode in ('L', 'P') and array.ndim == 2:
        return array.astype(np.uint8, copy=False)
    if mode in ('RGB', 'RGBA') and array.ndim == 3:
        return array.astype(np.uint8, copy=False)
    raise ConversionError(
        f'Mask {path} has PIL mode {mode!r}: expected one id per pixel (an '
        '8-bit grey or palette PNG) or one colour per pixel (an 8-bit RGB or '
        'RGBA PNG).')


def max_color_tolerance(palette: Sequence[Sequence[int]]) -> float:
    """Half the smallest distance between two colours of ``palette``.

    A tolerance below it cannot put a colour within reach of two entries,
    so the nearest entry is the only one in reach (64 for the VOC map).
    """
    pal = np.asarray(palette, dtype=np.float64)
    dist = np.sqrt(((pal[:, None] - pal[None])**2).sum(-1))
    return float(dist[~np.eye(len(pal), dtype=bool)].min()) / 2


def _describe_pixel(flat_index: int, width: int) -> str:
    y, x = divmod(int(flat_index), width)
    return f'x={x}, y={y}'


def snap_to_palette(colors: np.ndarray,
                    palette: Sequence[Sequence[int]],
                    tolerance: float,
                    path: str,
                    transparent_id: int = 255,
                    fix: str = 'raise --color-tolerance') -> np.ndarray:
    """Turn a colour mask into ids: each pixel's nearest palette colour.

    The distance is Euclidean in RGB. A pixel farther than ``tolerance``
    from every palette colour is an error, not a guess. The alpha channel of
    an RGBA mask: 255 (opaque) pixels are read by their colour; 0 (fully
    transparent) pixels carry no label and become ``transparent_id``
    whatever their colour; any other alpha is refused (a blended edge
    whose colour means nothing). Vectorised: the colours are compared once
    per distinct colour, not per pixel.

    Args:
        colors (np.ndarray): ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA uint8,
            as :func:`read_mask` returns it.
        palette (Sequence[Sequence[int]]): RGB colour of each id.
        tolerance (float): Largest distance from a palette colour that is
            still that colour; must be below
            :func:`max_color_tolerance` of ``palette``.
        path (str): The mask file, named in errors.
        transparent_id (int): Id of the alpha-0 pixels. Defaults to 255.
        fix (str): What the error suggests for colours off the palette.

    Returns:
        np.ndarray: ``(H, W)`` uint8 ids.

    Raises:
        ConversionError: A colour beyond ``tolerance`` of every palette
            entry, or an alpha other than 0 and 255 (the message names the
            file, the colour or alpha, its pixel count and first pixel), an
            RGB mask of only grey colours (ids saved as RGB, which would
            all snap to black), or a tolerance too large for ``palette``.
    """
    check_color_tolerance(palette, tolerance)
    height, width = colors.shape[:2]
    flat = colors.reshape(-1, colors.shape[-1])
    if flat.shape[1] == 4:
        alpha = flat[:, 3]
        partial = (alpha != 0) & (alpha != 255)
        if partial.any():
            values = np.unique(alpha[partial])
            raise ConversionError(
                f'Mask {path} has {int(partial.sum())} semi-transparent '
                f'pixel(s) (alpha {values[:5].tolist()}'
                f'{"..." if values.size > 5 else ""}; first at '
                f'{_describe_pixel(np.argmax(partial), width)}): only alpha '
                '255 (a label by its colour) and 0 (no label) have a meaning; '
                're-export the mask without blended (anti-aliased) edges.')
        opaque = alpha == 255
    else:
        opaque = np.ones(flat.shape[0], dtype=bool)
    rgb = flat[opaque, :3].astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    uniq, inverse = np.unique(packed, return_inverse=True)
    inverse = inverse.reshape(-1)
    ucol = np.stack([uniq >> 16, (uniq >> 8) & 255, uniq & 255],
                    axis=1).astype(np.int64)
    pal = np.asarray(palette, dtype=np.int64)
    dist = np.sqrt(((ucol[:, None, :] - pal[None])**2).sum(-1))
    nearest = dist.argmin(1)
    near_dist = dist[np.arange(len(uniq)), nearest]
    counts = np.bincount(inverse, minlength=len(uniq))
    grey = (ucol[:, 0] == ucol[:, 1]) & (ucol[:, 1] == ucol[:, 2])
    grey_entries = ((pal[:, 0] == pal[:, 1]) & (pal[:, 1] == pal[:, 2])).sum()
    if grey.all() and len(uniq) > grey_entries:
        # ids 0..6 written as RGB would all lie within reach of black
        raise ConversionError(
            f'Mask {path} is an RGB image whose {len(uniq)} colours are all '
            f'grey ({ucol[:5, 0].tolist()}{"..." if len(uniq) > 5 else ""}): '
            'it looks like ids saved as RGB, not a colour mask. Save the ids '
            'as an 8-bit grey (or palette) PNG.')
    far = np.flatnonzero(near_dist > tolerance)
    if far.size:
        worst = far[np.argmax(counts[far])]
        first = np.flatnonzero(opaque)[np.argmax(inverse == worst)]
        others = ''
        if far.size > 1:
            others = (f'; {far.size - 1} more colour(s) off the palette, '
                      f'{int(counts[far].sum() - counts[worst])} pixel(s)')
        raise ConversionError(
            f'Mask {path}: colour {tuple(ucol[worst].tolist())} at '
            f'{int(counts[worst])} pixel(s) (first at '
            f'{_describe_pixel(first, width)}) is {near_dist[worst]:.1f} '
            f'from the nearest palette colour (id {int(nearest[worst])}, '
            f'{tuple(pal[nearest[worst]].tolist())}), beyond the tolerance '
            f'{tolerance:g}{others}. Is it a mask of this dataset? If its '
            f'colours are only further off, {fix}.')
    ids = np.full(flat.shape[0], transparent_id, dtype=np.uint8)
    ids[opaque] = nearest[inverse]
    return ids.reshape(height, width)


def check_color_tolerance(palette: Sequence[Sequence[int]],
                          tolerance: float) -> None:
    """Refuse a negative tolerance or one that reaches two palette colours.

    Raises:
        ConversionError: Naming the allowed range.
    """
    limit = max_color_tolerance(palette)
    if not 0 <= tolerance < limit:
        raise ConversionError(
            f'Colour tolerance {tolerance:g} (--color-tolerance) is outside '
            f'[0, {limit:g}): '
            f'{limit:g} is half the distance between the two closest palette '
            'colours, beyond which a colour could match two ids.')


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


def _init_worker() -> None:
    """Pool initializer: Ctrl-C and SIGTERM are the main process's.

    Ctrl-C reaches every process of the terminal's group: the workers
    ignore it and the main process stops them (a worker dying of it would
    be replaced by the pool, and the new one would write on). SIGTERM gets
    its default action back (a forked worker inherits the handler of
    :func:`mmseg_ext.cli.convert_common.cli_errors`): it kills the worker
    at once, which is how ``Pool.terminate`` stops it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_tasks(func: Callable, tasks: Sequence, nproc: int = 1) -> list:
    """Run ``func`` on every task with mmengine's progress bar.

    With ``nproc > 1`` the tasks run in a process pool. If a task raises,
    or the main process is interrupted (Ctrl-C, or SIGTERM under
    :func:`mmseg_ext.cli.convert_common.cli_errors`), every worker is
    stopped and waited for before the error propagates: nothing writes into
    the output after it (so :func:`staged_output` removes its staging folder
    completely).

    Args:
        func (Callable): A module-level function (picklable for ``nproc``
            > 1) taking one task.
        tasks (Sequence): The tasks.
        nproc (int): Worker processes. Defaults to 1.

    Returns:
        list: ``func``'s results, in task order.
    """
    tasks = list(tasks)
    if not tasks:
        return []
    if nproc <= 1:
        return track_progress(func, tasks, file=sys.stdout)
    pool = multiprocessing.Pool(
        min(nproc, len(tasks)), initializer=_init_worker)
    try:
        results = list(
            track_iter_progress((pool.imap(func, tasks), len(tasks)),
                                file=sys.stdout))
        pool.close()
    except BaseException:
        pool.terminate()  # SIGTERM to every worker
        raise
    finally:
        pool.join()
    return results


def format_counts(title: str, counts: Mapping[str, int],
                  where: str) -> str:
    """One line: ``title: train 280, val 70, test 50 -> where``."""
    parts = ', '.join(f'{split} {n}' for split, n in counts.items())
    return f'{title}: {parts} (total {sum(counts.values())}) -> {where}'
