"""Pascal-Person-Part: person parts on PASCAL VOC 2010 images."""
from mmseg.datasets import BaseSegDataset

from mmseg_ext.registry import DATASETS

__all__ = ['PascalPersonPartDataset']


@DATASETS.register_module()
class PascalPersonPartDataset(BaseSegDataset):
    """Pascal-Person-Part (Chen et al., CVPR 2014; 7 classes).

    Converted by ``tools/dataset_converters/pascal_person_part.py`` from the
    widely used preprocessed PNG release, or a colour-mask copy of it (see
    ``docs/datasets.md``)::

        img_dir/{train,val}/NAME.jpg
        ann_dir/{train,val}/NAME.png   ids 0..6, 255 = ignored

    Classes: background (0), head (1), torso (2), lower-arms (3),
    upper-arms (4), lower-legs (5), upper-legs (6). Background is a class,
    so ``reduce_zero_label`` is False.

    The arm and leg ids are in the order the masks show, not the one the
    literature lists (Chen et al. 2014 and the DeepLab release name the
    parts "upper arms, lower arms, upper legs, lower legs"): on the real
    masks checked (8 images, ``docs/datasets.md``), id 3 covers forearms
    and hands and id 4 the upper arms, which meet the torso at the
    shoulders; id 5 covers shins and feet and id 6 the thighs, which meet
    the torso at the hips.

    Args:
        img_suffix (str): Defaults to ``'.jpg'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        reduce_zero_label (bool): Defaults to False.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        # ids 3..6 checked on real masks: forearms, upper arms, shins, thighs
        classes=('background', 'head', 'torso', 'lower-arms', 'upper-arms',
                 'lower-legs', 'upper-legs'),
        # the PASCAL VOC colour map of ids 0..6
        palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                 [0, 0, 128], [128, 0, 128], [0, 128, 128]])

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
