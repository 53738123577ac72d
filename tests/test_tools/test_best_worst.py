"""tools/analysis_tools/best_worst.py: a known ranking, and UFormer's grid."""
import csv
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from torch import nn

from mmseg_ext.cli.best_worst import CSV_NAME, GRID_NAME, main
from mmseg_ext.registry import MODELS
from mmseg_ext.visualization import grid_figure_size


@MODELS.register_module(force=True)
class _MaskFileOracle(BaseSegmentor):
    """Predicts the mask stored in ``pred_dir`` under the image's name."""

    def __init__(self, pred_dir: str, num_classes: int,
                 data_preprocessor=None, train_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.pred_dir = pred_dir
        self.decode_head = nn.Identity()
        self.decode_head.num_classes = num_classes

    def predict(self, inputs, data_samples=None):
        for sample in data_samples:
            name = osp.basename(sample.metainfo['img_path'])
            mask = cv2.imread(osp.join(self.pred_dir, name),
                              cv2.IMREAD_UNCHANGED)
            sample.pred_sem_seg = PixelData(
                data=torch.from_numpy(mask).long()[None])
        return data_samples

    def extract_feat(self, inputs):
        raise NotImplementedError

    def encode_decode(self, inputs, batch_img_metas):
        raise NotImplementedError

    def loss(self, inputs, data_samples):
        raise NotImplementedError

    def _forward(self, inputs, data_samples=None):
        raise NotImplementedError


# 10x10 ground truth: rows 0-4 class 0, rows 5-9 class 1; 3 classes.
GT = np.repeat(np.array([0] * 5 + [1] * 5, np.uint8)[:, None], 10, axis=1)


def _predictions():
    """name -> (prediction, ground truth, mIoU, mAcc), by hand."""
    one_row_wrong = GT.copy()
    one_row_wrong[5] = 0  # class 0: IoU 50/60, class 1: 40/50, acc 1 / 0.8
    third_class = GT.copy()
    third_class[0] = 2  # class 0: 40/50, class 1: 1, class 2 (not in GT): 0
    ignored = np.full_like(GT, 255)
    return {
        'c0.png': (np.zeros_like(GT), GT, 25.0, 50.0),  # all class 0
        'c1.png': (one_row_wrong, GT, (50 / 60 + 40 / 50) / 2 * 100, 90.0),
        'c2.png': (GT.copy(), GT, 100.0, 100.0),  # perfect
        'c3.png': (third_class, GT, 60.0, 90.0),
        'c4.png': (GT.copy(), ignored, float('nan'), float('nan')),
    }


@pytest.fixture(scope='module')
def oracle(tmp_path_factory):
    """A dataset of 5 images and a model predicting crafted masks."""
    root = tmp_path_factory.mktemp('oracle')
    for sub in ('img', 'ann', 'pred'):
        (root / sub).mkdir()
    for name, (pred, gt, _, _) in _predictions().items():
        cv2.imwrite(str(root / 'img' / name), np.full((10, 10, 3), 128,
                                                       np.uint8))
        cv2.imwrite(str(root / 'ann' / name), gt)
        cv2.imwrite(str(root / 'pred' / name), pred)
    config = root / 'oracle.py'
    config.write_text(f"""
default_scope = 'mmseg_ext'
model = dict(type='_MaskFileOracle', pred_dir='{root / 'pred'}',
             num_classes=3, data_preprocessor=dict(type='SegDataPreProcessor'))
test_dataloader = dict(
    batch_size=1, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BaseSegDataset', data_root='{root}',
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        img_suffix='.png', seg_map_suffix='.png',
        metainfo=dict(classes=('a', 'b', 'c'),
                      palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]]),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
""")
    checkpoint = str(root / 'oracle.pth')
    torch.save({'state_dict': {}}, checkpoint)
    return str(config), checkpoint


def _read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize('rank_by,order', [
    ('mIoU', ['c2.png', 'c1.png', 'c3.png', 'c0.png', 'c4.png']),
    # c1 and c3 tie on mAcc (90): mIoU decides
    ('mAcc', ['c2.png', 'c1.png', 'c3.png', 'c0.png', 'c4.png']),
])
def test_known_ranking(oracle, tmp_path, rank_by, order):
    config, checkpoint = oracle
    main([config, checkpoint, '--k', '2', '--rank-by', rank_by,
          '--out-dir', str(tmp_path), '--device', 'cpu'])
    rows = _read_csv(tmp_path / CSV_NAME)
    assert [r['name'] for r in rows] == order
    assert [r['rank'] for r in rows] == ['1', '2', '3', '4', '5']
    expected = _predictions()
    for row in rows:
        _, _, miou, macc = expected[row['name']]
        assert float(row['mIoU']) == pytest.approx(miou, abs=1e-4,
                                                   nan_ok=True)
        assert float(row['mAcc']) == pytest.approx(macc, abs=1e-4,
                                                   nan_ok=True)
    # 2 best (c2, c1) and 2 worst (c0, c3); the unlabelled c4 is neither
    picture = cv2.imread(str(tmp_path / GRID_NAME))
    assert picture.shape[:2] == grid_figure_size(4, 3)


def test_uformer_grid_and_member_columns(tiny_uformer_run, data_options,
                                         tmp_path):
    config, checkpoint, _ = tiny_uformer_run
    rows = main([config, checkpoint, '--k', '1', '--out-dir', str(tmp_path),
                 '--device', 'cpu'] + data_options)
    table = _read_csv(tmp_path / CSV_NAME)
    assert len(table) == len(rows) == 4  # the 4 images of the split
    assert list(table[0]) == [
        'rank', 'name', 'index', 'mIoU', 'mAcc', 'm0_mIoU', 'm0_mAcc',
        'm1_mIoU', 'm1_mAcc'
    ]
    ious = [float(r['mIoU']) for r in table]
    assert ious == sorted(ious, reverse=True)
    # the best and the worst: image | ground truth | m0 | m1 | fused
    picture = cv2.imread(str(tmp_path / GRID_NAME))
    assert picture.shape[:2] == grid_figure_size(2, 5)
    assert picture.std() > 0
