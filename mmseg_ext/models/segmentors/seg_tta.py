"""mmseg's SegTTAModel with a correct merge for one-channel binary heads."""
from typing import List

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel as MMSegTTAModel
from mmseg.utils import SampleList

from mmseg_ext.registry import MODELS


@MODELS.register_module()
class SegTTAModel(MMSegTTAModel):
    """Test-time augmentation that also works for binary heads.

    For a one-channel head (``out_channels=1``) mmseg's
    ``BaseSegmentor.postprocess_result`` stores ``seg_logits`` as sigmoid
    *probabilities*; mmseg 1.2.2's ``SegTTAModel.merge_preds`` applies the
    sigmoid a second time, so every probability is >= 0.5 and, with the
    usual thresholds, every pixel becomes foreground. This merge averages
    the stored probabilities as they are. Multi-class merging is mmseg's
    (the mean of the softmax of each augmentation's logits).
    """

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """Merge the predictions of each image's augmentations.

        Args:
            data_samples_list (list[list[SegDataSample]]): Per image, its
                augmented predictions; ``seg_logits`` ``(C, H, W)`` already
                un-flipped and resized to the original image.

        Returns:
            list[SegDataSample]: One merged prediction per image, with
            ``pred_sem_seg`` ``(1, H, W)`` and, for binary heads, the mean
            probability as ``seg_logits``.
        """
        if self.module.out_channels > 1:
            return super().merge_preds(data_samples_list)
        threshold = self.module.decode_head.threshold
        predictions = []
        for data_samples in data_samples_list:
            probs = torch.stack(
                [s.seg_logits.data for s in data_samples]).mean(0)
            merged = data_samples[0].clone()
            merged.set_data({
                'seg_logits': PixelData(data=probs),
                'pred_sem_seg': PixelData(data=(probs > threshold).to(probs))
            })
            predictions.append(merged)
        return predictions
