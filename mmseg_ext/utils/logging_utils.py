"""Quieter mmengine logging around chatty library calls."""
import contextlib
import logging
from typing import Iterator

from mmengine.logging import MMLogger

__all__ = ['quiet_logger']


@contextlib.contextmanager
def quiet_logger(level: int = logging.WARNING) -> Iterator[None]:
    """Raise the current mmengine logger's level for the ``with`` block.

    mmengine logs one INFO line per parameter in ``init_weights`` and a
    WARNING per unsupported operator in its complexity analysis.

    Args:
        level (int): The level to log at inside the block.
    """
    logger = MMLogger.get_current_instance()
    previous = logger.level
    logger.setLevel(max(level, previous))
    try:
        yield
    finally:
        logger.setLevel(previous)
