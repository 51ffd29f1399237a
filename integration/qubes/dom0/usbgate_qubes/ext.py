# usbgate_qubes/ext.py: usbgate's qubesd extension for the "usb" device
# class, replacing qubes-usb-proxy-dom0's (qubesd takes one). qubesd stays
# the authority: qvm-usb / qvm-device usb, the devices widget, qubes.xml
# assignments and the Admin API drive it through qubesd's device events
# (R4.3 API). What it adds to usb-proxy's extension:
#  * every attach, manual or automatic, is decided by usbgate's rules
#    (policy.decide: allow / deny / ask, interfaces to hide);
#  * assignment options deny-interface, reset-on-attach and allow-pid, kept
#    in qubes.xml by qubesd like any option;
#  * a device that disappears while attached and comes back on its port
#    with the same identity (or, with allow-pid, as another product of the
#    same vendor and serial) goes back to its VM, also when it left and
#    came back between two looks at QubesDB (another identity on a port is
#    another device);
#  * errors that say what failed in which VM.
# The attach itself uses the VM services of usbgate's Qubes package with
# Qubes' contract (doc/qubes.md): usbgate.Options in the backend VM (what
# the AppVM may not choose), a transient qrexec allow line for
# qubes.USB+BUSID, then qubes.USBAttach in the AppVM; qubes.USBDetach in
# the backend VM detaches. Everything the backend VM publishes goes through
# qdb.py's one sanitize step.
import asyncio
import collections
import subprocess
import time

import qubes.exc
import qubes.ext
import qubes.ext.utils
import qubes.vm.adminvm
from qubes.device_protocol import (AssignmentMode, DeviceAssignment,
                                   DeviceInfo, DeviceInterface, Port,
                                   VirtualDevice)

from usbgate_qubes import policy, qdb

DEVCLASS = "usb"
# How long (seconds) a device that disappeared while attached is followed
# back to its VM when it returns on its port with the same identity.
FOLLOW_WINDOW = 30.0
_ERR_MAX = 300


class USBGateException(qubes.exc.QubesException):
    """An attach or detach failed; the message says where and why."""


class USBGateNotInstalled(USBGateException):
    """A VM has no usbgate services (qrexec said 127)."""


class USBGateDenied(USBGateException):
    """usbgate's rules, or the person asked, refused the attach."""


def _printable(untrusted_bytes):
    """A VM's output, reduced to one line of printable ASCII."""
    if not untrusted_bytes:
        return ""
    if isinstance(untrusted_bytes, str):
        untrusted_bytes = untrusted_bytes.encode("utf-8", errors="replace")
    text = "".join(chr(c) if 0x20 <= c < 0x7F else " "
                   for c in untrusted_bytes[:_ERR_MAX * 4])
    return " ".join(text.split())[:_ERR_MAX]


def _type_name(t):
    return "{}:{}:{}".format(t[0:2], t[2:4], t[4:6])


class USBDevice(DeviceInfo):
    """One device of a backend VM, as its QubesDB publishes it; fields
    come from qdb.Record (sanitized once, on first use)."""

    def __init__(self, port, record=None):
        if port.devclass != DEVCLASS:
            raise qubes.exc.QubesValueError(
                "Incompatible device class for input port: {}".format(
                    port.devclass))
        super().__init__(port)
        self._record = record

    @property
    def record(self):
        """The sanitized publication (not cached while unreadable)."""
        if self._record is not None:
            return self._record
        backend = self.backend_domain
        if backend is None or not qdb.valid_port_id(self.port_id) or \
                not backend.is_running():
            return qdb.Record(self.port_id)
        self._record = qdb.read_record(backend.untrusted_qdb, self.port_id)
        return self._record

    @property
    def vendor(self):
        return "unknown"

    @property
    def product(self):
        return "unknown"

    @property
    def manufacturer(self):
        return self.record.manufacturer or "unknown"

    @property
    def name(self):
        return self.record.name or "unknown"

    @property
    def serial(self):
        return self.record.serial or "unknown"

    @property
    def interfaces(self):
        ifaces = self.record.ifaces
        if not ifaces:
            return [DeviceInterface.unknown()]
        return [DeviceInterface(t, devclass=DEVCLASS) for t in ifaces]

    @property
    def parent_device(self):
        return None

    @property
    def device_id(self):
        return self.record.device_id

    @device_id.setter
    def device_id(self, value):
        # qubesd may set it; ours always comes from the record.
        pass

    @property
    def attachment(self):
        backend = self.backend_domain
        if backend is None or not qdb.valid_port_id(self.port_id) or \
                not backend.is_running():
            return None
        name = qdb.read_connected_to(backend.untrusted_qdb, self.port_id)
        if name is None:
            return None
        try:
            return backend.app.domains[name]
        except KeyError:
            backend.log.warning("usbgate: device %s: connected-to names no "
                                "VM", self.port_id)
            return None


