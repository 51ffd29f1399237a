# setup.py: usbgate's qubesd extension for Qubes OS dom0. qubesd loads the
# "qubes.ext" entry point and takes the "usb" device class from
# "qubes.devices" (there must be exactly one: this package conflicts with
# qubes-usb-proxy-dom0).
from setuptools import setup

setup(
    name="usbgate_qubes",
    version="0.1.0",
    description="usbgate's USB device extension for qubesd",
    license="GPL-2.0-only",
    packages=["usbgate_qubes"],
    entry_points={
        "qubes.ext": ["usbgate = usbgate_qubes.ext:USBGateExtension"],
        "qubes.devices": ["usb = usbgate_qubes.ext:USBDevice"],
    },
)
