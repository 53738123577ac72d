"""Time CE, Tversky and Lovász losses (mmseg vs mmseg_ext), fwd + bwd.

``python tools/analysis_tools/benchmark_losses.py [--shape N H W]
[--classes C] [--repeats R]``; see :mod:`mmseg_ext.analysis.benchmark_losses`.
"""
from mmseg_ext.cli.benchmark_losses import main

if __name__ == '__main__':
    main()
