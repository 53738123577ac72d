"""UFormer: a weighted average of the logits of several segmentors."""
import copy
import logging
import math
import numbers
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.model import ModuleList
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.structures import PixelData
from mmseg.models.decode_heads.cascade_decode_head import \
    BaseCascadeDecodeHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import accuracy
from mmseg.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from mmseg.utils import (OptConfigType, OptMultiConfig, OptSampleList,
                         SampleList, add_prefix)
from torch import Tensor

from mmseg_ext.registry import MODELS
from mmseg_ext.utils.builder import check_checkpoint
from .default_members import default_uformer_members, load_model_cfg

FUSE_MODES = ('logits', 'probs')
MEMBER_PREPROCESSOR_MODES = ('check', 'ignore')
MemberCfg = Union[str, dict, ConfigDict]
# SegDataPreProcessor's defaults for the fields that change the tensor a
# member sees (its normalisation, colour order and the value of padding)
_PREPROCESSOR_DEFAULTS = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    rgb_to_bgr=False,
    pad_val=0)


def _member_label(member: MemberCfg, index: int) -> str:
    """``member 1 (config 'path.py')`` or ``member 1 (EncoderDecoder)``."""
    if isinstance(member, dict) and 'config' in member:
        member = member['config']
    if isinstance(member, str):
        return f'member {index} (config {member!r})'
    kind = member.get('type', '?') if isinstance(member, dict) else member
    kind = getattr(kind, '__name__', kind)
    return f'member {index} ({kind})'


def _preprocessor_fields(cfg: dict) -> Dict[str, object]:
    """The comparable normalisation fields of a data_preprocessor config.

    Returns a dict with ``type`` (without scope), ``mean`` and ``std`` (a
    tuple of floats or None), ``swap_rb`` (``bgr_to_rgb or rgb_to_bgr``:
    both flip the channel order) and ``pad_val``.
    """
    fields = dict(_PREPROCESSOR_DEFAULTS)
    fields.update({k: cfg[k] for k in fields if k in cfg})
    kind = fields['type']
    kind = getattr(kind, '__name__', kind)
    out: Dict[str, object] = dict(type=str(kind).split('.')[-1])
    for key in ('mean', 'std'):
        value = fields[key]
        out[key] = None if value is None else tuple(float(v) for v in value)
    out['swap_rb'] = bool(fields['bgr_to_rgb']) or bool(fields['rgb_to_bgr'])
    out['pad_val'] = float(fields['pad_val'])
    return out


def _same(a, b) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(
            math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)
            for x, y in zip(a, b))
    return a == b


def _check_member_preprocessor(own: dict, member: dict, label: str) -> None:
    """Raise if a member's data_preprocessor normalises differently.

    Args:
        own (dict): UFormer's data_preprocessor config.
        member (dict): The member's own data_preprocessor config.
        label (str): The member, for the message.

    Raises:
        ValueError: Naming the member, the field, both values and the fix.
    """
    mine, theirs = _preprocessor_fields(own), _preprocessor_fields(member)
    names = dict(swap_rb='bgr_to_rgb/rgb_to_bgr (channel swap)')
    for key in ('type', 'mean', 'std', 'swap_rb', 'pad_val'):
        if _same(mine[key], theirs[key]):
            continue
        field = names.get(key, key)
        raise ValueError(
            f'UFormer {label}: its own data_preprocessor has {field}='
            f'{theirs[key]!r} but UFormer\'s has {field}={mine[key]!r}. '
            'UFormer builds its members without their data_preprocessor '
            'and feeds every member the batch its own one made, so this '
            'member would see input prepared differently from its own '
            'training. Make the two agree (set model.data_preprocessor, '
            'or the member config\'s), or pass '
            "member_preprocessor='ignore' to UFormer to use UFormer's "
            'data_preprocessor for every member anyway.')


