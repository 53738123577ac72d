from .load_annotations import (BadAnnotationError, LoadAnnotations,
                               bad_label_counts, bind_label_checks)
from .random_rotate_zoom import RandomRotateZoom, corner_free_zoom

__all__ = [
    'BadAnnotationError', 'LoadAnnotations', 'RandomRotateZoom',
    'bad_label_counts', 'bind_label_checks', 'corner_free_zoom'
]
