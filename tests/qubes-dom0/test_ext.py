# tests/qubes-dom0/test_ext.py: usbgate's qubesd extension
# (integration/qubes/dom0/usbgate_qubes) against the qubesd double
# (double/qubes) and a qrexec double of the VMs (Services below), with the
# real usbgate command line deciding (USBGATE_CLI, the build's
# tools/usbgate) over rule files written here. Each test drives the
# extension only the way qubesd does: DeviceCollection attach / detach /
# assign, VM start, QubesDB writes with the trigger key.
import asyncio
import importlib.util
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "double"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration", "qubes",
                                "dom0"))

import qubes.exc  # noqa: E402
import qubes.ext  # noqa: E402
import qubes.ext.utils  # noqa: E402
from qubes.app import Qubes  # noqa: E402
from qubes.device_protocol import (DeviceAssignment, Port,  # noqa: E402
                                   VirtualDevice)
from device_agent import DeviceAgent  # noqa: E402
from usbgate_qubes import ext, policy, qdb  # noqa: E402

CLI = os.environ.get("USBGATE_CLI", "")
STICK = ("0951:1666 Kingston DataTraveler\\x203.0 AA55", ":080650:")
# a storage stick that also types (the classic attack)
COMPOSITE = ("0951:1666 Kingston DataTraveler\\x203.0 AA55",
             ":080650:030101:")
WALLET = ("20a0:42b2 Nitrokey Nitrokey\\x203 N3SERIAL", ":0b0000:")
WALLET_BOOT = ("20a0:42dd Nitrokey Bootloader N3SERIAL", ":ff0000:")


class Services:
    """The VM side of the attach, as usbgate's Qubes VM package behaves
    (integration/qubes/qubes-rpc): calls are recorded; qubes.USBAttach in
    an AppVM reaches qubes.USB+BUSID in the backend only if the transient
    policy file the extension wrote allows exactly that call; qubes.USB
    honours the usbgate.Options record (caller, hidden types, reset) and
    publishes connected-to with the trigger, as the real one does."""

    def __init__(self, app):
        self.app = app
        self.calls = []
        self.policy_seen = []
        self.sessions = {}          # (backend, busid) -> (vm, refuse, reset)
        self.options = {}           # (backend, busid) -> (vm, refuse, reset)
        self.not_installed = set()  # VM names without usbgate
        app.qrexec = self

    def allowed(self, service_arg, source, target):
        try:
            with open(policy.TRANSIENT_POLICY) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        self.policy_seen.append(lines)
        name, _, arg = service_arg.partition("+")
        for line in lines:
            w = line.split()
            if w[:5] == [name, "+" + arg, source, target, "allow"] and \
                    w[5:] == ["user=root"]:
                return True
        return False

    async def __call__(self, vm, service, user, data, kwargs):
        self.calls.append((vm.name, service, user, data))
        await asyncio.sleep(0)
        if vm.name in self.not_installed:
            return 127, b"", b""
        words = data.decode().split()
        if service == "usbgate.Options":
            self.options[(vm.name, words[1])] = (words[0], words[2],
                                                 words[3])
            return 0, b"", b""
        if service == "qubes.USBAttach":
            backend = self.app.domains[words[0]]
            busid = words[1]
            if not self.allowed("qubes.USB+" + busid, vm.name, backend.name):
                return 126, b"", ("usbgate: attach {}:{} failed: qrexec "
                                  "refused qubes.USB+{}".format(
                                      backend.name, busid, busid)).encode()
            opts = self.options.pop((backend.name, busid), None)
            if opts is not None and opts[0] != vm.name:
                return 1, b"", b"usbgate: dom0 prepared it for another VM"
            self.sessions[(backend.name, busid)] = opts or (vm.name, "-",
                                                            "0")
            # another device's udev event while the import is under way
            backend.untrusted_qdb.write("/qubes-usb-devices", "")
            for _ in range(5):
                await asyncio.sleep(0)
            key = "/qubes-usb-devices/" + busid.replace(".", "_")
            backend.untrusted_qdb.write(key + "/connected-to", vm.name)
            backend.untrusted_qdb.write(key + "/x-pid", "42")
            backend.untrusted_qdb.write("/qubes-usb-devices", "")
            return 0, b"", b""
        if service == "qubes.USBDetach":
            busid = words[0]
            key = "/qubes-usb-devices/" + busid.replace(".", "_")
            if self.sessions.pop((vm.name, busid), None) is None:
                return 1, b"", b"usbgate: device is not attached to any VM"
            vm.untrusted_qdb.rm(key + "/connected-to")
            vm.untrusted_qdb.rm(key + "/x-pid")
            vm.untrusted_qdb.write("/qubes-usb-devices", "")
            return 0, b"", b""
        return 127, b"", b""


