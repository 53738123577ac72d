"""Check Cityscapes, then convert it with mmseg's converter.

    python tools/dataset_converters/cityscapes.py CITYSCAPES_PATH \
        [--gt-dir gtFine] [-o OUT_DIR] [--nproc N] [--overwrite]

Needs ``pip install cityscapesscripts``. See docs/datasets.md.
"""
from mmseg_ext.cli.convert_cityscapes import main

if __name__ == '__main__':
    main()
