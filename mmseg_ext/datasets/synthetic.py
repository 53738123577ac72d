"""A generated drone-like segmentation dataset in the mmseg folder layout.

No dataset can be downloaded on CI machines, so the demo and the tests train on
aerial-looking images that this module draws. Each image is a nadir view of
a scene in the spirit of the Semantic Drone Dataset (TU Graz,
https://dronedataset.icg.tugraz.at):

* a textured ground made of several regions (grass with mowing stripes,
  blotchy low vegetation, paved tiles, dirt, gravel) and roads, under an
  illumination gradient, a colour cast and sensor noise;
* water (irregular ponds, rectangular pools with a paved rim);
* roofs (rotated rectangles and L shapes, gable shading, tile stripes);
* trees (lumpy crowns lit from the sun's side);
* fences: thin lattices and lines of 1-2 pixels with holes that show the
  ground behind them, and posts;
* small dynamic objects: person-like blobs in groups, cars;
* the shadows of roofs, trees, people and cars on whatever lies below.

Colours overlap on purpose: grey roofs and paved ground, brown roofs and
dirt, trees and grass, dark water and low vegetation or shadows, clothes of
any colour. Texture, shape and context decide, as on real drone images.

The scene is drawn with the dataset's source ids (1 paved-area, 2 dirt,
3 grass, ...) and mapped to one of two flavours with its id table
(:data:`~mmseg_ext.datasets.semantic_drone_classes.DRONE_CLASS_MAPS`):

* ``'binary'``: background (paved, dirt, grass, gravel, low vegetation) and
  obstacle (water, pool, roof, fence, person, car, tree);
* ``'multiclass'``: ground, vegetation, water, structure, dynamic.

A seed fixes the images; the flavour only changes the label maps, so both
flavours of one seed share their images. Written as::

    <root>/img_dir/{train,val}/NNNN.png   BGR images (uint8)
    <root>/ann_dir/{train,val}/NNNN.png   label maps, ids 0..C-1
"""
import os
import os.path as osp
import sys
from typing import Dict, Iterator, List, Sequence, Tuple

import cv2
import numpy as np
from mmengine.utils import track_iter_progress

from mmseg_ext.datasets.semantic_drone_classes import (DRONE_FLAVOURS,
                                                       drone_id_map)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE', 'SYNTHETIC_FLAVOURS',
    'draw_scene', 'draw_sample', 'make_synthetic_dataset'
]

# Semantic Drone source ids (``DRONE_SOURCE_CLASSES``) that the scenes use
PAVED, DIRT, GRASS, GRAVEL, WATER, POOL, VEGETATION = 1, 2, 3, 4, 5, 7, 8
ROOF, FENCE, PERSON, CAR, TREE = 9, 13, 15, 17, 19
_GROUNDS = (PAVED, DIRT, GRASS, GRAVEL, VEGETATION)

#: Classes and palettes (RGB) of the two flavours: the Semantic Drone
#: dataset's (``semantic_drone_classes.DRONE_FLAVOURS``), whose id maps
#: (:func:`drone_id_map`) turn the drawn source ids into labels.
SYNTHETIC_FLAVOURS: Dict[str, Dict[str, object]] = DRONE_FLAVOURS
#: Classes of the binary flavour (the drone-binary class names).
SYNTHETIC_CLASSES: Tuple[str, ...] = SYNTHETIC_FLAVOURS['binary']['classes']
#: Palette (RGB) of the binary flavour.
SYNTHETIC_PALETTE = SYNTHETIC_FLAVOURS['binary']['palette']


def _lookup(flavour: str) -> np.ndarray:
    """The 256-entry table from drone source id to the flavour's class id."""
    if flavour not in SYNTHETIC_FLAVOURS:
        raise ValueError(f'flavour={flavour!r} is unknown: use one of '
                         f'{sorted(SYNTHETIC_FLAVOURS)}.')
    return drone_id_map(flavour)


