# qubes.exc double: the exceptions qubesd's device API raises.


class QubesException(Exception):
    """Base of qubesd's errors (shown to the Admin API caller)."""


class QubesValueError(QubesException, ValueError):
    pass


class ProtocolError(AssertionError):
    """qubesd: a malformed value from a client or a VM."""


class UnexpectedDeviceProperty(QubesException, ValueError):
    pass


class DeviceNotAssigned(QubesException, KeyError):
    pass


class DeviceAlreadyAttached(QubesException, KeyError):
    pass


class DeviceAlreadyAssigned(QubesException, KeyError):
    pass


class QubesVMNotRunningError(QubesException):
    def __init__(self, vm, msg=None):
        super().__init__(msg or "Domain is powered off: {!r}".format(vm.name))


class QubesVMNotHaltedError(QubesException):
    def __init__(self, vm, msg=None):
        super().__init__(msg or "Domain is not powered off: {!r}".format(
            vm.name))
