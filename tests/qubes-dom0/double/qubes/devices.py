# qubes.devices double: DeviceCollection, what qvm-usb / the Admin API
# reach through vm.devices["usb"], with qubesd's checks and event order:
# attach refuses a halted VM, an unknown or ambiguous device and a device
# already attached here, then fires device-pre-attach (pre_event, awaited:
# a raising handler stops the attach) and device-attach; detach refuses a
# device not attached here and a required one while the VM runs, then
# fires device-pre-detach and device-detach with the port; assign takes
# only automatic modes, refuses duplicates, fires device-pre-assign and
# device-assign; listing fires device-list / device-get /
# device-list-attached.
from qubes.device_protocol import (DeviceAssignment, Port, UnknownDevice)
import qubes.exc


class DeviceCollection:
    def __init__(self, vm, bus):
        self._vm = vm
        self._bus = bus
        self._assigned = {}

    async def attach(self, assignment):
        if assignment.devclass != self._bus:
            raise qubes.exc.ProtocolError("wrong device class")
        if self._vm.is_halted():
            raise qubes.exc.QubesVMNotRunningError(
                self._vm, "VM not running, cannot attach device, do you "
                "mean `assign`?")
        try:
            device = assignment.device
        except qubes.exc.ProtocolError:
            raise qubes.exc.ProtocolError(
                "Cannot attach ambiguous {} device.".format(self._bus))
        if isinstance(device, UnknownDevice):
            raise qubes.exc.ProtocolError(
                "{} device not recognized in {} port.".format(
                    device.devclass, device.port_id))
        if device in [a.virtual_device for a in self.get_attached_devices()]:
            raise qubes.exc.DeviceAlreadyAttached(
                "device {!s} of class {} already attached to {!s}".format(
                    device, self._bus, self._vm.name))
        await self._vm.fire_event_async(
            "device-pre-attach:" + self._bus, pre_event=True, device=device,
            options=assignment.options)
        await self._vm.fire_event_async(
            "device-attach:" + self._bus, device=device,
            options=assignment.options)

    async def assign(self, assignment):
        if assignment.devclass != self._bus:
            raise ValueError("wrong device class")
        if not assignment.attach_automatically:
            raise ValueError("Only auto-attachable devices can be assigned.")
        key = (assignment.backend_name, assignment.port_id,
               assignment.device_id)
        if key in self._assigned:
            raise qubes.exc.DeviceAlreadyAssigned("already assigned")
        # qubesd adds it, then asks the extensions
        self._assigned[key] = assignment
        try:
            await self._vm.fire_event_async(
                "device-pre-assign:" + self._bus, pre_event=True,
                device=assignment.virtual_device, options=assignment.options)
        except Exception:
            # (qubesd keeps it in memory, unsaved; the double drops it so
            # that a refused assignment cannot act in a later test step)
            del self._assigned[key]
            raise
        await self._vm.fire_event_async(
            "device-assign:" + self._bus, device=assignment.virtual_device,
            options=assignment.options)

    def load_assignment(self, assignment):
        """An assignment read from qubes.xml: no event, no extension
        check (qubesd loads them before events are enabled)."""
        assert not self._vm.events_enabled
        assert assignment.attach_automatically
        self._assigned[(assignment.backend_name, assignment.port_id,
                        assignment.device_id)] = assignment

    async def unassign(self, assignment):
        key = (assignment.backend_name, assignment.port_id,
               assignment.device_id)
        if key not in self._assigned:
            raise qubes.exc.DeviceNotAssigned("not assigned")
        found = self._assigned.pop(key)
        await self._vm.fire_event_async(
            "device-unassign:" + self._bus, device=found.virtual_device)

    async def detach(self, port):
        for attached in self.get_attached_devices():
            if attached.port_id == port.port_id:
                break
        else:
            raise qubes.exc.DeviceNotAssigned(
                "{} device {} not attached to {}".format(
                    self._bus, port.port_id, self._vm.name))
        for ass in self.get_assigned_devices():
            if ass.required and not self._vm.is_halted() and \
                    ass.matches(attached.device):
                raise qubes.exc.QubesVMNotHaltedError(
                    self._vm, "Can not detach a required device from a "
                    "non halted qube. You need to unassign device first.")
        port = attached.device.port
        await self._vm.fire_event_async(
            "device-pre-detach:" + self._bus, pre_event=True, port=port)
        await self._vm.fire_event_async("device-detach:" + self._bus,
                                        port=port)

    def get_attached_devices(self):
        for dev, options in self._vm.fire_event(
                "device-list-attached:" + self._bus):
            for ass in self._assigned.values():
                if dev == ass:
                    yield ass
                    break
            else:
                yield DeviceAssignment(dev, frontend_domain=self._vm,
                                       options=options, mode="manual")

    def get_assigned_devices(self, required_only=False):
        for ass in list(self._assigned.values()):
            if not required_only or ass.required:
                yield ass

    def get_exposed_devices(self):
        yield from self._vm.fire_event("device-list:" + self._bus)

    __iter__ = get_exposed_devices

    def __getitem__(self, port_id):
        devs = self._vm.fire_event("device-get:" + self._bus,
                                   port_id=port_id)
        if devs:
            assert len(devs) == 1
            return devs[0]
        return UnknownDevice(Port(self._vm, port_id, self._bus))


class DeviceManager(dict):
    def __init__(self, vm):
        super().__init__()
        self._vm = vm

    def __missing__(self, key):
        self[key] = DeviceCollection(self._vm, key)
        return self[key]
