"""mmseg's ``IoUMetric`` that also keeps the per-class table for reports."""
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np
import torch
from mmseg.evaluation.metrics import IoUMetric

from mmseg_ext.registry import METRICS

__all__ = ['PerClassIoUMetric']


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """``IoUMetric`` whose per-class results stay readable after evaluation.

    It computes, logs and returns exactly what mmseg's ``IoUMetric`` does
    (``aAcc``, ``mIoU``, ``mAcc`` ... in percent, plus the printed per-class
    table). In addition :attr:`last_report` holds the per-class values of the
    last evaluation so that ``tools/test.py`` can write them as JSON.
    (mAcc is also known as "mPA", mean pixel accuracy.)

    Args:
        **kwargs: Same as :class:`mmseg.evaluation.metrics.IoUMetric`.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.last_report: Optional[Dict] = None

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Compute summary metrics and remember the per-class table.

        Args:
            results (list): Per-image ``(intersect, union, pred_area,
                label_area)`` tuples, each a tensor of shape ``(C,)``.

        Returns:
            dict[str, float]: The summary metrics mmseg's IoUMetric returns.
        """
        areas = tuple(zip(*results))
        totals = [torch.stack(area).sum(0) for area in areas]
        per_class = self.total_area_to_metrics(*totals, self.metrics,
                                               self.nan_to_num, self.beta)
        summary = super().compute_metrics(results)
        per_class.pop('aAcc', None)
        classes = list(self.dataset_meta['classes'])
        report: Dict = OrderedDict(classes=classes, summary={})
        report['summary'] = {k: float(v) for k, v in summary.items()}
        report['per_class'] = {
            name: {
                cls: (None if np.isnan(value) else round(float(value) * 100,
                                                         2))
                for cls, value in zip(classes, np.asarray(values))
            }
            for name, values in per_class.items()
        }
        self.last_report = report
        return summary