def _merged(base: dict, overrides: dict) -> ConfigDict:
    """``overrides`` merged into ``base`` by mmengine's config merge rules.

    The rules of a config's ``_base_`` inheritance (and ``--cfg-options``):
    a dict merges key by key into a dict, ``_delete_=True`` in a dict
    replaces the base's dict instead (at the top level: the whole model),
    anything else replaces the value; a dict over a non-dict value raises
    mmengine's ``TypeError``. Done through the public
    :meth:`mmengine.config.Config.merge_from_dict` on a one-key config, with
    list keys off (``'0'`` is a dict key, not a list index).

    Args:
        base (dict): A model config; not modified.
        overrides (dict): The keys to set or merge.

    Returns:
        ConfigDict: The merged model config.
    """
    cfg = Config(dict(model=base))
    cfg.merge_from_dict(dict(model=overrides), allow_list_keys=False)
    return cfg.model


def _member_model_cfg(member: MemberCfg, index: int) -> ConfigDict:
    """A member's model config.

    ``member`` is a model dict, a config path (its ``model`` is taken), or
    ``dict(config=PATH, **overrides)``: that file's ``model`` with
    ``overrides`` merged in (mmengine merge rules, ``_delete_`` included).
    """
    overrides: dict = {}
    if isinstance(member, dict) and 'config' in member:
        overrides = {k: v for k, v in member.items() if k != 'config'}
        member = member['config']
    if isinstance(member, str):
        try:
            member = load_model_cfg(member)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f'UFormer member {index}: {err} (give a model dict, a '
                'config path or dict(config=PATH, ...))') from None
        member = _merged(member, overrides)
    if not isinstance(member, dict) or 'type' not in member:
        raise TypeError(f'UFormer member {index} must be a segmentor config '
                        f'dict with a "type" (or a config path), got '
                        f'{type(member).__name__}')
    return ConfigDict(copy.deepcopy(dict(member)))


def _decode_heads(member: nn.Module) -> List[nn.Module]:
    """A member's decode heads in order: one, or a cascade's stages."""
    head = member.decode_head
    return list(head) if isinstance(head, nn.ModuleList) else [head]


def _final_head(member: nn.Module) -> nn.Module:
    """The head whose logits are the member's output (a cascade's last)."""
    return _decode_heads(member)[-1]


def _auxiliary_losses(member: EncoderDecoder, feats: List[Tensor],
                      data_samples: SampleList) -> Dict[str, Tensor]:
    """A member's auxiliary-head losses, as its own ``loss`` computes them.

    Calls mmseg's private ``EncoderDecoder._auxiliary_head_forward_train``
    (mmseg 1.x), the method ``EncoderDecoder.loss`` itself uses: each
    auxiliary head's ``loss(feats, data_samples, member.train_cfg)``,
    prefixed ``aux`` (``aux_{i}`` for a list of heads). mmseg has no public
    method for the auxiliary losses alone, and UFormer cannot call the
    member's ``loss``: it needs the decode head's logits too, to fuse them.
    Calling the member's own method keeps the keys, the ``train_cfg`` and
    any subclass override exactly as when the member trains alone.

    Args:
        member (EncoderDecoder): A member with ``with_auxiliary_head``.
        feats (list[Tensor]): Its ``extract_feat`` output.
        data_samples (list[SegDataSample]): With ``gt_sem_seg``.

    Returns:
        dict[str, Tensor]: Loss components, e.g. ``aux.loss_ce``.
    """
    return member._auxiliary_head_forward_train(feats, data_samples)


def _weighted_sum(maps: Sequence[Tensor], weights: Tensor) -> Tensor:
    """``sum_i weights[i] * maps[i]``, summed in member order."""
    total = weights[0] * maps[0]
    for w, m in zip(weights[1:], maps[1:]):
        total = total + w * m
    return total


