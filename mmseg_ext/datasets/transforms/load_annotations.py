"""mmseg's LoadAnnotations with a check of every mask it loads."""
import warnings
from typing import Any, Iterator, List, Optional, Set, Tuple

import numpy as np
from mmseg.datasets.transforms import LoadAnnotations as MMSegLoadAnnotations

from mmseg_ext.registry import TRANSFORMS

__all__ = [
    'LoadAnnotations', 'BadAnnotationError', 'bad_label_counts',
    'bind_label_checks'
]

#: How a check failure ends: the file named, then how to fix or skip it.
_OPT_OUT = ('(LoadAnnotations(check_labels=False) skips these checks and '
            'restores mmseg\'s behaviour.)')

#: Lowest id above which any value of a uint8 mask is a class id.
_UINT8_VALUES = 256


class BadAnnotationError(ValueError):
    """A mask that cannot be decoded, does not fit its image, or holds a
    label that is neither a class nor the ignore index."""


@TRANSFORMS.register_module()
class LoadAnnotations(MMSegLoadAnnotations):
    """Load a semantic-segmentation mask, then check it against its dataset.

    mmseg's :class:`~mmseg.datasets.transforms.LoadAnnotations` (same
    arguments, same output) followed by three checks, each of which raises a
    :class:`BadAnnotationError` that names the mask file:

    1. the mask decodes to a 2-D integer map (a truncated or corrupt PNG, or
       a colour mask instead of label ids, fails here rather than in torch's
       collate);
    2. its ``(H, W)`` equals the original shape of the image loaded before it
       (``results['ori_shape']``, set by ``LoadImageFromFile``, which the
       test pipelines' ``Resize`` leaves unchanged); skipped when no image
       was loaded before it;
    3. every label, after the dataset's ``label_map`` and
       ``reduce_zero_label``, is a class id ``< num_classes`` or
       ``ignore_index``; skipped while ``num_classes`` is unknown. Without
       it a value of 7 in a binary dataset stops training with torch's
       ``Target 7 is out of bounds`` and changes test metrics silently.

    Registered in ``mmseg_ext``'s TRANSFORMS under mmseg's name, so every
    pipeline with ``type='LoadAnnotations'`` in a config with
    ``default_scope = 'mmseg_ext'`` gets it; ``type='mmseg.LoadAnnotations'``
    is still upstream's. The transform cannot see its dataset: the number of
    classes comes from ``num_classes``, or from :func:`bind_label_checks`,
    which mmseg_ext's runner calls on every dataset it builds. On a clean
    uint8 mask the checks cost two passes over it (see
    :func:`bad_label_counts`; measured in ``docs/datasets.md``).

    Required Keys:

    - seg_map_path
    - reduce_zero_label, label_map (optional, from the dataset)
    - img_path, ori_shape (optional: the shape check runs when present)

    Added Keys:

    - seg_fields (List)
    - gt_seg_map (np.uint8, (H, W))

    Args:
        check_labels (bool): Run the checks. False gives mmseg's transform
            unchanged. Defaults to True.
        num_classes (int, optional): Number of classes of the dataset.
            Defaults to None: set by :func:`bind_label_checks`; the label
            check is skipped (with one warning) until it is set.
        ignore_index (int, optional): The label that is ignored. Defaults to
            None: the dataset's ``ignore_index`` when bound, else 255.
        **kwargs: mmseg's arguments (``reduce_zero_label``,
            ``backend_args``, ``imdecode_backend``).
    """

    def __init__(self,
                 check_labels: bool = True,
                 num_classes: Optional[int] = None,
                 ignore_index: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, int)
                                        or num_classes < 1):
            raise ValueError('LoadAnnotations: num_classes must be a '
                             f'positive int, got {num_classes!r}')
        self.check_labels = check_labels
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self._warned_unbound = False

    def _load_seg_map(self, results: dict) -> None:
        """Load ``results['seg_map_path']`` as mmseg does, then check it.

        Args:
            results (dict): Result dict from the dataset.

        Raises:
            BadAnnotationError: The mask cannot be decoded, does not have the
                shape of its image, or holds a label outside the classes.
        """
        if not self.check_labels:
            super()._load_seg_map(results)
            return
        path = results.get('seg_map_path')
        try:
            super()._load_seg_map(results)
        except (FileNotFoundError, AssertionError):
            raise  # already name the file or the reduce_zero_label clash
        except Exception as err:
            raise BadAnnotationError(
                f'Cannot decode the mask {path} ({type(err).__name__}: '
                f'{err}). The file is truncated or not an image: convert '
                'the dataset again (tools/dataset_converters/) or replace '
                'the file.') from err
        gt = results['gt_seg_map']
        self._check_decoded(gt, path)
        self._check_shape(gt, path, results)
        self._check_values(gt, path, results)

    @staticmethod
    def _check_decoded(gt: Any, path: str) -> None:
        if not isinstance(gt, np.ndarray) or gt.dtype.kind not in 'ui' \
                or gt.ndim != 2:
            what = (f'an array of shape {gt.shape} and dtype {gt.dtype}'
                    if isinstance(gt, np.ndarray) else type(gt).__name__)
            ndim = gt.ndim if isinstance(gt, np.ndarray) else None
            if ndim == 3:
                hint = (' It has channels: it is a colour mask, not a map of '
                        'label ids; point seg_map_path at the id masks or '
                        'convert them (tools/dataset_converters/).')
            elif ndim is not None and ndim < 2:
                hint = (' mmseg squeezes a mask 1 pixel high or wide to '
                        'fewer dimensions: such a mask cannot be used.')
            else:
                hint = (' The file is truncated or not a mask: convert the '
                        'dataset again or replace the file.')
            raise BadAnnotationError(
                f'The mask {path} decodes to {what}, not to a 2-D map of '
                f'label ids.{hint} {_OPT_OUT}')

    @staticmethod
    def _check_shape(gt: np.ndarray, path: str, results: dict) -> None:
        ori_shape = results.get('ori_shape')
        if ori_shape is None:
            return  # no image loaded before the mask
        img_hw = tuple(int(s) for s in ori_shape[:2])
        if gt.shape == img_hw:
            return
        hint = (' The shapes are transposed: the photo may carry an EXIF '
                'rotation that the image decoder applied.'
                if gt.shape == img_hw[::-1] else '')
        raise BadAnnotationError(
            f'The mask {path} is {gt.shape[0]}x{gt.shape[1]} (HxW) but its '
            f'image {results.get("img_path")} is {img_hw[0]}x{img_hw[1]}: '
            'a mask must have the size of its image.' + hint +
            ' Convert the pair again (tools/dataset_converters/ resize both '
            f'together) or fix the split. {_OPT_OUT}')

    def _check_values(self, gt: np.ndarray, path: str, results: dict) -> None:
        if self.num_classes is None:
            if not self._warned_unbound:
                self._warned_unbound = True
                warnings.warn(
                    'LoadAnnotations: the number of classes is unknown, so '
                    'mask values are not checked. Pass num_classes= or call '
                    'mmseg_ext.datasets.transforms.bind_label_checks('
                    'dataset) (mmseg_ext\'s runner does).')
            return
        ignore = 255 if self.ignore_index is None else self.ignore_index
        bad = bad_label_counts(gt, self.num_classes, ignore)
        if not bad:
            return
        values = ', '.join(f'{v} ({n} pixel{"s" * (n != 1)})'
                           for v, n in bad[:10])
        if len(bad) > 10:
            values += f', ... ({len(bad)} values)'
        applied = []
        if results.get('label_map'):
            applied.append('the dataset\'s label_map')
        if self.reduce_zero_label:
            applied.append('reduce_zero_label')
        after = f' after {" and ".join(applied)}' if applied else ''
        raise BadAnnotationError(
            f'The mask {path} holds labels that are neither one of the '
            f'{self.num_classes} classes (0..{self.num_classes - 1}) nor the '
            f'ignore index {ignore}{after}: {values}. Convert the dataset '
            'again with the right id map (tools/dataset_converters/), give '
            'the dataset the classes its masks use (metainfo), or map such '
            'pixels to the ignore index (and set ignore_index here and in '
            f'the decode head to match). {_OPT_OUT}')

    def __repr__(self) -> str:
        return (super().__repr__() + f'(check_labels={self.check_labels}, '
                f'num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')


