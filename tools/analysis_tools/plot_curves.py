"""Plot training curves: ``plot_curves.py WORK_DIR... --out PNG``."""
from mmseg_ext.cli.plot_curves import main

if __name__ == '__main__':
    main()