class USBGateExtension(qubes.ext.Extension):
    """The qubesd side of usbgate on Qubes (see the file comment)."""

    def __init__(self):
        super().__init__()
        # devices_cache[backend name][port id] = frontend VM or None, as
        # qubesd's device extensions keep it.
        self.devices_cache = collections.defaultdict(dict)
        # (backend, port) -> what this extension attached: (vm name,
        # device_id attached (a followed device keeps the first), Qubes
        # options, options shown to the user)
        self.sessions = {}
        # (backend, port) -> (vm name, device_id, Qubes options, deadline)
        self.follow = {}
        # identities[backend name][port id] = device_id last read whole
        self.identities = collections.defaultdict(dict)
        self.locks = collections.defaultdict(asyncio.Lock)
        # (backend, port) of the attaches under way: their cache entry
        # already names the VM, QubesDB does not yet.
        self.attaching = set()
        # backend -> ports listed before their keys were all written (a
        # QubesDB change seen between two of udev's writes): their
        # automatic attach waits until they read whole.
        self.incomplete = collections.defaultdict(set)
        self.clock = time.monotonic
        # Tasks started from synchronous handlers; kept so they are not
        # collected while running.
        self.tasks = set()

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # ---- listing (synchronous and cheap: QubesDB only) ---------------------

    @staticmethod
    def _is_backend(vm):
        return vm.is_running() and hasattr(vm, "untrusted_qdb") and \
            not isinstance(vm, qubes.vm.adminvm.AdminVM)

    @qubes.ext.handler("device-list:usb")
    def on_device_list_usb(self, vm, event):
        # pylint: disable=unused-argument
        if not self._is_backend(vm):
            return
        ports, bad = qdb.list_ports(vm.untrusted_qdb.list(qdb.QDB_ROOT))
        if bad:
            vm.log.warning("usbgate: %d invalid USB device key(s) in "
                           "QubesDB ignored", bad)
        for port_id in ports:
            yield USBDevice(Port(vm, port_id, DEVCLASS))

    @qubes.ext.handler("device-get:usb")
    def on_device_get_usb(self, vm, event, port_id):
        # pylint: disable=unused-argument
        if not self._is_backend(vm) or not qdb.valid_port_id(port_id):
            return
        if vm.untrusted_qdb.list(qdb.QDB_ROOT + qdb.qdb_id(port_id) + "/"):
            yield USBDevice(Port(vm, port_id, DEVCLASS))

    @qubes.ext.handler("device-list-attached:usb")
    def on_device_list_attached(self, vm, event, **kwargs):
        # pylint: disable=unused-argument
        if not vm.is_running():
            return
        for backend in vm.app.domains:
            if backend is vm or not self._is_backend(backend):
                continue
            for dev in self.on_device_list_usb(backend, None):
                if dev.attachment is vm:
                    s = self.sessions.get((backend.name, dev.port_id))
                    yield (dev, dict(s[3]) if s else {})

    def _current(self, vm):
        return {dev.port_id: dev.attachment
                for dev in self.on_device_list_usb(vm, None)}

    # ---- QubesDB watch: device events, re-enumeration, auto-attach ---------

    @qubes.ext.handler("domain-init", "domain-load")
    def on_domain_init_load(self, vm, event):
        vm.watch_qdb_path("/qubes-usb-devices")
        self.identities.pop(vm.name, None)
        if event == "domain-load":
            self.devices_cache[vm.name] = self._current(vm)
            self._replaced(vm, self.devices_cache[vm.name])
        else:
            self.devices_cache[vm.name] = {}

    def _replaced(self, backend, current):
        """Remember the identity on each port; return the ports that show
        another one than at the last look (an incomplete publication keeps
        the last identity: it may be a write under way)."""
        known = self.identities[backend.name]
        seen = {}
        replaced = set()
        for port_id in current:
            rec = USBDevice(Port(backend, port_id, DEVCLASS)).record
            if not rec.valid:
                if port_id in known:
                    seen[port_id] = known[port_id]
                continue
            seen[port_id] = rec.device_id
            if known.get(port_id, rec.device_id) != rec.device_id and \
                    (backend.name, port_id) not in self.attaching:
                replaced.add(port_id)
        self.identities[backend.name] = seen
        return replaced

    @qubes.ext.handler("domain-qdb-change:/qubes-usb-devices")
    def on_qdb_change(self, vm, event, path):
        # pylint: disable=unused-argument
        current = self._current(vm)
        replaced = self._replaced(vm, current)
        if replaced:
            # it left and another device came on its port since the last
            # look: removed first, then added
            self._list_change(vm, {p: f for p, f in current.items()
                                   if p not in replaced})
        added = self._list_change(vm, current)
        cache = self.devices_cache[vm.name]
        waiting = self.incomplete.pop(vm.name, set())
        ready = []
        for port_id in sorted(set(added) | {
                p for p in waiting if p in cache and cache[p] is None}):
            if USBDevice(Port(vm, port_id, DEVCLASS)).record.valid:
                ready.append(port_id)
            else:
                self.incomplete[vm.name].add(port_id)
        if ready:
            self._spawn(self._auto_attach_added(vm, ready))

    def _list_change(self, backend, current):
        """Fire qubesd's events for the difference between the cache and
        ``current``; returns the ports that appeared unattached."""
        backend.fire_event("device-list-change:usb")
        cache = self.devices_cache[backend.name]
        now = self.clock()
        for port_id, front in cache.items():
            key = (backend.name, port_id)
            if port_id in current and current[port_id] is None and \
                    key in self.attaching:
                current[port_id] = front    # not attached yet, not detached
            if port_id in current and current[port_id] is front:
                continue
            session = self.sessions.pop(key, None)
            if front is not None:
                if session is not None and session[0] == front.name:
                    # gone, or its session ended, while attached (sys-usb
                    # publishes the two in either order when the device
                    # leaves): follow it back if it comes again soon; a
                    # detach asked of qubesd ended the session before
                    self.follow[key] = session[:3] + (now + FOLLOW_WINDOW,)
                self._spawn(front.fire_event_async(
                    "device-detach:usb", port=Port(backend, port_id,
                                                   DEVCLASS)))
            if port_id not in current:
                backend.fire_event("device-removed:usb",
                                   port=Port(backend, port_id, DEVCLASS))
        added = []
        for port_id, front in current.items():
            if port_id not in cache:
                backend.fire_event("device-added:usb", device=USBDevice(
                    Port(backend, port_id, DEVCLASS)))
                if front is None:
                    added.append(port_id)
            if front is not None and cache.get(port_id) is not front:
                self._spawn(front.fire_event_async(
                    "device-attach:usb",
                    device=USBDevice(Port(backend, port_id, DEVCLASS)),
                    options={}))
        self.devices_cache[backend.name] = dict(current)
        return added

    @staticmethod
    def _specificity(assignment):
        return (assignment.port_id != "*") * 2 + \
            (assignment.device_id != "*")

    @staticmethod
    def _matches(assignment, dev):
        """Does a Qubes assignment match a device? As qubesd matches
        (backend, port or '*', device_id or '*'), plus allow-pid: the same
        vendor and serial under another product id, any interfaces (a
        serial-less device only on the assignment's port)."""
        if assignment.devclass != DEVCLASS or \
                assignment.backend_domain is None or \
                assignment.backend_domain.name != dev.backend_domain.name:
            return False
        if assignment.port_id not in ("*", dev.port_id):
            return False
        rec = dev.record
        if not rec.valid:
            return False
        if assignment.device_id in ("*", rec.device_id):
            return True
        try:
            opts = policy.parse_options(assignment.options)
        except ValueError:
            return False
        if not opts.allow_pids:
            return False
        want = assignment.device_id.split(":", 3)
        have = rec.device_id.split(":", 3)
        if len(want) != 4 or want[0] != have[0] or want[2] != have[2]:
            return False
        if want[2] == "" and assignment.port_id == "*":
            return False
        return have[1] in opts.allow_pids or have[1] == want[1]

    def _candidates(self, backend, dev):
        """{frontend VM: its most specific matching assignment} over the
        running VMs."""
        found = {}
        for front in backend.app.domains:
            if front is backend or isinstance(
                    front, qubes.vm.adminvm.AdminVM) or \
                    not front.is_running() or \
                    getattr(front, "klass", "") == "RemoteVM":
                continue
            best = None
            for ass in front.devices[DEVCLASS].get_assigned_devices():
                if not self._matches(ass, dev):
                    continue
                if best is None or \
                        self._specificity(ass) > self._specificity(best):
                    best = ass
            if best is not None:
                found[front] = best
        return found

    async def _auto_attach_added(self, backend, ports):
        now = self.clock()
        for port_id in ports:
            dev = USBDevice(Port(backend, port_id, DEVCLASS))
            follow = self.follow.pop((backend.name, port_id), None)
            if follow is not None and follow[3] >= now and \
                    dev.record.valid:
                name, device_id, options, _ = follow
                ass = DeviceAssignment(
                    VirtualDevice(dev.port, device_id), options=options)
                try:
                    front = backend.app.domains[name]
                except KeyError:
                    front = None
                if front is not None and front.is_running() and (
                        device_id == dev.device_id or
                        self._matches(ass, dev)):
                    # the person attached it: no new prompt; the
                    # session keeps the identity the person chose
                    await self._attach_notify(front, dev, options,
                                              prompt=False, asked=True,
                                              origin=device_id)
                    continue
            cands = self._candidates(backend, dev)
            if not cands:
                continue
            if len(cands) > 1:
                chosen = await qubes.ext.utils.confirm_device_attachment(
                    dev, cands)
                front = next((f for f in cands if f.name == chosen), None)
                if front is None:
                    continue
                await self._attach_notify(front, dev, cands[front].options,
                                          prompt=False, asked=True)
                continue
            front, ass = next(iter(cands.items()))
            ask = ass.mode == AssignmentMode.ASK
            await self._attach_notify(front, dev, ass.options, prompt=ask,
                                      asked=ask)

    async def _attach_notify(self, vm, dev, options, prompt, asked,
                             origin=None):
        """An automatic attach: prompt first if told to, attach (``asked``:
        a person already chose this VM, which answers a rule's "ask";
        ``origin``: the identity followed), tell qubesd's listeners;
        failures are logged, not raised."""
        try:
            if prompt and not await self._confirm(vm, dev):
                return
            await self._attach(vm, dev, options, asked=asked, origin=origin)
        except qubes.exc.QubesException as e:
            vm.log.error("usbgate: auto-attach of %s failed: %s",
                         dev.port, e)
            return
        await vm.fire_event_async("device-attach:usb", device=dev,
                                  options=options)

    async def _confirm(self, vm, dev):
        """Qubes' own prompt (device-agent.GUI in the GUI VM)."""
        ass = DeviceAssignment(VirtualDevice(dev.port, dev.device_id),
                               frontend_domain=vm, mode=AssignmentMode.ASK)
        chosen = await qubes.ext.utils.confirm_device_attachment(
            dev, {vm: ass})
        return chosen == vm.name

    @qubes.ext.handler("domain-start")
    async def on_domain_start(self, vm, event, **kwargs):
        # pylint: disable=unused-argument
        await self._auto_attach_vm(vm)

    @qubes.ext.handler("domain-resumed")
    async def on_domain_resumed(self, vm, event, **kwargs):
        # pylint: disable=unused-argument
        await self._auto_attach_vm(vm)

    async def _auto_attach_vm(self, vm):
        """Attach what vm's assignments match and nothing holds."""
        chosen = {}
        for ass in vm.devices[DEVCLASS].get_assigned_devices():
            backend = ass.backend_domain
            if backend is None or not self._is_backend(backend):
                if ass.required:
                    vm.log.warning("usbgate: required device %s: its "
                                   "backend is not running", ass)
                continue
            matched = False
            for dev in self.on_device_list_usb(backend, None):
                if not self._matches(ass, dev):
                    continue
                matched = True
                if dev.attachment is not None:
                    continue
                cur = chosen.get(dev.port)
                if cur is None or \
                        self._specificity(ass) > self._specificity(cur[1]):
                    chosen[dev.port] = (dev, ass)
            if not matched and ass.required:
                vm.log.warning("usbgate: required device %s is not "
                               "present", ass)
        for dev, ass in chosen.values():
            ask = ass.mode == AssignmentMode.ASK
            await self._attach_notify(vm, dev, ass.options, prompt=ask,
                                      asked=ask)

    @qubes.ext.handler("domain-shutdown")
    async def on_domain_shutdown(self, vm, event, **kwargs):
        # pylint: disable=unused-argument
        self.identities.pop(vm.name, None)
        if self.devices_cache.get(vm.name):
            self._list_change(vm, {})
            for key in [k for k in self.follow if k[0] == vm.name]:
                del self.follow[key]
        for backend_name, ports in self.devices_cache.items():
            for port_id, front in ports.items():
                if front is not vm:
                    continue
                ports[port_id] = None
                self.sessions.pop((backend_name, port_id), None)
                try:
                    backend = vm.app.domains[backend_name]
                except KeyError:
                    continue
                self._spawn(vm.fire_event_async(
                    "device-detach:usb", port=Port(backend, port_id,
                                                   DEVCLASS)))
        for key in [k for k, f in self.follow.items() if f[0] == vm.name]:
            del self.follow[key]

    # ---- attach, detach, assign ---------------------------------------------

    @qubes.ext.handler("device-pre-assign:usb")
    async def on_device_pre_assign(self, vm, event, device, options):
        # pylint: disable=unused-argument
        try:
            opts = policy.parse_options(options)
        except ValueError as e:
            raise qubes.exc.QubesValueError(str(e)) from None
        if opts.allow_pids:
            if device.device_id == "*":
                raise qubes.exc.QubesValueError(
                    "allow-pid needs an assignment by device identity")
            parts = device.device_id.split(":", 3)
            if len(parts) != 4 or (parts[2] == "" and device.port_id == "*"):
                raise qubes.exc.QubesValueError(
                    "allow-pid on a device without serial number needs "
                    "its port too")

    @qubes.ext.handler("device-pre-attach:usb")
    async def on_device_pre_attach(self, vm, event, device, options):
        # pylint: disable=unused-argument
        if not isinstance(device, USBDevice):
            return
        if isinstance(vm, qubes.vm.adminvm.AdminVM) or vm.qid == 0:
            raise USBGateException("usbgate does not attach USB devices to "
                                   "dom0")
        if not vm.is_running():
            return
        await self._attach(vm, device, options, asked=False)

    async def _attach(self, vm, device, options, asked, origin=None):
        try:
            opts = policy.parse_options(options)
        except ValueError as e:
            raise qubes.exc.QubesValueError(str(e)) from None
        backend = device.backend_domain
        key = (backend.name, device.port_id)
        async with self.locks[key]:
            if device.attachment is not None:
                raise qubes.exc.DeviceAlreadyAttached(
                    "Device {} already attached to {}".format(
                        device.port, device.attachment))
            rec = device.record
            if not rec.valid:
                raise USBGateException(
                    "Device {} cannot be attached: {} published a {} for "
                    "it".format(device.port, backend.name, rec.problem))
            if vm.virt_mode == "hvm" and vm.features.check_with_template(
                    "stubdom-qrexec", False):
                raise USBGateException(
                    "usbgate cannot attach to {}: its device model runs in "
                    "a stubdomain (see usbgate's doc/qubes.md)".format(
                        vm.name))
            verdict = await policy.decide(backend.name, device.port_id,
                                          rec.device_id, rec.ifaces, vm.name,
                                          getattr(vm, "tags", ()))
            what = "{} ({}) to {}".format(device.port, rec.device_id,
                                          vm.name)
            if verdict.error:
                raise USBGateDenied("usbgate denies {}: {}".format(
                    what, verdict.error))
            if verdict.decision == "deny":
                raise USBGateDenied("usbgate policy denies {}: {}".format(
                    what, verdict.rule or "no rule matches"))
            if verdict.decision == "ask" and not asked and \
                    not await self._confirm(vm, device):
                raise USBGateDenied("attach of {} refused at the "
                                    "prompt".format(what))
            refused = list(verdict.refused)
            refused += [t for t in rec.ifaces
                        if opts.hides(t) and t not in refused]
            if len(refused) >= len(rec.ifaces):
                raise USBGateDenied("usbgate denies {}: every interface "
                                    "would be hidden".format(what))
            await self._call(backend, "usbgate.Options", "{} {} {} {}\n".format(
                vm.name, device.port_id, ",".join(refused) or "-",
                int(opts.reset)), "preparation")
            shown = {}
            if refused:
                shown["hidden-interfaces"] = ",".join(
                    _type_name(t) for t in refused)
            if opts.reset:
                shown["reset-on-attach"] = "yes"
            # qubesd's caller fires device-attach; keep the QubesDB watch
            # from firing it twice.
            self.devices_cache[backend.name][device.port_id] = vm
            line = policy.usb_policy_line(device.port_id, vm.name,
                                          backend.name)
            policy.modify_transient_policy(line, True)
            self.attaching.add(key)
            try:
                await self._call(vm, "qubes.USBAttach", "{} {}\n".format(
                    backend.name, device.port_id), "attach")
            except BaseException:
                if self.devices_cache[backend.name].get(
                        device.port_id) is vm:
                    self.devices_cache[backend.name][device.port_id] = None
                raise
            finally:
                self.attaching.discard(key)
                policy.modify_transient_policy(line, False)
            self.sessions[key] = (vm.name, origin or rec.device_id,
                                  dict(options or {}), shown)
            self.follow.pop(key, None)
            if refused:
                vm.log.info("usbgate: %s attached with interface(s) %s "
                            "hidden", device.port, shown["hidden-interfaces"])

    @qubes.ext.handler("device-pre-detach:usb")
    async def on_device_pre_detach(self, vm, event, port):
        # pylint: disable=unused-argument
        if port.devclass != DEVCLASS or not vm.is_running() or \
                isinstance(vm, qubes.vm.adminvm.AdminVM):
            return
        for dev, _ in self.on_device_list_attached(vm, event):
            if dev.port == port:
                break
        else:
            raise USBGateException("Device {} not connected to VM {}".format(
                port, vm.name))
        backend = dev.backend_domain
        key = (backend.name, dev.port_id)
        self.devices_cache[backend.name][dev.port_id] = None
        self.sessions.pop(key, None)
        self.follow.pop(key, None)
        await self._call(backend, "qubes.USBDetach",
                         "{}\n".format(dev.port_id), "detach")

    @staticmethod
    async def _call(vm, service, text, what):
        """Run a usbgate service in vm as root with ``text`` on stdin."""
        try:
            await vm.run_service_for_stdio(service, user="root",
                                           input=text.encode("ascii"))
        except subprocess.CalledProcessError as e:
            if e.returncode == 127:
                raise USBGateNotInstalled(
                    "usbgate is not installed in {} ({} not found)".format(
                        vm.name, service)) from None
            why = " ".join(x for x in (_printable(e.stderr),
                                       _printable(e.output)) if x)
            raise USBGateException("Device {} failed in {}: {}".format(
                what, vm.name, why or "{} exited {}".format(
                    service, e.returncode))) from None

    @qubes.ext.handler("qubes-close", system=True)
    def on_qubes_close(self, app, event):
        # pylint: disable=unused-argument
        self.devices_cache.clear()
        self.sessions.clear()
        self.follow.clear()
        self.identities.clear()
