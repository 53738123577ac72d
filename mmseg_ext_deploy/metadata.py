"""The metadata an mmseg_ext ONNX file carries, and its validation.

``tools/deployment/pytorch2onnx.py`` writes one ONNX ``metadata_props``
entry, key :data:`METADATA_KEY`, whose value is a JSON object: everything the
runtime needs besides the graph (classes, palette, normalisation, padding,
test resize, whole/slide inference, binary threshold), so that a deployed
file needs no config. :func:`validate_metadata` defines the schema (format
:data:`FORMAT_VERSION`); :func:`load_metadata` reads it from a file.

Only the standard library is imported here (onnxruntime lazily, by
:func:`load_metadata`).
"""
import json
import numbers
import os.path as osp
from typing import Any, Dict, Mapping, Optional

__all__ = [
    'METADATA_KEY', 'FORMAT_VERSION', 'EXPORT_HINT', 'validate_metadata',
    'parse_metadata', 'load_metadata', 'open_session'
]

#: The ``metadata_props`` key of the JSON object.
METADATA_KEY = 'mmseg_ext'
#: The schema version this runtime reads (and the exporter writes).
FORMAT_VERSION = 1
#: How to make a file this runtime reads (quoted by the errors).
EXPORT_HINT = ('export the model with "python tools/deployment/'
               'pytorch2onnx.py CONFIG CKPT --out MODEL.onnx" (add --dynamic '
               'for any image size)')

# Optional fields and their defaults; every other field is required.
_DEFAULTS: Dict[str, Any] = dict(
    model=None,
    threshold=0.5,
    pad_val=0,
    size_divisor=None,
    pad_size=None,
    test_resize=None,
    crop_size=None,
    stride=None,
    input_shape=None,
    fuse=None,
    weights=None)


def _fail(field: str, expected: str, value: Any) -> None:
    raise ValueError(f'mmseg_ext metadata field "{field}" must be '
                     f'{expected}, got {value!r}')


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_pair(meta: dict, field: str, optional: bool = True) -> None:
    value = meta[field]
    if value is None and optional:
        return
    expected = '[h, w], two positive integers' + (' or null'
                                                  if optional else '')
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(_is_int(v) and v > 0 for v in value)):
        _fail(field, expected, value)
    meta[field] = [int(v) for v in value]


def _number_triple(meta: dict, field: str, positive: bool = False) -> None:
    value = meta[field]
    if not (isinstance(value, (list, tuple)) and len(value) == 3
            and all(_is_number(v) and (v > 0 or not positive) for v in value)):
        _fail(
            field, 'three ' + ('positive ' if positive else '') +
            'numbers, one per channel', value)
    meta[field] = [float(v) for v in value]


