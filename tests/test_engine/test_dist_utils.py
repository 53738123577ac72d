"""Backend choice and launcher environments of mmseg_ext.engine.dist_utils."""
import pytest

from mmseg_ext.engine.dist_utils import launcher_env, resolve_dist_backend


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
