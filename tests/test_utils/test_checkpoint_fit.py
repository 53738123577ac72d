"""check_checkpoint_fits: counts and examples of each kind of mismatch."""
import pytest
import torch
from torch import nn

from mmseg_ext.utils.checkpoint_fit import (CheckpointMismatchError,
                                             check_checkpoint_fits,
                                             compare_state_dict)


def _model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                         nn.Conv2d(4, 2, 1))


def test_exact_checkpoint_fits_with_module_prefix():
    model = _model()
    ckpt = {'state_dict': {f'module.{k}': v
                           for k, v in model.state_dict().items()}}
    assert not check_checkpoint_fits(model, ckpt, 'a.pth')


def test_compare_lists_missing_unexpected_and_shapes():
    model = _model()
    state = dict(model.state_dict())
    del state['0.weight'], state['0.bias']
    state['head.weight'] = torch.zeros(1)
    state['2.weight'] = torch.zeros(5, 4, 1, 1)
    diff = compare_state_dict(model, state)
    assert diff.missing == ['0.weight', '0.bias']
    assert diff.unexpected == ['head.weight']
    assert diff.mismatched == [('2.weight', (5, 4, 1, 1), (2, 4, 1, 1))]
    assert diff.num_model_keys == len(model.state_dict())


def test_error_names_file_counts_and_examples():
    model = _model()
    other = nn.Sequential(nn.Linear(2, 2))  # another model entirely
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_fits(model, {'state_dict': other.state_dict()},
                              'other_model.pth', hint=' Use the right one.')
    text = str(info.value)
    n = len(model.state_dict())
    assert "'other_model.pth'" in text
    assert f'{n - 2} of the model\'s {n} keys are missing' in text
    assert '0.weight (2, 2) in the checkpoint vs (4, 3, 3, 3) in the ' \
        'model' in text
    assert '...' in text  # more missing keys than examples shown
    assert text.endswith('Use the right one.')


def test_not_a_dict_is_refused():
    with pytest.raises(CheckpointMismatchError, match='holds a list'):
        check_checkpoint_fits(_model(), [1, 2], 'x.pth')


def test_tta_model_is_looked_through_as_mmengine_loads():
    """``tools/test.py --tta`` loads into SegTTAModel.module."""
    from mmengine.model import BaseTTAModel

    class _TTA(BaseTTAModel):

        def merge_preds(self, data_samples_list):
            return data_samples_list

    model = _model()
    model.test_step = lambda data: data  # what BaseTTAModel asks of it
    tta = _TTA(module=model)
    ckpt = {'state_dict': model.state_dict()}
    assert not check_checkpoint_fits(tta, ckpt, 'a.pth')
    del ckpt['state_dict']['0.weight']
    assert compare_state_dict(tta, ckpt['state_dict']).missing == [
        '0.weight']
