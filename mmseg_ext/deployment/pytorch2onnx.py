"""Export a trained segmentor to one self-describing ONNX file.

``tools/deployment/pytorch2onnx.py CONFIG CKPT --out model.onnx`` (parser:
:mod:`mmseg_ext.cli.pytorch2onnx`). The file maps a normalised batch
``input`` ``(N, 3, H, W)`` to ``logits`` ``(N, C, H, W)``
(:class:`SegmentorLogits`; a UFormer's members and fusion included) and
carries the metadata the torch-free runtime needs (:mod:`.metadata`).
torch's TorchScript exporter (``dynamo=False``) is used: it needs neither
``onnxscript`` nor ``torch.export``-able code.
"""
import io
import json
import re
import warnings
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmseg.models.decode_heads.cascade_decode_head import \
    BaseCascadeDecodeHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor, nn

from mmseg_ext.apis import init_model
from .export_patches import exportable_modules
from .metadata import (METADATA_KEY, default_input_shape, export_metadata,
                       inference_mode, pipeline_resize, preprocessor_settings)
from .segmentor_logits import SegmentorLogits

__all__ = [
    'DEFAULT_OPSET', 'ExportError', 'load_segmentor', 'check_exportable',
    'export_onnx', 'write_metadata', 'read_metadata', 'verify_onnx',
    'export_segmentor', 'pytorch2onnx'
]

#: The ONNX opset written by default (the contract's).
DEFAULT_OPSET = 17


class ExportError(RuntimeError):
    """A module of the model cannot be exported to ONNX (named)."""


def load_segmentor(
    config: str,
    checkpoint: Optional[str],
    cfg_options: Optional[dict] = None
) -> Tuple[nn.Module, Config, Optional[dict]]:
    """A config's segmentor on the CPU, its checkpoint loaded strictly.

    :func:`mmseg_ext.apis.init_model` (built by
    :func:`mmseg_ext.utils.build_segmentor`: the checkpoint read by
    mmengine's safe loader and compared key by key with the model before
    loading), in eval mode with BN for SyncBN.

    Args:
        config (str): Config file.
        checkpoint (str, optional): ``.pth`` file; None keeps the
            initialised weights (``init_weights``).
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Returns:
        tuple: ``(model, cfg, checkpoint)``: the model, its config, and
        what the export reads of the checkpoint (``state_dict``: the loaded
        weights, now the model's; ``meta.dataset_meta``: its classes and
        palette), or None without a checkpoint.

    Raises:
        CheckpointMismatchError: The checkpoint does not fit the config.
    """
    model = init_model(config, checkpoint, 'cpu', cfg_options)
    loaded = None if checkpoint is None else dict(
        state_dict=model.state_dict(),
        meta=dict(dataset_meta=model.dataset_meta))
    return model, model.cfg, loaded


