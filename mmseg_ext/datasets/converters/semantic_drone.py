"""Convert the Semantic Drone Dataset release to the mmseg layout.

Entry point: ``tools/dataset_converters/semantic_drone.py``. Reads::

    SRC/original_images/NAME.jpg          6000x4000 RGB photos
    SRC/label_images_semantic/NAME.png    source ids 0..23

where ``SRC`` may also be a folder above them (the Kaggle/TU Graz archive's
``dataset/semantic_drone_dataset``, or ``semantic_drone_dataset``). Writes,
per flavour (``binary``, ``multiclass``)::

    OUT/FLAVOUR/img_dir/{train,val,test}/NAME.jpg
    OUT/FLAVOUR/ann_dir/{train,val,test}/NAME.png  flavour ids, 255 ignored
    OUT/FLAVOUR/splits/{train,val,test}.txt        the names of each split
    OUT/FLAVOUR/id_map.json                        the map and the options

The split: a fixed test set of ``test_count`` images (by default 50 of the
release's 400), evenly spaced over the sorted names (no seed, so it is the
same whatever ``--seed``), and the rest shuffled with ``--seed`` and cut
``1 - val_ratio`` / ``val_ratio`` into train / val. Tiling comes after the
split: all tiles of one photo stay in its split.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.config import Config

from ..semantic_drone_classes import (DRONE_FLAVOURS, DRONE_IGNORE_INDEX,
                                      DRONE_SOURCE_CLASSES, drone_id_map,
                                      resolve_drone_class_map)
from ..semantic_drone_dataset import DRONE_ID_MAP_FILE
from .common import (ConversionError, check_label_values, check_same_size,
                     copy_file, format_counts, link_or_copy, pair_files,
                     read_image, read_label, run_tasks, staged_output,
                     write_image, write_lines)

__all__ = [
    'SPLITS', 'find_drone_release', 'split_drone_names', 'tile_origins',
    'load_id_map_overrides', 'convert_semantic_drone'
]

SPLITS = ('train', 'val', 'test')
IMAGE_DIR, LABEL_DIR = 'original_images', 'label_images_semantic'
# folders under SRC where the two release folders may sit
_RELEASE_SUBDIRS = ('', 'semantic_drone_dataset',
                    osp.join('dataset', 'semantic_drone_dataset'))
JPEG_QUALITY = 95


def find_drone_release(src: str) -> Tuple[str, str]:
    """Locate ``original_images`` and ``label_images_semantic`` in ``src``.

    Returns:
        tuple[str, str]: The image folder and the label folder.

    Raises:
        ConversionError: Neither ``src`` nor a known subfolder holds both.
    """
    for sub in _RELEASE_SUBDIRS:
        root = osp.join(src, sub)
        images, labels = osp.join(root, IMAGE_DIR), osp.join(root, LABEL_DIR)
        if osp.isdir(images) and osp.isdir(labels):
            return images, labels
    tried = ', '.join(osp.join(src, s) or src for s in _RELEASE_SUBDIRS)
    raise ConversionError(
        f'No {IMAGE_DIR}/ and {LABEL_DIR}/ folders in {tried}. Point SRC at '
        'the unpacked Semantic Drone Dataset (the folder holding both; the '
        'RGB_color_image_masks folder is not used).')


def split_drone_names(names: Sequence[str],
                      test_count: int = 50,
                      val_ratio: float = 0.2,
                      seed: int = 0) -> Dict[str, List[str]]:
    """Split the names: a fixed test set, the rest shuffled train/val.

    Args:
        names (Sequence[str]): Every image name.
        test_count (int): Test images, evenly spaced over the sorted names:
            the ``round((i + 0.5) * n / test_count)``-th for ``i`` in
            ``0..test_count-1``. Independent of ``seed``. Defaults to 50.
        val_ratio (float): Share of the remaining images for val (rounded).
            Defaults to 0.2.
        seed (int): Seed of the train/val shuffle (numpy
            ``default_rng``). Defaults to 0.

    Returns:
        dict[str, list[str]]: ``train``, ``val``, ``test`` -> sorted names.
    """
    ordered = sorted(names)
    n = len(ordered)
    if not 0 <= test_count < n:
        raise ConversionError(
            f'--test-count {test_count} must be in 0..{n - 1} for {n} '
            'images.')
    if not 0 <= val_ratio < 1:
        raise ConversionError(f'--val-ratio {val_ratio} must be in [0, 1).')
    test_idx = {int((i + 0.5) * n / test_count) for i in range(test_count)}
    test = [ordered[i] for i in sorted(test_idx)]
    rest = [name for i, name in enumerate(ordered) if i not in test_idx]
    order = np.random.default_rng(seed).permutation(len(rest))
    num_val = int(round(len(rest) * val_ratio))
    val = [rest[i] for i in order[:num_val]]
    train = [rest[i] for i in order[num_val:]]
    return dict(train=sorted(train), val=sorted(val), test=test)


def tile_origins(length: int, tile: int) -> List[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length``.

    Tiles step by ``tile``; a last tile that would overrun is moved back to
    end at the border (it overlaps its neighbour), so every tile is full.

    Raises:
        ConversionError: ``length < tile``.
    """
    if length < tile:
        raise ConversionError(
            f'--tile {tile} is larger than the (resized) image side {length}.'
        )
    origins = list(range(0, length - tile + 1, tile))
    if origins[-1] + tile < length:
        origins.append(length - tile)
    return origins


