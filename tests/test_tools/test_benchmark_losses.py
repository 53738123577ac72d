"""tools/analysis_tools/benchmark_losses.py on a tiny shape."""
import pytest

from mmseg_ext.analysis.benchmark_losses import make_inputs
from mmseg_ext.cli.benchmark_losses import main
from tests.helpers import run_tool

ROWS = [
    'cross-entropy (mmseg)', 'TverskyLoss, mmseg', 'TverskyLoss, mmseg_ext',
    'LovaszLoss per image, mmseg', 'LovaszLoss per image, mmseg_ext',
    'torch.sort floor, per image', 'LovaszLoss batch, mmseg',
    'int32-view sort, per image', 'LovaszLoss batch, mmseg_ext',
    'torch.sort floor, batch', 'int32-view sort, batch'
]


def test_prints_every_row_and_target(capsys):
    main([
        '--shape', '2', '16', '24', '--classes', '3', '--repeats', '2',
        '--warmup', '0', '--device', 'cpu'
    ])
    out = capsys.readouterr().out
    assert 'logits (2, 3, 16, 24)' in out
    assert 'median of 2' in out
    for row in ROWS:
        assert f'| {row} |' in out
    for target in ('Tversky ours / CE', 'Tversky mmseg / ours',
                   'Lovasz per image mmseg / ours',
                   'Lovasz per image ours / sort floor',
                   'Lovasz batch ours / sort floor'):
        assert target in out
    assert out.count('(information)') == 2


def test_inputs_have_segments_and_ignored_pixels():
    inputs = make_inputs((2, 32, 32), 5, ignore_ratio=0.1)
    labels = inputs['labels']
    assert inputs['logits'].shape == (2, 5, 32, 32)
    ignored = (labels == 255).float().mean().item()
    assert 0.05 < ignored < 0.15
    assert set(labels.unique().tolist()) <= {0, 1, 2, 3, 4, 255}


def test_entry_point_and_bad_options():
    proc = run_tool([
        'bash', '-c',
        ('"$PYTHON" tools/analysis_tools/benchmark_losses.py '
         '--shape 1 8 8 --classes 2 --repeats 1 --warmup 0')
    ])
    assert '| TverskyLoss, mmseg_ext |' in proc.stdout
    with pytest.raises(SystemExit):
        main(['--classes', '1'])
