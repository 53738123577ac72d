"""Inference: build trained models, predict splits and image files.

``mmseg_ext.apis.MMSegExtInferencer`` is ``mmseg.apis.MMSegInferencer`` for
mmseg_ext's configs; :func:`init_model` (or, for an exported ``.onnx`` run by
onnxruntime, :func:`init_onnx_model`) and :func:`infer_images` are what
``tools/infer.py`` runs.
"""
from .inference import (IMAGE_EXTENSIONS, InferenceReport, build_segmentor,
                        build_split_dataset, dataset_meta_of, infer_images,
                        init_model, init_onnx_model, iter_predictions,
                        list_images, load_inference_config, load_weights,
                        model_num_classes, output_names)
from .mmseg_ext_inferencer import MMSegExtInferencer

__all__ = [
    'IMAGE_EXTENSIONS', 'InferenceReport', 'build_segmentor',
    'build_split_dataset', 'dataset_meta_of', 'infer_images', 'init_model',
    'init_onnx_model', 'iter_predictions', 'list_images',
    'load_inference_config', 'load_weights', 'model_num_classes',
    'output_names', 'MMSegExtInferencer'
]
