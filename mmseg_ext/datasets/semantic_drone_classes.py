"""The Semantic Drone Dataset's classes and the one table that maps them.

The TU Graz release labels each pixel of ``label_images_semantic/*.png`` with
a source id in ``0..23`` (:data:`DRONE_SOURCE_CLASSES`). The project trains on
two coarser label sets, the *flavours*:

* ``binary``: background, obstacle;
* ``multiclass``: ground, vegetation, water, structure, dynamic.

:data:`DRONE_CLASS_MAPS` is the single table that sends each of the
release's 24 source classes to a flavour class, or to ``None`` (ignored,
written as 255). The converter
(``tools/dataset_converters/semantic_drone.py``) turns it into a lookup
table with :func:`drone_id_map`; ``docs/datasets.md`` renders it with
:func:`drone_id_map_markdown` (a test checks that the two agree).

Overrides change single entries: a mapping from a source class (its name or
its id, as ``int`` or as a string of digits, so JSON keys work) to a flavour
class (its name or id) or to ``None`` / ``'ignore'`` / ``255`` for ignored.
"""
from typing import Dict, Mapping, Optional, Tuple, Union

import numpy as np

__all__ = [
    'DRONE_SOURCE_CLASSES', 'DRONE_SOURCE_PALETTE', 'DRONE_FLAVOURS',
    'DRONE_CLASS_MAPS', 'DRONE_IGNORE_INDEX', 'drone_id_map',
    'resolve_drone_class_map', 'drone_id_map_markdown'
]

#: Index 255: pixels of this value are ignored by losses and metrics.
DRONE_IGNORE_INDEX = 255

#: Source classes of ``label_images_semantic/*.png``; the index is the id.
DRONE_SOURCE_CLASSES: Tuple[str, ...] = (
    'unlabeled', 'paved-area', 'dirt', 'grass', 'gravel', 'water', 'rocks',
    'pool', 'vegetation', 'roof', 'wall', 'window', 'door', 'fence',
    'fence-pole', 'person', 'dog', 'car', 'bicycle', 'tree', 'bald-tree',
    'ar-marker', 'obstacle', 'conflicting')

#: RGB colours of the source classes (``class_dict_seg.csv`` of the release).
DRONE_SOURCE_PALETTE = [
    [0, 0, 0], [128, 64, 128], [130, 76, 0], [0, 102, 0], [112, 103, 87],
    [28, 42, 168], [48, 41, 30], [0, 50, 89], [107, 142, 35], [70, 70, 70],
    [102, 102, 156], [254, 228, 12], [254, 148, 12], [190, 153, 153],
    [153, 153, 153], [255, 22, 96], [102, 51, 0], [9, 143, 150],
    [119, 11, 32], [51, 51, 0], [190, 250, 190], [112, 150, 146],
    [2, 135, 115], [255, 0, 0]
]

#: Classes and palette (RGB) of each flavour; the index is the label id.
DRONE_FLAVOURS: Dict[str, dict] = {
    'binary':
    dict(
        classes=('background', 'obstacle'),
        palette=[[0, 0, 0], [255, 0, 0]]),
    'multiclass':
    dict(
        classes=('ground', 'vegetation', 'water', 'structure', 'dynamic'),
        palette=[[128, 64, 128], [107, 142, 35], [28, 42, 168], [70, 70, 70],
                 [255, 22, 96]]),
}

_GROUND = ('paved-area', 'dirt', 'gravel', 'rocks', 'ar-marker')
_VEGETATION = ('grass', 'vegetation', 'tree', 'bald-tree')
_WATER = ('water', 'pool')
_STRUCTURE = ('roof', 'wall', 'window', 'door', 'fence', 'fence-pole')
_DYNAMIC = ('person', 'dog', 'car', 'bicycle', 'obstacle')
_BINARY_BACKGROUND = ('paved-area', 'dirt', 'grass', 'gravel', 'rocks',
                      'vegetation', 'ar-marker')
_IGNORED = ('unlabeled', 'conflicting')


def _table(groups: Mapping[str, Tuple[str, ...]],
           rest: Optional[str]) -> Dict[str, Optional[str]]:
    table = {}
    for source in DRONE_SOURCE_CLASSES:
        target = next(
            (t for t, members in groups.items() if source in members), rest)
        table[source] = None if source in _IGNORED else target
    return table


