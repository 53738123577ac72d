"""Time each UFormer member alone and the UFormer (inference, train step).

    python tools/analysis_tools/benchmark_uformer.py CONFIG \
        [--shape 4 3 256 256] [--repeats 5] [--devices cpu cuda]
"""
from mmseg_ext.cli.benchmark_uformer import main

if __name__ == '__main__':
    main()