class _Canvas:
    """An image (float BGR), its source-id map and the scene's geometry.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image, in pixels.
    """

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.rng = rng
        # per-pixel noise draws size**2 numbers: from its own stream, so
        # that the scene (drawn from ``rng``) does not depend on the size
        self.noise_rng = np.random.default_rng(rng.integers(2**63))
        self.size = size
        # lengths are given for a 128-pixel image and scale with the side,
        # so that the size sets the resolution, not the scene
        self.scale = size / 128
        self.image = np.zeros((size, size, 3), dtype=np.float32)
        self.source = np.zeros((size, size), dtype=np.uint8)
        self.y, self.x = np.mgrid[0:size, 0:size].astype(np.float32)
        sun = rng.uniform(0, 2 * np.pi)
        # unit vector from an object to its shadow
        self.sun = np.array([np.cos(sun), np.sin(sun)], dtype=np.float32)

    def px(self, low: float, high: float) -> float:
        """A random length in ``[low, high)`` at 128 pixels, scaled."""
        return float(self.rng.uniform(low, high)) * self.scale

    def point(self, margin: float = 0.0) -> np.ndarray:
        """A random point, ``margin`` (a fraction of the side) inside."""
        return self.rng.uniform(margin, 1 - margin, 2) * self.size

    def frame(self, centre: Sequence[float],
              angle: float) -> Tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates ``(u, v)`` in a rotated frame at ``centre``."""
        dx, dy = self.x - centre[0], self.y - centre[1]
        cos, sin = np.cos(angle), np.sin(angle)
        return dx * cos + dy * sin, -dx * sin + dy * cos

    def noise(self, sigma: float, channels: int = 1) -> np.ndarray:
        """Per-pixel Gaussian noise of shape ``(size, size, channels)``."""
        return self.noise_rng.normal(0, sigma,
                                     (self.size, self.size, channels))

    def blotches(self, sigma: float, feature: float) -> np.ndarray:
        """Smooth noise of shape ``(size, size, 1)``, blobs of ``feature``
        pixels at 128 (scaled)."""
        cells = max(2, int(round(128 / feature)))  # the same at any size
        coarse = self.rng.normal(0, sigma, (cells, cells)).astype(np.float32)
        return cv2.resize(coarse, (self.size, self.size),
                          interpolation=cv2.INTER_CUBIC)[..., None]

    def colour(self, mean: Sequence[float],
               spread: Sequence[float]) -> np.ndarray:
        """A random BGR colour around ``mean``."""
        return np.asarray(mean, np.float32) + self.rng.uniform(
            -1, 1, 3).astype(np.float32) * np.asarray(spread, np.float32)

    def paint(self, mask: np.ndarray, texture: np.ndarray,
              source: int) -> None:
        """Paint ``texture`` (``(size, size, 3)`` or a colour) and the
        label ``source`` where ``mask`` is true."""
        texture = np.broadcast_to(texture, self.image.shape)
        self.image[mask] = texture[mask]
        self.source[mask] = source

    def polygon(self, points: np.ndarray, shift=(0.0, 0.0)) -> np.ndarray:
        """A boolean mask of a filled polygon, moved by ``shift``."""
        mask = np.zeros((self.size, self.size), dtype=np.uint8)
        pts = np.round((points + np.asarray(shift)) * 16).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
        return mask.astype(bool)

    def blob(self, centre: np.ndarray, radius: float,
             roughness: float) -> np.ndarray:
        """The corners of a lumpy round polygon, shape ``(16, 2)``."""
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        radii = radius * (1 + self.rng.uniform(-roughness, roughness, 16))
        return centre + np.stack([np.cos(angles), np.sin(angles)], 1) * \
            radii[:, None]

    def box(self, centre: np.ndarray, length: float, width: float,
            angle: float) -> np.ndarray:
        """The corners of a rotated rectangle, shape ``(4, 2)``."""
        return cv2.boxPoints(((float(centre[0]), float(centre[1])),
                              (length, width), float(np.degrees(angle))))

    def shade(self, mask: np.ndarray, factor: float) -> None:
        """Darken the image under ``mask`` (a shadow; labels unchanged)."""
        self.image[mask] *= factor


def _ground_texture(canvas: _Canvas, kind: int) -> np.ndarray:
    """A full-frame BGR texture, shape ``(size, size, 3)``, of a ground."""
    c, rng = canvas, canvas.rng
    angle = rng.uniform(0, np.pi)
    u, _ = c.frame((0, 0), angle)
    if kind == GRASS:  # green, fine grain, mowing stripes
        stripes = 9 * np.sign(np.sin(2 * np.pi * u / c.px(8, 16)))
        return (c.colour((60, 125, 80), (15, 25, 20)) + stripes[..., None] +
                c.blotches(8, 24) + c.noise(10))
    if kind == VEGETATION:  # darker green, lumpy
        return (c.colour((45, 100, 65), (12, 20, 15)) + c.blotches(22, 5) +
                c.noise(6, 3))
    if kind == PAVED:  # grey tiles with joints
        grey = rng.uniform(100, 180)
        _, v = c.frame((0, 0), angle)
        period = c.px(6, 12)
        joints = ((u % period) < 1) | ((v % period) < 1)
        return (c.colour((grey, grey, grey + 5), (8, 8, 8)) -
                22 * joints[..., None] + c.blotches(5, 30) + c.noise(4))
    if kind == DIRT:  # brown, blotchy
        return (c.colour((75, 105, 140), (20, 20, 25)) + c.blotches(16, 12) +
                c.noise(7))
    # GRAVEL: grey-brown salt and pepper
    return c.colour((115, 125, 135), (20, 20, 20)) + c.noise(24)


def _draw_ground(canvas: _Canvas) -> None:
    """Several ground regions (smooth random partition) and roads."""
    c, rng = canvas, canvas.rng
    kinds = rng.choice(_GROUNDS, int(rng.integers(2, 5)))
    fields = np.concatenate([c.blotches(1, 48) for _ in kinds], axis=2)
    region = fields.argmax(axis=2)
    for index, kind in enumerate(kinds):
        c.paint(region == index, _ground_texture(c, int(kind)), int(kind))
    for _ in range(rng.poisson(0.7)):  # roads across the image
        mask = np.zeros((c.size, c.size), dtype=np.uint8)
        start, end = c.point(), c.point()
        direction = (end - start) / (np.linalg.norm(end - start) + 1e-6)
        start, end = start - direction * c.size, end + direction * c.size
        cv2.line(mask, tuple(int(v) for v in start),
                 tuple(int(v) for v in end), 1,
                 max(1, int(round(c.px(8, 18)))))
        kind = int(rng.choice((PAVED, DIRT, GRAVEL)))
        c.paint(mask.astype(bool), _ground_texture(c, kind), kind)


def _draw_water(canvas: _Canvas) -> None:
    """Ponds (lumpy, smooth, dark) and pools (cyan boxes, paved rim)."""
    c, rng = canvas, canvas.rng
    if rng.random() < 0.35:
        mask = c.polygon(c.blob(c.point(0.1), c.px(12, 30), 0.35))
        ripples = 3 * np.sin(c.frame((0, 0), rng.uniform(0, np.pi))[0] /
                             max(0.8, c.px(1.5, 3)))
        texture = (c.colour((105, 100, 60), (35, 25, 20)) +
                   c.blotches(8, 40) + ripples[..., None] + c.noise(2))
        c.paint(mask, texture, WATER)
    if rng.random() < 0.2:
        centre, angle = c.point(0.15), rng.uniform(0, np.pi)
        length, width = c.px(12, 26), c.px(8, 14)
        rim = max(1.0, c.px(1.5, 3))
        c.paint(c.polygon(c.box(centre, length + 2 * rim, width + 2 * rim,
                                angle)),
                c.colour((200, 200, 200), (20, 20, 20)) + c.noise(4), PAVED)
        caustics = 8 * np.sin(c.frame(centre, angle)[0] / c.px(1, 2))
        c.paint(c.polygon(c.box(centre, length, width, angle)),
                c.colour((205, 175, 90), (25, 25, 30)) + caustics[..., None] +
                c.noise(2), POOL)


_ROOF_COLOURS = (  # mean, spread (BGR): terracotta, grey, dark, brown
    ((60, 80, 165), (15, 15, 25)), ((135, 135, 135), (35, 35, 35)),
    ((65, 65, 70), (12, 12, 12)), ((75, 100, 130), (15, 15, 20)))


def _draw_roofs(canvas: _Canvas) -> None:
    """Rotated rectangles and L shapes with gable shading and tiles."""
    c, rng = canvas, canvas.rng
    for _ in range(rng.poisson(1.3)):
        centre, angle = c.point(0.1), rng.uniform(0, np.pi)
        length, width = c.px(18, 44), c.px(12, 24)
        mask = c.polygon(c.box(centre, length, width, angle))
        shadow = c.polygon(c.box(centre, length, width, angle),
                           c.sun * c.px(3, 8))
        if rng.random() < 0.3:  # an L-shaped house: a second wing
            wing = centre + width * 0.5 * np.array(
                [np.cos(angle + np.pi / 2), np.sin(angle + np.pi / 2)]) + \
                (length / 2 - width / 2) * np.array(
                    [np.cos(angle), np.sin(angle)])
            corners = c.box(wing, width, length * 0.6, angle)
            mask |= c.polygon(corners)
            shadow |= c.polygon(corners, c.sun * c.px(3, 8))
        c.shade(shadow & ~mask, rng.uniform(0.45, 0.65))
        u, v = c.frame(centre, angle)
        gable = np.where(v > 0, 1.12, 0.86)[..., None]
        tiles = 6 * np.sin(2 * np.pi * u / max(2.0, c.px(2.5, 4)))
        ridge = 25 * (np.abs(v) < max(0.6, c.scale))
        mean, spread = _ROOF_COLOURS[rng.integers(len(_ROOF_COLOURS))]
        texture = (c.colour(mean, spread) * gable + tiles[..., None] +
                   ridge[..., None] + c.noise(4))
        c.paint(mask, texture, ROOF)


def _draw_trees(canvas: _Canvas) -> None:
    """Groups of lumpy crowns, brighter on the sun's side, with shadows."""
    c, rng = canvas, canvas.rng
    for _ in range(rng.poisson(1.4)):
        group = c.point(0.05)
        for _ in range(int(rng.integers(1, 5))):
            centre = group + rng.normal(0, 10, 2) * c.scale
            radius = c.px(4, 11)
            crown = c.blob(centre, radius, 0.25)
            mask = c.polygon(crown)
            c.shade(c.polygon(crown, c.sun * radius * 0.9) & ~mask,
                    rng.uniform(0.45, 0.6))
            lit = 1 - 0.3 * ((c.x - centre[0]) * c.sun[0] +
                             (c.y - centre[1]) * c.sun[1]) / radius
            texture = (c.colour((45, 90, 55), (12, 25, 15)) *
                       np.clip(lit, 0.6, 1.4)[..., None] + c.blotches(20, 3) +
                       c.noise(5))
            c.paint(mask, texture, TREE)


