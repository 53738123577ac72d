"""mmseg_ext: an MMSegmentation 1.x plugin (losses, heads, UFormer, datasets).

Importing it registers every component in the ``mmseg_ext`` child registries
and makes mmengine's checkpoint loading safe under torch >= 2.6
(:mod:`mmseg_ext.utils.safe_checkpoint`). mmseg's own registries are left
unchanged.
"""
from . import datasets, engine, evaluation, models  # noqa: F401
from .registry import SCOPE
from .version import __version__

__all__ = ['__version__', 'SCOPE']
