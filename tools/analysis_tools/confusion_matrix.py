"""Confusion matrix: ``confusion_matrix.py CONFIG CKPT --out PNG``."""
from mmseg_ext.cli.confusion_matrix import main

if __name__ == '__main__':
    main()
