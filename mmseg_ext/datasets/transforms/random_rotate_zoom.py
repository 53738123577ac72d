"""Random rotation followed by the smallest zoom that hides the corners."""
import math
from typing import Sequence, Union

import mmcv
import numpy as np
from mmseg.datasets.transforms import RandomRotate

from mmseg_ext.registry import TRANSFORMS

__all__ = ['RandomRotateZoom', 'corner_free_zoom']


def corner_free_zoom(width: int, height: int, angle: float) -> float:
    """The smallest zoom after which a rotated image fills its frame.

    An image of ``width`` x ``height`` rotated by ``angle`` about its centre
    leaves empty corners in its ``width`` x ``height`` frame. The largest
    axis-aligned, centred rectangle ``k * w`` x ``k * h`` that fits in the
    rotated image satisfies, with ``c = |cos|`` and ``s = |sin|``,
    ``k * (w * c + h * s) <= w`` and ``k * (w * s + h * c) <= h``; zooming
    by ``1 / k`` blows that rectangle up to the whole frame::

        zoom = max(c + (h / w) * s, (w / h) * s + c)

    ``w`` and ``h`` are measured between the centres of the outermost
    pixels (``width - 1``, ``height - 1``), the frame that
    :func:`mmcv.imrotate` rotates about, so that every output pixel samples
    inside the source and bilinear interpolation never mixes in padding.

    Args:
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        angle (float): Rotation in degrees (either sign).

    Returns:
        float: The zoom factor, ``>= 1``.
    """
    w, h = max(width - 1, 1), max(height - 1, 1)
    theta = math.radians(angle)
    c, s = abs(math.cos(theta)), abs(math.sin(theta))
    return max(c + h / w * s, w / h * s + c)


@TRANSFORMS.register_module()
class RandomRotateZoom(RandomRotate):
    """Rotate by a random angle, then zoom just enough to hide the corners.

    The rotation augmentation of the Semantic Drone Dataset recipe
    (``configs/_base_/datasets/semantic_drone_binary.py``): a rotation drawn
    uniformly in ``[-max_angle, max_angle]`` degrees, followed by a zoom
    that removes the black corners. The zoom here is computed, not guessed:
    :func:`corner_free_zoom` is the smallest one that leaves no padding
    (up to a one-pixel border from rounding). The image is interpolated
    bilinearly, every map in ``results['seg_fields']`` by nearest neighbour;
    pixels that are still empty get ``pad_val`` in the image and
    ``seg_pad_val`` (the ignore index) in the maps. The image size stays.

    Uses mmseg's :class:`~mmseg.datasets.transforms.RandomRotate` for the
    random draw and :func:`mmcv.imrotate` for the warp.

    Required Keys:

    - img
    - seg_fields (optional) and the maps it names

    Modified Keys:

    - img
    - the maps named in seg_fields

    Added Keys:

    - rotate_angle (float, degrees; 0 when not applied)
    - rotate_zoom (float; 1 when not applied)

    Args:
        prob (float): Probability of rotating. Defaults to 0.5.
        max_angle (float): Largest rotation in degrees, > 0. Defaults to 30.
        pad_val (float | Sequence[float]): Image value of empty pixels, for
            every channel or per channel. Defaults to 0.
        seg_pad_val (int): Map value of empty pixels. Defaults to 255.
        interpolation (str): Image interpolation (an :func:`mmcv.imrotate`
            name). Defaults to ``'bilinear'``.
    """

    def __init__(self,
                 prob: float = 0.5,
                 max_angle: float = 30.,
                 pad_val: Union[float, Sequence[float]] = 0,
                 seg_pad_val: int = 255,
                 interpolation: str = 'bilinear') -> None:
        super().__init__(
            prob=prob,
            degree=max_angle,
            pad_val=pad_val,
            seg_pad_val=seg_pad_val)
        self.max_angle = max_angle
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        """Rotate and zoom the image and its segmentation maps.

        Args:
            results (dict): Holds ``img`` of shape ``(H, W, C)`` or
                ``(H, W)`` and the ``(H, W)`` maps named in ``seg_fields``.

        Returns:
            dict: ``results`` with the warped arrays, same shapes.
        """
        rotate, angle = self.generate_degree()
        results['rotate_angle'] = float(angle) if rotate else 0.
        results['rotate_zoom'] = 1.
        if not rotate:
            return results
        height, width = results['img'].shape[:2]
        zoom = corner_free_zoom(width, height, angle)
        results['rotate_zoom'] = zoom
        pad_val = self.pal_val
        if np.isscalar(pad_val) and results['img'].ndim == 3:
            # cv2 would fill only the first channel with a bare number
            pad_val = (pad_val, ) * results['img'].shape[2]
        results['img'] = mmcv.imrotate(
            results['img'],
            angle=angle,
            scale=zoom,
            border_value=pad_val,
            interpolation=self.interpolation)
        for key in results.get('seg_fields', []):
            results[key] = mmcv.imrotate(
                results[key],
                angle=angle,
                scale=zoom,
                border_value=self.seg_pad_val,
                interpolation='nearest')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'max_angle={self.max_angle}, pad_val={self.pal_val}, '
                f'seg_pad_val={self.seg_pad_val}, '
                f'interpolation={self.interpolation!r})')
