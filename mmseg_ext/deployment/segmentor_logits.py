"""The module that ``pytorch2onnx`` exports: a segmentor's logits."""
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from torch import Tensor, nn

__all__ = ['SegmentorLogits']


class SegmentorLogits(nn.Module):
    """Map a normalised batch to the segmentor's logits at its size.

    The graph of a deployed file (``docs/deployment.md``): one input
    ``(N, 3, H, W)``, already normalised, colour-converted and padded as the
    segmentor's data preprocessor does, and one output, the logits
    ``(N, C, H, W)`` at the input's size. ``C`` is the head's
    ``out_channels`` (1 for a binary sigmoid head).

    It is the segmentor's whole-image inference (``encode_decode``)
    through mmseg's public tensor mode, ``segmentor(input, mode='tensor')``:
    for an ``EncoderDecoder`` the decode head's logits, resized here
    (bilinear, the head's ``align_corners``) to the input as its
    ``predict_by_feat`` does; for a
    :class:`~mmseg_ext.models.segmentors.UFormer` every member's logits
    resized to the input and fused by ``UFormer.fuse`` (weights,
    ``'logits'``/``'probs'``, one channel), the code ``UFormer.predict``
    runs. The tensor mode is used rather than ``encode_decode`` because
    the latter takes the output size from image metas, which UFormer
    deep-copies: a traced dynamic size would become a constant. Sliding-window
    inference is left to the runtime, which calls this graph once per
    window (with ``fuse='probs'`` and overlapping windows that is not
    UFormer's order of operations: :func:`~mmseg_ext.deployment.
    export_metadata` refuses that case).

    Args:
        segmentor (BaseSegmentor): A built mmseg segmentor in eval mode
            (heads checked by :func:`~mmseg_ext.deployment.
            check_exportable`).
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        if not isinstance(segmentor, BaseSegmentor):
            raise TypeError(
                f'{type(segmentor).__name__} is not an mmseg segmentor: only '
                'BaseSegmentor subclasses (EncoderDecoder, '
                'CascadeEncoderDecoder, UFormer) can be exported.')
        self.segmentor = segmentor
        self.align_corners = bool(getattr(segmentor, 'align_corners', False))

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 (ONNX name)
        """Logits of a normalised batch.

        Args:
            input (Tensor): ``(N, 3, H, W)`` normalised images.

        Returns:
            Tensor: ``(N, C, H, W)`` float32 logits.
        """
        logits = self.segmentor(input, None, mode='tensor')
        if logits.shape[2:] != input.shape[2:]:
            logits = resize(
                logits,
                size=input.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners,
                warning=False)
        return logits.float()