def validate_metadata(metadata: Mapping[str, Any]) -> Dict[str, Any]:
    """Check an mmseg_ext metadata object; return it completed.

    Required fields: ``format_version`` (:data:`FORMAT_VERSION`),
    ``classes`` (names), ``palette`` (one RGB triple per class),
    ``out_channels`` (``len(classes)``, or 1 for a binary one-channel head),
    ``mean``/``std`` (3 numbers, after the colour conversion),
    ``bgr_to_rgb``, ``test_mode`` (``'whole'`` or ``'slide'``),
    ``align_corners`` and ``dynamic``. Optional (default): ``model``
    (None), ``threshold`` (0.5), ``pad_val`` (0), ``size_divisor`` and
    ``pad_size`` (None; at most one set), ``test_resize`` (None, else
    ``{"scale": [w, h], "keep_ratio": bool}``), ``crop_size`` and
    ``stride`` (``[h, w]``, required in slide mode), ``input_shape``
    (``[H, W]``, required unless ``dynamic``), ``fuse`` and ``weights``
    (UFormer, information only). Unknown fields are kept.

    Args:
        metadata (Mapping): The decoded JSON object.

    Returns:
        dict: A copy with the defaults filled in and pairs as lists of int.

    Raises:
        ValueError: A field is missing or malformed; the message names the
            field and the expected form.
    """
    if not isinstance(metadata, Mapping):
        raise ValueError('mmseg_ext metadata must be a JSON object, got '
                         f'{type(metadata).__name__}')
    meta = dict(_DEFAULTS)
    meta.update(metadata)
    required = ('format_version', 'classes', 'palette', 'out_channels', 'mean',
                'std', 'bgr_to_rgb', 'test_mode', 'align_corners', 'dynamic')
    missing = [key for key in required if key not in metadata]
    if missing:
        raise ValueError('mmseg_ext metadata lacks the field(s) ' +
                         ', '.join(f'"{key}"'
                                   for key in missing) + f'; {EXPORT_HINT}')

    version = meta['format_version']
    if not _is_int(version):
        _fail('format_version', f'the integer {FORMAT_VERSION}', version)
    if version != FORMAT_VERSION:
        newer = version > FORMAT_VERSION
        raise ValueError(
            f'mmseg_ext metadata has format_version {version}; this runtime '
            f'reads version {FORMAT_VERSION}: ' +
            ('upgrade mmseg_ext' if newer else 're-export the model'))

    classes = meta['classes']
    if not (isinstance(classes, (list, tuple)) and classes
            and all(isinstance(c, str) for c in classes)):
        _fail('classes', 'a non-empty list of class names', classes)
    meta['classes'] = list(classes)
    num_classes = len(classes)
    if num_classes < 2:
        _fail(
            'classes', 'at least 2 names (a binary model names '
            'background and foreground)', classes)

    palette = meta['palette']
    if not (isinstance(palette, (list, tuple)) and all(
            isinstance(rgb, (list, tuple)) and len(rgb) == 3 and all(
                _is_int(v) and 0 <= v <= 255 for v in rgb)
            for rgb in palette)):
        _fail('palette', 'a list of [r, g, b] triples of integers in '
              '[0, 255]', palette)
    if len(palette) != num_classes:
        _fail('palette', f'one colour per class ({num_classes})', palette)
    meta['palette'] = [[int(v) for v in rgb] for rgb in palette]

    out_channels = meta['out_channels']
    if not (_is_int(out_channels) and
            (out_channels == num_classes or
             (out_channels == 1 and num_classes == 2))):
        _fail(
            'out_channels', f'the number of classes ({num_classes}), or 1 '
            'for a binary model with 2 classes', out_channels)

    threshold = meta['threshold']
    if not (_is_number(threshold) and 0.0 <= threshold <= 1.0):
        _fail('threshold', 'a number in [0, 1] (applied to sigmoid(logit))',
              threshold)
    meta['threshold'] = float(threshold)

    _number_triple(meta, 'mean')
    _number_triple(meta, 'std', positive=True)
    for flag in ('bgr_to_rgb', 'align_corners', 'dynamic'):
        if not isinstance(meta[flag], bool):
            _fail(flag, 'true or false', meta[flag])
    if not _is_number(meta['pad_val']):
        _fail('pad_val', 'a number', meta['pad_val'])

    divisor = meta['size_divisor']
    if divisor is not None and not (_is_int(divisor) and divisor > 0):
        _fail('size_divisor', 'a positive integer or null', divisor)
    _int_pair(meta, 'pad_size')
    if divisor is not None and meta['pad_size'] is not None:
        _fail('size_divisor', 'null when pad_size is set (at most one of '
              'them)', divisor)

    resize = meta['test_resize']
    if resize is not None:
        if not (isinstance(resize, Mapping) and 'scale' in resize
                and isinstance(resize.get('keep_ratio', False), bool)):
            _fail('test_resize', '{"scale": [w, h], "keep_ratio": true|'
                  'false} or null', resize)
        scale = resize['scale']
        if not (isinstance(scale, (list, tuple)) and len(scale) == 2
                and all(_is_int(v) and v > 0 for v in scale)):
            _fail('test_resize.scale', '[w, h], two positive integers', scale)
        meta['test_resize'] = dict(
            resize,
            scale=[int(v) for v in scale],
            keep_ratio=bool(resize.get('keep_ratio', False)))

    mode = meta['test_mode']
    if mode not in ('whole', 'slide'):
        _fail('test_mode', '"whole" or "slide"', mode)
    _int_pair(meta, 'crop_size', optional=mode != 'slide')
    _int_pair(meta, 'stride', optional=mode != 'slide')

    _int_pair(meta, 'input_shape')
    if not meta['dynamic'] and meta['input_shape'] is None:
        _fail('input_shape', '[H, W] for a model exported without '
              '--dynamic', None)
    if not meta['dynamic'] and mode == 'slide' and \
            meta['input_shape'] != meta['crop_size']:
        _fail(
            'input_shape', f'the crop size {meta["crop_size"]} for a '
            'fixed-shape slide model (export with --shape '
            f'{meta["crop_size"][0]} {meta["crop_size"][1]} or --dynamic)',
            meta['input_shape'])

    if meta['fuse'] not in (None, 'logits', 'probs'):
        _fail('fuse', '"logits", "probs" or null', meta['fuse'])
    weights = meta['weights']
    if weights is not None and not (isinstance(weights, (list, tuple))
                                    and all(_is_number(w) for w in weights)):
        _fail('weights', 'a list of numbers or null', weights)
    if meta['model'] is not None and not isinstance(meta['model'], str):
        _fail('model', 'a class name or null', meta['model'])
    return meta


