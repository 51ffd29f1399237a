# qubes.vm.adminvm double: dom0.
import logging

import qubes.vm
from qubes.devices import DeviceManager


class AdminVM(qubes.vm.LocalVM):
    klass = "AdminVM"
    icon = "adminvm-black"

    def __init__(self, app):
        super().__init__()
        self.app = app
        self.name = "dom0"
        self.qid = 0
        self.tags = set()
        self.log = logging.getLogger("vm.dom0")
        self.devices = DeviceManager(self)
        self.events_enabled = True

    def is_running(self):
        return True

    def is_halted(self):
        return False
