"""What the dataset converters' command lines share.

:func:`add_converter_args` adds ``--nproc`` and ``--overwrite``;
:func:`cli_errors` turns a
:class:`~mmseg_ext.datasets.converters.common.ConversionError` into an exit
message and a ``SIGTERM`` into a clean exit (the staging folder and the
workers of :func:`~mmseg_ext.datasets.converters.common.run_tasks` are
cleaned up as after Ctrl-C).
"""
import argparse
import functools
import signal
import threading
from typing import Callable, Dict

from mmseg_ext.datasets.converters import ConversionError

__all__ = ['add_converter_args', 'cli_errors']


def add_converter_args(parser: argparse.ArgumentParser,
                       overwrite_help: str) -> None:
    """Add ``--nproc`` and ``--overwrite``, which every converter takes."""
    parser.add_argument(
        '--nproc', type=int, default=1, help='worker processes (default 1)')
    parser.add_argument(
        '--overwrite', action='store_true', help=overwrite_help)


def _raise_terminated(signum: int, frame: object) -> None:
    """SIGTERM handler: exit through the clean-up code (status 143)."""
    raise SystemExit(128 + signum)


def cli_errors(main: Callable[..., Dict]) -> Callable[..., Dict]:
    """Turn a :class:`ConversionError` into an exit message (status 1).

    While ``main`` runs, SIGTERM (``kill PID``) raises ``SystemExit(143)``
    instead of ending the process on the spot, so the staging folder and
    the workers are cleaned up as after Ctrl-C.
    """
    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        # signal handlers can only be set in the main thread
        main_thread = threading.current_thread() is threading.main_thread()
        if main_thread:
            previous = signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            return main(*args, **kwargs)
        except ConversionError as e:
            raise SystemExit(f'error: {e}') from e
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)

    return wrapped
