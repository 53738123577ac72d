from .lovasz_loss import LovaszLoss, lovasz_grad, lovasz_loss
from .tversky_loss import TverskyLoss, tversky_loss

__all__ = [
    'LovaszLoss', 'TverskyLoss', 'lovasz_grad', 'lovasz_loss', 'tversky_loss'
]
