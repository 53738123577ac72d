"""Miniature dataset releases, in each release's real folder layout.

Tiny images (24x16 unless told) whose labels follow a known pattern, so the
converter tests can check the mapping on known pixels:

* Semantic Drone: row 0 of every mask holds the source ids 0..23 in order
  (``mask[0, i] == i``); the rest is random ids.
* Pascal-Person-Part: row 0 holds ids 0..6 then 255; palette PNG masks.
* Cityscapes: one ``road`` polygon over the left half, ``car`` on the right.
"""
import json
import os
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import numpy as np
from PIL import Image

__all__ = [
    'DRONE_SUBDIR', 'make_drone_release', 'make_person_part_release',
    'make_cityscapes_release'
]

#: Where the Kaggle / TU Graz archive keeps the two folders.
DRONE_SUBDIR = osp.join('dataset', 'semantic_drone_dataset')


def _photo(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def make_drone_release(root: str,
                       num: int = 12,
                       size: Tuple[int, int] = (24, 16),
                       seed: int = 0,
                       subdir: str = DRONE_SUBDIR) -> List[str]:
    """Write ``root/subdir/{original_images,label_images_semantic}``.

    Names are ``000``, ``002``, ... (the release skips numbers too).

    Returns:
        list[str]: The names written.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    base = osp.join(root, subdir)
    os.makedirs(osp.join(base, 'original_images'), exist_ok=True)
    os.makedirs(osp.join(base, 'label_images_semantic'), exist_ok=True)
    names = [f'{2 * i:03d}' for i in range(num)]
    for name in names:
        label = rng.integers(0, 24, (height, width), dtype=np.uint8)
        label[0, :24] = np.arange(min(24, width))
        cv2.imwrite(osp.join(base, 'original_images', name + '.jpg'),
                    _photo(rng, width, height))
        cv2.imwrite(
            osp.join(base, 'label_images_semantic', name + '.png'), label)
    return names


def make_person_part_release(root: str,
                             train: int = 4,
                             val: int = 2,
                             size: Tuple[int, int] = (24, 16),
                             voc_root: Optional[str] = None,
                             seed: int = 0) -> List[str]:
    """Write ``root/pascal_person_part/`` and the VOC photos.

    ``train.txt`` uses the release's ``/JPEGImages/X.jpg
    /SegmentationPart/X.png`` lines, ``val.txt`` bare names. Photos go to
    ``voc_root/VOCdevkit/VOC2010/JPEGImages`` when ``voc_root`` is given,
    else to ``root/pascal_person_part/JPEGImages``.

    Returns:
        list[str]: Train names then val names.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    base = osp.join(root, 'pascal_person_part')
    gt = osp.join(base, 'pascal_person_part_gt')
    lists = osp.join(base, 'pascal_person_part_trainval_list')
    images = osp.join(voc_root, 'VOCdevkit', 'VOC2010',
                      'JPEGImages') if voc_root else osp.join(
                          base, 'JPEGImages')
    for folder in (gt, lists, images):
        os.makedirs(folder, exist_ok=True)
    names = [f'2008_{i:06d}' for i in range(train + val)]
    for name in names:
        label = rng.integers(0, 7, (height, width), dtype=np.uint8)
        label[0, :8] = [0, 1, 2, 3, 4, 5, 6, 255]
        mask = Image.frombytes('P', (width, height), label.tobytes())
        mask.putpalette([c for i in range(256) for c in (i, 255 - i, 0)])
        mask.save(osp.join(gt, name + '.png'))
        cv2.imwrite(osp.join(images, name + '.jpg'),
                    _photo(rng, width, height))
    with open(osp.join(lists, 'train.txt'), 'w') as f:
        f.writelines(f'/JPEGImages/{n}.jpg /SegmentationPart/{n}.png\n'
                     for n in names[:train])
    with open(osp.join(lists, 'val.txt'), 'w') as f:
        f.writelines(f'{n}\n' for n in names[train:])
    return names


def make_cityscapes_release(root: str,
                            per_split: int = 2,
                            size: Tuple[int, int] = (24, 16),
                            seed: int = 0) -> List[str]:
    """Write ``leftImg8bit/`` and ``gtFine/*_polygons.json`` for 3 splits.

    Returns:
        list[str]: ``split/CITY/NAME`` of every image.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    written = []
    for split in ('train', 'val', 'test'):
        city = 'aachen' if split == 'train' else 'lindau'
        img_dir = osp.join(root, 'leftImg8bit', split, city)
        gt_dir = osp.join(root, 'gtFine', split, city)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(gt_dir, exist_ok=True)
        for i in range(per_split):
            name = f'{city}_{i:06d}_000019'
            cv2.imwrite(osp.join(img_dir, name + '_leftImg8bit.png'),
                        _photo(rng, width, height))
            half = width // 2
            objects = [
                dict(label='road',
                     polygon=[[0, 0], [half - 1, 0], [half - 1, height - 1],
                              [0, height - 1]]),
                dict(label='cargroup',
                     polygon=[[half, 0], [width - 1, 0],
                              [width - 1, height - 1], [half, height - 1]]),
            ]
            poly = dict(imgWidth=width, imgHeight=height, objects=objects)
            with open(osp.join(gt_dir, name + '_gtFine_polygons.json'),
                      'w') as f:
                json.dump(poly, f)
            written.append(f'{split}/{city}/{name}')
    return written
