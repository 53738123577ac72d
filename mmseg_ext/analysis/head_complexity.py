"""Parameters and FLOPs of SegformerConvHead against mmseg's SegformerHead."""
from typing import Dict, List, Sequence

import torch
from mmengine.registry import DefaultScope

from mmseg_ext.analysis.model_complexity import module_complexity
from mmseg_ext.registry import MODELS

__all__ = ['MIT_B0_CHANNELS', 'compare_segformer_heads']

#: Channels of the four MiT-b0 stages (strides 4, 8, 16, 32).
MIT_B0_CHANNELS = (32, 64, 160, 256)


def compare_segformer_heads(
        channels: int = 256,
        num_classes: int = 19,
        img_size: Sequence[int] = (512, 512),
        in_channels: Sequence[int] = MIT_B0_CHANNELS,
        upsamples: Sequence[str] = ('deconv', 'pixel_shuffle', 'bilinear')
) -> List[Dict[str, object]]:
    """Params and FLOPs of both heads on MiT features of one image.

    FLOPs are mmengine's count (one multiply-add = 1 FLOP) for features of
    a ``img_size`` image at strides 4, 8, 16, 32.

    Args:
        channels (int): ``channels`` of both heads.
        num_classes (int): Output classes.
        img_size (Sequence[int]): ``(H, W)`` of the image.
        in_channels (Sequence[int]): Backbone stage channels.
        upsamples (Sequence[str]): SegformerConvHead variants to include.

    Returns:
        list[dict]: ``head``, ``params``, ``flops`` per head.
    """
    h, w = img_size
    feats = [
        torch.zeros(1, c, -(-h // 2**(i + 2)), -(-w // 2**(i + 2)))
        for i, c in enumerate(in_channels)
    ]
    common = dict(
        in_channels=list(in_channels),
        in_index=list(range(len(in_channels))),
        channels=channels,
        num_classes=num_classes,
        norm_cfg=dict(type='BN'))
    cfgs = [('mmseg SegformerHead', dict(type='mmseg.SegformerHead'))]
    cfgs += [(f'SegformerConvHead ({u})',
              dict(type='SegformerConvHead', upsample=u)) for u in upsamples]
    rows = []
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        for name, cfg in cfgs:
            head = MODELS.build(dict(cfg, **common)).eval()
            info = module_complexity(head, (feats, ))
            rows.append(
                dict(head=name, params=info['params'], flops=info['flops']))
    return rows
