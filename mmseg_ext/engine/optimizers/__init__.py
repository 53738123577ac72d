from .default_constructor import DefaultOptimWrapperConstructor

__all__ = ['DefaultOptimWrapperConstructor']
