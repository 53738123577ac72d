"""Distributed set-up that works the same with and without CUDA.

mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` for the
``pytorch`` and ``slurm`` launchers, so ``tools/dist_train.sh CFG 2`` dies on
a machine without a GPU. :func:`init_dist_auto` picks the backend from the
config (``env_cfg.dist_cfg.backend``):

* ``'auto'`` (mmseg_ext's default): ``'nccl'`` when CUDA is available, else
  ``'gloo'``;
* ``'nccl'`` without CUDA cannot work: it falls back to ``'gloo'`` with a
  warning, so configs inheriting mmseg's ``default_runtime`` still run on CPU;
* any other explicit value (``'gloo'``, ``'mpi'``) is used as given.

With CUDA it delegates to mmengine (one GPU per process); without CUDA it
initialises the process group itself from the launcher's environment.
"""
import contextlib
import datetime
import gc
import logging
import os
import shutil
import subprocess
from typing import Any, Dict, Iterator, Tuple

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist
from mmengine.logging import print_log

__all__ = [
    'check_backend_name', 'resolve_dist_backend', 'init_dist_auto',
    'launcher_env', 'shutdown_dist', 'dist_session'
]

_BACKENDS = ('auto', 'nccl', 'gloo', 'mpi')


def check_backend_name(requested: str) -> None:
    """Raise unless ``requested`` names a backend :func:`resolve_dist_backend`
    knows; single-process runs check it too, so a typo does not wait for
    the first distributed run.

    Args:
        requested (str): ``env_cfg.dist_cfg.backend``.

    Raises:
        ValueError: ``requested`` is not one of the known backends.
    """
    if requested not in _BACKENDS:
        raise ValueError(
            f'env_cfg.dist_cfg.backend={requested!r} is not supported; use '
            f'one of {_BACKENDS} (auto = nccl with CUDA, gloo without).')


def resolve_dist_backend(requested: str = 'auto',
                         cuda_available: bool = None) -> str:
    """Choose the ``torch.distributed`` backend.

    Args:
        requested (str): ``'auto'``, ``'nccl'``, ``'gloo'`` or ``'mpi'``.
        cuda_available (bool, optional): Override for
            ``torch.cuda.is_available()`` (used by tests).

    Returns:
        str: The backend to initialise.

    Raises:
        ValueError: ``requested`` is not one of the known backends.
    """
    check_backend_name(requested)
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if requested == 'auto':
        return 'nccl' if cuda_available else 'gloo'
    if requested == 'nccl' and not cuda_available:
        print_log(
            "env_cfg.dist_cfg.backend='nccl' needs CUDA, which this machine "
            "does not have: using 'gloo' instead. Set backend='auto' to "
            'silence this warning.',
            logger='current',
            level=logging.WARNING)
        return 'gloo'
    return requested


def launcher_env(launcher: str, environ: Dict[str, str] = None) -> Dict[
        str, str]:
    """The ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*`` variables.

    ``torchrun`` (``launcher='pytorch'``) sets them itself; slurm and Open MPI
    name them differently. The returned mapping is what ``env://``
    initialisation reads. Under slurm, ``MASTER_ADDR`` (when not set) is the
    first host of ``SLURM_NODELIST``, expanded by ``scontrol show
    hostnames``; a missing ``scontrol`` or a failing call is an error at
    once, never a bogus address that leaves the ranks waiting for the
    timeout.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        environ (dict, optional): The environment to read (defaults to
            ``os.environ``).

    Returns:
        dict: Variables to set in ``os.environ``.

    Raises:
        ValueError: Unknown launcher.
        RuntimeError: A variable the launcher should have set is missing or
            not an integer, or (slurm) ``scontrol`` is missing or fails
            while ``MASTER_ADDR`` is unset. The message names the variable
            or command and the fix.
    """
    env = os.environ if environ is None else environ
    if launcher == 'pytorch':
        return {}
    if launcher == 'slurm':
        _require_env(env, ('SLURM_PROCID', 'SLURM_NTASKS'), launcher,
                     optional_ints=('SLURM_LOCALID', ))
        addr = env.get('MASTER_ADDR')
        if not addr:
            _require_env(env, ('SLURM_NODELIST', ), launcher, ints=False)
            addr = _first_slurm_host(env['SLURM_NODELIST'])
        return dict(
            RANK=env['SLURM_PROCID'],
            WORLD_SIZE=env['SLURM_NTASKS'],
            LOCAL_RANK=env.get('SLURM_LOCALID', '0'),
            MASTER_ADDR=addr,
            MASTER_PORT=env.get('MASTER_PORT', '29500'))
    if launcher == 'mpi':
        _require_env(env, ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                           'OMPI_COMM_WORLD_LOCAL_RANK'), launcher)
        return dict(
            RANK=env['OMPI_COMM_WORLD_RANK'],
            WORLD_SIZE=env['OMPI_COMM_WORLD_SIZE'],
            LOCAL_RANK=env['OMPI_COMM_WORLD_LOCAL_RANK'],
            MASTER_ADDR=env.get('MASTER_ADDR', '127.0.0.1'),
            MASTER_PORT=env.get('MASTER_PORT', '29500'))
    raise ValueError(f'Invalid launcher {launcher!r}: use pytorch, slurm or '
                     'mpi (or none for a single process).')


