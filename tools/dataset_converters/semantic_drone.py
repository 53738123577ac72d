"""Convert the Semantic Drone Dataset to the mmseg layout.

    python tools/dataset_converters/semantic_drone.py SRC OUT \
        [--flavour binary|multiclass|both] [--size W H | --scale F] \
        [--tile T] [--test-count 50] [--val-ratio 0.2] [--seed 0] \
        [--id-map FILE] [--nproc N] [--overwrite]

See docs/datasets.md.
"""
from mmseg_ext.cli.convert_semantic_drone import main

if __name__ == '__main__':
    main()
