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
    from mmseg_ext.utils import make_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    make_synthetic_dataset(root, splits=dict(train=8, val=4), size=32, seed=0)
    return root
