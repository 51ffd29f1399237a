# qubes.vm.qubesvm double: a VM with qubesd's name rules, tags, features,
# its icon (KLASS-LABEL, e.g. appvm-red),
# virt_mode, running state, a QubesDB (untrusted_qdb) with
# watch_qdb_path -> domain-qdb-change:PATH (path=...), start (refused when
# a required device is not available; then domain-start, start_guid=...)
# and shutdown (domain-shutdown), and run_service_for_stdio: the service
# runs as the app's qrexec double says; a non-zero exit raises
# subprocess.CalledProcessError with returncode, output and stderr, as
# qubesd's does; a halted VM raises QubesVMNotRunningError.
import logging
import re
import subprocess

import qubes.exc
import qubes.vm
from qubes.device_protocol import UnknownDevice
from qubes.devices import DeviceManager
from qubesdb import QubesDB


def validate_name(name):
    if not isinstance(name, str) or len(name) > 31 or \
            not re.match(r"\A[a-zA-Z][a-zA-Z0-9_.-]*\Z", name) or \
            name in ("none", "default"):
        raise qubes.exc.QubesValueError("invalid VM name " + repr(name))


class Features(dict):
    def check_with_template(self, name, default):
        return self.get(name, default)


class QubesVM(qubes.vm.LocalVM):
    def __init__(self, app, name, qid, klass="AppVM", virt_mode="pvh",
                 tags=(), label="red"):
        super().__init__()
        validate_name(name)
        self.app = app
        self.name = name
        self.qid = qid
        self.klass = klass
        self.icon = "{}-{}".format(klass.lower(), label)
        self.virt_mode = virt_mode
        self.tags = set(tags)
        self.features = Features()
        self.log = logging.getLogger("vm." + name)
        self.devices = DeviceManager(self)
        self.untrusted_qdb = QubesDB()
        self._running = False

    def __repr__(self):
        return "<VM {}>".format(self.name)

    def __str__(self):
        return self.name

    def is_running(self):
        return self._running

    def is_halted(self):
        return not self._running

    def watch_qdb_path(self, path):
        self.untrusted_qdb.watches[path] = lambda changed: self.fire_event(
            "domain-qdb-change:" + path, path=changed)

    async def start(self):
        for devclass in list(self.devices.keys()):
            for ass in self.devices[devclass].get_assigned_devices(
                    required_only=True):
                if all(isinstance(d, UnknownDevice) for d in ass.devices):
                    raise qubes.exc.QubesException(
                        "{} device {} not available".format(
                            devclass.capitalize(), ass))
        self._running = True
        watches = self.untrusted_qdb.watches
        self.untrusted_qdb = QubesDB()
        self.untrusted_qdb.watches = watches
        await self.fire_event_async("domain-start", start_guid=True)

    async def shutdown(self):
        await self.fire_event_async("domain-shutdown")
        self._running = False

    async def run_service_for_stdio(self, service, user=None, input=None,
                                    **kwargs):
        if not self._running:
            raise qubes.exc.QubesVMNotRunningError(self)
        rc, out, err = await self.app.qrexec(self, service, user, input,
                                             kwargs)
        if rc != 0:
            raise subprocess.CalledProcessError(rc, [service], out, err)
        return out, err
