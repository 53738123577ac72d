"""UFormer's default members and config-path resolution."""
import os.path as osp
from typing import List

import mmseg
from mmengine.config import ConfigDict

from mmseg_ext.utils.builder import load_config

MMSEG_PREFIX = 'mmseg::'
UNET_BASE = MMSEG_PREFIX + '_base_/models/fcn_unet_s5-d16.py'
SEGFORMER_BASE = MMSEG_PREFIX + '_base_/models/segformer_mit-b0.py'


def resolve_config_path(path: str) -> str:
    """A local path for ``path``; ``mmseg::x`` means mmseg's shipped ``x``.

    Args:
        path (str): A config file path, or ``mmseg::<path under configs>``.

    Returns:
        str: An existing file path.

    Raises:
        FileNotFoundError: The file does not exist; the message names it.
    """
    if path.startswith(MMSEG_PREFIX):
        path = osp.join(
            osp.dirname(mmseg.__file__), '.mim', 'configs',
            path[len(MMSEG_PREFIX):])
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    return path


def load_model_cfg(path: str) -> ConfigDict:
    """The ``model`` of a config file (``mmseg::`` paths allowed).

    A config in the mmseg_ext scope gets its ``mmseg::`` parts re-homed
    (:func:`mmseg_ext.utils.load_config`), as the runner does, so
    mmseg_ext components inside them resolve.
    """
    return load_config(resolve_config_path(path)).model


def default_uformer_members() -> List[ConfigDict]:
    """fcn_unet_s5-d16 and SegFormer MiT-b0 with ``SegformerConvHead``.

    Both come from mmseg's own model bases (so they follow upstream), without
    pretrained weights; the SegFormer's ``SegformerHead`` is replaced by
    ``SegformerConvHead`` with the same inputs and width. Set
    ``num_classes`` through UFormer.

    Returns:
        list[ConfigDict]: Two segmentor configs.
    """
    unet = load_model_cfg(UNET_BASE)
    # the base writes crop_size=256, stride=170; slide inference unpacks
    # (h, w) pairs, as every upstream U-Net config sets them
    unet.test_cfg.crop_size = (256, 256)
    unet.test_cfg.stride = (170, 170)
    segformer = load_model_cfg(SEGFORMER_BASE)
    segformer.decode_head.type = 'SegformerConvHead'
    return [unet, segformer]
