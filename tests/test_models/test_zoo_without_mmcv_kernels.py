"""Every model family of the zoo trains and predicts without mmcv's kernels.

mmcv must be installed with its ops: ``mmcv.ops`` must import, because mmseg
imports it unconditionally (``mmseg.models.losses.focal_loss`` takes
``sigmoid_focal_loss`` from it, ``mmseg.models.utils`` and ``mmseg.utils``
take ``point_sample``). But no compiled kernel is called by fcn_unet_s5-d16,
DeepLabV3+ (ResNetV1c-50-D8 + DepthwiseSeparableASPPHead), SegFormer
(MiT-b0 + SegformerConvHead) or the UFormer ensemble: these tests build each
one from its zoo config, run a training forward, the backward and a
prediction on the CPU while EVERY function of the compiled extension
``mmcv._ext`` is replaced by one that raises (issue 13, item 1).

mmcv.ops modules load the extension with
``ext_module = ext_loader.load_ext('_ext', [...])`` and call
``ext_module.<kernel>`` when they run, so replacing the attributes of that
one module object reaches every op; :func:`test_patching_reaches_mmcv_ops`
checks it on ``mmcv.ops.nms``. Any other module holding an ``mmcv._ext``
function directly would be patched as well.
"""
import contextlib
import importlib
import os.path as osp
import sys
from typing import Dict, Iterator, List, Tuple

import mmcv.ops  # loads every ops module and the extension
import pytest
import torch
from mmcv.utils import ext_loader
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.registry import MODELS
from mmseg_ext.utils import load_config
from tests.helpers import REPO

EXT = 'mmcv._ext'


class MMCVKernelCalled(RuntimeError):
    """A function of ``mmcv._ext`` was called."""


def _raiser(name: str):
    """A stand-in for the kernel ``name`` that raises when called."""

    def kernel(*args, **kwargs):
        raise MMCVKernelCalled(f'{EXT}.{name} was called')

    kernel.__name__ = name
    return kernel


def _extension():
    """The loaded extension, as mmcv.ops modules get it."""
    ext = ext_loader.load_ext('_ext', [])
    assert ext is importlib.import_module(EXT)
    return ext


def _outside_references(ext) -> List[Tuple[object, str, str]]:
    """``(module, attribute, kernel)`` for every loaded module (but the
    extension) that holds one of its functions under a name of its own."""
    found = []
    for module in list(sys.modules.values()):
        if module is None or module is ext:
            continue
        for attr, value in list(vars(module).items()):
            if (callable(value) and not isinstance(value, type)
                    and getattr(value, '__module__', None) == EXT):
                found.append((module, attr, value.__name__))
    return found


@contextlib.contextmanager
def mmcv_kernels_disabled() -> Iterator[List[str]]:
    """Replace every function of ``mmcv._ext`` by one that raises.

    Yields:
        list[str]: The names of the replaced functions.
    """
    ext = _extension()
    names = sorted(
        n for n in dir(ext)
        if not n.startswith('__') and callable(getattr(ext, n)))
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.setattr(ext, name, _raiser(name))
        for module, attr, name in _outside_references(ext):
            patch.setattr(module, attr, _raiser(name))
        yield names


def _tiny_nms_input() -> Tuple[torch.Tensor, torch.Tensor]:
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
    return boxes, torch.tensor([0.9, 0.8])


def test_patching_reaches_mmcv_ops():
    """The check that the patching works: an mmcv op fails inside it."""
    ext = _extension()
    ops_modules = [
        m for name, m in sys.modules.items()
        if name.startswith('mmcv.ops.') and hasattr(m, 'ext_module')
    ]
    assert len(ops_modules) > 20
    # every op calls through the one shared module object
    assert all(m.ext_module is ext for m in ops_modules)
    dets, keep = mmcv.ops.nms(*_tiny_nms_input(), iou_threshold=0.5)
    assert keep.tolist() == [0]
    with mmcv_kernels_disabled() as names:
        assert len(names) > 100 and 'nms' in names
        with pytest.raises(MMCVKernelCalled, match='nms'):
            mmcv.ops.nms(*_tiny_nms_input(), iou_threshold=0.5)
        with pytest.raises(MMCVKernelCalled, match='roi_align_forward'):
            mmcv.ops.roi_align(
                torch.rand(1, 1, 4, 4), torch.tensor([[0., 0., 0., 2., 2.]]),
                (2, 2))
    # and the kernels are back afterwards
    assert mmcv.ops.nms(*_tiny_nms_input(), iou_threshold=0.5)[1].tolist() \
        == [0]


