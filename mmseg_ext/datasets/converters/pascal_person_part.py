"""Convert Pascal-Person-Part (preprocessed PNG release) to the mmseg layout.

Entry point: ``tools/dataset_converters/pascal_person_part.py``. Supports
the widely used release of Chen et al.'s annotations distributed as
``pascal_person_part.zip`` (linked from the DeepLab project page), whose
masks are PNGs of ids 0..6 (not the original PASCAL-Part ``.mat`` files)::

    SRC/pascal_person_part_gt/NAME.png          ids 0..6 (255: ignored)
    SRC/pascal_person_part_trainval_list/train.txt, val.txt

``SRC`` may also be the folder above ``pascal_person_part/``. A list line is
either ``NAME`` or ``/JPEGImages/NAME.jpg /SegmentationPart/NAME.png`` (only
the name is used). The photos are PASCAL VOC 2010's ``JPEGImages`` (VOC
2012's hold the same files), found in ``SRC/JPEGImages`` or given with
``--voc-images``. Writes::

    OUT/img_dir/{train,val}/NAME.jpg   copied byte for byte
    OUT/ann_dir/{train,val}/NAME.png   8-bit ids 0..6, 255 = ignored
    OUT/splits/{train,val}.txt
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional

from ..pascal_person_part_dataset import PascalPersonPartDataset
from .common import (ConversionError, add_common_args, check_label_values,
                     check_same_size, cli_errors, copy_file, format_counts,
                     read_image, read_label, run_tasks, staged_output,
                     write_image, write_lines)

__all__ = [
    'SPLITS', 'find_person_part_release', 'read_split_list',
    'convert_pascal_person_part', 'parse_args', 'main'
]

SPLITS = ('train', 'val')
MASK_DIRS = ('pascal_person_part_gt', 'SegmentationPart')
LIST_DIR = 'pascal_person_part_trainval_list'
NUM_CLASSES = len(PascalPersonPartDataset.METAINFO['classes'])
IGNORE_INDEX = 255


def find_person_part_release(src: str) -> Dict[str, str]:
    """Locate the mask and list folders of the release in ``src``.

    ``src`` is the ``pascal_person_part`` folder or the folder above it.

    Returns:
        dict[str, str]: ``root``, ``masks`` and ``lists`` folders.

    Raises:
        ConversionError: No known layout in ``src``.
    """
    for root in (src, osp.join(src, 'pascal_person_part')):
        lists = osp.join(root, LIST_DIR)
        for mask_dir in MASK_DIRS:
            masks = osp.join(root, mask_dir)
            if osp.isdir(masks) and osp.isdir(lists):
                return dict(root=root, masks=masks, lists=lists)
    raise ConversionError(
        f'No {MASK_DIRS[0]}/ (or {MASK_DIRS[1]}/) and {LIST_DIR}/ folders in '
        f'{src} or {osp.join(src, "pascal_person_part")}: point SRC at the '
        'unpacked pascal_person_part.zip.')


def read_split_list(path: str) -> List[str]:
    """Names listed in a split file (``NAME`` or ``IMG_PATH MASK_PATH`` lines).

    Raises:
        ConversionError: The file is missing or lists nothing.
    """
    if not osp.isfile(path):
        raise ConversionError(
            f'Split list {path} does not exist (the release ships train.txt '
            'and val.txt).')
    names = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            words = line.split()
            if words:
                names.append(osp.splitext(osp.basename(words[0]))[0])
    if not names:
        raise ConversionError(f'Split list {path} lists no image.')
    return names


def _find_voc_images(root: str, voc_images: Optional[str]) -> str:
    candidates = [voc_images] if voc_images else [
        osp.join(root, 'JPEGImages'),
        osp.join(osp.dirname(root), 'JPEGImages'),
    ]
    for folder in candidates:
        for sub in ('', osp.join('VOCdevkit', 'VOC2010'), 'VOC2010',
                    osp.join('VOCdevkit', 'VOC2012'), 'VOC2012'):
            path = osp.join(folder, sub, 'JPEGImages') if sub else folder
            if osp.isdir(path) and any(
                    f.endswith('.jpg') for f in os.listdir(path)):
                return path
    raise ConversionError(
        f'No PASCAL VOC JPEGImages/ folder found at {candidates}: pass '
        '--voc-images DIR (VOC2010 JPEGImages, or the VOCdevkit root).')


def _check_partners(task: dict) -> None:
    image_path, mask_path = task['image_path'], task['mask_path']
    if not osp.isfile(image_path):
        raise ConversionError(
            f'Missing image {image_path} for mask {mask_path} (listed in '
            f'{task["list_file"]}): --voc-images must be the VOC 2010 (or '
            '2012) JPEGImages folder.')
    if not osp.isfile(mask_path):
        raise ConversionError(
            f'Missing mask {mask_path} for image {image_path}, listed in '
            f'{task["list_file"]}.')


def _convert_one(task: dict) -> str:
    image_path, mask_path = task['image_path'], task['mask_path']
    image = read_image(image_path)
    mask = read_label(mask_path)
    check_same_size(image_path, image, mask_path, mask)
    check_label_values(mask, NUM_CLASSES, mask_path, extra=(IGNORE_INDEX, ))
    out, split, name = task['out_dir'], task['split'], task['name']
    copy_file(image_path, osp.join(out, 'img_dir', split, name + '.jpg'))
    write_image(osp.join(out, 'ann_dir', split, name + '.png'), mask)
    return split


def convert_pascal_person_part(src: str,
                               out_dir: str,
                               voc_images: Optional[str] = None,
                               nproc: int = 1,
                               overwrite: bool = False) -> Dict[str, int]:
    """Convert the release in ``src`` to the mmseg layout in ``out_dir``.

    Args:
        src (str): The unpacked ``pascal_person_part`` folder (or its
            parent).
        out_dir (str): Output folder.
        voc_images (str, optional): VOC ``JPEGImages`` folder (or a
            ``VOCdevkit`` root). Defaults to ``SRC/JPEGImages``.
        nproc (int): Worker processes. Defaults to 1.
        overwrite (bool): Replace an earlier conversion in ``out_dir``.

    Returns:
        dict[str, int]: Images written per split.
    """
    release = find_person_part_release(src)
    images = _find_voc_images(release['root'], voc_images)
    tasks = []
    for split in SPLITS:
        list_file = osp.join(release['lists'], f'{split}.txt')
        for name in read_split_list(list_file):
            tasks.append(
                dict(
                    name=name,
                    split=split,
                    list_file=list_file,
                    image_path=osp.join(images, name + '.jpg'),
                    mask_path=osp.join(release['masks'], name + '.png')))
    for task in tasks:
        _check_partners(task)
    # written to a staging folder, published only once all of it is
    # written: a bad file found half-way leaves OUT as it was
    with staged_output(out_dir, ('img_dir', 'ann_dir', 'splits'),
                       overwrite) as staging:
        for kind in ('img_dir', 'ann_dir'):
            for split in SPLITS:
                os.makedirs(osp.join(staging, kind, split), exist_ok=True)
        os.makedirs(osp.join(staging, 'splits'), exist_ok=True)
        print(f'Converting {len(tasks)} images of {release["root"]} '
              f'(photos from {images})')
        run_tasks(_convert_one, [dict(t, out_dir=staging) for t in tasks],
                  nproc)
        counts = {}
        for split in SPLITS:
            names = [t['name'] for t in tasks if t['split'] == split]
            write_lines(osp.join(staging, 'splits', f'{split}.txt'), names)
            counts[split] = len(names)
    print(format_counts('Pascal-Person-Part', counts, out_dir))
    return counts


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the converter's command line."""
    parser = argparse.ArgumentParser(
        description='Convert Pascal-Person-Part (pascal_person_part_gt/ PNG '
        'release + VOC JPEGImages) to the mmseg layout')
    parser.add_argument(
        'src', help='the unpacked pascal_person_part folder (or its parent)')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--voc-images', metavar='DIR',
        help='PASCAL VOC 2010 JPEGImages folder or VOCdevkit root '
        '(default: SRC/JPEGImages)')
    add_common_args(parser, 'replace an earlier conversion in OUT')
    return parser.parse_args(argv)


@cli_errors
def main(argv: Optional[List[str]] = None) -> Dict[str, int]:
    """Run the converter from the command line."""
    args = parse_args(argv)
    return convert_pascal_person_part(
        args.src,
        args.out,
        voc_images=args.voc_images,
        nproc=args.nproc,
        overwrite=args.overwrite)
