"""Train a segmentor: ``python tools/train.py CONFIG [--resume] [--amp]``."""
from mmseg_ext.cli.train import main

if __name__ == '__main__':
    main()