@pytest.fixture(scope='module', autouse=True)
def one_torch_thread():
    """Tiny tensors: more threads only wait for each other on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(*parts: str) -> str:
    return osp.join(REPO, 'configs', *parts)


UNET = _config('unet', 'unet-s5-d16_fcn_4xb4-5k_drone-binary-512x512.py')
DEEPLABV3PLUS = _config(
    'deeplabv3plus',
    'deeplabv3plus_r50-d8_4xb8-ce-1.0-lovasz-1.0-5k_drone-5cls-512x512.py')
SEGFORMER = _config('segformer',
                    'segformer_mit-b0-convhead_4xb8-5k_drone-5cls-512x512.py')
UFORMER = _config(
    'uformer', 'uformer_unet-s5-d16-mit-b0_4xb4-5k_drone-binary-512x512.py')
#: U-Net (also UFormer's member 0) with 4 base channels.
NARROW_UNET = {
    'backbone.base_channels': 4,
    'decode_head.in_channels': 4,
    'decode_head.channels': 4,
    'auxiliary_head.in_channels': 8,
    'auxiliary_head.channels': 4,
}
#: MiT-b0 as it is, no pretrained weights, a 64-channel head.
SEGFORMER_NO_PRETRAINED = {
    'backbone.init_cfg': None,
    'decode_head.channels': 64,
}


def _prefixed(prefix: str, options: Dict[str, object]) -> Dict[str, object]:
    return {prefix + k: v for k, v in options.items()}


#: Family -> (zoo config, ``--cfg-options`` that narrow it while keeping
#: every component type, depth, loss and norm, classes). ResNetV1c-50 keeps
#: its 50 layers with 4 base channels (stage outputs 16/32/64/128). Inputs
#: are 64x64 (the U-Net needs multiples of 16, MiT of 32).
FAMILIES: Dict[str, Tuple[str, Dict[str, object], int]] = {
    'fcn_unet_s5-d16': (UNET, _prefixed('model.', NARROW_UNET), 2),
    'deeplabv3plus_r50-d8': (DEEPLABV3PLUS, {
        'model.pretrained': None,
        'model.backbone.stem_channels': 8,
        'model.backbone.base_channels': 4,
        'model.decode_head.in_channels': 128,
        'model.decode_head.channels': 8,
        'model.decode_head.c1_in_channels': 16,
        'model.decode_head.c1_channels': 4,
        'model.auxiliary_head.in_channels': 64,
        'model.auxiliary_head.channels': 4,
    }, 5),
    'segformer_mit-b0_convhead':
    (SEGFORMER, _prefixed('model.', SEGFORMER_NO_PRETRAINED), 5),
    'uformer': (UFORMER,
                dict(
                    _prefixed('model.members.0.', NARROW_UNET),
                    **_prefixed('model.members.1.',
                                SEGFORMER_NO_PRETRAINED)), 2),
}
SIZE = 64
_UNET_PARTS = ('UNet', None, 'FCNHead', 'FCNHead')
_SEGFORMER_PARTS = ('MixVisionTransformer', None, 'SegformerConvHead', None)
#: What each family must have built: (backbone, its depth, decode head,
#: auxiliary head) per segmentor (per member for UFormer).
PARTS = {
    'fcn_unet_s5-d16': [_UNET_PARTS],
    'deeplabv3plus_r50-d8':
    [('ResNetV1c', 50, 'DepthwiseSeparableASPPHead', 'FCNHead')],
    'segformer_mit-b0_convhead': [_SEGFORMER_PARTS],
    'uformer': [_UNET_PARTS, _SEGFORMER_PARTS],
}


def _parts(model: torch.nn.Module) -> List[tuple]:
    """(backbone, depth, decode head, auxiliary head) of each segmentor."""
    segmentors = getattr(model, 'members', [model])
    return [
        (type(m.backbone).__name__, getattr(m.backbone, 'depth', None),
         type(m.decode_head).__name__,
         type(m.auxiliary_head).__name__ if m.with_auxiliary_head else None)
        for m in segmentors
    ]


def _batch(num_classes: int, n: int = 2) -> dict:
    """Raw data as the dataloader gives it: uint8 images, label maps with
    some ignored (255) pixels."""
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(
            torch.randint(
                0, 256, (3, SIZE, SIZE), generator=gen, dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, SIZE, SIZE), generator=gen)
        label[:, :4] = 255
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(SIZE, SIZE),
                ori_shape=(SIZE, SIZE),
                img_path=f'{i}.png'))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('family', list(FAMILIES))
def test_family_trains_and_predicts_without_mmcv_kernels(family):
    path, options, num_classes = FAMILIES[family]
    options = dict(options, **{'model.data_preprocessor.size': (SIZE, SIZE)})
    torch.manual_seed(0)
    with mmcv_kernels_disabled():
        cfg = load_config(path, options)
        with DefaultScope.overwrite_default_scope('mmseg_ext'):
            # SyncBN (every zoo config) -> BN, as the runner does on a CPU
            model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.train()
        data = model.data_preprocessor(_batch(num_classes), training=True)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss)
        loss.backward()
        missing = [
            n for n, p in model.named_parameters()
            if p.requires_grad and p.grad is None
        ]
        assert missing == []
        assert all(
            torch.isfinite(p.grad).all() for p in model.parameters()
            if p.grad is not None)
        model.eval()
        with torch.no_grad():
            results = model.test_step(_batch(num_classes))
        assert [r.pred_sem_seg.data.shape for r in results] == \
            [(1, SIZE, SIZE)] * 2
        assert int(results[0].pred_sem_seg.data.max()) < num_classes
    assert _parts(model) == PARTS[family]
