"""Tiny UFormer members and inputs shared by the segmentor tests."""
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.models.segmentors import UFormer
from mmseg_ext.registry import MODELS

BN = dict(type='BN')


def unet_member(num_classes: int = 3, **head) -> dict:
    """A 3-stage U-Net with 4 base channels (output stride 1)."""
    decode = dict(
        type='FCNHead', in_channels=4, in_index=2, channels=4, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=num_classes,
        norm_cfg=BN, align_corners=False)
    decode.update(head)
    aux_loss = dict(decode.get('loss_decode', dict(type='CrossEntropyLoss')),
                    loss_weight=0.4)
    aux = dict(decode, in_channels=8, in_index=1, loss_decode=aux_loss)
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(
            type='UNet', in_channels=3, base_channels=4, num_stages=3,
            strides=(1, 1, 1), enc_num_convs=(1, 1, 1), dec_num_convs=(1, 1),
            downsamples=(True, True), enc_dilations=(1, 1, 1),
            dec_dilations=(1, 1), norm_cfg=BN,
            upsample_cfg=dict(type='InterpConv')),
        decode_head=decode,
        auxiliary_head=aux,
        test_cfg=dict(mode='whole'))


def segformer_member(num_classes: int = 3, **head) -> dict:
    """A MiT with 8 base channels and SegformerConvHead (output stride 4)."""
    decode = dict(
        type='SegformerConvHead', in_channels=[8, 8, 16, 16],
        in_index=[0, 1, 2, 3], channels=16, dropout_ratio=0.0,
        num_classes=num_classes, norm_cfg=BN, align_corners=False)
    decode.update(head)
    return dict(
        type='EncoderDecoder',
        backbone=dict(
            type='MixVisionTransformer', in_channels=3, embed_dims=8,
            num_stages=4, num_layers=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
            patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1],
            out_indices=(0, 1, 2, 3), mlp_ratio=2, drop_path_rate=0.0),
        decode_head=decode,
        test_cfg=dict(mode='whole'))


def build(**kwargs) -> UFormer:
    cfg = dict(type='UFormer', members=[unet_member(), segformer_member()])
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmseg_ext'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(n: int = 2, size: int = 32, num_classes: int = 3) -> list:
    out = []
    for i in range(n):
        s = SegDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size),
            pad_shape=(size, size), padding_size=[0, 0, 0, 0],
            img_path=f'{i}.png'))
        g = torch.Generator().manual_seed(i)
        s.gt_sem_seg = PixelData(data=torch.randint(
            0, num_classes, (1, size, size), generator=g))
        out.append(s)
    return out


def inputs(n: int = 2, size: int = 32) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator()
                       .manual_seed(7))