class Recorder(qubes.ext.Extension):
    """Every device event qubesd's listeners (the widget, qvm-usb's
    events) would see, in order."""
    log = []

    @qubes.ext.handler("device-added:usb", "device-removed:usb",
                       "device-list-change:usb")
    def on_sync(self, vm, event, **kwargs):
        Recorder.log.append((vm.name, event, _arg(kwargs)))

    @qubes.ext.handler("device-attach:usb", "device-detach:usb")
    async def on_async(self, vm, event, **kwargs):
        Recorder.log.append((vm.name, event, _arg(kwargs)))


def _arg(kwargs):
    if "device" in kwargs:
        return str(kwargs["device"].port)
    if "port" in kwargs:
        return str(kwargs["port"])
    return None


class ExtTest(unittest.IsolatedAsyncioTestCase):
    RULES = "allow\n"

    async def asyncSetUp(self):
        self.assertTrue(CLI and os.access(CLI, os.X_OK),
                        "USBGATE_CLI must name the built usbgate")
        self.tmp = tempfile.mkdtemp(prefix="usbgate-qubes-")
        rules = os.path.join(self.tmp, "rules.d")
        os.mkdir(rules)
        self.write_rules(self.RULES)
        patches = {"USBGATE_CLI": CLI, "RULES_DIR": rules,
                   "TRANSIENT_POLICY": os.path.join(
                       self.tmp, "run/qubes/policy.d/40-usbgate.policy")}
        for name, value in patches.items():
            p = mock.patch.object(policy, name, value)
            p.start()
            self.addCleanup(p.stop)
        Recorder.log = []
        qubes.ext.utils.CALLS.clear()
        # the person at Qubes' prompt, in the GUI VM (dom0 here)
        self.gui = DeviceAgent()
        sockets = os.path.join(self.tmp, "run", "qubes")
        await self.gui.start(sockets)
        self.addCleanup(self.gui.close)
        p = mock.patch.object(qubes.ext.utils, "SOCKET_PATH", sockets)
        p.start()
        self.addCleanup(p.stop)
        Recorder()
        self.ext = ext.USBGateExtension()
        self.app = Qubes()
        self.qrexec = Services(self.app)
        self.sys_usb = self.app.add_vm("sys-usb", 1, klass="DispVM")
        self.work = self.app.add_vm("work", 2)
        self.vault = self.app.add_vm("vault", 3)
        await self.sys_usb.start()
        await self.work.start()
        await self.vault.start()
        Recorder.log = []

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write_rules(self, text):
        with open(os.path.join(self.tmp, "rules.d", "50-test.rules"),
                  "w") as f:
            f.write(text)

    async def settle(self):
        """Run what qubesd's loop would: QubesDB watches, spawned tasks."""
        for _ in range(100):
            await asyncio.sleep(0)
            if self.ext.tasks:
                await asyncio.gather(*self.ext.tasks, return_exceptions=True)

    async def plug(self, busid, dev, backend=None):
        backend = backend or self.sys_usb
        key = "/qubes-usb-devices/" + busid.replace(".", "_")
        backend.untrusted_qdb.write(key + "/desc", dev[0])
        backend.untrusted_qdb.write(key + "/usb-ver", "2")
        backend.untrusted_qdb.write(key + "/interfaces", dev[1])
        backend.untrusted_qdb.write("/qubes-usb-devices", "")
        await self.settle()

    async def unplug(self, busid):
        self.qrexec.sessions.pop(("sys-usb", busid), None)
        key = "/qubes-usb-devices/" + busid.replace(".", "_")
        self.sys_usb.untrusted_qdb.rm(key + "/")
        self.sys_usb.untrusted_qdb.write("/qubes-usb-devices", "")
        await self.settle()

    def dev(self, busid):
        return self.sys_usb.devices["usb"][busid]

    async def attach(self, vm, busid, **options):
        ass = DeviceAssignment(self.dev(busid), options=options)
        await vm.devices["usb"].attach(ass)
        await self.settle()

    def events(self, *names):
        return [e for e in Recorder.log if e[1] in names]

    def service_calls(self, service=None):
        return [c for c in self.qrexec.calls
                if service is None or c[1] == service]


