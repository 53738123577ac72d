from .checkpoint_hook import CheckpointHook
from .loss_schedule_hook import LossScheduleHook

__all__ = ['CheckpointHook', 'LossScheduleHook']
