"""Multi-node training for real, on one machine: two ``tools/dist_train.sh``
launches (``NNODES=2``, ``NODE_RANK=0`` and ``1``, one process each) meet on
loopback and train the tiny U-Net with gloo; the result must equal the
2-process single-node run of the same config (same global batch, same seed).
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Tuple

import pytest
import torch

from mmseg_ext.utils import safe_torch_load
from tests.helpers import (DEMO_CONFIG, REPO, as_cli_options, free_port,
                           tiny_cfg_options)

#: Seconds a whole launch (rendezvous, 4 iterations, shutdown) may take.
TIMEOUT = 180
ITERS = 4

#: Variables of a distributed launch (torchrun's, the launchers', slurm's):
#: inherited from the test process they would steer the tools to another
#: rendezvous (a leaked MASTER_ADDR once made later tests hang).
_DIST_VARS = ('MASTER_ADDR', 'MASTER_PORT', 'PORT', 'NNODES', 'NODE_RANK',
              'RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE',
              'GROUP_RANK', 'GROUP_WORLD_SIZE', 'ROLE_RANK',
              'ROLE_WORLD_SIZE', 'GPUS', 'GPUS_PER_NODE', 'VIRTUAL_ENV')


def _launch_env(**env: str) -> Dict[str, str]:
    """The environment of one launch, built explicitly (``os.environ`` of
    the test process is read, never changed)."""
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in _DIST_VARS and not k.startswith(('TORCHELASTIC_',
                                                      'SLURM_', 'OMPI_'))
    }
    full.update(
        PYTHON=sys.executable,
        # gloo on the CPU, also on a GPU machine
        CUDA_VISIBLE_DEVICES='',
        # torchrun sets OMP_NUM_THREADS=1 only for nproc_per_node > 1: pin
        # it for the 1-process nodes too. Every rank of both runs must
        # compute with the same number of threads: left to torch's default
        # (2 threads on a 2-core machine) in the 1-process nodes only, the
        # reductions run in another order, and Adam's normalised first
        # steps amplify the last-bit differences to ~1e-3 in most weights
        # (measured: 123 of 148 tensors). With 2 threads in every rank of
        # both runs they are equal again. 1 also spares CI's 2 cores.
        OMP_NUM_THREADS='1',
        # torchrun's agent then logs the ranks it started
        LOGLEVEL='INFO')
    full.update(env)
    return full


def test_launch_env_is_explicit(monkeypatch):
    """Launcher variables of the test process do not reach the launches,
    and building a launch's environment leaves ``os.environ`` alone."""
    for name in ('MASTER_ADDR', 'MASTER_PORT', 'PORT', 'NODE_RANK', 'RANK',
                 'TORCHELASTIC_RUN_ID', 'SLURM_PROCID'):
        monkeypatch.setenv(name, '10.255.255.1' if 'ADDR' in name else '7')
    before = dict(os.environ)
    env = _launch_env(PORT='1234', NNODES='2')
    assert os.environ == before
    assert env['PORT'] == '1234' and env['NNODES'] == '2'
    for name in ('MASTER_ADDR', 'MASTER_PORT', 'NODE_RANK', 'RANK',
                 'TORCHELASTIC_RUN_ID', 'SLURM_PROCID'):
        assert name not in env


