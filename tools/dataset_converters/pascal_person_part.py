"""Convert Pascal-Person-Part (id or colour PNG release + VOC images) to the
mmseg layout.

    python tools/dataset_converters/pascal_person_part.py SRC OUT \
        [--voc-images DIR] [--lists DIR] [--color-tolerance D] \
        [--nproc N] [--overwrite]

See docs/datasets.md.
"""
from mmseg_ext.cli.convert_pascal_person_part import main

if __name__ == '__main__':
    main()