class TestListing(ExtTest):
    async def test_sanitized_listing(self):
        await self.plug("2-1", STICK)
        await self.plug("3-1.4", ("1050:0407 Yubico\\xe2\\x80\\x8bEvil "
                                  "Yubi\\x07key\\x1b[2J<b>&amp; 0001\\x27x",
                                  ":030101:0b0000:"))
        devs = {d.port_id: d for d in self.sys_usb.devices["usb"]}
        self.assertEqual(sorted(devs), ["2-1", "3-1.4"])
        stick = devs["2-1"]
        self.assertEqual(stick.name, "DataTraveler 3.0")
        self.assertEqual(stick.manufacturer, "Kingston")
        self.assertEqual(stick.device_id, "0951:1666:AA55:u080650")
        self.assertEqual(stick.description,
                         "USB_Storage: Kingston DataTraveler 3.0")
        hostile = devs["3-1.4"]
        # non-ASCII, control bytes and markup (<, >, &: the prompt shows
        # names as Pango markup) are '_'; the quote stays a character of
        # the name but not of the device_id
        self.assertEqual(hostile.manufacturer, "Yubico___Evil")
        self.assertEqual(hostile.name, "Yubi_key_[2J_b__amp;")
        self.assertEqual(hostile.serial, "0001'x")
        self.assertEqual(hostile.device_id,
                         "1050:0407:0001_x:u030101u0b0000")
        # what qubesd sends for admin.vm.device.usb.Available is accepted
        # by its serializer
        for d in devs.values():
            self.assertIn(b"port_id=", d.serialize())
        self.assertIs(self.dev("9-9").__class__.__name__, "UnknownDevice")

    async def test_hostile_keys_dropped(self):
        qdb_ = self.sys_usb.untrusted_qdb
        for bad in ("2-1.3", "x-1", "1-1_", "2-1-3", ":1", "1-1_1_1_1_1_1_1_1",
                    "1234-1", "2-1..", "..", "-"):
            qdb_.write("/qubes-usb-devices/" + bad + "/desc", STICK[0])
        with self.assertLogs("vm.sys-usb", "WARNING") as cm:
            await self.plug("2-1", STICK)
            self.assertEqual([d.port_id for d in
                              self.sys_usb.devices["usb"]], ["2-1"])
        self.assertIn("10 invalid USB device key(s)", cm.output[-1])
        self.assertEqual(self.dev("2-1.3").__class__.__name__,
                         "UnknownDevice")

    async def test_malformed_values_listed_never_attached(self):
        cases = {
            "2-2": ("0951:1666 only three", ":080650:"),
            "2-3": ("0951:16 A B C", ":080650:"),
            "2-4": ("0951:1666 A B C", ":0806zz:"),
            "2-5": ("0951:1666 A B C", ""),
            "2-6": ("0951:1666 A B C", ":" + "080650:" * 0 + "08065:"),
        }
        for busid, dev in cases.items():
            await self.plug(busid, dev)
        for busid in cases:
            d = self.dev(busid)
            self.assertEqual(d.device_id, "0000:0000::?******", busid)
            self.assertIn(b"interfaces='?******'", d.serialize())
            with self.assertRaisesRegex(ext.USBGateException,
                                        "sys-usb published a"):
                await self.attach(self.work, busid)
        self.assertEqual(self.qrexec.calls, [])
        # an over-long string is cut, a long interface list refused
        await self.plug("2-7", ("0951:1666 " + "M" * 3000 + " N S", ":080650:"))
        self.assertEqual(len(self.dev("2-7").manufacturer), qdb.STR_MAX)
        await self.plug("2-8", ("0951:1666 A B C", ":" + ":".join(
            "08%04x" % i for i in range(33)) + ":"))
        self.assertFalse(self.dev("2-8").record.valid)

    async def test_connected_to_checked(self):
        await self.plug("2-1", STICK)
        key = "/qubes-usb-devices/2-1/connected-to"
        for value, want in (("work", self.work), ("nosuchvm", None),
                            ("work;rm", None), ("-work", None),
                            ("w" * 32, None), (b"w\xc3\xa9rk", None)):
            self.sys_usb.untrusted_qdb.write(key, value)
            self.assertIs(self.dev("2-1").attachment, want, value)
        self.sys_usb.untrusted_qdb.write(key, "vault")
        with self.assertRaises(qubes.exc.DeviceAlreadyAttached):
            await self.attach(self.work, "2-1")
        self.assertEqual(self.qrexec.calls, [])


