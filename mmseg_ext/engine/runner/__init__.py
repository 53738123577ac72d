from .device_aware_runner import DeviceAwareRunner

__all__ = ['DeviceAwareRunner']
