"""Backend choice and launcher environments of mmseg_ext.engine.dist_utils."""
import os
import subprocess
import sys

import pytest

from mmseg_ext.engine.dist_utils import launcher_env, resolve_dist_backend
from tests.helpers import REPO


@pytest.mark.parametrize('requested,cuda,expected', [
    ('auto', True, 'nccl'),
    ('auto', False, 'gloo'),
    ('nccl', True, 'nccl'),
    ('nccl', False, 'gloo'),  # nccl cannot run without CUDA
    ('gloo', True, 'gloo'),  # an explicit choice is kept
    ('mpi', False, 'mpi'),
])
def test_resolve_dist_backend(requested, cuda, expected):
    assert resolve_dist_backend(requested, cuda_available=cuda) == expected


def test_unknown_backend_is_refused_by_name():
    with pytest.raises(ValueError, match="'hccl'"):
        resolve_dist_backend('hccl', cuda_available=False)


def test_slurm_environment_is_translated():
    env = dict(
        SLURM_PROCID='5',
        SLURM_NTASKS='8',
        SLURM_LOCALID='1',
        SLURM_NODELIST='node[1-2]',
        MASTER_ADDR='10.0.0.1')
    assert launcher_env('slurm', env) == dict(
        RANK='5',
        WORLD_SIZE='8',
        LOCAL_RANK='1',
        MASTER_ADDR='10.0.0.1',
        MASTER_PORT='29500')


def test_mpi_environment_is_translated():
    env = dict(
        OMPI_COMM_WORLD_RANK='3',
        OMPI_COMM_WORLD_SIZE='4',
        OMPI_COMM_WORLD_LOCAL_RANK='1',
        MASTER_PORT='1234')
    assert launcher_env('mpi', env) == dict(
        RANK='3',
        WORLD_SIZE='4',
        LOCAL_RANK='1',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT='1234')


def test_torchrun_sets_its_own_environment():
    assert launcher_env('pytorch', {}) == {}


def test_unknown_launcher_is_refused():
    with pytest.raises(ValueError, match="'lsf'"):
        launcher_env('lsf', {})


def test_more_processes_than_gpus_is_refused(monkeypatch):
    """2 processes on a 1-GPU node would die in torch.cuda.set_device(1)."""
    from mmseg_ext.engine import dist_utils
    monkeypatch.setattr(dist_utils.torch.cuda, 'device_count', lambda: 1)
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    with pytest.raises(RuntimeError, match='2 processes per node but only 1'):
        dist_utils._check_gpus_per_node()
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '1')
    dist_utils._check_gpus_per_node()  # one process per GPU is fine


# --- slurm / mpi environments that cannot start a run (issue 11, item 12)

_SLURM_TASK = dict(
    SLURM_PROCID='0', SLURM_NTASKS='2', SLURM_NODELIST='node[1-2]')


