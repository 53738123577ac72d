"""``MMSegInferencer`` for mmseg_ext's configs, checkpoints and models."""
import warnings
from typing import Callable, List, Optional, Union

import mmcv
import numpy as np
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from mmengine.visualization import Visualizer
from mmseg.apis import MMSegInferencer
from mmseg.structures import SegDataSample
from torch import nn

from mmseg_ext.registry import INFERENCERS, SCOPE
from mmseg_ext.utils import check_checkpoint
from .inference import CHECKPOINT_HINT, init_model, load_inference_config

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
    builds the model with :func:`~mmseg_ext.apis.init_model` (so through
    :mod:`mmseg_ext.utils.builder`), which differs from mmseg's in four
    places:

    * the config's ``mmseg::`` parts are built in the mmseg_ext scope, the
      default scope is ``'mmseg_ext'``;
    * the checkpoint must fit the model exactly (mmseg loads with
      ``strict=False`` and leaves unmatched layers random);
    * class names and palette come from the checkpoint's ``dataset_meta``
      or the config's dataset ``metainfo``, never Cityscapes' by default
      (the visualizer's too);
    * without ``weights`` it runs ``init_weights`` (so a UFormer loads its
      ``member_checkpoints``).

    It also takes a model already built by ``init_model`` (its ``cfg`` is
    the config), and :meth:`predict_image` / :meth:`save_overlay` serve
    ``tools/infer.py`` (:func:`~mmseg_ext.apis.infer_images`). Call it like
    ``MMSegInferencer``::

        inferencer = MMSegExtInferencer(CONFIG, weights=CKPT, device='cpu')
        result = inferencer('image.png', out_dir='outputs')
        mask = result['predictions']  # (H, W) class ids

    Args:
        model (str | Config | dict | nn.Module): A config file path, a
            loaded config (mmseg's metafile model names are not supported),
            or a segmentor from :func:`~mmseg_ext.apis.init_model`.
        weights (str, optional): Checkpoint path or URL (not with a built
            model).
        classes, palette, dataset_name: As ``MMSegInferencer``; by default
            the model's ``dataset_meta``.
        device (str, optional): As ``MMSegInferencer``; a built model stays
            where it is.
        scope (str): Default scope; defaults to ``'mmseg_ext'``.
        cfg_options (dict, optional): ``--cfg-options`` to merge into the
            config (not with a built model).
    """

    def __init__(self,
                 model: Union[str, Config, ConfigDict, dict, nn.Module],
                 weights: Optional[str] = None,
                 classes: Optional[Union[str, List]] = None,
                 palette: Optional[Union[str, List]] = None,
                 dataset_name: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = SCOPE,
                 cfg_options: Optional[dict] = None) -> None:
        self._built_model: Optional[nn.Module] = None
        if isinstance(model, nn.Module):
            if weights is not None or cfg_options:
                raise ValueError('A built model has its weights and config: '
                                 'pass neither weights nor cfg_options.')
            self._built_model, cfg = model, model.cfg
        else:
            # both files checked before anything is built
            cfg = load_inference_config(model, cfg_options)
            check_checkpoint(weights, CHECKPOINT_HINT)
        super().__init__(
            model=cfg,
            weights=weights,
            classes=classes,
            palette=palette,
            dataset_name=dataset_name,
            device=device,
            scope=scope)
        if classes is None and palette is None and dataset_name is None:
            self.visualizer.set_dataset_meta(**self.model.dataset_meta)

    def _init_model(self, cfg: Config, weights: Optional[str],
                    device: str = 'cpu') -> nn.Module:
        """The given model, else :func:`~mmseg_ext.apis.init_model`."""
        if self._built_model is not None:
            return self._built_model
        if weights is None:
            warnings.warn('MMSegExtInferencer without weights: the model '
                          'keeps its initialisation (init_weights).')
        return init_model(cfg, weights, device)

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

    def _init_visualizer(self, cfg: Config) -> Visualizer:
        """The config's visualizer (else a ``SegLocalVisualizer``), without
        storage backends: the inferencer writes its pictures itself, and
        backends without a ``save_dir`` would only warn."""
        cfg.visualizer = dict(
            cfg.get('visualizer') or dict(type='SegLocalVisualizer'))
        cfg.visualizer.pop('vis_backends', None)
        return super()._init_visualizer(cfg)

    def predict_image(self, image: np.ndarray) -> SegDataSample:
        """Predict one decoded image (the test pipeline, ``test_step``).

        Args:
            image (np.ndarray): ``(H, W, 3)`` uint8 BGR, as ``mmcv.imread``
                reads it.

        Returns:
            SegDataSample: ``pred_sem_seg`` ``(1, H, W)`` class ids and
            ``seg_logits``, at the image's size.
        """
        return self.forward(next(self.preprocess([image], batch_size=1)))[0]

    def save_overlay(self,
                     image: np.ndarray,
                     prediction: SegDataSample,
                     out_file: str,
                     opacity: float = 0.5) -> None:
        """Write the image with the predicted classes' colours blended over
        it (``image * (1 - opacity) + colour * opacity``), drawn by mmseg's
        ``SegLocalVisualizer`` without class labels.

        Args:
            image (np.ndarray): ``(H, W, 3)`` uint8 BGR.
            prediction (SegDataSample): From :meth:`predict_image`.
            out_file (str): The picture to write (folders are made).
            opacity (float): Weight of the colours, ``[0, 1]``.
        """
        self.visualizer.alpha = opacity
        self.visualizer.add_datasample(
            'overlay', mmcv.bgr2rgb(image), prediction, draw_gt=False,
            out_file=out_file, with_labels=False)