class TestAttach(ExtTest):
    async def test_attach_detach_services(self):
        await self.plug("2-1", STICK)
        self.assertEqual(self.events("device-added:usb"),
                         [("sys-usb", "device-added:usb", "sys-usb:2-1")])
        await self.attach(self.work, "2-1")
        self.assertEqual(self.qrexec.calls, [
            ("sys-usb", "usbgate.Options", "root", b"work 2-1 - 0\n"),
            ("work", "qubes.USBAttach", "root", b"sys-usb 2-1\n")])
        # the AppVM's call was allowed by exactly our line, which is gone
        self.assertEqual(self.qrexec.policy_seen[-1],
                         ["qubes.USB +2-1 work sys-usb allow user=root"])
        self.assertFalse(os.path.exists(policy.TRANSIENT_POLICY))
        self.assertIs(self.dev("2-1").attachment, self.work)
        self.assertEqual(self.events("device-attach:usb", "device-detach:usb"),
                         [("work", "device-attach:usb", "sys-usb:2-1")])
        attached = list(self.work.devices["usb"].get_attached_devices())
        self.assertEqual([a.port_id for a in attached], ["2-1"])
        with self.assertRaises(qubes.exc.DeviceAlreadyAttached):
            await self.attach(self.vault, "2-1")

        await self.work.devices["usb"].detach(Port(self.sys_usb, "2-1",
                                                   "usb"))
        await self.settle()
        self.assertEqual(self.service_calls("qubes.USBDetach"),
                         [("sys-usb", "qubes.USBDetach", "root", b"2-1\n")])
        self.assertIsNone(self.dev("2-1").attachment)
        self.assertEqual(self.events("device-detach:usb"),
                         [("work", "device-detach:usb", "sys-usb:2-1")])
        self.assertEqual(list(self.work.devices["usb"].get_attached_devices()),
                         [])
        with self.assertRaises(qubes.exc.DeviceNotAssigned):
            await self.work.devices["usb"].detach(Port(self.sys_usb, "2-1",
                                                       "usb"))

    async def test_not_installed_and_failures(self):
        await self.plug("2-1", STICK)
        self.qrexec.not_installed.add("work")
        with self.assertRaisesRegex(ext.USBGateNotInstalled,
                                    "not installed in work"):
            await self.attach(self.work, "2-1")
        self.assertFalse(os.path.exists(policy.TRANSIENT_POLICY))
        self.assertEqual(self.events("device-attach:usb",
                                     "device-detach:usb"), [])
        self.qrexec.not_installed = {"sys-usb"}
        with self.assertRaisesRegex(ext.USBGateNotInstalled,
                                    r"sys-usb \(usbgate.Options"):
            await self.attach(self.work, "2-1")
        self.assertEqual(self.service_calls("qubes.USBAttach")[1:], [])
        self.qrexec.not_installed = set()
        # the AppVM's reason reaches the user, control bytes removed
        self.qrexec.options.clear()

        services = self.app.qrexec

        async def fail(vm, service, user, data, kwargs):
            if service != "qubes.USBAttach":
                return await services(vm, service, user, data, kwargs)
            return 1, b"", b"usbgate: attach sys-usb:2-1 failed: \x1b[31mno"
        self.app.qrexec = fail
        with self.assertRaisesRegex(ext.USBGateException,
                                    r"^Device attach failed in work: "
                                    r"usbgate: attach sys-usb:2-1 failed: "
                                    r"\[31mno$"):
            await self.attach(self.work, "2-1")
        self.assertIsNone(self.dev("2-1").attachment)

    async def test_dom0_and_stubdom_refused(self):
        await self.plug("2-1", STICK)
        with self.assertRaisesRegex(ext.USBGateException, "dom0"):
            await self.attach(self.app.domains["dom0"], "2-1")
        self.work.virt_mode = "hvm"
        self.work.features["stubdom-qrexec"] = True
        with self.assertRaisesRegex(ext.USBGateException, "stubdomain"):
            await self.attach(self.work, "2-1")
        self.assertEqual(self.qrexec.calls, [])

    async def test_options_checked(self):
        await self.plug("2-1", STICK)
        for options, why in (({"foo": "1"}, "unknown USB option"),
                             ({"deny-interface": "3:1:1"}, "bad interface"),
                             ({"deny-interface": "03:*:01"}, "bad interface"),
                             ({"reset-on-attach": "maybe"}, "yes or no"),
                             ({"allow-pid": "42d"}, "four hex")):
            with self.assertRaisesRegex(qubes.exc.QubesValueError, why):
                await self.attach(self.work, "2-1", **options)
        with self.assertRaisesRegex(qubes.exc.QubesValueError,
                                    "identity"):
            await self.work.devices["usb"].assign(DeviceAssignment(
                VirtualDevice(Port(self.sys_usb, "2-1", "usb")),
                options={"allow-pid": "42dd"}, mode="auto-attach"))
        with self.assertRaisesRegex(qubes.exc.QubesValueError, "port"):
            await self.work.devices["usb"].assign(DeviceAssignment(
                VirtualDevice(Port(self.sys_usb, None, "usb"),
                              "20a0:42b2::u0b0000"),
                options={"allow-pid": "42dd"}, mode="auto-attach"))
        self.assertEqual(list(self.work.devices["usb"]
                              .get_assigned_devices()), [])
        self.assertEqual(self.qrexec.calls, [])


