"""SegFormer decoder with learnable upsampling and a convolutional fusion."""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import Tensor

from mmseg_ext.registry import MODELS

UPSAMPLE_MODES = ('deconv', 'pixel_shuffle', 'bilinear')


class _LearnedUpsample(nn.Sequential):
    """Upsample by ``scale`` (a power of 2) in x2 learnable steps.

    Each step is a depthwise 2x2 transposed conv (``'deconv'``) or a
    depthwise 1x1 conv to 4x the channels followed by ``PixelShuffle(2)``
    (``'pixel_shuffle'``), then a norm layer and ReLU, except after the
    last step (the fusion conv that follows normalises). Depthwise steps
    keep the cost at ``4 * channels`` weights per step: the channel mixing
    is done once, by the fusion conv.

    Args:
        channels (int): Channels in and out.
        scale (int): Upsampling factor, a power of 2 (>= 2).
        mode (str): ``'deconv'`` or ``'pixel_shuffle'``.
        norm_cfg (dict): Norm layer between steps.
    """

    def __init__(self, channels: int, scale: int, mode: str,
                 norm_cfg: dict) -> None:
        steps = int(round(math.log2(scale)))
        layers: List[nn.Module] = []
        for step in range(steps):
            if mode == 'deconv':
                layers.append(
                    nn.ConvTranspose2d(
                        channels, channels, 2, stride=2, groups=channels))
            else:
                layers += [
                    nn.Conv2d(channels, 4 * channels, 1, groups=channels),
                    nn.PixelShuffle(2)
                ]
            if step < steps - 1:
                layers += [
                    build_norm_layer(norm_cfg, channels)[1],
                    nn.ReLU(inplace=True)
                ]
        super().__init__(*layers)


