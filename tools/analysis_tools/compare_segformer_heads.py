"""Params and FLOPs of SegformerConvHead variants and mmseg's SegformerHead.

    python tools/analysis_tools/compare_segformer_heads.py \
        [--channels 256] [--num-classes 19] [--size 512 512]
"""
from mmseg_ext.cli.compare_segformer_heads import main

if __name__ == '__main__':
    main()
