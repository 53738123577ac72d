"""SegformerConvHead under DDP: weight grads keep the parameters' strides.

MiT hands its stages over as channels-last-strided views (mmseg's
``nlc_to_nchw`` is a transpose + reshape). Convolving such maps gives weight
grads in channels-last strides; for a weight with a size-1 dim (the
depthwise deconvs ``[C, 1, 2, 2]``, the 1x1 convs ``[C_out, C_in, 1, 1]``)
that is the parameter's memory layout but not its strides, so autograd keeps
the grad as it is and DDP's reducer, which compares strides exactly, warned
``Grad strides do not match bucket view strides`` (issue 13, item 2). The
head now makes its inputs contiguous; these tests check the grads' strides,
that the outputs and grads did not change, and a 2-process gloo DDP step.
"""
import os
import queue as queue_lib
import traceback
import warnings
from typing import List

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmseg.models.utils import nlc_to_nchw, resize
from torch.nn.parallel import DistributedDataParallel

from mmseg_ext.models.decode_heads import SegformerConvHead
from mmseg_ext.registry import MODELS
from tests.helpers import free_port

MIT_B0 = [32, 64, 160, 256]
STRIDE_WARNING = 'Grad strides do not match bucket view strides'


def _head(**kwargs) -> SegformerConvHead:
    """The demo's head: MiT-b0 inputs, 64 channels (8 per stage)."""
    cfg = dict(
        type='SegformerConvHead',
        in_channels=MIT_B0,
        in_index=[0, 1, 2, 3],
        channels=64,
        num_classes=5,
        dropout_ratio=0.0,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        return MODELS.build(cfg)


def _mit_features(size: int, batch: int = 2) -> List[torch.Tensor]:
    """Features as MiT returns them, for a ``4*size`` image.

    Returns:
        list[Tensor]: ``(batch, MIT_B0[i], size / 2^i, size / 2^i)`` views
        of ``(batch, H*W, C)`` tokens (channels-last strides).
    """
    feats = []
    for i, channels in enumerate(MIT_B0):
        side = size // 2**i
        tokens = torch.randn(batch, side * side, channels)
        feats.append(nlc_to_nchw(tokens, (side, side)))
    return feats


def _loss(head: torch.nn.Module, feats: List[torch.Tensor],
          labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the logits resized to the labels, as mmseg does."""
    logits = resize(
        head(feats),
        size=labels.shape[1:],
        mode='bilinear',
        align_corners=False)
    return F.cross_entropy(logits, labels)


def _old_forward(head: SegformerConvHead,
                 feats: List[torch.Tensor]) -> torch.Tensor:
    """The forward before the fix: the inputs convolved as they come."""
    size = feats[0].shape[2:]
    outs = []
    for feat, conv, up in zip(feats, head.convs, head.upsamplers):
        out = up(conv(feat))
        if out.shape[2:] != size:
            out = resize(
                out,
                size=size,
                mode=head.interpolate_mode,
                align_corners=head.align_corners)
        outs.append(out)
    return head.cls_seg(head.fusion_conv(torch.cat(outs, dim=1)))


def test_mit_features_are_channels_last_strided():
    """The premise: what MiT hands over is not NCHW-contiguous."""
    feats = _mit_features(16)
    assert not any(f.is_contiguous() for f in feats)
    assert all(
        f.is_contiguous(memory_format=torch.channels_last) for f in feats)


def test_weight_grads_have_the_parameters_strides():
    torch.manual_seed(0)
    head = _head()
    labels = torch.randint(0, 5, (2, 64, 64))
    _loss(head, _mit_features(16), labels).backward()
    wrong = {
        name: (tuple(p.stride()), tuple(p.grad.stride()))
        for name, p in head.named_parameters()
        if p.grad.stride() != p.stride()
    }
    assert wrong == {}
    deconvs = [
        p for name, p in head.named_parameters()
        if name.startswith('upsamplers') and p.dim() == 4
    ]
    assert deconvs and all(p.shape[1] == 1 for p in deconvs)


def test_outputs_and_grads_equal_the_old_forward():
    """Same parameters, same logits, same weight grads as before the fix."""
    torch.manual_seed(0)
    head = _head()
    feats = _mit_features(16)
    upstream = torch.randn(2, 5, 16, 16)

    def run(forward) -> tuple:
        head.zero_grad(set_to_none=True)
        out = forward(feats)
        (out * upstream).sum().backward()
        return out.detach(), {
            n: p.grad.clone()
            for n, p in head.named_parameters()
        }

    # eval: BN uses its running stats, so both passes see the same numbers
    head.eval()
    new_out, new_grads = run(head)
    old_out, old_grads = run(lambda f: _old_forward(head, f))
    torch.testing.assert_close(new_out, old_out, rtol=1e-5, atol=1e-6)
    assert new_grads.keys() == old_grads.keys()
    for name in new_grads:
        # contiguous and channels-last inputs sum in another order: float32
        # rounding, relative to the gradient's scale
        scale = float(old_grads[name].abs().max())
        torch.testing.assert_close(
            new_grads[name],
            old_grads[name],
            rtol=1e-4,
            atol=1e-5 * scale,
            msg=lambda m, name=name: f'{name}: {m}')
    # the parameter names and shapes checkpoints hold are unchanged
    assert {
        n: tuple(p.shape)
        for n, p in head.named_parameters() if n.startswith('upsamplers.1')
    } == {
        'upsamplers.1.0.weight': (8, 1, 2, 2),
        'upsamplers.1.0.bias': (8, )
    }


def _ddp_step(rank: int, port: int, results) -> None:
    """One DDP step of the head on MiT-like features; report warnings.

    Puts ``(rank, head warnings, control warnings, head grad sum, error)``
    on ``results``. The control, run after the head (the reducer warns once
    per process), is a 1x1 conv on the same channels-last features: it must
    warn, which shows the warning reaches the recorder.
    """
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    try:
        dist.init_process_group('gloo', rank=rank, world_size=2)
        torch.manual_seed(0)  # same initial weights on both ranks
        head = DistributedDataParallel(_head())
        control = DistributedDataParallel(torch.nn.Conv2d(MIT_B0[0], 4, 1))
        torch.manual_seed(1 + rank)  # each rank its own batch
        feats = _mit_features(16)
        labels = torch.randint(0, 5, (2, 64, 64))
        with warnings.catch_warnings(record=True) as head_warnings:
            warnings.simplefilter('always')
            _loss(head, feats, labels).backward()
        with warnings.catch_warnings(record=True) as control_warnings:
            warnings.simplefilter('always')
            control(feats[0]).square().sum().backward()
        grad_sum = sum(float(p.grad.double().sum()) for p in head.parameters())
        results.put(
            (rank, [str(w.message) for w in head_warnings],
             [str(w.message) for w in control_warnings], grad_sum, None))
    except Exception:  # report it: a dead child would only time out
        results.put((rank, [], [], 0.0, traceback.format_exc()))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_ddp_step_emits_no_grad_stride_warning():
    """2 gloo processes, one backward: no stride warning from the head."""
    ctx = mp.get_context('spawn')
    results = ctx.Queue()
    port = free_port()
    procs = [
        ctx.Process(target=_ddp_step, args=(rank, port, results))
        for rank in range(2)
    ]
    for proc in procs:
        proc.start()
    reports = []
    try:
        for _ in procs:
            reports.append(results.get(timeout=180))
    except queue_lib.Empty:
        raise AssertionError('a DDP process did not report; exit codes '
                             f'{[p.exitcode for p in procs]}') from None
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    reports.sort()
    for rank, head_msgs, control_msgs, _, error in reports:
        assert error is None, f'rank {rank}:\n{error}'
        assert [m for m in head_msgs if STRIDE_WARNING in m] == [], rank
        # the control shows the recorder would have seen the warning
        assert any(STRIDE_WARNING in m for m in control_msgs), control_msgs
    # the step really was data-parallel: both ranks hold the averaged grads
    assert reports[0][3] == reports[1][3]
