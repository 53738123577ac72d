"""tools/slurm_*.sh build the srun command line (srun is faked here)."""
import os
import stat

from tests.helpers import DEMO_CONFIG, run_tool


def _fake_srun(tmp_path) -> str:
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    return f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'


def test_slurm_train_on_gpu_partition(tmp_path):
    out = run_tool(
        ['bash', 'tools/slurm_train.sh', 'gpu', 'job1', DEMO_CONFIG, '--amp'],
        PATH=_fake_srun(tmp_path),
        GPUS='8',
        GPUS_PER_NODE='4').stdout.split('\n')
    assert out[:3] == ['-p', 'gpu', '--job-name=job1']
    assert '--gres=gpu:4' in out and '--ntasks=8' in out
    assert '--ntasks-per-node=4' in out
    assert out[-4:] == [DEMO_CONFIG, '--amp', '--launcher=slurm', '']
    assert any(word.endswith('tools/train.py') for word in out)


def test_slurm_test_on_cpu_partition(tmp_path):
    out = run_tool(
        ['bash', 'tools/slurm_test.sh', 'cpu', 'job2', DEMO_CONFIG, 'c.pth'],
        PATH=_fake_srun(tmp_path),
        GPUS='4',
        GPUS_PER_NODE='0',
        NTASKS_PER_NODE='2').stdout.split('\n')
    assert not any(word.startswith('--gres') for word in out)
    assert '--ntasks=4' in out and '--ntasks-per-node=2' in out
    assert any(word.endswith('tools/test.py') for word in out)
    assert out[-4:] == [DEMO_CONFIG, 'c.pth', '--launcher=slurm', '']