def load_id_map_overrides(path: str,
                          flavours: Sequence[str]) -> Dict[str, Mapping]:
    """Read ``--id-map``: a JSON or Python file of id-map overrides.

    JSON ``{"binary": {...}, "multiclass": {...}}``, or a ``.py`` file
    defining ``binary = {...}`` and/or ``multiclass = {...}``; each maps a
    source class (name or id) to a flavour class (name or id) or to
    ``null`` / ``"ignore"`` / ``255``. With a single flavour, the file may be
    that flavour's mapping itself.

    Returns:
        dict[str, Mapping]: Flavour -> its overrides (checked).
    """
    if not osp.isfile(path):
        raise ConversionError(f'--id-map file {path} does not exist.')
    try:
        if path.endswith('.json'):
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        else:
            data = Config.fromfile(path).to_dict()
    except Exception as e:
        raise ConversionError(f'Cannot read --id-map file {path}: {e}') from e
    if not isinstance(data, dict):
        raise ConversionError(f'--id-map file {path} must hold a mapping.')
    if set(data) & set(DRONE_FLAVOURS):
        unknown = set(data) - set(DRONE_FLAVOURS)
        if unknown:
            raise ConversionError(
                f'--id-map file {path}: unknown keys {sorted(unknown)}; use '
                f'{sorted(DRONE_FLAVOURS)}.')
        overrides = dict(data)
    elif len(flavours) == 1:
        overrides = {flavours[0]: data}
    else:
        raise ConversionError(
            f'--id-map file {path} must have "binary" and/or "multiclass" '
            'keys when both flavours are converted.')
    for flavour, mapping in overrides.items():
        try:
            resolve_drone_class_map(flavour, mapping)
        except ValueError as e:
            raise ConversionError(f'--id-map file {path}: {e}') from e
    return overrides


def _target_size(width: int, height: int, size: Optional[Sequence[int]],
                 scale: Optional[float]) -> Tuple[int, int]:
    if size:
        return int(size[0]), int(size[1])
    if scale:
        return max(1, int(round(width * scale))), max(
            1, int(round(height * scale)))
    return width, height


