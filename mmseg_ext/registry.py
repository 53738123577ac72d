"""Child registries of MMSegmentation's, under the scope ``mmseg_ext``.

Every registry here has the matching ``mmseg.registry`` registry as its parent.
With ``default_scope = 'mmseg_ext'`` a ``type='X'`` lookup tries this package
first and falls through to mmseg (and mmengine) for everything else, while
``type='mmseg.X'`` always reaches upstream's class. Registering a class here
never touches the parent's ``module_dict``.
"""
from typing import List

from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import \
    RUNNER_CONSTRUCTORS as MMSEG_RUNNER_CONSTRUCTORS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import \
    WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS

__all__ = [
    'SCOPE', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR',
    'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
    'INFERENCERS'
]

SCOPE = 'mmseg_ext'


def _upstream_locations(parent: Registry) -> List[str]:
    """The lazy-import locations of an mmseg registry (possibly empty).

    mmengine 0.10's ``Registry`` takes ``locations`` but exposes no public
    getter for them (its public properties are ``name``, ``scope``,
    ``module_dict``, ``children`` and ``root``), so this reads the private
    ``Registry._locations``; it is the one place that does. The public
    ``parent.import_from_location()`` is no substitute: for an mmseg
    registry without locations (e.g. ``RUNNERS``, ``LOOPS``) it falls back
    to ``mmseg.utils.register_all_modules``, importing all of mmseg.

    Args:
        parent (Registry): An ``mmseg.registry`` registry.

    Returns:
        list[str]: Module paths, e.g. ``['mmseg.models']``.
    """
    return list(parent._locations)


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    """Create a child registry of ``parent`` in the ``mmseg_ext`` scope.

    Its lazy-import ``locations`` are ours followed by the parent's: a lookup
    that falls through to mmseg reads mmseg's ``module_dict`` directly, which
    mmengine only fills once mmseg's own modules have been imported.
    """
    return Registry(
        name,
        parent=parent,
        scope=SCOPE,
        locations=[*locations, *_upstream_locations(parent)])


RUNNERS = _child('runner', MMSEG_RUNNERS, 'mmseg_ext.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor', MMSEG_RUNNER_CONSTRUCTORS,
                             'mmseg_ext.engine')
LOOPS = _child('loop', MMSEG_LOOPS, 'mmseg_ext.engine')
HOOKS = _child('hook', MMSEG_HOOKS, 'mmseg_ext.engine')
DATASETS = _child('dataset', MMSEG_DATASETS, 'mmseg_ext.datasets')
DATA_SAMPLERS = _child('data sampler', MMSEG_DATA_SAMPLERS,
                       'mmseg_ext.datasets')
TRANSFORMS = _child('transform', MMSEG_TRANSFORMS, 'mmseg_ext.datasets')
MODELS = _child('model', MMSEG_MODELS, 'mmseg_ext.models')
MODEL_WRAPPERS = _child('model_wrapper', MMSEG_MODEL_WRAPPERS,
                        'mmseg_ext.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMSEG_WEIGHT_INITIALIZERS,
                             'mmseg_ext.models')
OPTIMIZERS = _child('optimizer', MMSEG_OPTIMIZERS, 'mmseg_ext.engine')
OPTIM_WRAPPERS = _child('optim_wrapper', MMSEG_OPTIM_WRAPPERS,
                        'mmseg_ext.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMSEG_OPTIM_WRAPPER_CONSTRUCTORS,
                                    'mmseg_ext.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMSEG_PARAM_SCHEDULERS,
                          'mmseg_ext.engine')
METRICS = _child('metric', MMSEG_METRICS, 'mmseg_ext.evaluation')
EVALUATOR = _child('evaluator', MMSEG_EVALUATOR, 'mmseg_ext.evaluation')
TASK_UTILS = _child('task util', MMSEG_TASK_UTILS, 'mmseg_ext.models')
VISUALIZERS = _child('visualizer', MMSEG_VISUALIZERS, 'mmseg_ext')
VISBACKENDS = _child('vis_backend', MMSEG_VISBACKENDS,
                     'mmseg_ext')
LOG_PROCESSORS = _child('log_processor', MMSEG_LOG_PROCESSORS,
                        'mmseg_ext')
INFERENCERS = _child('inferencer', MMSEG_INFERENCERS, 'mmseg_ext.apis')
