"""PyTorch eager vs onnxruntime on the CPU for a UFormer and its members.

    python tools/analysis_tools/benchmark_deploy.py [CONFIG] \
        [--checkpoint CKPT] [--shape 512 512] [--threads N] [--repeats 10]
"""
from mmseg_ext.cli.benchmark_deploy import main

if __name__ == '__main__':
    main()
