"""tools/analysis_tools/benchmark_deploy.py: one run, both backends."""
from mmseg_ext.cli.benchmark_deploy import main
from mmseg_ext.deployment import load_segmentor
from mmseg_ext.deployment.benchmark import models_to_time
from tests.helpers import DEMO_CONFIG, UFORMER_DEMO_CONFIG


def test_table_rows_and_parity(capsys):
    text = main([
        DEMO_CONFIG, '--shape', '32', '32', '--threads', '1', '--repeats', '1',
        '--warmup', '0'
    ])
    assert text == capsys.readouterr().out.strip()
    assert '1 threads' in text and 'initialised weights' in text
    lines = [
        line for line in text.splitlines()
        if line.startswith('| EncoderDecoder')
    ]
    assert len(lines) == 1
    speedup, diff = lines[0].strip('| ').split(' | ')[-2:]
    assert speedup.endswith('x') and float(speedup[:-1]) > 0
    assert float(diff) <= 1e-3


def test_uformer_rows_name_each_member():
    model = load_segmentor(UFORMER_DEMO_CONFIG, None)[0]
    names = [name for name, _ in models_to_time(model)]
    assert names == [
        'UFormer', 'member 0 (UNet + FCNHead)',
        'member 1 (MixVisionTransformer + SegformerConvHead)'
    ]