def _start(nproc: int, work_dir: str, options: List[str],
           **env: str) -> subprocess.Popen:
    """Start ``tools/dist_train.sh`` in a process group of its own, its
    output going to ``WORK_DIR.log`` (a file: a pipe nobody reads while
    another launch is waited for could fill up and block it)."""
    with open(f'{work_dir}.log', 'w') as log:
        proc = subprocess.Popen(
            ['bash', 'tools/dist_train.sh', DEMO_CONFIG,
             str(nproc), '--work-dir', work_dir, '--cfg-options', *options],
            cwd=REPO,
            env=_launch_env(**env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True)
    proc.log_path = log.name
    return proc


def _output(proc: subprocess.Popen) -> str:
    with open(proc.log_path) as f:
        return f.read()


def _wait_all(procs: List[subprocess.Popen]) -> List[str]:
    """Wait for launches that run together and return their outputs.

    As soon as one fails, or at the shared deadline, kill the process group
    of every launch (torchrun and its workers: a node left alone would wait
    for its peer) and fail with all outputs.
    """
    deadline = time.monotonic() + TIMEOUT
    failed = None
    try:
        while failed is None and any(p.poll() is None for p in procs):
            failed = next((f'launch {i} exited {p.returncode}'
                           for i, p in enumerate(procs)
                           if p.poll() not in (None, 0)), None)
            if failed is None and time.monotonic() > deadline:
                failed = f'timed out after {TIMEOUT} s'
            time.sleep(0.2)
        failed = failed or next(
            (f'launch {i} exited {p.returncode}'
             for i, p in enumerate(procs) if p.returncode != 0), None)
    finally:
        for proc in procs:
            if failed or proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
    outputs = [_output(proc) for proc in procs]
    if failed:
        raise AssertionError(failed + ''.join(
            f'\n--- launch {i} ---\n{out[-5000:]}'
            for i, out in enumerate(outputs)))
    return outputs


def _options(synthetic_root: str) -> List[str]:
    """The tiny U-Net: 4 iterations (2 epochs of the 8 images) of batch 2 per
    process, seed 0, deterministic, one checkpoint at the end, no
    validation."""
    options = tiny_cfg_options(synthetic_root, max_iters=ITERS,
                               interval=ITERS)
    options.update({
        'randomness.seed': 0,
        'randomness.deterministic': True,
        'val_cfg': None,
        'val_dataloader': None,
        'val_evaluator': None,
    })
    return as_cli_options(options)


def _checkpoint(work_dir: str) -> dict:
    return safe_torch_load(osp.join(work_dir, f'iter_{ITERS}.pth'))


def _agent_result(log: str) -> Dict[str, str]:
    """What torchrun's agent (``LOGLEVEL=INFO``) logged as its rendezvous
    result: after ``Rendezvous complete for workers. Result:``, one
    ``key=value`` line each (``group_rank``, ``global_ranks``, ...)."""
    _, found, after = log.partition('Rendezvous complete for workers.')
    assert found, f'no rendezvous result in the log:\n{log[-5000:]}'
    result = {}
    for line in after.splitlines()[1:]:
        match = re.search(r'(?:^|\s)(\w+)=(\S+)\s*$', line)
        if not match:
            break
        result[match.group(1)] = match.group(2)
    return result


@pytest.fixture(scope='module')
def runs(synthetic_root, tmp_path_factory):
    """The 2-node run (two concurrent launches) and the 2-process run."""
    options = _options(synthetic_root)
    node_dirs = [str(tmp_path_factory.mktemp(f'node{r}')) for r in (0, 1)]
    port = str(free_port())
    nodes = [
        _start(1, node_dirs[rank], options, NNODES='2', NODE_RANK=str(rank),
               MASTER_ADDR='127.0.0.1', PORT=port) for rank in (0, 1)
    ]
    node_logs = _wait_all(nodes)
    single_dir = str(tmp_path_factory.mktemp('single'))
    single_log, = _wait_all(
        [_start(2, single_dir, options, PORT=str(free_port()))])
    return port, node_dirs, node_logs, single_dir, single_log


def test_both_nodes_trained(runs):
    port, (dir0, dir1), (log0, log1), _, _ = runs
    # each node's torchrun agent met the other at node 0's MASTER_ADDR and
    # PORT and started one worker of a world of 2 (global rank 0 on node 0,
    # global rank 1 on node 1), and that worker succeeded. (Rank 1 logs
    # nothing of its own; that it trained shows in the weights, which
    # average both ranks' gradients: test_two_nodes_equal_two_processes.)
    for log, rank in ((log0, 0), (log1, 1)):
        result = _agent_result(log)
        assert {k: result.get(k) for k in (
            'master_addr', 'master_port', 'group_rank', 'group_world_size',
            'local_ranks', 'global_ranks', 'global_world_sizes')} == {
                'master_addr': '127.0.0.1', 'master_port': port,
                'group_rank': str(rank), 'group_world_size': '2',
                'local_ranks': '[0]', 'global_ranks': f'[{rank}]',
                'global_world_sizes': '[2]'}, log[-5000:]
        assert 'worker group successfully finished' in log
    # rank 0 (which alone logs) trained all iterations in a world of 2
    assert 'backend=gloo, world_size=2, device=cpu' in log0
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log0
    # mmengine saves on rank 0 only: node 1's work dir holds no checkpoint
    assert osp.isfile(osp.join(dir0, f'iter_{ITERS}.pth'))
    assert not [f for f in os.listdir(dir1) if f.endswith(('.pth', '.part'))]


def _tensors(obj, prefix: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    """Every tensor in a (nested) checkpoint entry, by path."""
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, (dict, list, tuple)):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for key, value in items:
            yield from _tensors(value, f'{prefix}.{key}' if prefix else
                                str(key))


def test_two_nodes_equal_two_processes(runs):
    """Same 2 ranks, same data shards, same seed: the same weights, BN
    statistics and optimizer state, bit for bit (every rank computes with
    one thread in both runs; gloo sums the 2 ranks' gradients, and a + b is
    b + a in floating point too)."""
    _, (dir0, _), _, single_dir, single_log = runs
    assert 'backend=gloo, world_size=2, device=cpu' in single_log
    assert f'Iter(train) [{ITERS}/{ITERS}]' in single_log
    nodes, single = _checkpoint(dir0), _checkpoint(single_dir)
    assert nodes['meta']['iter'] == single['meta']['iter'] == ITERS
    for entry in ('state_dict', 'optimizer'):
        ours, theirs = (dict(_tensors(ckpt[entry]))
                        for ckpt in (nodes, single))
        assert ours and ours.keys() == theirs.keys()
        differ = [k for k in ours if not torch.equal(ours[k], theirs[k])]
        gaps = {
            k: (ours[k].double() - theirs[k].double()).abs().max().item()
            for k in differ[:3]
        }
        assert not differ, (f'{len(differ)} of {len(ours)} {entry} tensors '
                            f'differ, e.g. (max |diff|) {gaps}')
    # the optimizer did step: Adam's first moments are not all zero
    assert any(v.abs().sum() > 0 for k, v in _tensors(nodes['optimizer'])
               if k.endswith('exp_avg'))


def test_several_nodes_without_master_addr_stop_at_once(tmp_path):
    """NNODES > 1 without MASTER_ADDR would make node 1 wait for a node 0 at
    127.0.0.1 until torchrun's timeout: the launcher refuses it at once."""
    env = _launch_env(NNODES='2', NODE_RANK='1', PORT=str(free_port()))
    env.pop('MASTER_ADDR', None)
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), DEMO_CONFIG, '1',
         '--work-dir', str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert 'set MASTER_ADDR' in proc.stderr
    assert not os.listdir(tmp_path)
