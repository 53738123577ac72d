"""``MMSegInferencer`` for mmseg_ext's configs and checkpoints."""
import copy
import os.path as osp
import warnings
from typing import Callable, List, Optional, Union

from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from mmseg.apis import MMSegInferencer
from torch import nn

from mmseg_ext.engine.scope import adopt_mmseg_scope
from mmseg_ext.registry import INFERENCERS, SCOPE
from mmseg_ext.utils.logging_utils import quiet_logger
from .inference import load_weights

__all__ = ['MMSegExtInferencer']


@INFERENCERS.register_module()
class MMSegExtInferencer(MMSegInferencer):
    """mmseg's inferencer, for models built from mmseg_ext configs.

    ``mmseg.apis.MMSegInferencer(model=CONFIG, weights=CKPT,
    scope='mmseg_ext')`` works for configs whose mmseg_ext classes sit in
    mmseg_ext's own files (the demo U-Net and UFormer), but not for a config
    that puts one inside a part inherited from ``mmseg::`` (the demo
    SegFormer's ``SegformerConvHead`` in mmseg's ``segformer_mit-b0``
    model): mmengine builds such parts in mmseg's registry. This subclass
    differs in four places:

    * it adopts the ``mmseg::`` parts into the mmseg_ext scope
      (:func:`~mmseg_ext.engine.scope.adopt_mmseg_scope`) and defaults to
      ``scope='mmseg_ext'``;
    * the checkpoint must fit the model exactly (mmseg loads with
      ``strict=False`` and leaves unmatched layers random);
    * class names and palette come from the checkpoint's ``dataset_meta``
      or the config's dataset ``metainfo``, never Cityscapes' by default;
    * without ``weights`` it runs ``init_weights`` (so a UFormer loads its
      ``member_checkpoints``).

    Checkpoints load through mmengine's loader, made safe by importing
    mmseg_ext. Call it like ``MMSegInferencer``::

        inferencer = MMSegExtInferencer(CONFIG, weights=CKPT, device='cpu')
        result = inferencer('image.png', out_dir='outputs')
        mask = result['predictions']  # (H, W) class ids

    Args:
        model (str | Config | dict): A config file path or a loaded config
            (mmseg's metafile model names are not supported).
        weights (str, optional): Checkpoint path or URL.
        classes, palette, dataset_name, device: As ``MMSegInferencer``.
        scope (str): Default scope; defaults to ``'mmseg_ext'``.
    """

    def __init__(self,
                 model: Union[str, Config, ConfigDict, dict],
                 weights: Optional[str] = None,
                 classes: Optional[Union[str, List]] = None,
                 palette: Optional[Union[str, List]] = None,
                 dataset_name: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = SCOPE) -> None:
        if isinstance(model, str):
            if not osp.isfile(model):
                raise FileNotFoundError(
                    f'Config file {model!r} does not exist (MMSegExt'
                    'Inferencer takes a config path or a Config, not a '
                    'metafile model name).')
            cfg = Config.fromfile(model)
        elif isinstance(model, Config):
            cfg = copy.deepcopy(model)
        elif isinstance(model, dict):
            cfg = Config(copy.deepcopy(dict(model)))
        else:
            raise TypeError(f'model must be a config path or Config, got '
                            f'{type(model).__name__}')
        if weights is not None and '://' not in weights and \
                not osp.isfile(weights):
            raise FileNotFoundError(f'Checkpoint {weights!r} does not exist.')
        adopt_mmseg_scope(cfg)
        super().__init__(
            model=cfg,
            weights=weights,
            classes=classes,
            palette=palette,
            dataset_name=dataset_name,
            device=device,
            scope=scope)

    def _load_weights_to_model(self, model: nn.Module,
                               checkpoint: Optional[dict],
                               cfg: Optional[Config]) -> None:
        """Load strictly; class names from the checkpoint or the config."""
        if checkpoint is None:
            warnings.warn('MMSegExtInferencer without weights: the model '
                          'keeps its initialisation (init_weights).')
            with quiet_logger():
                model.init_weights()
        load_weights(model, checkpoint, cfg)

    def _init_collate(self, cfg: Config) -> Callable:
        """The test dataloader's ``collate_fn``, else ``pseudo_collate``.

        mmseg and mmseg_ext have no function registry of their own: looking
        ``collate_fn`` up in the ``mmseg_ext`` scope would only warn.
        """
        collate_fn = cfg.get('test_dataloader', {}).get('collate_fn')
        if collate_fn is None:
            return pseudo_collate
        return FUNCTIONS.get(collate_fn.get('type') if isinstance(
            collate_fn, dict) else collate_fn)
