"""FLOPs and parameters: ``get_flops.py CONFIG [--shape H W]``."""
from mmseg_ext.cli.get_flops import main

if __name__ == '__main__':
    main()
