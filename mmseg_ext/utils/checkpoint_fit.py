"""Does a checkpoint fit a model? Missing, unexpected and mis-shaped keys.

mmengine's ``Runner.load_checkpoint`` loads with ``strict=False``: a
checkpoint of another model is accepted with warnings, ``tools/test.py``
reports the metrics of random weights and ``load_from`` trains from scratch.
:func:`check_checkpoint_fits` compares a checkpoint's ``state_dict`` with a
model's before anything is loaded and raises :class:`CheckpointMismatchError`
naming the file, with counts and examples of each kind of mismatch.
"""
import re
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple

from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import nn

__all__ = [
    'CheckpointMismatchError', 'StateDictDiff', 'checkpoint_state_dict',
    'compare_state_dict', 'check_checkpoint_fits'
]

#: mmengine's default ``revise_keys``: strip a DDP ``module.`` prefix.
DEFAULT_REVISE_KEYS: Sequence[Tuple[str, str]] = ((r'^module\.', ''), )


def _first(items: Sequence[str], count: int) -> str:
    """The first ``count`` items, comma-separated, ``...`` if there are
    more."""
    more = ', ...' if len(items) > count else ''
    return ', '.join(items[:count]) + more


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's weights do not fit the model it is loaded into."""


class StateDictDiff(NamedTuple):
    """How a checkpoint's ``state_dict`` differs from a model's.

    Attributes:
        missing (list[str]): Model keys the checkpoint lacks.
        unexpected (list[str]): Checkpoint keys the model lacks.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``
            for keys present in both with different shapes.
        num_model_keys (int): Keys of the model's ``state_dict``.
    """
    missing: List[str]
    unexpected: List[str]
    mismatched: List[Tuple[str, tuple, tuple]]
    num_model_keys: int

    def __bool__(self) -> bool:
        """True when the checkpoint does not fit exactly."""
        return bool(self.missing or self.unexpected or self.mismatched)

    def describe(self, examples: int = 3) -> str:
        """Counts and the first ``examples`` keys of each kind, one a line."""
        lines = []
        if self.missing:
            lines.append(f'  {len(self.missing)} of the model\'s '
                         f'{self.num_model_keys} keys are missing from the '
                         f'checkpoint: {_first(self.missing, examples)}')
        if self.unexpected:
            lines.append(f'  {len(self.unexpected)} checkpoint keys are not '
                         'in the model (unexpected): '
                         f'{_first(self.unexpected, examples)}')
        if self.mismatched:
            shapes = [
                f'{key} {ckpt} in the checkpoint vs {model} in the model'
                for key, ckpt, model in self.mismatched
            ]
            lines.append(f'  {len(self.mismatched)} keys have another '
                         f'shape: {_first(shapes, examples)}')
        return '\n'.join(lines)


def checkpoint_state_dict(
    checkpoint: Any,
    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS
) -> Dict[str, Any]:
    """The weights of a loaded checkpoint, keys revised as mmengine does.

    Args:
        checkpoint (dict): A loaded checkpoint: ``{'state_dict': ...}`` or
            a bare state dict.
        revise_keys (sequence): ``(pattern, replacement)`` regex pairs
            applied to every key (mmengine's ``revise_keys``).

    Returns:
        dict: Key -> tensor.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'the file holds a {type(checkpoint).__name__}, not a checkpoint '
            'dict')
    state_dict = checkpoint.get('state_dict', checkpoint)
    for pattern, replacement in revise_keys:
        state_dict = {
            re.sub(pattern, replacement, key): value
            for key, value in state_dict.items()
        }
    return state_dict


def compare_state_dict(model: nn.Module,
                       state_dict: Dict[str, Any]) -> StateDictDiff:
    """Compare a state dict with ``model.state_dict()``.

    Args:
        model (nn.Module): The model; a DDP wrapper or a TTA model is
            looked through, as mmengine's loader does.
        state_dict (dict): Key -> tensor, keys as the model names them.

    Returns:
        StateDictDiff: Missing, unexpected and mis-shaped keys, in the
        model's (resp. the checkpoint's) order.
    """
    # mmengine's loader loads into the module inside a wrapper or a TTA
    # model (``--tta``), so their own prefix is not in the checkpoint
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    own = model.state_dict()
    missing = [key for key in own if key not in state_dict]
    unexpected = [key for key in state_dict if key not in own]
    mismatched = []
    for key, value in state_dict.items():
        if key in own and hasattr(value, 'shape') and tuple(
                value.shape) != tuple(own[key].shape):
            mismatched.append(
                (key, tuple(value.shape), tuple(own[key].shape)))
    return StateDictDiff(missing, unexpected, mismatched, len(own))


def check_checkpoint_fits(
    model: nn.Module,
    checkpoint: Any,
    source: str,
    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS,
    hint: str = '') -> StateDictDiff:
    """Raise unless the checkpoint's weights fit ``model`` exactly.

    Args:
        model (nn.Module): The model (not wrapped in DDP).
        checkpoint (dict): The loaded checkpoint.
        source (str): The file, as the error names it.
        revise_keys (sequence): See :func:`checkpoint_state_dict`.
        hint (str): What the user can do, appended to the error.

    Returns:
        StateDictDiff: Empty (falsy) when it fits.

    Raises:
        CheckpointMismatchError: Keys are missing, unexpected or of another
            shape; the message names ``source`` and gives counts and the
            first keys of each kind.
    """
    try:
        diff = compare_state_dict(
            model, checkpoint_state_dict(checkpoint, revise_keys))
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(
            f'Checkpoint {source!r} does not fit the model '
            f'({type(model).__name__}): {err}.{hint}') from None
    if diff:
        raise CheckpointMismatchError(
            f'Checkpoint {source!r} does not fit the model '
            f'({type(model).__name__}):\n{diff.describe()}\n'
            'It was probably written for another config.' + hint)
    return diff
