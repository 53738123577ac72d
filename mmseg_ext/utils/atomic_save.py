"""Write files so that a crash never leaves a truncated one behind."""
import os
from typing import Any

import torch

__all__ = ['commit_part', 'atomic_torch_save', 'atomic_write_text']


def commit_part(part: str, path: str) -> None:
    """Flush ``part`` to disk and rename it to ``path`` (atomic on POSIX).

    Args:
        part (str): The complete temporary file.
        path (str): Its final name.
    """
    with open(part, 'rb+') as f:
        os.fsync(f.fileno())
    os.replace(part, path)


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path + '.part'``, then :func:`commit_part`.

    Args:
        obj (Any): What to save.
        path (str): The final file name.
    """
    part = f'{path}.part'
    torch.save(obj, part)
    commit_part(part, path)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path + '.part'``, then :func:`commit_part`.

    Args:
        text (str): The file's whole content.
        path (str): The final file name.
    """
    part = f'{path}.part'
    with open(part, 'w') as f:
        f.write(text)
    commit_part(part, path)