class TestPolicy(ExtTest):
    RULES = "deny id 0951:* to vault\nallow deny-interface 03:01:01\n"

    async def test_rule_denies(self):
        await self.plug("2-1", STICK)
        with self.assertRaisesRegex(
                ext.USBGateDenied,
                r"usbgate policy denies sys-usb:2-1 \(0951:1666:AA55:u080650\)"
                r" to vault: .*50-test.rules:1: deny id 0951:\* to vault"):
            await self.attach(self.vault, "2-1")
        self.assertEqual(self.qrexec.calls, [])
        self.assertFalse(os.path.exists(policy.TRANSIENT_POLICY))
        await self.attach(self.work, "2-1")
        self.assertIs(self.dev("2-1").attachment, self.work)

    async def test_interface_refusal(self):
        await self.plug("2-1", COMPOSITE)
        await self.attach(self.work, "2-1")
        self.assertEqual(self.service_calls("usbgate.Options"), [
            ("sys-usb", "usbgate.Options", "root", b"work 2-1 030101 0\n")])
        self.assertEqual(self.qrexec.sessions[("sys-usb", "2-1")],
                         ("work", "030101", "0"))
        (ass,) = self.work.devices["usb"].get_attached_devices()
        self.assertEqual(ass.options, {"hidden-interfaces": "03:01:01"})
        # the user's options add to the rules' and show as well
        await self.plug("2-3", ("0951:1666 K D S", ":080650:030101:0b0000:"))
        await self.attach(self.work, "2-3", **{"deny-interface": "08:*:*, "
                                               "03:01:01",
                                               "reset-on-attach": "yes"})
        self.assertEqual(self.service_calls("usbgate.Options")[-1][3],
                         b"work 2-3 030101,080650 1\n")
        shown = {a.port_id: a.options for a in
                 self.work.devices["usb"].get_attached_devices()}
        self.assertEqual(shown["2-3"], {"hidden-interfaces":
                                        "03:01:01,08:06:50",
                                        "reset-on-attach": "yes"})
        # every interface hidden: denied, and nothing asked of the VMs
        await self.plug("2-2", ("046d:c31c Logitech Keyboard K", ":030101:"))
        n = len(self.qrexec.calls)
        with self.assertRaisesRegex(ext.USBGateDenied,
                                    "every interface would be hidden"):
            await self.attach(self.vault, "2-2")
        self.assertEqual(len(self.qrexec.calls), n)

    async def test_rule_errors_deny_everything(self):
        await self.plug("2-1", STICK)
        self.write_rules("allow frobnicate\n")
        with self.assertRaisesRegex(ext.USBGateDenied, "rules have errors"):
            await self.attach(self.work, "2-1")
        with mock.patch.object(policy, "USBGATE_CLI", "/nonexistent/usbgate"):
            with self.assertRaisesRegex(ext.USBGateDenied, "cannot run"):
                await self.attach(self.work, "2-1")
        self.assertEqual(self.qrexec.calls, [])

    async def test_tags_reach_rules(self):
        self.write_rules("allow to @tag:usb-ok\n")
        await self.plug("2-1", STICK)
        with self.assertRaises(ext.USBGateDenied):
            await self.attach(self.work, "2-1")
        self.work.tags.add("usb-ok")
        await self.attach(self.work, "2-1")
        self.assertIs(self.dev("2-1").attachment, self.work)


class TestAsk(ExtTest):
    RULES = "ask\n"

    async def test_rule_ask_uses_qubes_prompt(self):
        await self.plug("2-1", ("0951:1666 Evil\\x3cb\\x3e Stick AA55",
                                ":080650:"))
        self.gui.choose = lambda params: None
        with self.assertRaisesRegex(ext.USBGateDenied, "refused at the prompt"):
            await self.attach(self.work, "2-1")
        self.assertEqual(self.qrexec.calls, [])
        # an answer naming a VM that was not offered is a no
        self.gui.choose = lambda params: "vault"
        with self.assertRaisesRegex(ext.USBGateDenied, "refused at the prompt"):
            await self.attach(self.work, "2-1")
        self.assertEqual(self.qrexec.calls, [])
        self.gui.choose = lambda params: "work"
        await self.attach(self.work, "2-1")
        self.assertIs(self.dev("2-1").attachment, self.work)
        self.assertEqual(len(self.gui.requests), 3)
        self.assertEqual(self.gui.errors, [])
        params = self.gui.requests[-1]
        self.assertEqual((params["source"], params["argument"],
                          params["targets"], params["default_target"]),
                         ("sys-usb", "2-1", ["work"], "work"))
        # the agent shows the name as Pango markup: none reaches it
        self.assertEqual(params["device_name"], "USB_Storage: Evil_b_ Stick")
        self.assertEqual(params["icons"], {"dom0": "adminvm-black",
                                           "@dispvm:sys-usb": "dispvm-red",
                                           "work": "appvm-red",
                                           "vault": "appvm-red"})

    async def test_no_prompt_is_no(self):
        # no agent listening (no GUI session): the attach is refused
        await self.plug("2-1", STICK)
        self.gui.close()
        os.unlink(os.path.join(qubes.ext.utils.SOCKET_PATH,
                               "device-agent.GUI"))
        self.gui.choose = lambda params: "work"
        with self.assertRaisesRegex(ext.USBGateDenied, "refused at the prompt"):
            await self.attach(self.work, "2-1")
        self.assertEqual(len(qubes.ext.utils.CALLS), 1)
        self.assertEqual((self.gui.requests, self.qrexec.calls), ([], []))
        self.assertIsNone(self.dev("2-1").attachment)

    async def test_ask_to_attach_assignment_asks_once(self):
        self.write_rules("allow\n")
        self.gui.choose = lambda params: "work"
        await self.work.devices["usb"].assign(DeviceAssignment(
            VirtualDevice(Port(self.sys_usb, "2-1", "usb")),
            mode="ask-to-attach"))
        await self.plug("2-1", STICK)
        self.assertEqual(len(self.gui.requests), 1)
        self.assertIs(self.dev("2-1").attachment, self.work)