def _draw_fences(canvas: _Canvas) -> None:
    """Thin lattices and lines (1-2 pixels) with posts; holes show the
    ground behind them."""
    c, rng = canvas, canvas.rng
    for _ in range(rng.poisson(1.0)):
        centre, angle = c.point(0.1), rng.uniform(0, np.pi)
        length = c.px(30, 90)
        grey = rng.uniform(60, 210)
        colour = c.colour((grey, grey, grey + 10), (15, 15, 15)) if \
            rng.random() < 0.6 else c.colour((60, 95, 130), (15, 15, 20))
        u, v = c.frame(centre, angle)
        thick = max(1.0, c.scale)
        inside = np.abs(u) < length / 2
        if rng.random() < 0.6:  # a lattice band: wires on a diagonal grid
            width, period = c.px(5, 12), max(3.0, c.px(3.5, 6))
            band = inside & (np.abs(v) < width / 2)
            a, b = u + v, u - v
            wires = ((a % period) < thick) | ((b % period) < thick) | \
                (np.abs(np.abs(v) - width / 2) < thick)
            mask = band & wires
        else:  # a rail on posts
            mask = inside & (np.abs(v) < thick)
            post = c.px(6, 14)
            mask |= inside & ((u % post) < 2 * thick) & \
                (np.abs(v) < 1.5 * thick + 0.5)
        c.paint(mask, colour + c.noise(8), FENCE)


