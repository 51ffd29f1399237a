# tests/qubes-dom0/double/qubes: a stand-in for the part of qubesd
# (qubes-core-admin R4.3) that a device extension sees: events and their
# dispatch, extensions and their handlers, the device API (Port,
# VirtualDevice, DeviceInterface, DeviceInfo, DeviceAssignment,
# DeviceCollection), VMs with QubesDB, qrexec service calls and start/stop,
# and the prompt helper of qubes.ext.utils. Written from Qubes' documented
# contract (event names and keyword arguments, what qubesd checks and
# refuses), not from its code; see tests/qubes-dom0/README.
