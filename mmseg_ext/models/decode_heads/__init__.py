from .segformer_conv_head import SegformerConvHead

__all__ = ['SegformerConvHead']