@MODELS.register_module()
class SegformerConvHead(BaseDecodeHead):
    """SegFormer decode head with learnable upsampling and a conv fusion.

    A convolutional decoder for drone segmentation, as an alternative to
    mmseg's all-MLP ``SegformerHead`` (`SegFormer
    <https://arxiv.org/abs/2105.15203>`_, Xie et al., NeurIPS 2021):

    1. per MiT stage ``i``, a 1x1 conv + BN + ReLU (ReLU, not GELU) from
       ``in_channels[i]`` to ``stage_channels``;
    2. a learnable upsampling of every stage to the scale of the first
       (1/4 of the image for MiT): depthwise x2 transposed convs
       (``'deconv'``) or depthwise conv + pixel shuffle
       (``'pixel_shuffle'``); ``'bilinear'`` (no parameters) is kept for
       ablations;
    3. a 3x3 conv + BN + ReLU over the concatenated stages
       (``num_inputs * stage_channels`` -> ``channels``), in place of
       SegformerHead's 1x1 fusion (``num_inputs * channels`` ->
       ``channels``);
    4. ``cls_seg`` (dropout + 1x1 conv to ``out_channels``; 1 for a binary
       head with a threshold).

    Parameters. With ``n`` stages, ``S = sum(in_channels)`` and width
    ``C = channels``, SegformerHead's projections and fusion hold
    ``S*C + n*C*C`` weights. Here ``stage_channels`` defaults to
    ``C // (2n)``, so the projections hold ``S*C/(2n)`` and the 3x3 fusion
    ``9*C*C/2`` (plus ``4*C/(2n)`` per depthwise upsampling step). For the
    four MiT stages that is fewer whenever ``C < 1.75*S``: every SegFormer
    width (MiT-b0, ``S = 512``, ``C = 256``, 19 classes: 0.32 M against
    0.40 M).

    Args:
        stage_channels (int, optional): Width of each projected stage.
            Defaults to ``channels // (2 * len(in_channels))``.
        upsample (str): ``'deconv'`` (default), ``'pixel_shuffle'`` or
            ``'bilinear'``.
        interpolate_mode (str): Resize mode used when a stage's upsampled
            size still differs from the first stage's (odd input sizes)
            and for ``upsample='bilinear'``. Defaults to ``'bilinear'``.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``,
            ``channels``, ``num_classes``, ``out_channels``, ``threshold``,
            ``norm_cfg``, ``loss_decode``, ...). ``act_cfg`` defaults to
            ReLU.

    Shapes:
        inputs: ``len(in_channels)`` maps ``(N, in_channels[i], H_i, W_i)``
        with ``H_0 = 2^i * H_i``; output ``(N, out_channels, H_0, W_0)``.
    """

    def __init__(self,
                 stage_channels: Optional[int] = None,
                 upsample: str = 'deconv',
                 interpolate_mode: str = 'bilinear',
                 **kwargs) -> None:
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f'upsample must be one of {UPSAMPLE_MODES}, '
                             f'got {upsample!r}')
        in_channels = kwargs.get('in_channels')
        in_index = kwargs.get('in_index', -1)
        if not isinstance(in_channels, (list, tuple)) or \
                not isinstance(in_index, (list, tuple)) or \
                len(in_channels) != len(in_index):
            raise ValueError(
                'in_channels and in_index must be lists of the same length '
                f'(one entry per backbone stage), got in_channels='
                f'{in_channels} and in_index={in_index}')
        super().__init__(input_transform='multiple_select', **kwargs)
        num_inputs = len(self.in_channels)
        if stage_channels is None:
            stage_channels = max(self.channels // (2 * num_inputs), 1)
        if stage_channels < 1:
            raise ValueError(
                f'stage_channels must be >= 1, got {stage_channels}')
        self.stage_channels = stage_channels
        self.upsample = upsample
        self.interpolate_mode = interpolate_mode
        norm_cfg = self.norm_cfg or dict(type='BN')

        self.convs = nn.ModuleList(
            ConvModule(
                in_channels=c,
                out_channels=stage_channels,
                kernel_size=1,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg) for c in self.in_channels)
        # stage i is 2**i times smaller than stage 0 (MiT strides 4-8-16-32)
        self.upsamplers = nn.ModuleList(
            nn.Identity() if i == 0 or upsample == 'bilinear' else
            _LearnedUpsample(stage_channels, 2**i, upsample, norm_cfg)
            for i in range(num_inputs))
        self.fusion_conv = ConvModule(
            in_channels=stage_channels * num_inputs,
            out_channels=self.channels,
            kernel_size=3,
            padding=1,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Decode the backbone's multi-scale features.

        The selected inputs are made contiguous first. MiT returns its
        stages as channels-last-strided views (mmseg's ``nlc_to_nchw``, a
        transpose + reshape), and a convolution of such a map returns its
        weight grad in channels-last strides. For the weights with a size-1
        dim (the depthwise deconvs ``(C, 1, 2, 2)``, the 1x1 convs) that is
        the parameter's memory layout with other strides on the size-1 dim:
        autograd keeps such a grad as it is, and DDP, which compares strides
        exactly, warned "Grad strides do not match bucket view strides".
        Inputs that are already contiguous are not copied.

        Args:
            inputs (Sequence[Tensor]): Backbone outputs; the selected ones
                are ``(N, in_channels[i], H_0 / 2^i, W_0 / 2^i)``.

        Returns:
            Tensor: Logits ``(N, out_channels, H_0, W_0)``.
        """
        feats = [feat.contiguous() for feat in self._transform_inputs(inputs)]
        size = feats[0].shape[2:]
        outs = []
        for feat, conv, up in zip(feats, self.convs, self.upsamplers):
            out = up(conv(feat))
            if out.shape[2:] != size:
                out = resize(
                    out,
                    size=size,
                    mode=self.interpolate_mode,
                    align_corners=self.align_corners)
            outs.append(out)
        return self.cls_seg(self.fusion_conv(torch.cat(outs, dim=1)))