def bad_label_counts(gt: np.ndarray, num_classes: int,
                     ignore_index: int) -> List[Tuple[int, int]]:
    """The labels of ``gt`` that are neither a class nor ``ignore_index``.

    A clean uint8 mask (mmseg's) with ``ignore_index=255`` costs one
    subtraction and one ``min`` over the mask: with ``n = num_classes``,
    ``(v - n) mod 256`` sends the classes ``0 .. n - 1`` to
    ``256 - n .. 255`` and 255 to ``255 - n``, and every other value
    below ``255 - n``. The pixel counts are only computed (``np.unique``) for
    a mask that fails.

    Args:
        gt (np.ndarray): Label map, (H, W), integer.
        num_classes (int): Valid labels are ``0 .. num_classes - 1``.
        ignore_index (int): The other valid label.

    Returns:
        list[tuple[int, int]]: ``(value, pixel count)`` for each bad value,
        in increasing value order; empty when every label is valid.
    """
    if gt.size == 0:
        return []
    if gt.dtype == np.uint8:
        if num_classes >= _UINT8_VALUES:
            return []
        if ignore_index == _UINT8_VALUES - 1:
            shifted = gt - np.uint8(num_classes)  # wraps around (mod 256)
            if int(shifted.min()) >= _UINT8_VALUES - 1 - num_classes:
                return []
        elif not ((gt >= num_classes) & (gt != ignore_index)).any():
            return []
    values, counts = np.unique(gt, return_counts=True)
    bad = ((values < 0) | (values >= num_classes)) & (values != ignore_index)
    return [(int(v), int(n)) for v, n in zip(values[bad], counts[bad])]


