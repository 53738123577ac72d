from .loss_schedule_hook import LossScheduleHook

__all__ = ['LossScheduleHook']