class TestAutoAttach(ExtTest):
    async def assign(self, vm, port_id, device_id, mode="auto-attach",
                     **options):
        await vm.devices["usb"].assign(DeviceAssignment(
            VirtualDevice(Port(self.sys_usb, port_id, "usb"), device_id),
            options=options, mode=mode))

    async def test_reenumeration_keeps_assignment(self):
        await self.assign(self.work, "2-1", "0951:1666:AA55:u080650")
        await self.plug("2-1", STICK)
        self.assertIs(self.dev("2-1").attachment, self.work)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 1)
        await self.unplug("2-1")
        self.assertEqual(sorted(self.events("device-detach:usb",
                                            "device-removed:usb")),
                         [("sys-usb", "device-removed:usb", "sys-usb:2-1"),
                          ("work", "device-detach:usb", "sys-usb:2-1")])
        self.assertEqual(len(list(self.work.devices["usb"]
                                  .get_assigned_devices())), 1)
        await self.plug("2-1", STICK)
        self.assertIs(self.dev("2-1").attachment, self.work)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 2)
        self.assertEqual(self.events("device-attach:usb"),
                         [("work", "device-attach:usb", "sys-usb:2-1")] * 2)
        # another identity on that port is not the assigned device
        await self.unplug("2-1")
        await self.plug("2-1", ("0951:1666 Kingston DataTraveler OTHER",
                                ":080650:"))
        self.assertIsNone(self.dev("2-1").attachment)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 2)

    async def test_published_in_two_steps(self):
        # a QubesDB change seen between udev's writes: the device reads
        # incomplete first, and is attached once it reads whole
        await self.assign(self.work, "2-1", "0951:1666:AA55:u080650")
        await self.plug("2-1", STICK)
        await self.replug_in_two_steps("2-1")
        self.assertIs(self.dev("2-1").attachment, self.work)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 2)

    async def replug_in_two_steps(self, busid):
        await self.unplug(busid)
        key = "/qubes-usb-devices/" + busid
        self.sys_usb.untrusted_qdb.write(key + "/desc", STICK[0])
        self.sys_usb.untrusted_qdb.write("/qubes-usb-devices", "")
        await self.settle()
        self.assertFalse(self.dev(busid).record.valid)
        self.assertIsNone(self.dev(busid).attachment)
        self.sys_usb.untrusted_qdb.write(key + "/interfaces", STICK[1])
        self.sys_usb.untrusted_qdb.write("/qubes-usb-devices", "")
        await self.settle()

    async def test_manual_attach_followed_back(self):
        await self.plug("2-1", STICK)
        await self.attach(self.vault, "2-1", **{"reset-on-attach": "yes"})
        await self.replug_in_two_steps("2-1")
        self.assertIs(self.dev("2-1").attachment, self.vault)
        self.assertEqual(self.service_calls("usbgate.Options")[-1][3],
                         b"vault 2-1 - 1\n")
        # not after an explicit detach, nor after the window
        await self.vault.devices["usb"].detach(Port(self.sys_usb, "2-1",
                                                    "usb"))
        await self.unplug("2-1")
        await self.plug("2-1", STICK)
        self.assertIsNone(self.dev("2-1").attachment)
        await self.attach(self.vault, "2-1")
        await self.unplug("2-1")
        self.ext.clock = lambda: 1e12
        await self.plug("2-1", STICK)
        self.assertIsNone(self.dev("2-1").attachment)

    async def test_allow_pid_follows_wallet(self):
        await self.assign(self.vault, "*", "20a0:42b2:N3SERIAL:u0b0000",
                          **{"allow-pid": "42dd"})
        await self.plug("1-2", WALLET)
        self.assertIs(self.dev("1-2").attachment, self.vault)
        await self.unplug("1-2")
        await self.plug("1-3", WALLET_BOOT)      # bootloader, other port
        self.assertIs(self.dev("1-3").attachment, self.vault)
        await self.unplug("1-3")
        # same vendor and PID, another serial: not this wallet
        await self.plug("1-3", ("20a0:42dd Nitrokey Bootloader OTHER",
                                ":ff0000:"))
        self.assertIsNone(self.dev("1-3").attachment)
        # same vendor and serial, a product id the assignment does not allow
        await self.plug("1-4", ("20a0:42de Nitrokey Other N3SERIAL",
                                ":ff0000:"))
        self.assertIsNone(self.dev("1-4").attachment)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 2)

    async def test_manual_attach_follows_wallet_both_ways(self):
        # attached by hand with allow-pid: into the bootloader and back to
        # the firmware on its port, the wallet stays with vault (the
        # session keeps the identity attached, not the last one)
        await self.plug("1-2", WALLET)
        await self.attach(self.vault, "1-2", **{"allow-pid": "42dd"})
        for dev in (WALLET_BOOT, WALLET, WALLET_BOOT):
            await self.unplug("1-2")
            await self.plug("1-2", dev)
            self.assertIs(self.dev("1-2").attachment, self.vault, dev)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 4)
        self.assertEqual(self.gui.requests, [])

    async def replace_between_looks(self, busid, dev):
        """The device leaves and another comes on its port before qubesd
        reads QubesDB: both watch events see only the newcomer."""
        self.qrexec.sessions.pop(("sys-usb", busid), None)
        key = "/qubes-usb-devices/" + busid.replace(".", "_")
        qdb = self.sys_usb.untrusted_qdb
        qdb.rm(key + "/")
        qdb.write("/qubes-usb-devices", "")
        qdb.write(key + "/desc", dev[0])
        qdb.write(key + "/interfaces", dev[1])
        qdb.write("/qubes-usb-devices", "")
        await self.settle()

    async def test_replaced_between_two_looks(self):
        await self.plug("1-2", WALLET)
        await self.attach(self.vault, "1-2", **{"allow-pid": "42dd"})
        Recorder.log = []
        await self.replace_between_looks("1-2", WALLET_BOOT)
        self.assertIs(self.dev("1-2").attachment, self.vault)
        self.assertEqual(self.dev("1-2").device_id,
                         "20a0:42dd:N3SERIAL:uff0000")
        self.assertEqual(self.events("device-removed:usb",
                                     "device-added:usb",
                                     "device-detach:usb",
                                     "device-attach:usb"),
                         [("sys-usb", "device-removed:usb", "sys-usb:1-2"),
                          ("sys-usb", "device-added:usb", "sys-usb:1-2"),
                          ("vault", "device-detach:usb", "sys-usb:1-2"),
                          ("vault", "device-attach:usb", "sys-usb:1-2")])
        # another device, not followed: removed and added, left alone
        await self.replace_between_looks("1-2", STICK)
        self.assertIsNone(self.dev("1-2").attachment)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 2)
        # the same device again, unattached: nothing to do
        Recorder.log = []
        await self.replace_between_looks("1-2", STICK)
        self.assertEqual(self.events("device-removed:usb",
                                     "device-added:usb"), [])

    async def test_session_end_seen_before_removal(self):
        # sys-usb's qubes.USB ends (connected-to removed) before udev
        # removes the device: still followed when it comes back
        await self.plug("1-2", WALLET)
        await self.attach(self.vault, "1-2", **{"allow-pid": "42dd"})
        self.qrexec.sessions.pop(("sys-usb", "1-2"))
        self.sys_usb.untrusted_qdb.rm("/qubes-usb-devices/1-2/connected-to")
        self.sys_usb.untrusted_qdb.write("/qubes-usb-devices", "")
        await self.settle()
        self.assertIsNone(self.dev("1-2").attachment)
        await self.replace_between_looks("1-2", WALLET_BOOT)
        self.assertIs(self.dev("1-2").attachment, self.vault)
        # a detach asked of qubesd is not followed
        await self.vault.devices["usb"].detach(Port(self.sys_usb, "1-2",
                                                    "usb"))
        await self.replace_between_looks("1-2", WALLET)
        self.assertIsNone(self.dev("1-2").attachment)
        self.assertEqual(len(self.service_calls("qubes.USBAttach")), 2)

    async def test_allow_pid_without_serial_needs_port(self):
        # as qubes.xml could hold it (pre-assign would refuse it): no
        # serial, any port; no device may match by allow-pid then
        self.work.events_enabled = False
        self.work.devices["usb"].load_assignment(DeviceAssignment(
            VirtualDevice(Port(self.sys_usb, None, "usb"),
                          "20a0:42b2::u0b0000"),
            options={"allow-pid": "42dd"}, mode="auto-attach"))
        self.work.events_enabled = True
        await self.plug("1-5", ("20a0:42dd Nitrokey Bootloader ",
                                ":ff0000:"))
        self.assertEqual(self.dev("1-5").device_id, "20a0:42dd::uff0000")
        self.assertIsNone(self.dev("1-5").attachment)
        await self.plug("1-6", ("20a0:42b2 Nitrokey Nitrokey ", ":0b0000:"))
        self.assertIs(self.dev("1-6").attachment, self.work)

    async def test_required_at_start(self):
        await self.work.shutdown()
        await self.assign(self.work, "2-1", "0951:1666:AA55:u080650",
                          mode="required")
        with self.assertRaisesRegex(qubes.exc.QubesException,
                                    "not available"):
            await self.work.start()
        await self.plug("2-1", STICK)
        self.assertIsNone(self.dev("2-1").attachment)   # work is halted
        await self.work.start()
        await self.settle()
        self.assertIs(self.dev("2-1").attachment, self.work)
        self.assertEqual(self.service_calls("qubes.USBAttach"),
                         [("work", "qubes.USBAttach", "root",
                           b"sys-usb 2-1\n")])
        # qubesd refuses to detach a required device from a running VM
        with self.assertRaises(qubes.exc.QubesVMNotHaltedError):
            await self.work.devices["usb"].detach(Port(self.sys_usb, "2-1",
                                                       "usb"))

    async def test_two_vms_match_asks(self):
        await self.assign(self.work, "2-1", None)
        await self.assign(self.vault, "*", "0951:1666:AA55:u080650")
        self.gui.choose = lambda params: "vault"
        await self.plug("2-1", STICK)
        self.assertEqual((self.gui.requests[-1]["targets"],
                          self.gui.requests[-1]["default_target"]),
                         (["work", "vault"], ""))
        self.assertIs(self.dev("2-1").attachment, self.vault)

    async def test_backend_shutdown(self):
        await self.plug("2-1", STICK)
        await self.attach(self.work, "2-1")
        Recorder.log = []
        await self.sys_usb.shutdown()
        await self.settle()
        self.assertIn(("work", "device-detach:usb", "sys-usb:2-1"),
                      Recorder.log)
        self.assertIn(("sys-usb", "device-removed:usb", "sys-usb:2-1"),
                      Recorder.log)


