"""The UFormer benchmark runs and reports every model (no timing checks)."""
import pytest

from mmseg_ext.cli.benchmark_uformer import main
from tests.helpers import UFORMER_DEMO_CONFIG


def test_benchmark_reports_members_sum_and_ratio():
    text = main([
        UFORMER_DEMO_CONFIG, '--shape', '2', '3', '32', '32', '--repeats',
        '1', '--warmup', '0', '--devices', 'cpu'
    ])
    rows = [line for line in text.splitlines() if line.startswith('| ')]
    names = [r.split('|')[1].strip() for r in rows[1:]]
    assert names == [
        'member 0 (UNet, FCNHead)',
        'member 1 (MixVisionTransformer, SegformerConvHead)',
        'sum of members', 'UFormer', 'UFormer / sum'
    ]
    sums = rows[3].split('|')
    members = [r.split('|') for r in rows[1:3]]
    for col in (2, 3):
        total = sum(float(m[col]) for m in members)
        assert float(sums[col]) == pytest.approx(total, abs=0.2)
        assert float(rows[5].split('|')[col].strip().rstrip('x')) > 0
