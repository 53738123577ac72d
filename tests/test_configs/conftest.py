"""Fixtures of the config tests: tiny data, and two mmengine speed-ups.

The speed-ups change no result, only time (measured: about 60 % of a
tiny UFormer run without them):

* mmengine resolves every ``mmseg::`` path by reading all of mmseg's
  ~50 ``metafile.yaml`` files again (about 0.5 s per path); here each file
  is read once per test module;
* the runner logs and dumps the config through yapf (2-3 s per config);
  here the config text is written unformatted;
* torch runs on one thread: on these tiny tensors more threads only wait
  for each other, several times slower on a busy 2-core machine.
"""
import functools
from typing import Dict

import mmengine.config.config as mmengine_config
import mmengine.config.utils as mmengine_config_utils
import pytest
import torch

from tests.helpers import unformatted
from tests.test_configs.zoo import write_tiny_datasets


@pytest.fixture(scope='module', autouse=True)
def fast_mmengine_configs():
    """Cache metafile reads, skip yapf, one torch thread (this module)."""
    cached_load = functools.lru_cache(maxsize=None)(mmengine_config_utils.load)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mmengine_config_utils, 'load', cached_load)
            patch.setattr(mmengine_config, 'FormatCode', unformatted)
            yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def zoo_data(tmp_path_factory, synthetic_root) -> Dict[str, str]:
    """Dataset key -> root of a tiny generated dataset (2 images/split)."""
    roots = write_tiny_datasets(str(tmp_path_factory.mktemp('zoo_data')))
    roots['synthetic'] = synthetic_root
    return roots