def _convert_one(task: dict) -> Tuple[str, List[str]]:
    """Convert one photo (and its mask) into every flavour; worker."""
    name, image_path, label_path = (task['name'], task['image_path'],
                                    task['label_path'])
    image = read_image(image_path)
    label = read_label(label_path)
    check_same_size(image_path, image, label_path, label)
    check_label_values(label, len(DRONE_SOURCE_CLASSES), label_path)
    height, width = label.shape
    new_w, new_h = _target_size(width, height, task['size'], task['scale'])
    resized = (new_w, new_h) != (width, height)
    if resized:
        shrink = new_w * new_h < width * height
        image = cv2.resize(
            image, (new_w, new_h),
            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        label = cv2.resize(
            label, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
    tile = task['tile']
    if tile:
        boxes = [(x, y, tile, tile) for y in tile_origins(new_h, tile)
                 for x in tile_origins(new_w, tile)]
    else:
        boxes = [(0, 0, new_w, new_h)]
    split, flavours, out = task['split'], task['flavours'], task['out_dir']
    written = []
    for x, y, w, h in boxes:
        out_name = f'{name}_y{y}_x{x}' if tile else name
        first = None
        for flavour in flavours:
            root = osp.join(out, flavour)
            image_out = osp.join(root, 'img_dir', split, out_name + '.jpg')
            if first is not None:
                link_or_copy(first, image_out)
            elif not resized and not tile and image_path.endswith('.jpg'):
                copy_file(image_path, image_out)  # no second JPEG loss
            else:
                write_image(image_out, image[y:y + h, x:x + w],
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            first = first or image_out
            lut = task['luts'][flavour]
            write_image(
                osp.join(root, 'ann_dir', split, out_name + '.png'),
                lut[label[y:y + h, x:x + w]])
        written.append(out_name)
    return split, written


def convert_semantic_drone(src: str,
                           out_dir: str,
                           flavour: str = 'both',
                           size: Optional[Sequence[int]] = None,
                           scale: Optional[float] = None,
                           tile: Optional[int] = None,
                           test_count: int = 50,
                           val_ratio: float = 0.2,
                           seed: int = 0,
                           id_map_overrides: Optional[Mapping[
                               str, Mapping]] = None,
                           nproc: int = 1,
                           overwrite: bool = False) -> Dict[str, int]:
    """Convert the release in ``src`` to the mmseg layout in ``out_dir``.

    Args:
        src (str): The release folder (see :func:`find_drone_release`).
        out_dir (str): Output root; each flavour goes to ``out_dir/FLAVOUR``.
        flavour (str): ``'binary'``, ``'multiclass'`` or ``'both'``.
        size (Sequence[int], optional): Resize every photo to ``(W, H)``.
        scale (float, optional): Resize every photo by this factor.
        tile (int, optional): Cut (resized) photos into ``tile`` squares.
        test_count (int): Fixed test images. Defaults to 50.
        val_ratio (float): Val share of the rest. Defaults to 0.2.
        seed (int): Train/val shuffle seed. Defaults to 0.
        id_map_overrides (Mapping, optional): Flavour -> overrides of the
            id map (see :func:`load_id_map_overrides`).
        nproc (int): Worker processes. Defaults to 1.
        overwrite (bool): Replace an earlier conversion in ``out_dir``.

    Returns:
        dict[str, int]: Samples (photos, or tiles) written per split.
    """
    flavours = list(DRONE_FLAVOURS) if flavour == 'both' else [flavour]
    for f in flavours:
        if f not in DRONE_FLAVOURS:
            raise ConversionError(
                f'Unknown flavour {flavour!r}: use binary, multiclass or '
                'both.')
    if size and scale:
        raise ConversionError('Give --size or --scale, not both.')
    if (size and min(size) < 1) or (scale is not None and scale <= 0) or (
            tile is not None and tile < 1):
        raise ConversionError('--size, --scale and --tile must be positive.')
    overrides = dict(id_map_overrides or {})
    image_dir, label_dir = find_drone_release(src)
    names = pair_files(image_dir, '.jpg', label_dir, '.png')
    splits = split_drone_names(names, test_count, val_ratio, seed)
    # written to a staging folder, published only once all of it is
    # written: a bad file found half-way leaves OUT as it was
    with staged_output(out_dir, flavours, overwrite) as staging:
        for f in flavours:
            for kind in ('img_dir', 'ann_dir'):
                for split in SPLITS:
                    os.makedirs(
                        osp.join(staging, f, kind, split), exist_ok=True)
            os.makedirs(osp.join(staging, f, 'splits'), exist_ok=True)
        luts = {f: drone_id_map(f, overrides.get(f)) for f in flavours}
        tasks = [
            dict(
                name=name,
                split=split,
                image_path=osp.join(image_dir, name + '.jpg'),
                label_path=osp.join(label_dir, name + '.png'),
                out_dir=staging,
                flavours=flavours,
                luts=luts,
                size=size,
                scale=scale,
                tile=tile) for split in SPLITS for name in splits[split]
        ]
        print(f'Converting {len(names)} photos of {image_dir} '
              f'({", ".join(flavours)})')
        results = run_tasks(_convert_one, tasks, nproc)
        written = {split: [] for split in SPLITS}
        for split, out_names in results:
            written[split].extend(out_names)
        options = dict(
            src=osp.abspath(src), size=list(size) if size else None,
            scale=scale, tile=tile, test_count=test_count,
            val_ratio=val_ratio, seed=seed,
            test_rule='evenly spaced over the sorted names')
        for f in flavours:
            root = osp.join(staging, f)
            for split in SPLITS:
                write_lines(
                    osp.join(root, 'splits', f'{split}.txt'), written[split])
            record = dict(
                flavour=f,
                classes=list(DRONE_FLAVOURS[f]['classes']),
                ignore_index=DRONE_IGNORE_INDEX,
                class_map=resolve_drone_class_map(f, overrides.get(f)),
                lut=luts[f][:len(DRONE_SOURCE_CLASSES)].tolist(),
                overrides={str(k): v
                           for k, v in (overrides.get(f) or {}).items()},
                options=options,
                source_splits=splits)
            write_lines(
                osp.join(root, DRONE_ID_MAP_FILE),
                [json.dumps(record, indent=2)])
    counts = {split: len(written[split]) for split in SPLITS}
    for f in flavours:
        print(
            format_counts(f'Semantic Drone {f}', counts,
                          osp.join(out_dir, f)))
    return counts
