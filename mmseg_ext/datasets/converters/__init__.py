"""Converters from the datasets' releases to the mmseg folder layout.

Not imported by :mod:`mmseg_ext.datasets`: the command-line entry points in
``tools/dataset_converters/`` import the module they need.
"""
from .common import ConversionError

__all__ = ['ConversionError']
