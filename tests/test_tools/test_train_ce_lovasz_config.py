"""The CE + Lovász example config trains through ``tools/train.py``."""
import os.path as osp
import re

from tests.helpers import REPO, as_cli_options, run_tool, tiny_cfg_options

CONFIG = osp.join(
    REPO, 'configs', 'demo',
    'unet-s5-d16-c16_fcn-ce-lovasz_2xb4-800iter_synthetic-binary-128x128.py')


def test_ce_lovasz_config_trains_and_logs_both_losses(synthetic_root,
                                                      tmp_path):
    options = tiny_cfg_options(synthetic_root, max_iters=3, interval=3)
    proc = run_tool([
        'bash', '-c', '"$PYTHON" tools/train.py "$@"', '_', CONFIG,
        '--work-dir',
        str(tmp_path), '--cfg-options', *as_cli_options(options)
    ])
    log = proc.stdout + proc.stderr
    assert osp.isfile(tmp_path / 'iter_3.pth')
    # every logged iteration reports both decode losses and the aux CE
    lines = [ln for ln in log.splitlines() if 'Iter(train)' in ln]
    assert len(lines) == 3, log[-3000:]
    for line in lines:
        for name in ('decode.loss_ce', 'decode.loss_lovasz', 'aux.loss_ce'):
            value = re.search(rf'{re.escape(name)}: ([0-9.]+)', line)
            assert value and float(value.group(1)) > 0, (name, line)
    assert 'mIoU' in log
