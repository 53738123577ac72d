"""Shared fixtures: the repository root and a generated dataset."""
import pytest

from tests.helpers import REPO


@pytest.fixture(scope='session')
def repo_root() -> str:
    """Absolute path of the repository."""
    return REPO


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A generated 2-class dataset: 8 train and 4 val images of 32x32."""
    from mmseg_ext.datasets.synthetic import make_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    make_synthetic_dataset(root, splits=dict(train=8, val=4), size=32, seed=0)
    return root


@pytest.fixture(scope='session')
def tiny_unet_run(synthetic_root, tmp_path_factory):
    """The demo U-Net trained 2 iterations: ``(config, checkpoint,
    work_dir)``."""
    from tests.helpers import DEMO_CONFIG, train_in_process
    work_dir = str(tmp_path_factory.mktemp('bench_unet'))
    return DEMO_CONFIG, train_in_process(DEMO_CONFIG, synthetic_root,
                                         work_dir), work_dir


@pytest.fixture(scope='session')
def tiny_uformer_run(synthetic_root, tmp_path_factory):
    """The demo UFormer trained 2 iterations, no validation:
    ``(config, checkpoint, work_dir)``."""
    from tests.helpers import UFORMER_DEMO_CONFIG, train_in_process
    work_dir = str(tmp_path_factory.mktemp('bench_uformer'))
    return UFORMER_DEMO_CONFIG, train_in_process(
        UFORMER_DEMO_CONFIG, synthetic_root, work_dir,
        validate=False), work_dir


@pytest.fixture(scope='session')
def tiny_uformer_model(tiny_uformer_run, synthetic_root):
    """:func:`mmseg_ext.apis.init_model` of :func:`tiny_uformer_run`, its
    test split on the generated data."""
    from mmseg_ext.apis import init_model
    config, checkpoint, _ = tiny_uformer_run
    return init_model(config, checkpoint, cfg_options={
        'test_dataloader.dataset.data_root': synthetic_root})


@pytest.fixture
def data_options(synthetic_root):
    """``--cfg-options`` words that point val and test at the data."""
    return [
        '--cfg-options', f'val_dataloader.dataset.data_root={synthetic_root}',
        f'test_dataloader.dataset.data_root={synthetic_root}'
    ]
