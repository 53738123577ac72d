"""Cityscapes: checks, then mmseg's own converter (polygons -> trainIds).

Entry point: ``tools/dataset_converters/cityscapes.py``. mmseg trains on
Cityscapes in its release layout, so this converter writes next to the
release files, as mmseg's ``tools/dataset_converters/cityscapes.py`` does::

    SRC/leftImg8bit/{train,val,test}/CITY/NAME_leftImg8bit.png   (input)
    SRC/gtFine/{train,val,test}/CITY/NAME_gtFine_polygons.json   (input)
    SRC/gtFine/{train,val,test}/CITY/NAME_gtFine_labelTrainIds.png (written)
    OUT/{train,val,test}.txt     CITY/NAME per line (OUT defaults to SRC)

Before converting, every image is paired with its polygon file, decoded
with the decoder that training uses (:func:`~.common.read_image`: a
truncated PNG fails here, not in training), its size is compared with the
size the polygon file states, and every polygon label must be a Cityscapes
label. Each polygon file is then converted by
mmseg's ``convert_json_to_label`` (shipped in the mmseg package under
``.mim/tools/dataset_converters/cityscapes.py``), which needs
``cityscapesscripts``.
"""
import importlib.util
import json
import os
import os.path as osp
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from .common import (ConversionError, format_counts, read_image, read_label,
                     run_tasks, write_lines)

__all__ = [
    'SPLITS', 'mmseg_cityscapes_converter', 'pair_cityscapes',
    'convert_cityscapes'
]

SPLITS = ('train', 'val', 'test')
IMAGE_SUFFIX = '_leftImg8bit.png'
LABEL_SUFFIX = '_labelTrainIds.png'
INSTALL_HINT = 'pip install cityscapesscripts'
_CONVERTER: Optional[ModuleType] = None