_CAR_COLOURS = ((235, 235, 235), (30, 30, 30), (140, 140, 140),
                (40, 40, 180), (150, 80, 30))


def _draw_dynamic(canvas: _Canvas) -> None:
    """Cars (boxes with a windscreen) and groups of person-like blobs."""
    c, rng = canvas, canvas.rng
    for _ in range(rng.poisson(1.0)):
        centre, angle = c.point(0.05), rng.uniform(0, np.pi)
        length, width = c.px(9, 13), c.px(4.5, 6.5)
        body = c.box(centre, length, width, angle)
        mask = c.polygon(body)
        c.shade(c.polygon(body, c.sun * c.px(1.5, 3)) & ~mask, 0.5)
        paint = (_CAR_COLOURS[rng.integers(len(_CAR_COLOURS))]
                 if rng.random() < 0.7 else rng.uniform(20, 235, 3))
        u, _ = c.frame(centre, angle)
        glass = np.abs(u - length * 0.2) < length * 0.12
        texture = (c.colour(paint, (10, 10, 10)) *
                   np.where(glass, 0.35, 1.0)[..., None] + c.noise(4))
        c.paint(mask, texture, CAR)
    for _ in range(rng.poisson(1.2)):
        group = c.point(0.05)
        for _ in range(int(rng.integers(1, 5))):
            centre = group + rng.normal(0, 5, 2) * c.scale
            axes = (max(0.8, c.px(1.2, 2.2)), max(1.0, c.px(2, 3.5)))
            angle = float(rng.uniform(0, 180))
            masks = []
            for shift in (c.sun * c.px(2, 4), (0, 0)):
                mask = np.zeros((c.size, c.size), dtype=np.uint8)
                cv2.ellipse(mask, (int(centre[0] + shift[0]),
                                   int(centre[1] + shift[1])),
                            (int(round(axes[0])), int(round(axes[1]))),
                            angle, 0, 360, 1, -1)
                masks.append(mask.astype(bool))
            c.shade(masks[0] & ~masks[1], 0.5)
            c.paint(masks[1], rng.uniform(20, 235, 3) + c.noise(10), PERSON)


