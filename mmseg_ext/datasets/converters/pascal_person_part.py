"""Convert Pascal-Person-Part (id or colour PNG release) to the mmseg layout.

Entry point: ``tools/dataset_converters/pascal_person_part.py``. Reads the
annotations of Chen et al. (not the original PASCAL-Part ``.mat`` files) in
either of two releases, told apart per mask by its channels:

* the widely used ``pascal_person_part.zip`` (linked from the DeepLab
  project page), whose masks are PNGs of ids 0..6 (grey or palette)::

    SRC/pascal_person_part_gt/NAME.png          ids 0..6 (255: ignored)
    SRC/pascal_person_part_trainval_list/train.txt, val.txt

* colour-mask copies (e.g. Grapy-ML's ``data/datasets/pascal``), whose masks
  are RGB or RGBA PNGs in the PASCAL VOC colours of ids 0..6, close to but
  not always equal to them (126,1,128 for 128,0,128)::

    SRC/JPEGImages/NAME.jpg
    SRC/SegmentationPart/NAME.png               RGB(A) colours
    SRC/list/train_id.txt, val_id.txt           (if shipped; else --lists)

  Each pixel becomes the id of the nearest VOC colour (Euclidean RGB
  distance) if it lies within ``--color-tolerance`` (default
  :data:`COLOR_TOLERANCE`), else the conversion stops naming the file, the
  colour and where it is. Alpha 255 pixels are read by colour, alpha 0
  pixels carry no label and become 255 (ignored), other alphas are refused.

``SRC`` may also be the folder above ``pascal_person_part/``. The split lists
are found in ``SRC/pascal_person_part_trainval_list/`` or ``SRC/list/``, or
given with ``--lists DIR`` (``train.txt`` and ``val.txt``, or
``train_id.txt`` and ``val_id.txt``). A list line is either ``NAME`` or
``/JPEGImages/NAME.jpg /SegmentationPart/NAME.png`` (only the name is used).
The photos are PASCAL VOC 2010's ``JPEGImages`` (VOC 2012's hold the same
files), found in ``SRC/JPEGImages`` or given with ``--voc-images``. Writes::

    OUT/img_dir/{train,val}/NAME.jpg   copied byte for byte
    OUT/ann_dir/{train,val}/NAME.png   8-bit ids 0..6, 255 = ignored
    OUT/splits/{train,val}.txt
"""
import os
import os.path as osp
from typing import Dict, List, Optional

from ..pascal_person_part_dataset import PascalPersonPartDataset
from .common import (ConversionError, check_color_tolerance,
                     check_label_values, check_same_size, copy_file,
                     format_counts, max_color_tolerance, read_image, read_mask,
                     run_tasks, snap_to_palette, staged_output, write_image,
                     write_lines)

__all__ = [
    'SPLITS', 'COLOR_TOLERANCE', 'find_person_part_release',
    'find_split_lists', 'read_split_list', 'convert_pascal_person_part'
]

SPLITS = ('train', 'val')
MASK_DIRS = ('pascal_person_part_gt', 'SegmentationPart')
LIST_DIR = 'pascal_person_part_trainval_list'
#: list folders looked for in the release folder, in this order: the
#: DeepLab zip's, then the ``list/`` of colour-mask copies such as Grapy-ML
LIST_DIRS = (LIST_DIR, 'list')
#: names of a split's list file in a list folder: ``train.txt`` (DeepLab
#: zip) or ``train_id.txt`` (Grapy-ML)
LIST_NAMES = ('{split}.txt', '{split}_id.txt')
NUM_CLASSES = len(PascalPersonPartDataset.METAINFO['classes'])
#: the VOC colour of each id, the dataset's own table
PALETTE = PascalPersonPartDataset.METAINFO['palette']
IGNORE_INDEX = 255
#: Largest Euclidean RGB distance from a VOC colour that still counts as it
#: in a colour mask. Measured on 8 real colour masks (Grapy-ML's copy): all
#: pixels lie within 3.0 (per channel within 2: 126,126,1 / 126,1,128 /
#: 126,0,0 / 127,0,0 / 1,128,0), so 10 leaves over 3x margin while staying
#: far below 64, half the distance between the two closest VOC colours
#: (128), where a colour could reach two ids.
COLOR_TOLERANCE = 10.0


def find_person_part_release(src: str,
                             lists: Optional[str] = None) -> Dict[str, str]:
    """Locate the mask folder and the split lists of the release in ``src``.

    ``src`` is the ``pascal_person_part`` folder (or a colour-mask copy's
    folder holding ``SegmentationPart/``) or the folder above it.

    Args:
        src (str): The release folder.
        lists (str, optional): Folder of the split lists, overriding the
            ones found in the release (see :func:`find_split_lists`).

    Returns:
        dict[str, str]: ``root`` and ``masks`` folders, ``lists`` (the list
        folder) and ``train`` / ``val`` (the list files).

    Raises:
        ConversionError: No mask folder in ``src``, or no split lists.
    """
    for root in (src, osp.join(src, 'pascal_person_part')):
        for mask_dir in MASK_DIRS:
            masks = osp.join(root, mask_dir)
            if osp.isdir(masks):
                release = dict(root=root, masks=masks)
                release.update(find_split_lists(root, lists))
                return release
    raise ConversionError(
        f'No {MASK_DIRS[0]}/ (or {MASK_DIRS[1]}/) mask folder in '
        f'{src} or {osp.join(src, "pascal_person_part")}: point SRC at the '
        'unpacked pascal_person_part.zip (or at the folder holding '
        'JPEGImages/ and SegmentationPart/).')


