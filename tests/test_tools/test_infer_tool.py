"""tools/infer.py: masks and overlays, unreadable images, exit codes."""
import shutil
import subprocess
import sys

import cv2
import numpy as np

from mmseg_ext.cli.infer import main
from tests.helpers import REPO


def _inputs(synthetic_root, tmp_path, broken: int):
    folder = tmp_path / 'in'
    folder.mkdir()
    for i in range(2):
        shutil.copy(f'{synthetic_root}/img_dir/val/{i:04d}.png',
                    folder / f'good{i}.png')
    for i in range(broken):
        (folder / f'broken{i}.jpg').write_bytes(b'not an image')
    (folder / 'notes.txt').write_text('not an image either: not listed')
    return folder


def test_unreadable_image_is_named_skipped_exit_1(tiny_unet_run,
                                                 synthetic_root, tmp_path):
    """The real entry point, in a subprocess, for its exit code (UFormer:
    tests/test_apis)."""
    config, checkpoint, _ = tiny_unet_run
    folder = _inputs(synthetic_root, tmp_path, broken=1)
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', config, checkpoint, str(folder),
         '--out-dir', str(out), '--opacity', '0.4'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log
    assert f'skipped {folder}/broken0.jpg' in log
    assert '2 of 3 images predicted' in log
    for i in range(2):
        image = cv2.imread(str(folder / f'good{i}.png'))
        mask = cv2.imread(str(out / 'masks' / f'good{i}.png'),
                          cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and mask.shape == image.shape[:2]
        assert set(np.unique(mask)) <= {0, 1}
        overlay = cv2.imread(str(out / 'overlays' / f'good{i}.png'))
        assert overlay.shape == image.shape
        # background pixels (palette black) are the image at 60 %
        background = mask == 0
        np.testing.assert_allclose(
            overlay[background], image[background] * 0.6, atol=1)
    assert not (out / 'masks' / 'broken0.png').exists()


def test_exit_2_when_nothing_is_readable(tiny_unet_run, synthetic_root,
                                         tmp_path):
    config, checkpoint, _ = tiny_unet_run
    folder = tmp_path / 'in'
    folder.mkdir()
    (folder / 'a.png').write_bytes(b'\x89PNG truncated')
    assert main([config, checkpoint, str(folder), '--out-dir',
                 str(tmp_path / 'out')]) == 2
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert main([config, checkpoint, str(empty), '--out-dir',
                 str(tmp_path / 'out')]) == 2


def test_glob_and_single_file_exit_0(tiny_unet_run, synthetic_root,
                                     tmp_path):
    config, checkpoint, _ = tiny_unet_run
    folder = _inputs(synthetic_root, tmp_path, broken=0)
    assert main([config, checkpoint, f'{folder}/good*.png', '--out-dir',
                 str(tmp_path / 'glob')]) == 0
    assert sorted(p.name for p in (tmp_path / 'glob' / 'masks').iterdir()) \
        == ['good0.png', 'good1.png']
    assert main([config, checkpoint, str(folder / 'good1.png'), '--out-dir',
                 str(tmp_path / 'one')]) == 0
    assert (tmp_path / 'one' / 'overlays' / 'good1.png').is_file()
