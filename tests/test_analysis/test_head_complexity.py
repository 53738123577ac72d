"""compare_segformer_heads: mmengine's counts for both heads."""
from mmseg_ext.analysis.head_complexity import compare_segformer_heads


def test_conv_head_has_fewer_params_and_counts_flops():
    rows = compare_segformer_heads(
        channels=64, num_classes=5, img_size=(64, 96))
    names = [r['head'] for r in rows]
    assert names == [
        'mmseg SegformerHead', 'SegformerConvHead (deconv)',
        'SegformerConvHead (pixel_shuffle)', 'SegformerConvHead (bilinear)'
    ]
    theirs = rows[0]
    for ours in rows[1:]:
        assert 0 < ours['params'] < theirs['params']
        assert ours['flops'] > 0
    # the 3x3 fusion at 1/4 scale dominates: 9 * 32 * 64 * (16 * 24)
    assert rows[3]['flops'] > 9 * 32 * 64 * 16 * 24
