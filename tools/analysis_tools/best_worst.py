"""k best and k worst images: ``best_worst.py CONFIG CKPT --out-dir DIR``."""
from mmseg_ext.cli.best_worst import main

if __name__ == '__main__':
    main()