#: How each launcher is started, for the errors of :func:`_require_env`.
_HOW_TO_START = {
    'slurm': ('slurm sets them in each task that srun starts: run it with '
              'tools/slurm_train.sh / tools/slurm_test.sh, or with srun '
              '(inside an sbatch script too: sbatch alone starts no tasks)'),
    'mpi': ('Open MPI sets them in each process that mpirun starts: run it '
            'with mpirun -np N'),
}


def _require_env(env: Dict[str, str],
                 names: Tuple[str, ...],
                 launcher: str,
                 ints: bool = True,
                 optional_ints: Tuple[str, ...] = ()) -> None:
    """Raise naming every missing launcher variable.

    Args:
        env (dict): The environment.
        names (tuple[str]): Variables that must be set (and be
            non-negative integers if ``ints``).
        launcher (str): ``'slurm'`` or ``'mpi'``, for the message.
        ints (bool): Check ``names`` hold integers. Defaults to True.
        optional_ints (tuple[str]): Variables that must hold integers
            where they are set.

    Raises:
        RuntimeError: Naming the variables and how to start the launcher.
    """
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise RuntimeError(
            f'--launcher={launcher} needs the environment variable(s) '
            f'{", ".join(missing)}, which are not set: '
            f'{_HOW_TO_START[launcher]}. Outside {launcher}, use '
            'tools/dist_train.sh (torchrun) or --launcher none.')
    checked = list(names) if ints else []
    for name in checked + [n for n in optional_ints if env.get(n)]:
        if not env[name].isdigit():
            raise RuntimeError(
                f'--launcher={launcher}: {name}={env[name]!r} is not a '
                f'non-negative integer; {_HOW_TO_START[launcher]}.')


#: Seconds that ``scontrol show hostnames`` may take (it expands the list
#: locally, in milliseconds).
SCONTROL_TIMEOUT = 30


def _first_slurm_host(node_list: str) -> str:
    """The first host of a slurm node list (``node[1-4]`` -> ``node1``).

    Raises:
        RuntimeError: ``scontrol`` is not on ``PATH``, fails, times out or
            prints no host. The message names the command and the fix.
    """
    fix = ('Run the job on a slurm cluster node (where scontrol is '
           'installed), or set MASTER_ADDR to the host name of the first '
           'node of the job yourself (e.g. in the sbatch script: export '
           'MASTER_ADDR=$(scontrol show hostnames "$SLURM_NODELIST" | '
           'head -n1)).')
    scontrol = shutil.which('scontrol')
    if scontrol is None:
        raise RuntimeError(
            '--launcher=slurm: MASTER_ADDR is not set and the slurm command '
            "'scontrol' is not on PATH, so the first host of "
            f'SLURM_NODELIST={node_list!r} cannot be found. {fix}')
    command = [scontrol, 'show', 'hostnames', node_list]
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=SCONTROL_TIMEOUT,
            check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(
            f'--launcher=slurm: {" ".join(command)!r} failed ({e}), so '
            f'MASTER_ADDR cannot be found. {fix}') from e
    hosts = proc.stdout.split()
    if proc.returncode != 0 or not hosts:
        said = (proc.stderr or proc.stdout).strip()[:300] or 'no output'
        raise RuntimeError(
            f'--launcher=slurm: {" ".join(command)!r} exited with '
            f'{proc.returncode} ({said}){"" if hosts else ", no host"}, so '
            f'MASTER_ADDR cannot be found. {fix}')
    return hosts[0]


