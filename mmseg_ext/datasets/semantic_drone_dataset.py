"""The Semantic Drone Dataset (TU Graz) in its binary and 5-class flavours."""
import copy
import json
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence, Union

from mmseg.datasets import BaseSegDataset

from mmseg_ext.registry import DATASETS
from .semantic_drone_classes import (DRONE_FLAVOURS, OverrideKey,
                                     OverrideValue, resolve_drone_class_map)

__all__ = ['SemanticDroneDataset', 'DRONE_ID_MAP_FILE']

#: Name of the file in which the converter records the id map it applied.
DRONE_ID_MAP_FILE = 'id_map.json'


@DATASETS.register_module()
class SemanticDroneDataset(BaseSegDataset):
    """Semantic Drone Dataset, converted by
    ``tools/dataset_converters/semantic_drone.py``.

    400 aerial images (6000x4000) of TU Graz's release, relabelled from its
    24 source classes into one of two flavours (see
    :mod:`mmseg_ext.datasets.semantic_drone_classes`):

    * ``flavour='binary'``: background (0), obstacle (1);
    * ``flavour='multiclass'``: ground (0), vegetation (1), water (2),
      structure (3), dynamic (4).

    Unlabeled and conflicting pixels are 255 (``ignore_index``). Layout of a
    converted flavour (``data_root``, e.g. ``data/semantic_drone/binary``)::

        img_dir/{train,val,test}/NAME.jpg
        ann_dir/{train,val,test}/NAME.png   label ids, 255 = ignored
        splits/{train,val,test}.txt
        id_map.json                         the source -> class map used

    Args:
        flavour (str): ``'binary'`` or ``'multiclass'``; chooses the default
            classes and palette. Defaults to ``'binary'``.
        metainfo (dict, optional): Overrides the flavour's metainfo, as in
            every mmseg dataset (e.g. a subset of its classes, another
            palette). Defaults to None.
        id_map_overrides (Mapping, optional): The id-map overrides the data
            was converted with (the converter's ``--id-map``), stated in the
            config. The masks are already mapped, so this does not remap
            anything: when ``data_root`` holds the converter's
            ``id_map.json`` the dataset checks that the two agree and
            refuses a mismatch. Defaults to None (the default table).
        img_suffix (str): Defaults to ``'.jpg'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        reduce_zero_label (bool): Defaults to False (0 is a class).
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = copy.deepcopy(DRONE_FLAVOURS['binary'])

    def __init__(self,
                 flavour: str = 'binary',
                 metainfo: Optional[dict] = None,
                 id_map_overrides: Optional[Mapping[OverrideKey,
                                                    OverrideValue]] = None,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        # checks the flavour and the overrides before anything is loaded
        self.class_map: Dict[str, Optional[str]] = resolve_drone_class_map(
            flavour, id_map_overrides)
        self.flavour = flavour
        # classes without a palette keep the flavour's palette: mmseg then
        # picks the entries of the kept classes itself
        merged = copy.deepcopy(DRONE_FLAVOURS[flavour])
        merged.update(metainfo or {})
        super().__init__(
            metainfo=merged,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
        self._check_recorded_id_map()

    def get_label_map(
        self,
        new_classes: Optional[Sequence[str]] = None
    ) -> Union[Dict[int, int], None]:
        """Map this flavour's label ids to those of ``metainfo['classes']``.

        mmseg's version compares against the class attribute ``METAINFO``;
        here the reference is the chosen flavour's classes.

        Args:
            new_classes (Sequence[str], optional): Classes asked for.

        Returns:
            dict[int, int] | None: Old id -> new id (255 for dropped
            classes), None when the classes are the flavour's own.
        """
        old_classes = DRONE_FLAVOURS[self.flavour]['classes']
        if new_classes is None or list(new_classes) == list(old_classes):
            return None
        if not set(new_classes).issubset(old_classes):
            raise ValueError(
                f'SemanticDroneDataset(flavour={self.flavour!r}): metainfo '
                f'classes {tuple(new_classes)} are not a subset of the '
                f'flavour\'s classes {old_classes}.')
        return {
            i: new_classes.index(c) if c in new_classes else 255
            for i, c in enumerate(old_classes)
        }

    def _check_recorded_id_map(self) -> None:
        if not self.data_root:
            return
        path = osp.join(self.data_root, DRONE_ID_MAP_FILE)
        if not osp.isfile(path):
            return
        with open(path, encoding='utf-8') as f:
            recorded = json.load(f)
        if recorded.get('flavour') != self.flavour:
            raise ValueError(
                f'{path} records flavour {recorded.get("flavour")!r} but the '
                f'dataset was asked for flavour {self.flavour!r}: point '
                'data_root at the matching converted folder.')
        if recorded.get('class_map') != self.class_map:
            changed = sorted(
                k for k in self.class_map
                if recorded.get('class_map', {}).get(k) != self.class_map[k])
            raise ValueError(
                f'{path}: the masks were converted with another id map than '
                f'this config states (they differ for {changed}). Set the '
                'dataset\'s id_map_overrides to the converter\'s --id-map, or '
                'convert again with the overrides of the config.')
