"""A small generated segmentation dataset in the mmseg folder layout.

No dataset can be downloaded on CI machines, so the demo and the tests train on
images this module draws: textured noise with random discs and boxes. Each
class has its own colour distribution and shape, so a small network learns it
in a few hundred iterations, while boundaries and noise keep it from being
trivial. Written as::

    <root>/img_dir/{train,val}/NNNN.png   RGB images (uint8)
    <root>/ann_dir/{train,val}/NNNN.png   label maps, ids 0..C-1
"""
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

__all__ = ['SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE', 'draw_sample',
           'make_synthetic_dataset']

#: Classes of the generated dataset (the drone-binary class names).
SYNTHETIC_CLASSES: Tuple[str, ...] = ('background', 'obstacle')
#: Palette (RGB) for visualising the generated labels.
SYNTHETIC_PALETTE = [[0, 0, 0], [255, 0, 0]]

# mean BGR colour of each class
_CLASS_COLOURS = np.array([[70, 120, 90], [40, 60, 200]], dtype=np.float32)


def draw_sample(rng: np.random.Generator, size: int,
                max_shapes: int = 4) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one image and its label map.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image, in pixels.
        max_shapes (int): Most obstacles (discs or boxes) per image.

    Returns:
        tuple[np.ndarray, np.ndarray]: The BGR image of shape
        ``(size, size, 3)`` (uint8) and the label map of shape
        ``(size, size)`` (uint8, values in ``0..C-1``).
    """
    label = np.zeros((size, size), dtype=np.uint8)
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        centre = tuple(int(c) for c in rng.integers(0, size, 2))
        extent = int(rng.integers(max(2, size // 12), max(3, size // 4)))
        if rng.random() < 0.5:
            cv2.circle(label, centre, extent, 1, thickness=-1)
        else:
            corner = (centre[0] + extent, centre[1] + extent // 2)
            cv2.rectangle(label, centre, corner, 1, thickness=-1)
    image = _CLASS_COLOURS[label] + rng.normal(0, 25, (size, size, 3))
    image += rng.normal(0, 10, 3)  # per-image illumination shift
    return np.clip(image, 0, 255).astype(np.uint8), label


def make_synthetic_dataset(root: str,
                           splits: Dict[str, int] = None,
                           size: int = 64,
                           seed: int = 0) -> Dict[str, int]:
    """Write a generated dataset to ``root`` (overwrites same-named files).

    Args:
        root (str): Output folder.
        splits (dict[str, int]): Number of images per split; defaults to
            ``{'train': 32, 'val': 16}``.
        size (int): Image side in pixels.
        seed (int): Seed; the same seed writes byte-identical files.

    Returns:
        dict[str, int]: Images written per split.

    Raises:
        ValueError: ``size`` < 8 or a split count < 1.
    """
    splits = dict(train=32, val=16) if splits is None else dict(splits)
    if size < 8:
        raise ValueError(f'size={size} is too small: use at least 8 pixels.')
    for split, count in splits.items():
        if count < 1:
            raise ValueError(f'splits[{split!r}]={count}: need >= 1 image.')
    rng = np.random.default_rng(seed)
    for split, count in splits.items():
        img_dir = osp.join(root, 'img_dir', split)
        ann_dir = osp.join(root, 'ann_dir', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for index in range(count):
            image, label = draw_sample(rng, size)
            name = f'{index:04d}.png'
            for path, array in ((osp.join(img_dir, name), image),
                                (osp.join(ann_dir, name), label)):
                if not cv2.imwrite(path, array):
                    raise OSError(f'Could not write {path}: check that the '
                                  'folder is writable and has free space.')
    return splits
