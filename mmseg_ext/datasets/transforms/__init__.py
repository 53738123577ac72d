from .random_rotate_zoom import RandomRotateZoom, corner_free_zoom

__all__ = ['RandomRotateZoom', 'corner_free_zoom']