def draw_scene(rng: np.random.Generator,
               size: int) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one aerial-looking image and its drone source-id map.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image, in pixels.

    Returns:
        tuple[np.ndarray, np.ndarray]: The BGR image of shape
        ``(size, size, 3)`` (uint8) and the map of drone source ids of
        shape ``(size, size)`` (uint8; see :data:`SYNTHETIC_FLAVOURS`).
    """
    canvas = _Canvas(rng, size)
    for draw in (_draw_ground, _draw_water, _draw_roofs, _draw_fences,
                 _draw_trees, _draw_dynamic):
        draw(canvas)
    # camera: illumination gradient, exposure, colour cast, sensor noise
    u, _ = canvas.frame((size / 2, size / 2), rng.uniform(0, 2 * np.pi))
    light = 1 + rng.uniform(0.15, 0.45) * u / size
    gain = rng.uniform(0.8, 1.15) * rng.uniform(0.92, 1.08, 3)
    image = canvas.image * light[..., None] * gain + canvas.noise(3, 3)
    return np.clip(image, 0, 255).astype(np.uint8), canvas.source


def draw_sample(rng: np.random.Generator,
                size: int,
                flavour: str = 'binary') -> Tuple[np.ndarray, np.ndarray]:
    """Draw one image and its label map in a flavour.

    Args:
        rng (np.random.Generator): Source of randomness.
        size (int): Side of the square image, in pixels.
        flavour (str): ``'binary'`` or ``'multiclass'``.

    Returns:
        tuple[np.ndarray, np.ndarray]: The BGR image of shape
        ``(size, size, 3)`` (uint8) and the label map of shape
        ``(size, size)`` (uint8, values in ``0..C-1``).
    """
    table = _lookup(flavour)
    image, source = draw_scene(rng, size)
    return image, table[source]


def _image_slots(root: str, splits: Dict[str, int]
                 ) -> Iterator[Tuple[List[str], str]]:
    """Where each image goes, in drawing order: its ``img_dir`` and
    ``ann_dir`` folders (created split by split) and its file name."""
    for split, count in splits.items():
        folders = [
            osp.join(root, 'img_dir', split),
            osp.join(root, 'ann_dir', split)
        ]
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
        for index in range(count):
            yield folders, f'{index:04d}.png'


def make_synthetic_dataset(root: str,
                           splits: Dict[str, int] = None,
                           size: int = 64,
                           seed: int = 0,
                           flavour: str = 'binary',
                           progress: bool = False) -> Dict[str, int]:
    """Write a generated dataset to ``root`` (overwrites same-named files).

    Args:
        root (str): Output folder.
        splits (dict[str, int]): Number of images per split; defaults to
            ``{'train': 32, 'val': 16}``.
        size (int): Image side in pixels.
        seed (int): Seed; the same seed writes byte-identical files, in
            either flavour the same images.
        flavour (str): ``'binary'`` (background, obstacle) or
            ``'multiclass'`` (ground, vegetation, water, structure,
            dynamic).
        progress (bool): Show mmengine's progress bar (ended by a newline).

    Returns:
        dict[str, int]: Images written per split.

    Raises:
        ValueError: ``size`` < 8, a split count < 1 or an unknown flavour.
    """
    splits = dict(train=32, val=16) if splits is None else dict(splits)
    if size < 8:
        raise ValueError(f'size={size} is too small: use at least 8 pixels.')
    for split, count in splits.items():
        if count < 1:
            raise ValueError(f'splits[{split!r}]={count}: need >= 1 image.')
    table = _lookup(flavour)
    rng = np.random.default_rng(seed)
    images = _image_slots(root, splits)
    if progress:
        images = track_iter_progress((images, sum(splits.values())),
                                     file=sys.stdout)
    for folders, name in images:
        image, source = draw_scene(rng, size)
        for folder, array in zip(folders, (image, table[source])):
            path = osp.join(folder, name)
            if not cv2.imwrite(path, array):
                raise OSError(f'Could not write {path}: check that the '
                              'folder is writable and has free space.')
    return splits
