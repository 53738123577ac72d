"""Tune UFormer's member weights: ``tune_uformer_weights.py CONFIG [CKPT]``."""
from mmseg_ext.cli.tune_uformer_weights import main

if __name__ == '__main__':
    main()
