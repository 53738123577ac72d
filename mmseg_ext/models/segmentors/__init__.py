from .default_members import default_uformer_members
from .uformer import UFormer

__all__ = ['UFormer', 'default_uformer_members']
