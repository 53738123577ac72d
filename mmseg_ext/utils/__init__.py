from .synthetic_data import (SYNTHETIC_CLASSES, SYNTHETIC_FLAVOURS,
                             SYNTHETIC_PALETTE, draw_sample, draw_scene,
                             make_synthetic_dataset)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_FLAVOURS', 'SYNTHETIC_PALETTE',
    'draw_sample', 'draw_scene', 'make_synthetic_dataset'
]