def mmseg_cityscapes_converter() -> ModuleType:
    """Import mmseg's Cityscapes converter module from the mmseg package.

    Raises:
        ConversionError: ``cityscapesscripts`` is missing (with the install
            command) or the mmseg package lacks the converter.
    """
    global _CONVERTER
    if _CONVERTER is not None:
        return _CONVERTER
    try:
        import cityscapesscripts.preparation.json2labelImg  # noqa: F401
    except ImportError as e:
        raise ConversionError(
            f'Cityscapes conversion needs cityscapesscripts ({e}): run '
            f'`{INSTALL_HINT}`.') from e
    import mmseg
    path = osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'dataset_converters',
        'cityscapes.py')
    if not osp.isfile(path):
        raise ConversionError(
            f'mmseg\'s Cityscapes converter {path} is missing: reinstall '
            'mmsegmentation (pip install mmsegmentation==1.2.2).')
    spec = importlib.util.spec_from_file_location(
        'mmseg_tools_cityscapes_converter', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _CONVERTER = module
    return module


def pair_cityscapes(src: str, gt_dir: str = 'gtFine'
                    ) -> Dict[str, List[Tuple[str, str, str]]]:
    """Pair each image with its polygon file, per split.

    Args:
        src (str): The Cityscapes root (holding ``leftImg8bit/``).
        gt_dir (str): Annotation folder. Defaults to ``'gtFine'``.

    Returns:
        dict[str, list[tuple[str, str, str]]]: Split -> sorted
        ``(CITY/NAME, image path, polygon path)``, for the splits present.

    Raises:
        ConversionError: A folder is missing, or a file lacks its partner.
    """
    image_root, gt_root = osp.join(src, 'leftImg8bit'), osp.join(src, gt_dir)
    for folder in (image_root, gt_root):
        if not osp.isdir(folder):
            raise ConversionError(
                f'{folder} does not exist: SRC must be the Cityscapes root '
                f'holding leftImg8bit/ and {gt_dir}/ (from '
                'leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip).')
    poly_suffix = f'_{gt_dir}_polygons.json'
    pairs = {}
    for split in SPLITS:
        if not osp.isdir(osp.join(image_root, split)):
            continue
        images = _names(osp.join(image_root, split), IMAGE_SUFFIX)
        polys = _names(osp.join(gt_root, split), poly_suffix)
        for have, lack, lack_root, suffix in (
                (images, polys, gt_root, poly_suffix),
                (polys, images, image_root, IMAGE_SUFFIX)):
            missing = sorted(set(have) - set(lack))
            if missing:
                raise ConversionError(
                    f'{len(missing)} file(s) lack their partner in {split}, '
                    'e.g. '
                    f'{osp.join(lack_root, split, missing[0] + suffix)} '
                    'does not exist.')
        pairs[split] = [(name, osp.join(image_root, split, images[name]),
                         osp.join(gt_root, split, polys[name]))
                        for name in sorted(images)]
    if not pairs:
        raise ConversionError(f'No train/val/test folder in {image_root}.')
    return pairs


def _names(folder: str, suffix: str) -> Dict[str, str]:
    """``CITY/NAME`` -> ``CITY/NAME + suffix`` for files below ``folder``."""
    found = {}
    if not osp.isdir(folder):
        return found
    for city in sorted(os.listdir(folder)):
        city_dir = osp.join(folder, city)
        if not osp.isdir(city_dir):
            continue
        for f in os.listdir(city_dir):
            if f.endswith(suffix):
                found[f'{city}/{f[:-len(suffix)]}'] = f'{city}/{f}'
    return found


def _check_pair(image_path: str, poly_path: str) -> None:
    from cityscapesscripts.helpers.labels import name2label
    height, width = read_image(image_path).shape[:2]
    size = (width, height)
    try:
        with open(poly_path, encoding='utf-8') as f:
            poly = json.load(f)
        stated = (int(poly['imgWidth']), int(poly['imgHeight']))
        labels = [o['label'] for o in poly['objects'] if not o.get('deleted')]
    except Exception as e:
        raise ConversionError(
            f'Cannot read polygon file {poly_path}: {e!r}') from e
    if stated != size:
        raise ConversionError(
            f'Size mismatch: image {image_path} is {size[0]}x{size[1]} but '
            f'{poly_path} states {stated[0]}x{stated[1]}.')
    for label in labels:
        if label not in name2label and label.endswith('group'):
            label = label[:-len('group')]
        if label not in name2label:
            raise ConversionError(
                f'{poly_path} holds the unknown label {label!r} (not a '
                'Cityscapes label of cityscapesscripts.helpers.labels).')


def _check_one(task: Tuple[str, str, str]) -> None:
    _check_pair(task[1], task[2])


def _convert_one(task: Tuple[str, str, str]) -> None:
    poly_path = task[2]
    mmseg_cityscapes_converter().convert_json_to_label(poly_path)
    read_label(poly_path.replace('_polygons.json', LABEL_SUFFIX))


def convert_cityscapes(src: str,
                       out_dir: Optional[str] = None,
                       gt_dir: str = 'gtFine',
                       nproc: int = 1,
                       overwrite: bool = False) -> Dict[str, int]:
    """Check the release, then write trainId masks and split lists.

    Args:
        src (str): The Cityscapes root.
        out_dir (str, optional): Where the split lists go. Defaults to
            ``src``.
        gt_dir (str): Annotation folder. Defaults to ``'gtFine'``.
        nproc (int): Worker processes. Defaults to 1.
        overwrite (bool): Convert again where trainId masks exist.

    Returns:
        dict[str, int]: Masks written per split.
    """
    out_dir = out_dir or src
    pairs = pair_cityscapes(src, gt_dir)
    mmseg_cityscapes_converter()
    existing = [
        p for items in pairs.values() for _, _, p in items
        if osp.exists(p.replace('_polygons.json', LABEL_SUFFIX))
    ]
    if existing and not overwrite:
        raise ConversionError(
            f'{len(existing)} *{LABEL_SUFFIX} files exist already (an '
            f'earlier, maybe interrupted, conversion), e.g. '
            f'{existing[0].replace("_polygons.json", LABEL_SUFFIX)}: pass '
            '--overwrite to write them again.')
    tasks = [item for split in SPLITS for item in pairs.get(split, [])]
    print(f'Checking {len(tasks)} Cityscapes image/polygon pairs')
    run_tasks(_check_one, tasks, nproc)
    print(f'Converting them with mmseg\'s converter into '
          f'{osp.join(src, gt_dir)}')
    run_tasks(_convert_one, tasks, nproc)
    os.makedirs(out_dir, exist_ok=True)
    counts = {}
    for split, items in pairs.items():
        write_lines(
            osp.join(out_dir, f'{split}.txt'), [name for name, _, _ in items])
        counts[split] = len(items)
    print(format_counts('Cityscapes', counts, osp.join(src, gt_dir)))
    return counts
