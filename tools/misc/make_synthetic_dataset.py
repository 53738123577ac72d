"""Write the generated drone-like demo/test dataset in the mmseg layout.

    python tools/misc/make_synthetic_dataset.py data/synthetic \
        --train 400 --val 100 --size 128 --seed 0 --flavour binary
    python tools/misc/make_synthetic_dataset.py data/synthetic_5cls \
        --flavour multiclass
"""
from mmseg_ext.cli.make_synthetic_dataset import main

if __name__ == '__main__':
    main()
