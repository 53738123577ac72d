from .synthetic_data import (SYNTHETIC_CLASSES, SYNTHETIC_PALETTE,
                             draw_sample, make_synthetic_dataset)

__all__ = [
    'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE', 'draw_sample',
    'make_synthetic_dataset'
]
