"""Shared converter helpers: the training decoder, workers, clean-up."""
import multiprocessing
import os
import os.path as osp
import time

import cv2
import mmcv
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile

from mmseg_ext.datasets.converters import ConversionError
from mmseg_ext.datasets.converters.common import (read_image, run_tasks,
                                                  staged_output)


def _truncated_jpeg(tmp_path, share: float = 0.7):
    """A complete 96x64 JPEG and a copy of its first ``share`` bytes."""
    y, x = np.mgrid[0:64, 0:96]
    photo = np.stack([x * 2, y * 3, (x + y) % 256], -1).astype(np.uint8)
    whole = str(tmp_path / 'whole.jpg')
    cv2.imwrite(whole, photo)
    with open(whole, 'rb') as f:
        data = f.read()
    cut = str(tmp_path / 'cut.jpg')
    with open(cut, 'wb') as f:
        f.write(data[:int(len(data) * share)])
    return whole, cut


def test_truncated_jpeg_is_refused_as_training_would(tmp_path):
    """cv2.imread decodes a JPEG cut at 70 %; the training loader cannot.
    The converter must refuse what training cannot load (was: accepted)."""
    whole, cut = _truncated_jpeg(tmp_path)
    assert cv2.imread(cut) is not None  # the lenient decoder
    with open(cut, 'rb') as f:
        assert mmcv.imfrombytes(f.read()) is None  # the training decoder
    with pytest.raises(AssertionError, match='failed to load image'):
        LoadImageFromFile().transform(dict(img_path=cut))
    with pytest.raises(ConversionError) as info:
        read_image(cut)
    message = str(info.value)
    assert cut in message and 'mmcv.imfrombytes' in message
    assert 'without its end marker' in message
    assert 'Download or unpack it again' in message
    # a complete JPEG reads as the training loader reads it
    np.testing.assert_array_equal(
        read_image(whole),
        LoadImageFromFile().transform(dict(img_path=whole))['img'])


def test_empty_image_file_is_a_conversion_error(tmp_path):
    path = tmp_path / 'empty.jpg'
    path.write_bytes(b'')
    with pytest.raises(ConversionError, match='empty.jpg \\(0 bytes\\)'):
        read_image(str(path))


def _task(task):
    """Task 0 fails at once; the others write a file after a while."""
    index, folder = task
    if index == 0:
        raise ConversionError('bad file')
    time.sleep(1.0)
    with open(osp.join(folder, f'{index}.txt'), 'w') as f:
        f.write('late')
    return index


def test_a_failing_task_stops_every_worker_before_it_raises(tmp_path):
    """Was: the pool ran on and wrote into the output after the error."""
    tasks = [(i, str(tmp_path)) for i in range(4)]
    with pytest.raises(ConversionError, match='bad file'):
        run_tasks(_task, tasks, nproc=2)
    assert multiprocessing.active_children() == []
    time.sleep(1.5)
    assert os.listdir(tmp_path) == []


def test_run_tasks_keeps_order_with_workers(tmp_path):
    tasks = [(i, str(tmp_path)) for i in range(1, 4)]
    assert run_tasks(_task, tasks, nproc=2) == [1, 2, 3]


def test_a_failed_first_conversion_removes_the_output_it_created(tmp_path):
    """Was: an empty OUT (and its new parents) stayed behind."""
    out = tmp_path / 'new' / 'parent' / 'out'
    with pytest.raises(ConversionError):
        with staged_output(str(out), ['a'], overwrite=False) as staging:
            open(osp.join(staging, 'a'), 'w').close()
            raise ConversionError('bad file')
    assert os.listdir(tmp_path) == []
    # a folder that was there before stays, empty as it was
    out = tmp_path / 'existing'
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        with staged_output(str(out), ['a'], overwrite=False):
            raise KeyboardInterrupt
    assert os.listdir(out) == []
