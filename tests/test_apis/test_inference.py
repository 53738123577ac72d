"""mmseg_ext.apis: init_model, infer_images, inputs and output names."""
import os

import cv2
import numpy as np
import pytest
import torch

from mmseg_ext.apis import (InferenceReport, build_split_dataset,
                            infer_images, init_model, iter_predictions,
                            list_images, model_num_classes, output_names)
from mmseg_ext.utils.safe_checkpoint import UnsafeCheckpointError
from mmseg_ext.models.segmentors.uformer import UFormer
from tests.helpers import UFORMER_DEMO_CONFIG, crafted_checkpoint


def test_init_model_uformer_meta_and_predictions(tiny_uformer_model):
    model = tiny_uformer_model
    assert isinstance(model, UFormer) and not model.training
    assert model.dataset_meta == dict(
        classes=['background', 'obstacle'], palette=[[0, 0, 0],
                                                     [255, 0, 0]])
    model.keep_member_preds = True
    dataset = build_split_dataset(model.cfg, 'test')
    try:
        samples = list(
            iter_predictions(model, dataset, [2, 0], progress=False))
    finally:
        model.keep_member_preds = False
    assert [os.path.basename(s.img_path) for s in samples] == [
        '0002.png', '0000.png'
    ]
    for sample in samples:
        assert sample.pred_sem_seg.shape == sample.gt_sem_seg.shape
        assert 'pred_sem_seg_m0' in sample and 'pred_sem_seg_m1' in sample


def test_init_model_errors(tiny_unet_run, tiny_uformer_run, tmp_path):
    config, checkpoint, _ = tiny_unet_run
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(config, str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='Config file'):
        init_model(str(tmp_path / 'missing.py'), checkpoint)
    # a UFormer checkpoint for the U-Net config: refused, not half-loaded
    with pytest.raises(RuntimeError, match='does not fit the config'):
        init_model(config, tiny_uformer_run[1])
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='use --device cpu'):
            init_model(config, checkpoint, device='cuda')
    crafted, marker = crafted_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError):
        init_model(config, crafted)
    assert not os.path.exists(marker)


def test_list_images_and_output_names(tmp_path):
    (tmp_path / 'sub').mkdir()
    for name in ('b.PNG', 'a.jpg', 'a.png', 'sub/c.png', 'notes.txt'):
        (tmp_path / name).write_bytes(b'')
    assert [os.path.basename(p) for p in list_images(str(tmp_path))] == [
        'a.jpg', 'a.png', 'b.PNG'
    ]
    assert [os.path.relpath(p, tmp_path) for p in list_images(
        f'{tmp_path}/**/*.png')] == ['a.png', 'sub/c.png']
    assert list_images(str(tmp_path / 'a.jpg')) == [str(tmp_path / 'a.jpg')]
    with pytest.raises(FileNotFoundError, match='not a file, a folder'):
        list_images(str(tmp_path / 'nothing.png'))
    paths = [str(tmp_path / n) for n in ('a.jpg', 'a.png', 'b.PNG',
                                         'sub/c.png')]
    assert output_names(paths) == ['a_jpg.png', 'a_png.png', 'b.png',
                                   'sub/c.png']


def test_report_exit_codes():
    assert InferenceReport([('a', 'm', 'o')], []).exit_code == 0
    assert InferenceReport([('a', 'm', 'o')], [('b', 'bad')]).exit_code == 1
    assert InferenceReport([], [('b', 'bad')]).exit_code == 2
    assert InferenceReport().exit_code == 2


def test_binary_one_channel_uformer(synthetic_root, tmp_path):
    """out_channels=1 (sigmoid heads, thresholded): masks of 0 and 1."""
    model = init_model(UFORMER_DEMO_CONFIG, cfg_options={
        'model.out_channels': 1, 'model.threshold': 0.5})
    assert model.out_channels == 1 and model_num_classes(model) == 2
    image = f'{synthetic_root}/img_dir/val/0000.png'
    report = infer_images(model, [image], str(tmp_path), progress=False)
    mask = cv2.imread(report.written[0][1], cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.shape == (32, 32)
    assert set(np.unique(mask)) <= {0, 1}