def find_split_lists(root: str, lists: Optional[str] = None) -> Dict[str, str]:
    """The train and val list files of the release in ``root``.

    Looks in ``lists`` when given, else in the first of
    ``root/pascal_person_part_trainval_list/`` and ``root/list/`` that
    exists; in the folder, a split's list is ``SPLIT.txt`` or
    ``SPLIT_id.txt``.

    Returns:
        dict[str, str]: ``lists`` (the folder), ``train`` and ``val`` (the
        files).

    Raises:
        ConversionError: No list folder, or one lacking a split's list;
            the message names what was looked for and ``--lists``.
    """
    patterns = ' or '.join(n.format(split='{train,val}') for n in LIST_NAMES)
    if lists is not None:
        if not osp.isdir(lists):
            raise ConversionError(
                f'--lists {lists} is not a folder: give the folder holding '
                f'the split lists ({patterns}).')
        folder = lists
    else:
        tried = [osp.join(root, d) for d in LIST_DIRS]
        found = [d for d in tried if osp.isdir(d)]
        if not found:
            raise ConversionError(
                f'No split lists for {root}: looked for the folders '
                f'{" and ".join(tried)} (holding {patterns}). If your copy '
                'of the release has no lists, write the names of its train '
                'and val images (one NAME per line) into DIR/train.txt and '
                'DIR/val.txt and pass --lists DIR.')
        folder = found[0]
    result = dict(lists=folder)
    for split in SPLITS:
        candidates = [
            osp.join(folder, n.format(split=split)) for n in LIST_NAMES
        ]
        for path in candidates:
            if osp.isfile(path):
                result[split] = path
                break
        else:
            raise ConversionError(
                f'No {split} split list in {folder}: looked for '
                f'{" and ".join(candidates)}. Add it (one NAME per line), or '
                'pass --lists DIR, a folder holding train.txt and val.txt.')
    return result


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


def _convert_one(task: dict) -> bool:
    """Convert one pair; True if its mask was a colour mask."""
    image_path, mask_path = task['image_path'], task['mask_path']
    image = read_image(image_path)
    mask = read_mask(mask_path)
    colour = mask.ndim == 3
    if colour:
        mask = snap_to_palette(
            mask,
            PALETTE,
            task['color_tolerance'],
            mask_path,
            transparent_id=IGNORE_INDEX,
            fix=f'raise --color-tolerance (now {task["color_tolerance"]:g}, '
            f'below {max_color_tolerance(PALETTE):g})')
    check_same_size(image_path, image, mask_path, mask)
    check_label_values(mask, NUM_CLASSES, mask_path, extra=(IGNORE_INDEX, ))
    out, split, name = task['out_dir'], task['split'], task['name']
    copy_file(image_path, osp.join(out, 'img_dir', split, name + '.jpg'))
    write_image(osp.join(out, 'ann_dir', split, name + '.png'), mask)
    return colour


def convert_pascal_person_part(src: str,
                               out_dir: str,
                               voc_images: Optional[str] = None,
                               lists: Optional[str] = None,
                               color_tolerance: float = COLOR_TOLERANCE,
                               nproc: int = 1,
                               overwrite: bool = False) -> Dict[str, int]:
    """Convert the release in ``src`` to the mmseg layout in ``out_dir``.

    Args:
        src (str): The unpacked ``pascal_person_part`` folder (or its
            parent), or a colour-mask copy's folder (``JPEGImages/`` +
            ``SegmentationPart/``).
        out_dir (str): Output folder.
        voc_images (str, optional): VOC ``JPEGImages`` folder (or a
            ``VOCdevkit`` root). Defaults to ``SRC/JPEGImages``.
        lists (str, optional): Folder holding ``train.txt`` and ``val.txt``
            (or ``train_id.txt`` and ``val_id.txt``). Defaults to the
            release's ``pascal_person_part_trainval_list/`` or ``list/``.
        color_tolerance (float): Largest Euclidean RGB distance from a VOC
            colour that a colour mask's pixel may have. Defaults to
            :data:`COLOR_TOLERANCE`; must be below 64.
        nproc (int): Worker processes. Defaults to 1.
        overwrite (bool): Replace an earlier conversion in ``out_dir``.

    Returns:
        dict[str, int]: Images written per split.
    """
    check_color_tolerance(PALETTE, color_tolerance)
    release = find_person_part_release(src, lists)
    images = _find_voc_images(release['root'], voc_images)
    tasks = []
    for split in SPLITS:
        list_file = release[split]
        for name in read_split_list(list_file):
            tasks.append(
                dict(
                    name=name,
                    split=split,
                    list_file=list_file,
                    color_tolerance=color_tolerance,
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
              f'(photos from {images}, lists from {release["lists"]})')
        colour = run_tasks(_convert_one,
                           [dict(t, out_dir=staging) for t in tasks], nproc)
        counts = {}
        for split in SPLITS:
            names = [t['name'] for t in tasks if t['split'] == split]
            write_lines(osp.join(staging, 'splits', f'{split}.txt'), names)
            counts[split] = len(names)
    if any(colour):
        print(f'{sum(colour)} of {len(tasks)} masks were colour masks, '
              'snapped to the VOC colours of ids 0..6 within '
              f'{color_tolerance:g}')
    print(format_counts('Pascal-Person-Part', counts, out_dir))
    return counts