def _heads(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(label, head)`` of every decode head that inference runs."""
    members = getattr(model, 'members', None)
    owners = ([(f'member {i}: ', m) for i, m in enumerate(members)]
              if members is not None else [('', model)])
    heads = []
    for prefix, owner in owners:
        head = owner.decode_head
        stages = list(head) if isinstance(head, nn.ModuleList) else [head]
        heads += [(f'{prefix}decode head {j}', h)
                  for j, h in enumerate(stages)]
    return heads


def check_exportable(model: nn.Module) -> None:
    """Raise unless the graph can reproduce the model's inference.

    The exported graph runs the heads' ``forward`` and resizes; a head
    that overrides ``predict`` or ``predict_by_feat`` (e.g. PointRend's,
    MaskFormer's) infers otherwise.

    Raises:
        ExportError: Naming the head and its class.
    """
    defaults = {
        'predict': (BaseDecodeHead.predict, BaseCascadeDecodeHead.predict),
        'predict_by_feat': (BaseDecodeHead.predict_by_feat, ),
    }
    for label, head in _heads(model):
        for method, allowed in defaults.items():
            if getattr(type(head), method) not in allowed:
                raise ExportError(
                    f'{type(model).__name__} {label} '
                    f'({type(head).__name__}) overrides {method}(), which '
                    'the exported graph (head forward + bilinear resize) '
                    'would not reproduce: this head cannot be exported.')


@contextmanager
def _module_stack(model: nn.Module) -> Iterator[List[str]]:
    """Track the modules being run: after an exception in a forward, the
    yielded list is the path from the root to the failing module."""
    stack: List[str] = []
    names = {id(m): n for n, m in model.named_modules()}
    handles = []

    def enter(module, args):
        stack.append(names.get(id(module), '?'))

    def leave(module, args, output):
        if stack:
            stack.pop()

    for module in model.modules():
        handles.append(module.register_forward_pre_hook(enter))
        handles.append(module.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


def _module_of_op(wrapper: nn.Module, example: Tensor,
                  op: str) -> Optional[str]:
    """The dotted name of the module whose traced graph holds ``op``."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            traced = torch.jit.trace(wrapper, example, check_trace=False)
        except Exception:  # the op is named anyway
            return None
    for node in traced.inlined_graph.nodes():
        if node.kind() == op:
            scope = node.scopeName().split('/')[-1]
            return scope.replace('__module.', '', 1) if scope else ''
    return None


def _describe(wrapper: nn.Module, name: Optional[str]) -> str:
    if name is None:
        return 'an unknown module'
    if name in ('', '?'):
        return f'{type(wrapper.segmentor).__name__} (the segmentor itself)'
    name = name.replace('segmentor.', '', 1)
    try:
        module = wrapper.segmentor.get_submodule(name)
    except AttributeError:
        return repr(name)
    return f'{type(module).__name__} (model.{name})'


def export_onnx(model: nn.Module,
                out: Optional[str],
                shape: Sequence[int] = (512, 512),
                dynamic: bool = False,
                opset: int = DEFAULT_OPSET,
                batch_size: int = 1) -> bytes:
    """Export :class:`SegmentorLogits` of ``model``.

    Args:
        model (nn.Module): A segmentor in eval mode on the CPU.
        out (str, optional): Where to write the file (None: only return).
        shape (sequence[int]): ``(H, W)`` of the traced input (the fixed
            shape unless ``dynamic``).
        dynamic (bool): Make N, H and W dynamic axes.
        opset (int): ONNX opset version.
        batch_size (int): N of the traced input (fixed unless dynamic).

    Returns:
        bytes: The serialised model (without metadata).

    Raises:
        ExportError: Naming the module (class and path) that failed and
            torch's reason.
    """
    check_exportable(model)
    wrapper = SegmentorLogits(model).eval()
    example = torch.zeros(batch_size, 3, *[int(s) for s in shape])
    axes = {0: 'N', 2: 'H', 3: 'W'}
    buffer = io.BytesIO()
    with exportable_modules(wrapper), _module_stack(wrapper) as stack, \
            warnings.catch_warnings(), torch.no_grad():
        # TorchScript exporter deprecation and tracer notes (mmseg's
        # shape checks in Python) are expected
        warnings.simplefilter('ignore')
        try:
            torch.onnx.export(
                wrapper, (example, ),
                buffer,
                dynamo=False,
                export_params=True,
                opset_version=opset,
                do_constant_folding=True,
                input_names=['input'],
                output_names=['logits'],
                dynamic_axes=dict(input=axes, logits=axes)
                if dynamic else None)
        except Exception as err:
            failing = stack[-1] if stack else None
            op = re.search(r"'(aten::\w+)'", str(err))
            if failing is None and op is not None:
                failing = _module_of_op(wrapper, example, op.group(1))
            raise ExportError(
                f'{_describe(wrapper, failing)} cannot be exported to ONNX '
                f'(opset {opset}): {type(err).__name__}: '
                f'{str(err).strip().splitlines()[0] if str(err) else ""}'
            ) from err
    data = buffer.getvalue()
    if out is not None:
        with open(out, 'wb') as f:
            f.write(data)
    return data


def write_metadata(path: str, metadata: Dict[str, object]) -> None:
    """Store ``metadata`` as the file's ``mmseg_ext`` metadata prop."""
    import onnx
    proto = onnx.load(path)
    for prop in list(proto.metadata_props):
        if prop.key == METADATA_KEY:
            proto.metadata_props.remove(prop)
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(metadata)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def read_metadata(path: str) -> Dict[str, object]:
    """The ``mmseg_ext`` metadata of an exported file (with ``onnx``)."""
    import onnx
    for prop in onnx.load(path, load_external_data=False).metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    raise KeyError(f'{path} has no {METADATA_KEY!r} metadata: not exported '
                   'by tools/deployment/pytorch2onnx.py')


def verify_onnx(model: nn.Module,
                onnx_model: object,
                shape: Sequence[int],
                batch_size: int = 1,
                seed: int = 0) -> float:
    """Largest ``|onnxruntime - PyTorch|`` of the logits on one input.

    Args:
        model (nn.Module): The exported segmentor (eval mode, CPU).
        onnx_model (str | bytes): The file or its serialised model.
        shape (sequence[int]): ``(H, W)`` of the random input.
        batch_size (int): N of the random input.
        seed (int): Seed of the standard-normal input (normalised images
            are roughly that).

    Returns:
        float: The max absolute difference of the fp32 logits.
    """
    import onnxruntime
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(
        batch_size, 3, *[int(s) for s in shape], generator=gen)
    with torch.no_grad():
        expected = SegmentorLogits(model).eval()(inputs).numpy()
    session = onnxruntime.InferenceSession(
        onnx_model, providers=['CPUExecutionProvider'])
    got = session.run(['logits'], {'input': inputs.numpy()})[0]
    if got.shape != expected.shape:
        raise ExportError(f'onnxruntime returned logits of shape '
                          f'{got.shape}, PyTorch {expected.shape}')
    return float(abs(got - expected).max())


def export_segmentor(model: nn.Module,
                     cfg: object,
                     out: str,
                     checkpoint: Optional[dict] = None,
                     shape: Optional[Sequence[int]] = None,
                     dynamic: bool = False,
                     opset: int = DEFAULT_OPSET,
                     verify: bool = False) -> Dict[str, object]:
    """Export a loaded segmentor to ``out`` with its metadata.

    Args:
        model (nn.Module): From :func:`load_segmentor`.
        cfg (Config): Its config.
        out (str): The ``.onnx`` file to write.
        checkpoint (dict, optional): The loaded checkpoint (class names).
        shape (sequence[int], optional): ``(H, W)``; default
            :func:`default_input_shape`.
        dynamic (bool): Dynamic N, H, W.
        opset (int): ONNX opset.
        verify (bool): Log :func:`verify_onnx` of the written file.

    Returns:
        dict: The metadata written.
    """
    if shape is None:
        shape = default_input_shape(
            inference_mode(model), pipeline_resize(cfg),
            preprocessor_settings(model))
    shape = [int(s) for s in shape]
    metadata = export_metadata(model, cfg, checkpoint, shape, dynamic)
    export_onnx(model, out, shape, dynamic=dynamic, opset=opset)
    write_metadata(out, metadata)
    if verify:
        diff = verify_onnx(model, out, shape)
        print_log(
            f'{out}: onnxruntime vs PyTorch logits on a random '
            f'{shape[0]}x{shape[1]} input: max |diff| = {diff:.3g}',
            logger='current')
    return metadata


def pytorch2onnx(config: str,
                 checkpoint: Optional[str],
                 out: str,
                 shape: Optional[Sequence[int]] = None,
                 dynamic: bool = False,
                 opset: int = DEFAULT_OPSET,
                 cfg_options: Optional[dict] = None,
                 verify: bool = False) -> Dict[str, object]:
    """Export a config + checkpoint to ``out`` with its metadata.

    :func:`load_segmentor`, then :func:`export_segmentor`.

    Args:
        config (str): Config file.
        checkpoint (str, optional): Checkpoint (None: initialised weights).
        out (str): The ``.onnx`` file to write.
        shape (sequence[int], optional): ``(H, W)``; default
            :func:`default_input_shape`.
        dynamic (bool): Dynamic N, H, W.
        opset (int): ONNX opset.
        cfg_options (dict, optional): ``--cfg-options``.
        verify (bool): Log :func:`verify_onnx` of the written file.

    Returns:
        dict: The metadata written.
    """
    model, cfg, loaded = load_segmentor(config, checkpoint, cfg_options)
    return export_segmentor(model, cfg, out, loaded, shape, dynamic, opset,
                            verify)
