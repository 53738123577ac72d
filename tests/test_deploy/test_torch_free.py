"""mmseg_ext_deploy runs where torch, mmcv, mmseg and mmengine cannot be
imported: a subprocess whose import system refuses them."""
import subprocess
import sys
import textwrap

import numpy as np

from mmseg_ext_deploy import OrtSegmentor
from tests.helpers import REPO
from tests.test_deploy import make_metadata, tiny_onnx_model

BLOCKED = ('torch', 'torchvision', 'mmcv', 'mmseg', 'mmengine', 'mmpretrain',
           'mmseg_ext', 'onnx')

# Installed before anything else runs: importing a BLOCKED package (or a
# submodule of one) raises ImportError, as on a machine without them.
PREAMBLE = f"""
import sys
BLOCKED = {BLOCKED!r}
already = [name for name in sys.modules if name.split('.')[0] in BLOCKED]
assert not already, f'imported at startup: {{already}}'

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError(f'{{name}} is blocked in this test')
        return None

sys.meta_path.insert(0, Refuse())
try:
    import torch
except ImportError:
    pass
else:
    raise AssertionError('the blocker does not work')
"""

SCRIPT = """
import cv2
import numpy as np
import mmseg_ext_deploy
from mmseg_ext_deploy import OrtSegmentor, load_metadata

whole_path, slide_path, out_path = sys.argv[1:4]
image = np.random.default_rng(0).integers(0, 256, (37, 45, 3), np.uint8)
whole = OrtSegmentor(whole_path, intra_op_num_threads=1)
slide = OrtSegmentor(slide_path, intra_op_num_threads=1)
assert load_metadata(whole_path)['classes'] == whole.classes
pred = whole.predict(image)
batch = whole.predict_batch([image, image[:20]])
assert (batch[0].mask == pred.mask).all()
assert whole.overlay(image, pred.mask).shape == image.shape
assert abs(sum(whole.class_shares(pred.mask).values()) - 1) < 1e-9
np.savez(out_path, whole=pred.mask, slide=slide.predict(image).mask,
         logits=pred.logits)
loaded = [name for name in sys.modules if name.split('.')[0] in BLOCKED]
assert not loaded, loaded
print('torch-free ok')
"""


def test_runtime_without_torch_mmcv_mmseg_mmengine(tmp_path):
    whole_path = tiny_onnx_model(
        str(tmp_path / 'whole.onnx'), make_metadata(4, size_divisor=16), 4)
    slide_path = tiny_onnx_model(
        str(tmp_path / 'slide.onnx'),
        make_metadata(
            1,
            test_mode='slide',
            crop_size=[16, 16],
            stride=[8, 8],
            threshold=0.4), 1)
    out_path = str(tmp_path / 'out.npz')
    code = textwrap.dedent(PREAMBLE) + textwrap.dedent(SCRIPT)
    proc = subprocess.run(
        [sys.executable, '-c', code, whole_path, slide_path, out_path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'torch-free ok' in proc.stdout
    # and it predicted what the same runtime predicts here
    image = np.random.default_rng(0).integers(0, 256, (37, 45, 3), np.uint8)
    saved = np.load(out_path)
    np.testing.assert_array_equal(saved['whole'],
                                  OrtSegmentor(whole_path).predict(image).mask)
    np.testing.assert_array_equal(saved['slide'],
                                  OrtSegmentor(slide_path).predict(image).mask)
