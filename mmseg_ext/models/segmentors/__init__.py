from .default_members import default_uformer_members
from .seg_tta import SegTTAModel
from .uformer import UFormer

__all__ = ['SegTTAModel', 'UFormer', 'default_uformer_members']