def init_dist_auto(launcher: str, backend: str = 'auto',
                   **kwargs: Any) -> str:
    """Initialise ``torch.distributed`` on CPU (gloo) or CUDA (nccl).

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        backend (str): See :func:`resolve_dist_backend`.
        **kwargs: Passed on (``timeout`` in seconds, ``port`` for slurm, ...).

    Returns:
        str: The backend that was initialised.
    """
    chosen = resolve_dist_backend(backend)
    if torch.cuda.is_available():
        _check_gpus_per_node()
        if launcher in ('slurm', 'mpi'):
            # mmengine reads these variables with a bare KeyError, and for
            # slurm takes the output of ``scontrol`` as MASTER_ADDR even
            # when it is the shell's "not found": check them here, and
            # give mmengine a MASTER_ADDR, which it then uses as it is
            env = launcher_env(launcher)
            if launcher == 'slurm':
                os.environ['MASTER_ADDR'] = env['MASTER_ADDR']
        init_dist(launcher, backend=chosen, **kwargs)
    else:
        _init_cpu(launcher, chosen, **kwargs)
    if torch_dist.get_rank() == 0:
        print_log(
            f'torch.distributed initialised: backend={chosen}, '
            f'world_size={torch_dist.get_world_size()}, '
            f"device={'cuda' if torch.cuda.is_available() else 'cpu'}",
            logger='current')
    return chosen


def _check_gpus_per_node() -> None:
    """Refuse more processes per node than GPUs (one GPU per process)."""
    per_node = os.environ.get('LOCAL_WORLD_SIZE') or os.environ.get(
        'SLURM_NTASKS_PER_NODE')
    gpus = torch.cuda.device_count()
    if per_node and per_node.isdigit() and int(per_node) > gpus:
        raise RuntimeError(
            f'{per_node} processes per node but only {gpus} GPU(s): CUDA '
            'training uses one GPU per process. Start at most '
            f'{gpus} per node (tools/dist_train.sh CONFIG {gpus}), or train '
            'on the CPU with CUDA_VISIBLE_DEVICES= (gloo).')


def _init_cpu(launcher: str, backend: str, **kwargs: Any) -> None:
    """``init_process_group`` from the launcher's environment, no CUDA."""
    port = kwargs.pop('port', None)
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.update(launcher_env(launcher))
    timeout = kwargs.pop('timeout', None)
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(
        backend=backend,
        rank=int(os.environ['RANK']),
        world_size=int(os.environ['WORLD_SIZE']),
        **kwargs)


def shutdown_dist(wait_for_all: bool = True) -> None:
    """Destroy the default process group, if any, before the process exits.

    Left to interpreter shutdown, or destroyed while a peer still uses it,
    gloo's worker threads are torn down in an undefined order and a rank can
    abort ("terminate called without an active exception") after its work is
    done, failing the whole torchrun.

    Args:
        wait_for_all (bool): Meet the other ranks in a barrier first. Pass
            False after an error, where a peer may never arrive.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    # A DDP wrapper that is garbage but not yet collected (the runner and its
    # hooks form reference cycles) keeps the gloo group alive past
    # destroy_process_group(); its worker threads then die with the
    # interpreter. Collect it first so the group is torn down here.
    gc.collect()
    if wait_for_all:
        torch_dist.barrier()
    torch_dist.destroy_process_group()


@contextlib.contextmanager
def dist_session() -> Iterator[None]:
    """Run a CLI job, then shut the process group down cleanly.

    On success all ranks meet in a barrier before the group is destroyed; on
    an error it is destroyed at once (a failed peer would never arrive).
    """
    try:
        yield
    except BaseException:
        shutdown_dist(wait_for_all=False)
        raise
    shutdown_dist()
