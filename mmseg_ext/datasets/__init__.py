from .pascal_person_part_dataset import PascalPersonPartDataset
from .semantic_drone_classes import (DRONE_CLASS_MAPS, DRONE_FLAVOURS,
                                     DRONE_SOURCE_CLASSES, drone_id_map)
from .semantic_drone_dataset import SemanticDroneDataset
from .transforms import RandomRotateZoom

__all__ = [
    'PascalPersonPartDataset', 'SemanticDroneDataset', 'RandomRotateZoom',
    'DRONE_CLASS_MAPS', 'DRONE_FLAVOURS', 'DRONE_SOURCE_CLASSES',
    'drone_id_map'
]