@MODELS.register_module()
class UFormer(BaseSegmentor):
    """The weighted average of the logits of N >= 2 segmentors.

    Built for drone-image segmentation as "UFormer": a U-Net (Ronneberger
    et al., 2015), strong on local detail, and a SegFormer (Xie et al.,
    2021), strong on global context, averaged.
    UFormer owns the one ``data_preprocessor``; members are built without
    theirs, so a batch is normalised and padded once and every member sees
    the same tensor. A member whose config has a ``data_preprocessor`` that
    normalises differently (``type``, ``mean``, ``std``, channel swap
    ``bgr_to_rgb``/``rgb_to_bgr``, ``pad_val``) is refused, unless
    ``member_preprocessor='ignore'``: a member trained alone would
    otherwise see input unlike its training, silently.

    Fusion of the member logits ``l_i`` (each resized to the image):
    ``'logits'``: ``sum_i w_i l_i``; ``'probs'``: ``log(sum_i w_i p_i)``
    with ``p_i`` the softmax (sigmoid for one channel) of ``l_i``, and for
    one channel the log-odds of that average. Either way the fused tensor
    is a logit map whose argmax (or sigmoid) is the fused prediction.
    ``w`` is ``weights / sum(weights)``, or with ``learn_weights=True``
    ``softmax(theta)`` with ``theta`` initialised to ``log(w)``.

    Members are ``EncoderDecoder`` or ``CascadeEncoderDecoder`` segmentors
    (e.g. OCRNet) whose decode heads keep mmseg's ``loss`` (forward, then
    ``loss_by_feat``): UFormer trains them through ``forward`` and
    ``loss_by_feat`` to fuse the very logits the member's loss saw. A
    member whose segmentor overrides ``loss``/``_decode_head_forward_train``
    or whose decode head overrides ``loss`` (e.g. PointRend's
    ``PointHead``) is refused at build time, unless it is frozen and there
    is no ``fused_loss`` (then UFormer only runs its ``inference``).

    Training: the sum of each unfrozen member's own losses, prefixed
    ``m0.``, ``m1.``..., plus ``fused_loss`` (if given) on the fused
    logits, prefixed ``fused.``. Frozen members run in eval mode without
    gradients, and only when the fused loss needs their logits; with all
    members frozen and ``learn_weights=True`` only the weights train.

    Inference: each member runs its own ``inference`` (its ``test_cfg``:
    slide or whole) on its own copy of the image metas, the logits are
    resized to the (padded) input size and fused, then
    :meth:`postprocess_result` crops, un-flips, resizes to the original
    shape and thresholds (one channel) or takes the argmax.

    Args:
        members (list[dict | str], optional): Segmentor configs: a model
            dict, the path of a config file whose ``model`` is taken
            (``mmseg::`` paths work; in a config, ``{{fileDirname}}`` is
            its folder), or ``dict(config=PATH, **overrides)``. Defaults to
            :func:`default_uformer_members`: fcn_unet_s5-d16 and SegFormer
            MiT-b0 with :class:`SegformerConvHead`.
        num_classes (int, optional): If given, set as ``num_classes`` of
            every member's decode and auxiliary heads (required with the
            default members).
        out_channels (int, optional): If given, set likewise (1 for a
            binary sigmoid head; then give ``threshold``).
        threshold (float, optional): Binary threshold, set likewise.
        weights (list[float], optional): One non-negative weight per
            member, not all zero; normalised to sum 1. Defaults to equal.
        learn_weights (bool): Learn the weights (softmax-normalised).
            Needs ``fused_loss``, the only loss that reaches them. In the
            ``mmseg_ext`` scope the default optimizer-wrapper constructor
            (``mmseg_ext/engine/optimizers/default_constructor.py``) exempts
            ``weight_logits`` from weight decay.
        fuse (str): ``'logits'`` (default) or ``'probs'``.
        member_checkpoints (list[str | None], optional): One checkpoint
            (path or URL) per member, loaded in :meth:`init_weights` with
            mmseg_ext's safe loader (strict key matching).
        freeze (list[bool], optional): Per member: no gradients, eval mode.
        fused_loss (dict | list[dict], optional): Loss(es) on the fused
            logits, called like a decode head's ``loss_decode``.
        keep_member_preds (bool): Also store each member's prediction in
            the data samples as ``pred_sem_seg_m{i}`` (and
            ``seg_logits_m{i}``), for analysis.
        data_preprocessor (dict, optional): Defaults to the first member's.
        member_preprocessor (str): What to do with the members' own
            ``data_preprocessor`` configs, which are never built:
            ``'check'`` (default) raises a ValueError naming the member,
            the field and both values when one differs from UFormer's in
            ``type``, ``mean``, ``std``, the channel swap
            (``bgr_to_rgb or rgb_to_bgr``) or ``pad_val``; ``'ignore'``
            uses UFormer's for every member without comparing. Sizes
            (``size``, ``size_divisor``) and ``seg_pad_val`` are not
            compared: UFormer's own apply. A member without a
            ``data_preprocessor`` is not compared.
        train_cfg, test_cfg: Unused (members use their own); kept for the
            mmseg segmentor signature.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 members: Optional[Sequence[MemberCfg]] = None,
                 num_classes: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 threshold: Optional[float] = None,
                 weights: Optional[Sequence[float]] = None,
                 learn_weights: bool = False,
                 fuse: str = 'logits',
                 member_checkpoints: Optional[Sequence[Optional[str]]] = None,
                 freeze: Optional[Sequence[bool]] = None,
                 fused_loss: Union[dict, Sequence[dict], None] = None,
                 keep_member_preds: bool = False,
                 data_preprocessor: OptConfigType = None,
                 member_preprocessor: str = 'check',
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if members is None:
            if num_classes is None:
                raise ValueError('UFormer with the default members needs '
                                 'num_classes')
            members = default_uformer_members()
        member_cfgs = [_member_model_cfg(m, i) for i, m in enumerate(members)]
        n = len(member_cfgs)
        if n < 2:
            raise ValueError(f'UFormer needs at least 2 members, got {n}')
        if data_preprocessor is None:
            data_preprocessor = member_cfgs[0].get('data_preprocessor')
        if member_preprocessor not in MEMBER_PREPROCESSOR_MODES:
            raise ValueError(
                f'member_preprocessor must be one of '
                f'{MEMBER_PREPROCESSOR_MODES}, got {member_preprocessor!r}')
        if member_preprocessor == 'check' and isinstance(
                data_preprocessor, dict):
            for i, (member, cfg) in enumerate(zip(members, member_cfgs)):
                own = cfg.get('data_preprocessor')
                if isinstance(own, dict):
                    _check_member_preprocessor(data_preprocessor, own,
                                               _member_label(member, i))
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if fuse not in FUSE_MODES:
            raise ValueError(f'fuse must be one of {FUSE_MODES}, got '
                             f'{fuse!r}')
        self.fuse_mode = fuse
        self.freeze = self._per_member('freeze', freeze, n, False)
        self.member_checkpoints = self._per_member(
            'member_checkpoints', member_checkpoints, n, None)
        self.keep_member_preds = keep_member_preds
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if test_cfg:
            print_log(
                'UFormer ignores its own test_cfg: each member infers with '
                "its own (set model.members[i].test_cfg, e.g. mode='slide')",
                logger='current',
                level=logging.WARNING)

        overrides = dict(
            num_classes=num_classes,
            out_channels=out_channels,
            threshold=threshold)
        # mmengine's ModuleList: BaseModule.init_weights reaches only
        # children that have init_weights, so a torch ModuleList would skip
        # every member's own init_cfg (e.g. its pretrained backbone)
        self.members = ModuleList()
        for cfg in member_cfgs:
            cfg.pop('data_preprocessor', None)
            self._override_heads(cfg, overrides)
            self.members.append(MODELS.build(cfg))
        for i, member in enumerate(self.members):
            if not self.freeze[i] or fused_loss is not None:
                self._check_trainable_member(member, members[i], i)
        self._check_members()
        for member, frozen in zip(self.members, self.freeze):
            if frozen:
                member.requires_grad_(False)

        init = self.normalize_weights(weights, n)
        self.learn_weights = learn_weights
        if learn_weights:
            # a zero weight would be a -inf logit: optimisers turn it to nan
            self.weight_logits = nn.Parameter(init.clamp_min(1e-6).log())
        else:
            # not persistent: the config's weights always win over those a
            # checkpoint was trained with (so tuned weights can be tried on
            # any UFormer checkpoint with --cfg-options model.weights=...)
            self.register_buffer('fixed_weights', init, persistent=False)

        if fused_loss is None:
            self.fused_losses = None
        else:
            if isinstance(fused_loss, dict):
                fused_loss = [fused_loss]
            self.fused_losses = nn.ModuleList(
                MODELS.build(cfg) for cfg in fused_loss)
        if learn_weights and self.fused_losses is None:
            raise ValueError(
                'learn_weights=True needs fused_loss: only a loss on the '
                'fused logits reaches the weights (e.g. fused_loss=dict('
                "type='CrossEntropyLoss', loss_weight=1.0))")
        if all(self.freeze) and self.fused_losses is None:
            print_log(
                'UFormer: every member is frozen and there is no '
                'fused_loss: training has nothing to update.',
                logger='current')

    # ------------------------------------------------------------------
    # construction helpers
    @staticmethod
    def _per_member(name: str, values: Optional[Sequence], n: int,
                    default) -> list:
        if values is None:
            return [default] * n
        values = list(values)
        if len(values) != n:
            raise ValueError(f'{name} has {len(values)} entries but UFormer '
                             f'has {n} members: give one per member')
        return values

    @staticmethod
    def _override_heads(cfg: ConfigDict, overrides: Dict[str, object]):
        """Set the given head options in a member's decode/aux heads."""
        heads = []
        for key in ('decode_head', 'auxiliary_head'):
            head = cfg.get(key)
            if head is None:
                continue
            heads += head if isinstance(head, (list, tuple)) else [head]
        for head in heads:
            for key, value in overrides.items():
                if value is not None:
                    head[key] = value

    @staticmethod
    def _check_trainable_member(member: nn.Module, cfg: MemberCfg,
                                index: int) -> None:
        """Refuse a member whose training UFormer's :meth:`loss` bypasses.

        UFormer trains a member as mmseg's ``EncoderDecoder.loss`` and
        ``CascadeEncoderDecoder._decode_head_forward_train`` do, but through
        each head's ``forward`` and ``loss_by_feat``; a segmentor or head
        with its own ``loss`` would be trained wrongly, so it is refused.

        Args:
            member (nn.Module): The built member.
            cfg (dict | str): Its config as given, for the message.
            index (int): Its index in ``members``.

        Raises:
            TypeError: Naming the member, the class and the method.
        """
        label = _member_label(cfg, index)
        fix = ('Use a head/segmentor with mmseg\'s default loss(), or '
               'train this member alone and use it frozen without a '
               f'fused_loss (freeze[{index}]=True with '
               f'member_checkpoints[{index}]), where UFormer only runs its '
               'inference.')
        if not isinstance(member, EncoderDecoder):
            raise TypeError(
                f'UFormer {label}: a {type(member).__name__} is not an '
                'EncoderDecoder/CascadeEncoderDecoder; UFormer trains '
                f'members through extract_feat and decode_head. {fix}')
        seg_cls = type(member)
        own_train = (EncoderDecoder._decode_head_forward_train,
                     CascadeEncoderDecoder._decode_head_forward_train)
        if seg_cls.loss is not EncoderDecoder.loss or \
                seg_cls._decode_head_forward_train not in own_train:
            raise TypeError(
                f'UFormer {label}: {seg_cls.__name__} overrides loss() or '
                '_decode_head_forward_train(), which UFormer does not call '
                f'(it would be trained differently from alone). {fix}')
        default_losses = (BaseDecodeHead.loss, BaseCascadeDecodeHead.loss)
        for j, head in enumerate(_decode_heads(member)):
            if type(head).loss not in default_losses:
                raise TypeError(
                    f'UFormer {label}: decode head {j} '
                    f'({type(head).__name__}) overrides loss(), which '
                    'UFormer does not call: it trains a member through '
                    'forward() and loss_by_feat() to fuse the same logits, '
                    f'so this head would be trained wrongly. {fix}')

    def _check_members(self) -> None:
        """Members must agree on classes, channels and ``align_corners``."""
        for attr in ('num_classes', 'out_channels', 'align_corners',
                     'ignore_index'):
            # the segmentor mirrors out_channels and align_corners only
            values = [
                getattr(_final_head(m) if attr in ('num_classes',
                                                   'ignore_index') else m,
                        attr)
                for m in self.members
            ]
            if len(set(values)) != 1:
                listing = ', '.join(f'm{i}: {v}' for i, v in enumerate(values))
                raise ValueError(
                    f'UFormer members disagree on {attr} ({listing}); set it '
                    f'to one value in every member (or pass {attr}= to '
                    'UFormer for num_classes/out_channels)')
        self.num_classes = _final_head(self.members[0]).num_classes
        self.out_channels = self.members[0].out_channels
        self.align_corners = self.members[0].align_corners
        if self.out_channels == 1:
            thresholds = {_final_head(m).threshold for m in self.members}
            if len(thresholds) != 1:
                raise ValueError(
                    f'UFormer binary members disagree on threshold '
                    f'({sorted(thresholds)}); pass threshold= to UFormer')

    @staticmethod
    def normalize_weights(weights: Optional[Sequence[float]],
                          num_members: int) -> Tensor:
        """Validate member weights and normalise them to sum 1.

        The ``weights`` argument of UFormer goes through this; so does every
        candidate of the weight search
        (:mod:`mmseg_ext.evaluation.uformer_weight_search`), so a candidate
        is fused exactly as a UFormer configured with it.

        Args:
            weights (Sequence[float], optional): One finite, non-negative
                weight per member, not all zero (a list or tuple of real
                numbers, bools refused). None means equal weights.
            num_members (int): The number of members ``M``.

        Returns:
            Tensor: float32 weights of shape ``(M, )``, summing to 1:
            ``weights / sum(weights)``, or ``1 / M`` each for None.

        Raises:
            ValueError: ``weights`` is not a list/tuple of numbers, has not
                ``M`` entries, or has a negative or non-finite entry or a
                sum of 0.
        """
        n = num_members
        if weights is None:
            return torch.full((n, ), 1.0 / n)
        if not isinstance(weights, (list, tuple)) or not all(
                isinstance(w, numbers.Real) and not isinstance(w, bool)
                for w in weights):
            raise ValueError(f'weights must be a list of numbers, one per '
                             f'member, got {weights!r}')
        weights = [float(w) for w in weights]
        if len(weights) != n:
            raise ValueError(f'weights has {len(weights)} entries but '
                             f'UFormer has {n} members: give one per member')
        if any(w < 0 or not math.isfinite(w) for w in weights) or \
                sum(weights) <= 0:
            raise ValueError(f'weights must be finite, >= 0 and not all 0, '
                             f'got {weights}')
        w = torch.tensor(weights, dtype=torch.float32)
        return w / w.sum()

    @property
    def decode_head(self) -> nn.Module:
        """The first member's (final) decode head; its ``num_classes``,
        ``ignore_index`` and ``threshold`` are every member's."""
        return _final_head(self.members[0])

    @property
    def weights(self) -> Tensor:
        """The normalised member weights, shape ``(num_members, )``."""
        if self.learn_weights:
            return self.weight_logits.softmax(dim=0)
        return self.fixed_weights

    def init_weights(self) -> None:
        """Initialise, then load the per-member checkpoints (if any)."""
        super().init_weights()
        for i, (member, ckpt) in enumerate(
                zip(self.members, self.member_checkpoints)):
            if ckpt is None:
                continue
            check_checkpoint(
                ckpt, f'UFormer member_checkpoints[{i}]: give a checkpoint '
                'of that member or None.')
            try:
                load_checkpoint(
                    member, ckpt, map_location='cpu', strict=True,
                    logger='current')
            except RuntimeError as err:
                raise RuntimeError(
                    f'UFormer member_checkpoints[{i}] ({ckpt}) does not fit '
                    f'member {i} ({type(member).__name__}): {err}') from err
            print_log(f'UFormer: member {i} loaded from {ckpt}',
                      logger='current')

    def train(self, mode: bool = True) -> 'UFormer':
        """Set the mode; frozen members always stay in eval mode."""
        super().train(mode)
        for member, frozen in zip(self.members, self.freeze):
            if frozen:
                member.eval()
        return self

    # ------------------------------------------------------------------
    # fusion
    def fuse(self,
             logits: Sequence[Tensor],
             weights: Optional[Tensor] = None) -> Tensor:
        """Fuse member logits of one size into one logit map.

        Args:
            logits (Sequence[Tensor]): One ``(N, C, H, W)`` map per member.
            weights (Tensor, optional): ``(num_members, )`` weights summing
                to 1; defaults to :attr:`weights`.

        Returns:
            Tensor: Fused logits ``(N, C, H, W)``.
        """
        w = self.weights if weights is None else weights
        if self.fuse_mode == 'logits':
            return _weighted_sum(logits, w)
        if self.out_channels == 1:
            probs = [li.float().sigmoid() for li in logits]
        else:
            probs = [li.float().softmax(dim=1) for li in logits]
        p = _weighted_sum(probs, w)
        eps = torch.finfo(p.dtype).tiny
        if self.out_channels == 1:
            return torch.logit(p.clamp(eps, 1 - 1e-7))
        return p.clamp_min(eps).log()

    def _resized(self, logits: Tensor, size) -> Tensor:
        if logits.shape[2:] == tuple(size):
            return logits
        return resize(
            logits,
            size=size,
            mode='bilinear',
            align_corners=self.align_corners,
            warning=False)

    # ------------------------------------------------------------------
    # BaseSegmentor interface
    def extract_feat(self, inputs: Tensor) -> List[List[Tensor]]:
        """Each member's features.

        Args:
            inputs (Tensor): ``(N, 3, H, W)``.

        Returns:
            list: One feature list per member.
        """
        return [m.extract_feat(inputs) for m in self.members]

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Fused logits of the members' ``encode_decode`` (whole image).

        Args:
            inputs (Tensor): ``(N, 3, H, W)``.
            batch_img_metas (list[dict]): Image metas.

        Returns:
            Tensor: ``(N, C, H, W)`` fused logits.
        """
        logits = [
            self._resized(
                m.encode_decode(inputs, copy.deepcopy(batch_img_metas)),
                inputs.shape[2:]) for m in self.members
        ]
        return self.fuse(logits)

    def member_logits(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> List[Tensor]:
        """Each member's inference logits (its own ``test_cfg``).

        Args:
            inputs (Tensor): ``(N, 3, H, W)`` preprocessed (padded) images.
            batch_img_metas (list[dict]): Image metas; every member gets a
                copy (mmseg's slide inference writes into them).

        Returns:
            list[Tensor]: One ``(N, C, H, W)`` map per member.
        """
        return [
            self._resized(
                m.inference(inputs, copy.deepcopy(batch_img_metas)),
                inputs.shape[2:]) for m in self.members
        ]

    def inference(self, inputs: Tensor,
                  batch_img_metas: List[dict]) -> Tensor:
        """Fused inference logits ``(N, C, H, W)`` (see member_logits)."""
        return self.fuse(self.member_logits(inputs, batch_img_metas))

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Member losses (``m{i}.``) plus the fused loss (``fused.``).

        Args:
            inputs (Tensor): ``(N, 3, H, W)``.
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: Loss components.
        """
        losses: Dict[str, Tensor] = {}
        need_logits = self.fused_losses is not None
        logits = []
        for i, (member, frozen) in enumerate(zip(self.members, self.freeze)):
            if frozen and not need_logits:
                continue
            heads = _decode_heads(member)
            with torch.set_grad_enabled(torch.is_grad_enabled()
                                        and not frozen):
                feats = member.extract_feat(inputs)
                # a cascade's stage j > 0 also takes stage j - 1's logits
                stage_logits = [heads[0].forward(feats)]
                for head in heads[1:]:
                    stage_logits.append(head.forward(feats, stage_logits[-1]))
            seg_logits = stage_logits[-1]
            if not frozen:
                # EncoderDecoder.loss (CascadeEncoderDecoder's for a
                # cascade: stage j logged decode_{j}), keeping the logits
                cascade = isinstance(member.decode_head, nn.ModuleList)
                member_losses = {}
                for j, (head, out) in enumerate(zip(heads, stage_logits)):
                    member_losses.update(
                        add_prefix(
                            head.loss_by_feat(out, data_samples),
                            f'decode_{j}' if cascade else 'decode'))
                if member.with_auxiliary_head:
                    member_losses.update(
                        _auxiliary_losses(member, feats, data_samples))
                losses.update(add_prefix(member_losses, f'm{i}'))
            if need_logits:
                logits.append(self._resized(seg_logits, inputs.shape[2:]))
        if need_logits:
            losses.update(self._fused_loss(self.fuse(logits), data_samples))
        return losses

    def _fused_loss(self, fused: Tensor,
                    data_samples: SampleList) -> Dict[str, Tensor]:
        """``fused_losses`` on fused logits ``(N, C, H, W)``."""
        label = torch.stack([s.gt_sem_seg.data for s in data_samples])
        fused = self._resized(fused, label.shape[2:])
        label = label.squeeze(1)
        ignore_index = self.decode_head.ignore_index
        losses: Dict[str, Tensor] = {}
        for loss_fn in self.fused_losses:
            key = f'fused.{loss_fn.loss_name}'
            value = loss_fn(fused, label, ignore_index=ignore_index)
            losses[key] = losses[key] + value if key in losses else value
        if self.out_channels > 1:
            losses['fused.acc_seg'] = accuracy(
                fused, label, ignore_index=ignore_index)
        return losses

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Fused predictions, optionally with each member's.

        Args:
            inputs (Tensor): ``(N, 3, H, W)``.
            data_samples (list[SegDataSample], optional): Samples with
                metainfo.

        Returns:
            list[SegDataSample]: With ``seg_logits`` and ``pred_sem_seg``
            (and ``pred_sem_seg_m{i}``/``seg_logits_m{i}`` with
            ``keep_member_preds``).
        """
        if data_samples is not None:
            batch_img_metas = [s.metainfo for s in data_samples]
        else:
            batch_img_metas = [
                dict(
                    ori_shape=inputs.shape[2:],
                    img_shape=inputs.shape[2:],
                    pad_shape=inputs.shape[2:],
                    padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        logits = self.member_logits(inputs, batch_img_metas)
        results = self.postprocess_result(self.fuse(logits), data_samples)
        if self.keep_member_preds:
            for i, member_logits in enumerate(logits):
                member_results = self.postprocess_result(
                    member_logits, None if data_samples is None else
                    [SegDataSample(metainfo=s.metainfo) for s in results])
                for result, member_result in zip(results, member_results):
                    result.set_data({
                        f'pred_sem_seg_m{i}':
                        PixelData(data=member_result.pred_sem_seg.data),
                        f'seg_logits_m{i}':
                        PixelData(data=member_result.seg_logits.data)
                    })
        return results

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Fused head logits at the input size, ``(N, C, H, W)``."""
        logits = [
            self._resized(m._forward(inputs), inputs.shape[2:])
            for m in self.members
        ]
        return self.fuse(logits)
