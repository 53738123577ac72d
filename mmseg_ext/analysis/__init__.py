"""Measurements behind the analysis tools: speed and model complexity.

* :mod:`.benchmark_losses`: forward + backward time of mmseg_ext's losses
  against mmseg's (``tools/analysis_tools/benchmark_losses.py``);
* :mod:`.uformer_benchmark`: each UFormer member alone against the UFormer
  (``tools/analysis_tools/benchmark_uformer.py``);
* :mod:`.model_complexity`: FLOPs and parameters of a segmentor, per UFormer
  member and in total (``tools/analysis_tools/get_flops.py``);
* :mod:`.head_complexity`: SegformerConvHead against mmseg's SegformerHead
  (``tools/analysis_tools/compare_segformer_heads.py``).

The command lines live in :mod:`mmseg_ext.cli`. Nothing is imported here:
each tool imports the module it needs.
"""
