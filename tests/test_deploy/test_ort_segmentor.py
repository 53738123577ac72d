"""OrtSegmentor: equal to mmseg's own preprocessing, whole/slide inference
and postprocessing around the same graph; batches; errors; drawing; the
``--backend onnxruntime`` of tools/infer.py."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg_ext_deploy import OrtSegmentor
from mmseg_ext_deploy.ort_segmentor import rescale_size, resize_bilinear
from tests.test_deploy import make_metadata, tiny_onnx_model


def _image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _mmseg_predict(model: OrtSegmentor, image: np.ndarray):
    """mmseg 1.2.2's own code around the ONNX graph: mmcv Resize,
    PackSegInputs, SegDataPreProcessor, EncoderDecoder.{whole,slide}_
    inference and BaseSegmentor.postprocess_result.

    Returns:
        tuple: ``(mask (H, W), seg_logits (C, H, W))``; mmseg's seg_logits
        are sigmoid probabilities for a one-channel model.
    """
    from mmcv.transforms import Resize
    from mmengine.config import ConfigDict
    from mmseg.datasets.transforms import PackSegInputs
    from mmseg.models.data_preprocessor import SegDataPreProcessor
    from mmseg.models.segmentors import BaseSegmentor, EncoderDecoder
    meta = model.metadata
    results = dict(
        img=image.copy(), img_shape=image.shape[:2], ori_shape=image.shape[:2])
    if meta['test_resize'] is not None:
        results = Resize(
            scale=tuple(meta['test_resize']['scale']),
            keep_ratio=meta['test_resize']['keep_ratio'])(
                results)
    packed = PackSegInputs()(results)
    test_cfg = {}
    if meta['size_divisor']:
        test_cfg['size_divisor'] = meta['size_divisor']
    if meta['pad_size']:
        test_cfg['size'] = tuple(meta['pad_size'])
    preprocessor = SegDataPreProcessor(
        mean=meta['mean'],
        std=meta['std'],
        bgr_to_rgb=meta['bgr_to_rgb'],
        pad_val=meta['pad_val'],
        test_cfg=test_cfg or None)
    data = preprocessor(
        dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]))

    def encode_decode(inputs, batch_img_metas):
        # the bare graph (OrtSegmentor.run only fills a fixed batch axis)
        return torch.from_numpy(model.run(inputs.numpy()))

    segmentor = SimpleNamespace(
        test_cfg=ConfigDict(
            mode=meta['test_mode'],
            crop_size=meta['crop_size'],
            stride=meta['stride']),
        out_channels=meta['out_channels'],
        align_corners=meta['align_corners'],
        decode_head=SimpleNamespace(threshold=meta['threshold']),
        encode_decode=encode_decode)
    metas = [sample.metainfo for sample in data['data_samples']]
    with torch.no_grad():
        if meta['test_mode'] == 'slide':
            logits = EncoderDecoder.slide_inference(segmentor, data['inputs'],
                                                    metas)
        else:
            logits = encode_decode(data['inputs'], metas)
        sample = BaseSegmentor.postprocess_result(segmentor, logits,
                                                  data['data_samples'])[0]
    return (sample.pred_sem_seg.data[0].numpy(),
            sample.seg_logits.data.numpy())


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('src,dst',
                         [((16, 16), (64, 64)), ((13, 17), (100, 37)),
                          ((64, 48), (32, 20)), ((1, 5), (4, 9)),
                          ((7, 9), (1, 1))])
@pytest.mark.parametrize('channels', [1, 5])
def test_resize_bilinear_equals_torch(src, dst, align_corners, channels):
    """Logits up to ~40: the NumPy transcription of torch's kernel within
    float32 rounding (1e-6 relative), the cv2 path within 1e-3."""
    logits = np.random.default_rng(1).standard_normal(
        (channels, ) + src).astype(np.float32) * 10
    expected = F.interpolate(
        torch.from_numpy(logits)[None],
        size=dst,
        mode='bilinear',
        align_corners=align_corners)[0].numpy()
    exact = resize_bilinear(logits, dst, align_corners, exact=True)
    assert exact.dtype == np.float32 and exact.shape == expected.shape
    np.testing.assert_allclose(exact, expected, rtol=0, atol=1e-4)
    fast = resize_bilinear(logits, dst, align_corners)
    assert fast.dtype == np.float32 and fast.shape == expected.shape
    np.testing.assert_allclose(fast, expected, rtol=0, atol=1e-3)


def test_rescale_size_equals_mmcv():
    from mmcv import rescale_size as mmcv_rescale_size
    for size in [(53, 37), (640, 480), (1500, 1000), (7, 300)]:
        for scale in [(64, 48), (2048, 512), (100, 100)]:
            assert rescale_size(*size, scale) == mmcv_rescale_size(size, scale)


CASES = {
    # name: (out_channels, metadata overrides, image size)
    'whole-5cls-divisor-keepratio':
    (5,
     dict(size_divisor=16, test_resize=dict(scale=[64, 48],
                                            keep_ratio=True)), (37, 53)),
    'whole-binary-padsize-rgb':
    (1, dict(pad_size=[64, 72], bgr_to_rgb=False, threshold=0.3,
             pad_val=1.5), (50, 61)),
    'whole-3cls-resize-noratio-align':
    (3,
     dict(
         test_resize=dict(scale=[40, 24], keep_ratio=False),
         align_corners=True), (45, 31)),
    'slide-4cls-divisor': (4,
                           dict(
                               test_mode='slide',
                               crop_size=[24, 24],
                               stride=[16, 16],
                               size_divisor=8), (50, 70)),
    'slide-binary-smaller-than-crop': (1,
                                       dict(
                                           test_mode='slide',
                                           crop_size=[32, 40],
                                           stride=[20, 20],
                                           threshold=0.35), (20, 90)),
    'slide-3cls-resize-align':
    (3,
     dict(
         test_mode='slide',
         crop_size=[16, 20],
         stride=[10, 12],
         test_resize=dict(scale=[60, 40], keep_ratio=True),
         align_corners=True), (33, 47)),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_equals_mmseg_inference(case, tmp_path):
    out_channels, overrides, size = CASES[case]
    path = tiny_onnx_model(
        str(tmp_path / 'm.onnx'),
        make_metadata(out_channels, **overrides),
        out_channels=out_channels)
    model = OrtSegmentor(path)
    image = _image(*size)
    pred = model.predict(image)
    mask, seg_logits = _mmseg_predict(model, image)
    assert pred.mask.shape == size and pred.mask.dtype == np.uint8
    assert pred.logits.shape == (out_channels, ) + size
    logits = pred.logits
    if out_channels == 1:  # mmseg keeps the sigmoid
        logits = 1 / (1 + np.exp(-logits))
        assert 0 < pred.mask.mean() < 1, 'both classes should occur'
    else:
        assert len(np.unique(pred.mask)) > 1
    np.testing.assert_allclose(logits, seg_logits, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(pred.mask, mask)


def test_slide_is_not_whole(tmp_path):
    """The tiny graph sees its window: sliding gives other logits."""
    meta = make_metadata(
        3, test_mode='slide', crop_size=[16, 16], stride=[8, 8])
    slide = OrtSegmentor(tiny_onnx_model(str(tmp_path / 's.onnx'), meta))
    whole = OrtSegmentor(
        tiny_onnx_model(str(tmp_path / 'w.onnx'), make_metadata(3)))
    image = _image(40, 40)
    assert np.abs(slide.predict(image).logits -
                  whole.predict(image).logits).max() > 1e-2


def test_fixed_shape_slide_equals_mmseg(tmp_path):
    meta = make_metadata(
        4,
        test_mode='slide',
        crop_size=[24, 32],
        stride=[16, 16],
        input_shape=[24, 32],
        dynamic=False)
    model = OrtSegmentor(
        tiny_onnx_model(
            str(tmp_path / 'm.onnx'), meta, 4, input_shape=(24, 32), batch=1))
    assert model.input_shape == (24, 32) and model.fixed_batch == 1
    image = _image(50, 61, seed=3)
    mask, seg_logits = _mmseg_predict(model, image)
    pred = model.predict(image)
    np.testing.assert_allclose(pred.logits, seg_logits, rtol=0, atol=1e-4)
    np.testing.assert_array_equal(pred.mask, mask)
    # smaller than the crop: the fixed graph gets the window padded
    assert model.predict(_image(20, 70)).mask.shape == (20, 70)


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_predict_batch_equals_single(mode, tmp_path):
    extra = dict(
        test_mode='slide', crop_size=[16, 16],
        stride=[12, 12]) if mode == 'slide' else {}
    model = OrtSegmentor(
        tiny_onnx_model(
            str(tmp_path / 'm.onnx'),
            make_metadata(3, size_divisor=16, **extra)),
        max_batch=2)
    images = [
        _image(30, 30, 0),
        _image(20, 40, 1),
        _image(32, 27, 2),
        _image(17, 31, 3)
    ]
    batch = model.predict_batch(images)
    assert len(batch) == len(images)
    for image, pred in zip(images, batch):
        single = model.predict(image)
        np.testing.assert_array_equal(pred.mask, single.mask)
        np.testing.assert_allclose(pred.logits, single.logits, atol=1e-5)


def test_fixed_batch_and_whole_shape(tmp_path):
    meta = make_metadata(
        2, pad_size=[32, 32], input_shape=[32, 32], dynamic=False)
    model = OrtSegmentor(
        tiny_onnx_model(
            str(tmp_path / 'm.onnx'), meta, 2, input_shape=(32, 32), batch=2))
    images = [_image(30, 25, i) for i in range(3)]
    batch = model.predict_batch(images)
    for image, pred in zip(images, batch):
        mask, _ = _mmseg_predict(model, image)
        np.testing.assert_array_equal(pred.mask, mask)
    with pytest.raises(ValueError) as err:
        model.predict(_image(40, 20))
    message = str(err.value)
    assert '32x32 inputs (fixed shape)' in message
    assert '40x20 image becomes 40x32' in message
    assert '--dynamic' in message and '--shape 40 32' in message


def test_not_our_model(tmp_path):
    text = tmp_path / 'notes.onnx'
    text.write_text('not a model')
    with pytest.raises(ValueError, match='not an ONNX model.*pytorch2onnx'):
        OrtSegmentor(str(text))
    plain = tiny_onnx_model(str(tmp_path / 'plain.onnx'), metadata=None)
    with pytest.raises(
            ValueError,
            match='no "mmseg_ext" metadata.*tools/deployment/'
            'pytorch2onnx.py CONFIG CKPT'):
        OrtSegmentor(plain)
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        OrtSegmentor(str(tmp_path / 'missing.onnx'))
    wrong = tiny_onnx_model(
        str(tmp_path / 'wrong.onnx'), make_metadata(5), out_channels=3)
    with pytest.raises(
            ValueError, match='outputs 3 channels.*'
            'out_channels=5'):
        OrtSegmentor(wrong)
    fixed = tiny_onnx_model(
        str(tmp_path / 'fixed.onnx'),
        make_metadata(3, input_shape=[16, 16], dynamic=False),
        input_shape=(32, 32))
    with pytest.raises(ValueError, match='32x32 inputs.*input_shape=\\[16'):
        OrtSegmentor(fixed)
    with pytest.raises(ValueError, match='provider .*Nope'):
        OrtSegmentor(plain, providers=['NopeExecutionProvider'])


@pytest.mark.parametrize('image', [
    np.zeros((8, 8), np.uint8),
    np.zeros((8, 8, 4), np.uint8),
    np.zeros((8, 8, 3), np.float32),
    np.zeros((0, 8, 3), np.uint8), [[1, 2, 3]]
])
def test_bad_image(image, tmp_path):
    model = OrtSegmentor(
        tiny_onnx_model(str(tmp_path / 'm.onnx'), make_metadata(3)))
    with pytest.raises(ValueError, match=r'\(H, W, 3\) uint8 BGR image'):
        model.predict(image)
    with pytest.raises(ValueError, match='image 1 of the batch'):
        model.predict_batch([_image(8, 8), image])


def test_colorize_overlay_shares(tmp_path):
    meta = make_metadata(
        3,
        palette=[[0, 0, 0], [255, 0, 0], [0, 0, 255]],
        classes=['bg', 'red', 'blue'])
    model = OrtSegmentor(tiny_onnx_model(str(tmp_path / 'm.onnx'), meta))
    mask = np.array([[0, 1], [2, 2]], np.uint8)
    colours = model.colorize(mask)
    np.testing.assert_array_equal(  # BGR
        colours, [[[0, 0, 0], [0, 0, 255]], [[255, 0, 0], [255, 0, 0]]])
    np.testing.assert_array_equal(
        model.colorize(np.array([[7]])), [[[255, 255, 255]]])
    image = np.full((2, 2, 3), 100, np.uint8)
    np.testing.assert_array_equal(
        model.overlay(image, mask, opacity=0.25),
        [[[75, 75, 75], [75, 75, 139]], [[139, 75, 75], [139, 75, 75]]])
    assert model.class_shares(mask) == dict(bg=0.25, red=0.25, blue=0.5)
    np.testing.assert_array_equal(model.palette[1], [255, 0, 0])
    with pytest.raises(ValueError, match='opacity'):
        model.overlay(image, mask, opacity=2)


def test_overlay_equals_mmseg_ext_drawing(tmp_path):
    from mmseg_ext.visualization import overlay
    model = OrtSegmentor(
        tiny_onnx_model(str(tmp_path / 'm.onnx'), make_metadata(4), 4))
    image = _image(24, 30)
    mask = model.predict(image).mask
    palette_bgr = np.asarray(model.metadata['palette'], np.uint8)[:, ::-1]
    np.testing.assert_array_equal(
        model.overlay(image, mask, 0.4), overlay(image, mask, palette_bgr,
                                                 0.4))


# ------------------------------------------- tools/infer.py --backend
def _infer_inputs(tmp_path):
    folder = tmp_path / 'in'
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f'good{i}.png'), _image(30 + i, 41, i))
    (folder / 'broken.jpg').write_bytes(b'not an image')
    return folder


def test_infer_tool_onnxruntime(tmp_path):
    from mmseg_ext.cli.infer import main
    model_path = tiny_onnx_model(
        str(tmp_path / 'm.onnx'), make_metadata(3, size_divisor=8))
    folder = _infer_inputs(tmp_path)
    out = tmp_path / 'out'
    code = main([
        model_path,
        str(folder), '--out-dir',
        str(out), '--backend', 'onnxruntime', '--threads', '1', '--opacity',
        '0.4'
    ])
    assert code == 1  # broken.jpg skipped
    model = OrtSegmentor(model_path)
    for i in range(2):
        image = cv2.imread(str(folder / f'good{i}.png'))
        mask = cv2.imread(
            str(out / 'masks' / f'good{i}.png'), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(mask, model.predict(image).mask)
        np.testing.assert_array_equal(
            cv2.imread(str(out / 'overlays' / f'good{i}.png')),
            model.overlay(image, mask, 0.4))
    assert main([
        model_path,
        str(folder / 'good0.png'), '--out-dir',
        str(tmp_path / 'one'), '--backend', 'onnxruntime'
    ]) == 0
    assert main([
        model_path,
        str(folder / 'broken.jpg'), '--out-dir',
        str(tmp_path / 'none'), '--backend', 'onnxruntime'
    ]) == 2


@pytest.mark.parametrize('argv,message', [
    (['m.onnx', 'ckpt.pth', 'in', '--backend', 'onnxruntime'
      ], 'MODEL.onnx INPUT'),
    (['config.py', 'in'], 'CONFIG CKPT INPUT'),
    (['m.onnx', 'in', '--backend', 'onnxruntime', '--cfg-options', 'a=1'
      ], '--cfg-options'),
    (['m.onnx', 'in', '--backend', 'onnxruntime', '--threads', '0'
      ], '--threads'),
])
def test_infer_tool_argument_errors(argv, message, capsys):
    from mmseg_ext.cli.infer import parse_args
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv + ['--out-dir', 'x'])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
