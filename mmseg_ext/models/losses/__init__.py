from .cross_entropy_loss import CrossEntropyLoss, cross_entropy
from .lovasz_loss import LovaszLoss, lovasz_grad, lovasz_loss
from .tversky_loss import TverskyLoss, tversky_loss

__all__ = [
    'CrossEntropyLoss', 'LovaszLoss', 'TverskyLoss', 'cross_entropy',
    'lovasz_grad', 'lovasz_loss', 'tversky_loss'
]