#: Source class name -> flavour class name (``None``: ignored, i.e. 255).
DRONE_CLASS_MAPS: Dict[str, Dict[str, Optional[str]]] = {
    'binary':
    _table({'background': _BINARY_BACKGROUND}, rest='obstacle'),
    'multiclass':
    _table(
        {
            'ground': _GROUND,
            'vegetation': _VEGETATION,
            'water': _WATER,
            'structure': _STRUCTURE,
            'dynamic': _DYNAMIC
        },
        rest=None),
}

OverrideKey = Union[int, str]
OverrideValue = Union[int, str, None]


def _check_flavour(flavour: str) -> None:
    if flavour not in DRONE_FLAVOURS:
        raise ValueError(f'Unknown Semantic Drone flavour {flavour!r}: '
                         f'choose one of {sorted(DRONE_FLAVOURS)}.')


def _class_name(value: Union[int, str], names: Tuple[str, ...],
                what: str, hint: str = '') -> str:
    """``value`` as a class name of ``names``: a name, an id, or digits."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(names):
            return names[value]
    elif value in names:
        return value
    raise ValueError(
        f'Unknown {what} {value!r} in the id-map overrides: use an id in '
        f'0..{len(names) - 1} or one of {list(names)}{hint}.')


def _target_name(value: OverrideValue, flavour: str) -> Optional[str]:
    if value is None or str(value).strip() in ('ignore',
                                               str(DRONE_IGNORE_INDEX)):
        return None
    return _class_name(
        value, DRONE_FLAVOURS[flavour]['classes'], f'{flavour} class',
        f', or null / "ignore" / {DRONE_IGNORE_INDEX} to ignore the source')


def resolve_drone_class_map(
    flavour: str,
    overrides: Optional[Mapping[OverrideKey, OverrideValue]] = None
) -> Dict[str, Optional[str]]:
    """The source -> flavour class table with ``overrides`` applied.

    Args:
        flavour (str): ``'binary'`` or ``'multiclass'``.
        overrides (Mapping, optional): Entries to change: source class (name
            or id) -> flavour class (name or id) or ``None`` / ``'ignore'`` /
            ``255``. Defaults to None (:data:`DRONE_CLASS_MAPS` as is).

    Returns:
        dict[str, str | None]: Every source class name -> its flavour class
        name, ``None`` where it is ignored.
    """
    _check_flavour(flavour)
    table = dict(DRONE_CLASS_MAPS[flavour])
    for key, value in (overrides or {}).items():
        source = _class_name(key, DRONE_SOURCE_CLASSES,
                             'Semantic Drone source class')
        table[source] = _target_name(value, flavour)
    return table


def drone_id_map(
    flavour: str,
    overrides: Optional[Mapping[OverrideKey, OverrideValue]] = None
) -> np.ndarray:
    """The lookup table from source ids to flavour label ids.

    Args:
        flavour (str): ``'binary'`` or ``'multiclass'``.
        overrides (Mapping, optional): See :func:`resolve_drone_class_map`.

    Returns:
        np.ndarray: Shape ``(256,)``, uint8: ``lut[source_id]`` is the label
        id, 255 for ignored sources and for every id above 23 (the converter
        refuses masks holding those).
    """
    table = resolve_drone_class_map(flavour, overrides)
    classes = DRONE_FLAVOURS[flavour]['classes']
    lut = np.full(256, DRONE_IGNORE_INDEX, dtype=np.uint8)
    for source_id, source in enumerate(DRONE_SOURCE_CLASSES):
        target = table[source]
        if target is not None:
            lut[source_id] = classes.index(target)
    return lut


def drone_id_map_markdown(
    overrides: Optional[Mapping[str, Mapping[OverrideKey,
                                             OverrideValue]]] = None
) -> str:
    """Render the id table of both flavours as a Markdown table.

    Args:
        overrides (Mapping, optional): Flavour -> its overrides. Defaults to
            None.

    Returns:
        str: A table with one row per source id.
    """
    overrides = overrides or {}
    luts = {f: drone_id_map(f, overrides.get(f)) for f in DRONE_FLAVOURS}
    lines = [
        '| source id | source class | binary | multiclass |',
        '|---:|---|---|---|',
    ]
    for source_id, source in enumerate(DRONE_SOURCE_CLASSES):
        cells = []
        for flavour, lut in luts.items():
            target = int(lut[source_id])
            if target == DRONE_IGNORE_INDEX:
                cells.append(f'{DRONE_IGNORE_INDEX} (ignored)')
            else:
                name = DRONE_FLAVOURS[flavour]['classes'][target]
                cells.append(f'{target} {name}')
        lines.append(f'| {source_id} | {source} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