def parse_metadata(custom_metadata: Mapping[str, str],
                   source: str = 'the model') -> Dict[str, Any]:
    """Decode and validate the :data:`METADATA_KEY` entry of a model's
    custom metadata map (``{key: JSON string}``).

    Args:
        custom_metadata (Mapping[str, str]): E.g. onnxruntime's
            ``session.get_modelmeta().custom_metadata_map``.
        source (str): How errors name the model.

    Returns:
        dict: :func:`validate_metadata` of the entry.

    Raises:
        ValueError: No entry (not exported by mmseg_ext), bad JSON or an
            invalid field.
    """
    if METADATA_KEY not in custom_metadata:
        raise ValueError(
            f'{source} has no "{METADATA_KEY}" metadata, so it is not an '
            f'ONNX model exported by mmseg_ext: {EXPORT_HINT}.')
    try:
        decoded = json.loads(custom_metadata[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise ValueError(f'{source}: the "{METADATA_KEY}" metadata is not '
                         f'valid JSON ({err}); {EXPORT_HINT}.') from None
    try:
        return validate_metadata(decoded)
    except ValueError as err:
        raise ValueError(f'{source}: {err}') from None


def load_metadata(onnx_path: str,
                  session: Optional[Any] = None) -> Dict[str, Any]:
    """Read the mmseg_ext metadata of an ONNX file through onnxruntime.

    Args:
        onnx_path (str): The ``.onnx`` file.
        session (onnxruntime.InferenceSession, optional): An open session of
            the file, to avoid loading it twice.

    Returns:
        dict: The validated metadata (:func:`validate_metadata`).

    Raises:
        FileNotFoundError: No such file.
        ValueError: Not an ONNX model, or not one exported by mmseg_ext.
    """
    if session is None:
        session = open_session(onnx_path)
    return parse_metadata(
        session.get_modelmeta().custom_metadata_map, source=onnx_path)


def open_session(onnx_path: str,
                 providers: Optional[list] = None,
                 options: Optional[Any] = None) -> Any:
    """An ``onnxruntime.InferenceSession``, with clear errors.

    Args:
        onnx_path (str): The ``.onnx`` file.
        providers (list, optional): Execution providers (default: CPU).
        options (onnxruntime.SessionOptions, optional): Session options.

    Raises:
        ImportError: onnxruntime is not installed.
        FileNotFoundError: No such file.
        ValueError: onnxruntime cannot read it as an ONNX model.
    """
    try:
        import onnxruntime
    except ImportError:
        raise ImportError('mmseg_ext_deploy needs onnxruntime: pip install '
                          '"mmseg-ext-plugin[deploy]" (or pip install -r '
                          'requirements/deploy.txt)') from None
    if not osp.isfile(onnx_path):
        raise FileNotFoundError(f'ONNX model {onnx_path!r} does not exist; '
                                f'{EXPORT_HINT}.')
    try:
        return onnxruntime.InferenceSession(
            onnx_path,
            sess_options=options,
            providers=providers or ['CPUExecutionProvider'])
    except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph
        raise ValueError(
            f'{onnx_path} is not an ONNX model onnxruntime can load '
            f'({type(err).__name__}: {str(err).strip()[:300]}); '
            f'{EXPORT_HINT}.') from None
