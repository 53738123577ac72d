"""Evaluate a checkpoint: ``python tools/test.py CONFIG CKPT [--out DIR]``."""
from mmseg_ext.cli.test import main

if __name__ == '__main__':
    main()