def _child_transforms(transform: Any) -> Iterator[Any]:
    """The transforms nested in a Compose, TestTimeAug, RandomChoice, ..."""
    for attr in ('transforms', 'subroutines'):
        child = getattr(transform, attr, None)
        if isinstance(child, (list, tuple)):
            yield from child
        elif child is not None:
            yield child


def _child_datasets(dataset: Any) -> Iterator[Any]:
    """The datasets a wrapper holds (ConcatDataset, RepeatDataset, ...)."""
    inner = getattr(dataset, 'datasets', None)
    if isinstance(inner, (list, tuple)):
        yield from inner
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield inner


def bind_label_checks(dataset: Any) -> int:
    """Tell the LoadAnnotations of a dataset's pipeline its classes.

    Sets ``num_classes`` (``len(metainfo['classes'])``) and ``ignore_index``
    (the dataset's, else 255) on every :class:`LoadAnnotations` of this
    package in the dataset's pipeline, nested ones included (TestTimeAug,
    RandomChoice, ...), that has none set. Wrappers (ConcatDataset,
    RepeatDataset, ClassBalancedDataset, MultiImageMixDataset) are unwrapped
    and each inner dataset binds its own classes. Call it after building a
    dataset and before its loader starts workers; mmseg_ext's runner calls it
    in ``build_dataloader``.

    Args:
        dataset: An mmengine/mmseg dataset or dataset wrapper.

    Returns:
        int: How many transforms were given a ``num_classes``.
    """
    bound = 0
    seen: Set[int] = set()

    def visit_dataset(ds: Any, classes: Optional[Any],
                      ignore: Optional[int]) -> None:
        nonlocal bound
        if id(ds) in seen:
            return
        seen.add(id(ds))
        metainfo = getattr(ds, 'metainfo', None)
        if isinstance(metainfo, dict) and metainfo.get('classes'):
            classes = metainfo['classes']
        own_ignore = getattr(ds, 'ignore_index', None)
        if isinstance(own_ignore, int):
            ignore = own_ignore
        for inner in _child_datasets(ds):
            visit_dataset(inner, None, ignore)
        pipeline = getattr(ds, 'pipeline', None)
        if pipeline is not None and classes:
            bound += _bind_transforms(pipeline, len(classes), ignore, seen)

    visit_dataset(dataset, None, None)
    return bound


def _bind_transforms(transform: Any, num_classes: int,
                     ignore_index: Optional[int], seen: Set[int]) -> int:
    if id(transform) in seen:
        return 0
    seen.add(id(transform))
    bound = 0
    if isinstance(transform, LoadAnnotations):
        if transform.num_classes is None:
            transform.num_classes = num_classes
            bound += 1
        if transform.ignore_index is None and ignore_index is not None:
            transform.ignore_index = ignore_index
    for child in _child_transforms(transform):
        bound += _bind_transforms(child, num_classes, ignore_index, seen)
    return bound
