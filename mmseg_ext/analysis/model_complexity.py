"""FLOPs and parameters of segmentors (a UFormer per member and in total).

Counts are mmengine's :func:`~mmengine.analysis.get_model_complexity_info`
(one multiply-add = 1 FLOP; operators it does not support, such as norms,
activations, softmax and element-wise arithmetic, count 0), for the
inference forward (``mode='tensor'``: backbone and decode head; auxiliary
heads run only in training). Parameters are those of that forward:
auxiliary heads are counted apart.
"""
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.analysis import (FlopAnalyzer, get_model_complexity_info,
                               parameter_count)
from torch import nn

from mmseg_ext.utils.logging_utils import quiet_logger

__all__ = [
    'module_complexity', 'segmentor_complexity',
    'model_input_shape', 'format_complexity_table'
]


def module_complexity(module: nn.Module,
                      inputs: Tuple) -> Dict[str, int]:
    """FLOPs and parameters of ``module(*inputs)``.

    Args:
        module (nn.Module): The module, in eval mode.
        inputs (tuple): Its positional inputs.

    Returns:
        dict: ``flops`` and ``params`` (all of ``module``'s parameters).
    """
    with quiet_logger(40), torch.no_grad():  # ERROR: no per-op warnings
        info = get_model_complexity_info(
            module, inputs=inputs, show_table=False, show_arch=False)
    return dict(flops=int(info['flops']), params=int(info['params']))


def _auxiliary_params(params: Dict[str, int], prefix: str = '') -> int:
    """Parameters of the ``auxiliary_head`` modules below ``prefix``."""
    return sum(
        n for name, n in params.items()
        if name.startswith(prefix) and name.split('.')[-1] == 'auxiliary_head')


def _describe(segmentor: nn.Module) -> str:
    members = getattr(segmentor, 'members', None)
    if isinstance(members, nn.ModuleList):
        return f'{type(segmentor).__name__} ({len(members)} members)'
    parts = [
        type(getattr(segmentor, name)).__name__
        for name in ('backbone', 'decode_head')
        if isinstance(getattr(segmentor, name, None), nn.Module)
    ]
    name = type(segmentor).__name__
    return f'{name} ({" + ".join(parts)})' if parts else name


def segmentor_complexity(model: nn.Module,
                         shape: Sequence[int]) -> List[Dict[str, object]]:
    """Rows of FLOPs and parameters for one ``(1, 3, H, W)`` input.

    The model is traced once; a UFormer's members are read from that
    trace (mmengine attributes each operator to the module that ran it).

    Args:
        model (nn.Module): A segmentor (``BaseSegmentor``); a UFormer gets
            one row per member (``m0``, ``m1``...) before its total.
        shape (Sequence[int]): ``(H, W)`` of the input.

    Returns:
        list[dict]: ``name``, ``model`` (class, backbone + head), ``flops``,
        ``params`` (inference), ``aux_params`` (auxiliary heads).
    """
    model = model.eval()
    inputs = (torch.zeros(1, 3, *shape,
                          device=next(model.parameters()).device), )
    with quiet_logger(40), torch.no_grad():  # ERROR: no per-op warnings
        analyzer = FlopAnalyzer(model, inputs)
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        flops = analyzer.by_module()
    params = parameter_count(model)
    parts = [(f'm{i}', f'members.{i}', member)
             for i, member in enumerate(getattr(model, 'members', []))]
    parts.append(('total' if parts else 'model', '', model))
    rows = []
    for name, scope, module in parts:
        aux = _auxiliary_params(params, scope)
        rows.append(
            dict(name=name, model=_describe(module), flops=int(flops[scope]),
                 params=int(params[scope]) - aux, aux_params=aux))
    return rows


def model_input_shape(cfg, default: Sequence[int] = (512, 512)) -> Tuple[
        int, int]:
    """The ``(H, W)`` a config trains on: the data preprocessor's ``size``,
    else ``crop_size``, else ``default``."""
    size = (cfg.model.get('data_preprocessor') or {}).get('size') or \
        cfg.get('crop_size') or default
    return int(size[0]), int(size[1])


def format_complexity_table(rows: List[Dict[str, object]],
                            shape: Sequence[int]) -> str:
    """A Markdown table of :func:`segmentor_complexity` rows."""
    lines = [
        f'input 1x3x{shape[0]}x{shape[1]} (mmengine count: 1 multiply-add = '
        '1 FLOP; norms, activations and element-wise ops not counted)',
        '| part | model | GFLOPs | params (M) | aux. head params (M) |',
        '|---|---|---|---|---|'
    ]
    for row in rows:
        lines.append(f"| {row['name']} | {row['model']} | "
                     f"{row['flops'] / 1e9:.4f} | {row['params'] / 1e6:.3f} "
                     f"| {row['aux_params'] / 1e6:.3f} |")
    return '\n'.join(lines)