class TestPackaging(unittest.TestCase):
    def test_entry_points(self):
        got = {}
        setup_py = os.path.join(HERE, "..", "..", "integration", "qubes",
                                "dom0", "setup.py")
        spec = importlib.util.spec_from_file_location("usbgate_setup",
                                                      setup_py)
        module = importlib.util.module_from_spec(spec)
        fake = mock.MagicMock()
        fake.setup = lambda **kw: got.update(kw)
        fake.find_packages = lambda *a, **k: ["usbgate_qubes"]
        with mock.patch.dict(sys.modules, {"setuptools": fake}):
            spec.loader.exec_module(module)
        eps = got["entry_points"]
        self.assertEqual(eps["qubes.ext"],
                         ["usbgate = usbgate_qubes.ext:USBGateExtension"])
        self.assertEqual(eps["qubes.devices"],
                         ["usb = usbgate_qubes.ext:USBDevice"])
        self.assertTrue(issubclass(ext.USBGateExtension, qubes.ext.Extension))

    def test_transient_policy_file(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "d", "40-usbgate.policy")
        a = policy.usb_policy_line("2-1", "work", "sys-usb")
        b = policy.usb_policy_line("3-1.4", "vault", "sys-usb")
        policy.modify_transient_policy(a, True, path)
        policy.modify_transient_policy(b, True, path)
        policy.modify_transient_policy(a, True, path)
        policy.modify_transient_policy(a, False, path)
        with open(path) as f:
            self.assertEqual(f.read(),
                             "qubes.USB +3-1.4 vault sys-usb allow user=root\n")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o664)
        policy.modify_transient_policy(b, False, path)
        # nothing else left where the policy daemon reads
        self.assertEqual(os.listdir(os.path.dirname(path)), [])
        # the static file denies what no transient line allows
        static = os.path.join(HERE, "..", "..", "integration", "qubes",
                              "dom0", "policy.d", "45-usbgate.policy")
        with open(static) as f:
            rules = [line.split() for line in f
                     if line.strip() and not line.startswith("#")]
        self.assertIn(["qubes.USB", "*", "@anyvm", "@anyvm", "deny"], rules)
        self.assertGreater(os.path.basename(static),
                           os.path.basename(policy.TRANSIENT_POLICY))


if __name__ == "__main__":
    unittest.main()
