"""tools/analysis_tools/get_flops.py: per-member and total counts."""
from mmseg_ext.cli.get_flops import main
from tests.helpers import DEMO_CONFIG, UFORMER_DEMO_CONFIG


def test_uformer_rows_per_member_and_total(capsys):
    rows = main([UFORMER_DEMO_CONFIG, '--shape', '40', '40'])
    out = capsys.readouterr().out
    # rounded up to the preprocessor's size_divisor (32)
    assert 'input 1x3x64x64' in out
    assert [r['name'] for r in rows] == ['m0', 'm1', 'total']
    m0, m1, total = rows
    assert 'UNet' in m0['model'] and 'MixVisionTransformer' in m1['model']
    # the members are the UFormer's only parameters; the fusion adds a
    # weighted sum (a few FLOPs per pixel) on top of the members'
    assert total['params'] == m0['params'] + m1['params']
    assert total['aux_params'] == m0['aux_params'] > 0
    assert 0 <= total['flops'] - (m0['flops'] + m1['flops']) \
        < 0.01 * total['flops']
    assert '| m0 |' in out and '| total |' in out


def test_single_model_excludes_auxiliary_head():
    rows = main([DEMO_CONFIG])  # default shape: the preprocessor's size
    assert [r['name'] for r in rows] == ['model']
    # fcn_unet_s5-d16 at base_channels=16: the auxiliary FCN head holds a
    # bias-free 3x3 conv 32->16 (32*16*9), BN affine (2*16) and a 2-class
    # 1x1 classifier (16*2 + 2): 4674 parameters
    assert rows[0]['aux_params'] == 32 * 16 * 9 + 2 * 16 + 16 * 2 + 2
    assert rows[0]['flops'] > 0
