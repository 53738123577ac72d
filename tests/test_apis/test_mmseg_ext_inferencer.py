"""MMSegExtInferencer, and mmseg's own MMSegInferencer on our models."""
import cv2
import numpy as np
import pytest
from mmseg.apis import MMSegInferencer

from mmseg_ext.apis import MMSegExtInferencer, infer_images, init_model
from mmseg_ext.registry import INFERENCERS
from tests.helpers import DEMO_CONFIG


def _images(synthetic_root):
    return [f'{synthetic_root}/img_dir/val/0001.png']


@pytest.mark.parametrize('run,model', [('tiny_unet_run', None),
                                       ('tiny_uformer_run',
                                        'tiny_uformer_model')])
def test_same_masks_as_infer_images(run, model, synthetic_root, tmp_path,
                                    request):
    config, checkpoint, _ = request.getfixturevalue(run)
    model = request.getfixturevalue(model) if model else init_model(
        config, checkpoint)
    images = _images(synthetic_root)
    inferencer = MMSegExtInferencer(config, weights=checkpoint, device='cpu')
    assert inferencer.model.dataset_meta['classes'] == [
        'background', 'obstacle'
    ]
    result = inferencer(images, out_dir=str(tmp_path / 'inferencer'))
    report = infer_images(model, images, str(tmp_path / 'ours'),
                          progress=False)
    np.testing.assert_array_equal(
        result['predictions'],
        cv2.imread(report.written[0][1], cv2.IMREAD_UNCHANGED))
    # mmseg's own writers: pred/00000000_pred.png and vis/<name>
    assert cv2.imread(str(tmp_path / 'inferencer' / 'pred' /
                          '00000000_pred.png')) is not None
    # mmseg's class with scope='mmseg_ext' works for these two configs
    # (no mmseg_ext class inside an mmseg:: part): same predictions
    upstream = MMSegInferencer(model=config, weights=checkpoint,
                               device='cpu', scope='mmseg_ext')
    np.testing.assert_array_equal(upstream(images)['predictions'],
                                  result['predictions'])


def test_config_with_our_head_inside_an_mmseg_part():
    """The demo SegFormer puts SegformerConvHead into mmseg's MiT-b0
    model: mmseg's inferencer builds that part in mmseg's registry."""
    config = ('configs/demo/segformer_mit-b0-c64-convhead_'
              '2xb4-800iter_synthetic-binary-128x128.py')
    with pytest.raises(KeyError, match='SegformerConvHead'):
        MMSegInferencer(model=config, device='cpu', scope='mmseg_ext')
    with pytest.warns(UserWarning, match='without weights'):
        inferencer = INFERENCERS.build(
            dict(type='MMSegExtInferencer', model=config, device='cpu'))
    assert type(inferencer.model.decode_head).__name__ == 'SegformerConvHead'
    mask = inferencer(np.zeros((40, 48, 3), np.uint8))['predictions']
    assert mask.shape == (40, 48)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        MMSegExtInferencer(str(tmp_path / 'nope.py'))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        MMSegExtInferencer(DEMO_CONFIG, weights=str(tmp_path / 'nope.pth'))