def _path_with(tmp_path, scontrol_script=None) -> str:
    """A PATH of one folder, holding a fake ``scontrol`` if given."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    if scontrol_script is not None:
        scontrol = bin_dir / 'scontrol'
        scontrol.write_text('#!/bin/sh\n' + scontrol_script)
        scontrol.chmod(0o755)
    return str(bin_dir)


def test_slurm_without_scontrol_names_it_and_the_fix(tmp_path, monkeypatch):
    """Was: MASTER_ADDR = '/bin/sh: 1: scontrol: not found', then a hang."""
    monkeypatch.setenv('PATH', _path_with(tmp_path))
    with pytest.raises(RuntimeError) as info:
        launcher_env('slurm', dict(_SLURM_TASK))
    message = str(info.value)
    assert "'scontrol' is not on PATH" in message
    assert "SLURM_NODELIST='node[1-2]'" in message
    assert 'set MASTER_ADDR' in message


def test_slurm_without_scontrol_uses_a_given_master_addr(
        tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', _path_with(tmp_path))
    env = launcher_env('slurm', dict(_SLURM_TASK, MASTER_ADDR='10.0.0.2'))
    assert env['MASTER_ADDR'] == '10.0.0.2'


def test_slurm_master_addr_is_the_first_host_scontrol_prints(
        tmp_path, monkeypatch):
    monkeypatch.setenv(
        'PATH',
        _path_with(tmp_path, 'test "$3" = "node[1-2]" && '
                   'printf "node1\\nnode2\\n"\n'))
    assert launcher_env('slurm', dict(_SLURM_TASK)) == dict(
        RANK='0',
        WORLD_SIZE='2',
        LOCAL_RANK='0',
        MASTER_ADDR='node1',
        MASTER_PORT='29500')


def test_a_failing_scontrol_is_an_error_with_its_message(
        tmp_path, monkeypatch):
    monkeypatch.setenv(
        'PATH',
        _path_with(tmp_path, 'echo "slurm_load_ctl_conf error" >&2\nexit 1\n'))
    with pytest.raises(RuntimeError, match='exited with 1 .*'
                       'slurm_load_ctl_conf error.*MASTER_ADDR'):
        launcher_env('slurm', dict(_SLURM_TASK))


@pytest.mark.parametrize('launcher, missing, env', [
    ('slurm', 'SLURM_PROCID', dict(SLURM_NTASKS='2', MASTER_ADDR='h')),
    ('slurm', 'SLURM_PROCID, SLURM_NTASKS', dict(SLURM_NODELIST='n1')),
    ('slurm', 'SLURM_NODELIST', dict(SLURM_PROCID='0', SLURM_NTASKS='2')),
    ('mpi', 'OMPI_COMM_WORLD_LOCAL_RANK',
     dict(OMPI_COMM_WORLD_RANK='0', OMPI_COMM_WORLD_SIZE='2')),
])
def test_missing_launcher_variables_are_named_with_the_fix(
        launcher, missing, env):
    """Was: a bare KeyError('SLURM_PROCID')."""
    with pytest.raises(RuntimeError) as info:
        launcher_env(launcher, env)
    message = str(info.value)
    assert f'needs the environment variable(s) {missing}, which' in message
    assert ('srun' if launcher == 'slurm' else 'mpirun') in message


def test_a_non_integer_rank_is_named():
    with pytest.raises(RuntimeError, match="SLURM_PROCID='x' is not"):
        launcher_env('slurm', dict(_SLURM_TASK, SLURM_PROCID='x'))


def test_cuda_path_gives_mmengine_the_master_addr(tmp_path, monkeypatch):
    """mmengine's slurm init would take scontrol's output as MASTER_ADDR
    (its "not found" text too); it uses an existing MASTER_ADDR as is."""
    from mmseg_ext.engine import dist_utils
    monkeypatch.setattr(dist_utils.torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(dist_utils, '_check_gpus_per_node', lambda: None)
    seen = []
    monkeypatch.setattr(
        dist_utils, 'init_dist',
        lambda *a, **k: seen.append(dist_utils.os.environ['MASTER_ADDR']))
    # setenv first, so that monkeypatch restores the variable's absence:
    # init_dist_auto sets MASTER_ADDR, which must not leak into later tests
    # (dist_train.sh would hand 'gpu7' to torchrun and hang)
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.delenv('MASTER_ADDR')
    for key, value in _SLURM_TASK.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv('PATH', _path_with(tmp_path))
    with pytest.raises(RuntimeError, match="'scontrol' is not on PATH"):
        dist_utils.init_dist_auto('slurm')
    assert seen == []  # refused before mmengine runs
    (tmp_path / 'bin' / 'scontrol').write_text('#!/bin/sh\necho gpu7\n')
    (tmp_path / 'bin' / 'scontrol').chmod(0o755)
    monkeypatch.setattr(dist_utils.torch_dist, 'get_rank', lambda: 1)
    dist_utils.init_dist_auto('slurm')
    assert seen == ['gpu7']


def test_slurm_without_scontrol_fails_fast_not_at_the_timeout(tmp_path):
    """The whole CPU path in a fresh process: an error within seconds, not
    a rank waiting for its peer until the (here 10 min) timeout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(('SLURM_', 'MASTER_', 'OMPI_'))
    }
    env.update(_SLURM_TASK, PATH=_path_with(tmp_path),
               CUDA_VISIBLE_DEVICES='', PYTHONPATH=REPO)
    code = ('import time\n'
            'from mmseg_ext.engine.dist_utils import init_dist_auto\n'
            'start = time.monotonic()\n'
            'try:\n'
            "    init_dist_auto('slurm', timeout=600)\n"
            'finally:\n'
            "    print(f'seconds={time.monotonic() - start:.3f}')\n")
    # a hang would run into this timeout (importing takes a few seconds)
    proc = subprocess.run([sys.executable, '-c', code],
                          env=env,
                          cwd=str(tmp_path),
                          capture_output=True,
                          text=True,
                          timeout=90)
    assert proc.returncode != 0
    assert "RuntimeError: --launcher=slurm: MASTER_ADDR is not set and the " \
        "slurm command 'scontrol' is not on PATH" in proc.stderr
    assert float(proc.stdout.split('seconds=')[1]) < 5
