"""Predict images: ``python tools/infer.py CONFIG CKPT INPUT --out-dir DIR``.

Exit codes: 0 all predicted, 1 some unreadable images skipped, 2 none read.
"""
import sys

from mmseg_ext.cli.infer import main

if __name__ == '__main__':
    sys.exit(main())
