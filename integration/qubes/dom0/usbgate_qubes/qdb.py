# usbgate_qubes/qdb.py: the one sanitize step of what a backend VM (sys-usb)
# publishes in its QubesDB under /qubes-usb-devices/ID/ (desc, interfaces,
# connected-to), as qubes-linux-utils' udev scripts and our qubes.USB write
# them. Everything read here is untrusted_*; what leaves is a Record of
# checked fields, or None. Pure: no qubesd import, no I/O beyond the QubesDB
# handle it is given.
import re

QDB_ROOT = "/qubes-usb-devices/"
# QubesDB keys use '_' where the bus id has '.', e.g. 2-1_4 for 2-1.4.
_QDB_ID_RE = re.compile(r"\A[0-9]{1,3}-[0-9]{1,3}(_[0-9]{1,3}){0,6}\Z")
_VM_RE = re.compile(r"\A[a-zA-Z][a-zA-Z0-9_.-]{0,30}\Z")
_HEX4_RE = re.compile(rb"\A[0-9a-fA-F]{4}\Z")
_IFACE_RE = re.compile(rb"\A[0-9a-fA-F]{6}\Z")
# What one device string may keep: printable ASCII, which qubesd's
# serializer accepts (letters, digits, punctuation, space), except the
# characters of markup: the devices widget and device-agent.GUI show the
# name as Pango markup, where a device's "<b>" or "&" would format or break
# the prompt that decides where it goes.
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) - set("<>&")
# The serial inside a device_id: what usbgate's device_id grammar allows.
_SERIAL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
STR_MAX = 126           # usbgate's POL_USBSTR_MAX
IFACES_MAX = 32         # usbgate's POL_IFACE_MAX
PORT_ID_MAX = 31


class Record:
    """Checked fields of one published device. ``ifaces`` is the list of
    interface types as six lowercase hex digits, each once, in the
    published order; ``valid`` is False when desc or interfaces were
    malformed (the device is listed, but never attached)."""

    # pylint: disable=too-few-public-methods,too-many-instance-attributes
    def __init__(self, port_id):
        self.port_id = port_id
        self.vid = "0000"
        self.pid = "0000"
        self.manufacturer = ""
        self.name = ""
        self.serial = ""
        self.ifaces = []
        self.valid = False
        self.problem = "nothing published"

    @property
    def device_id(self):
        """Qubes R4.3's VID:PID:SERIAL:IFACES, as usbgate spells it."""
        if not self.valid:
            return "0000:0000::?******"
        serial = "".join(c if c in _SERIAL_CHARS else "_"
                         for c in self.serial)
        return "{}:{}:{}:{}".format(self.vid, self.pid, serial,
                                    "".join("u" + t for t in self.ifaces))


def port_from_qdb_id(untrusted_qdb_id):
    """The port id (2-1.4) of a QubesDB key component, or None."""
    if not isinstance(untrusted_qdb_id, str):
        return None
    if not _QDB_ID_RE.match(untrusted_qdb_id):
        return None
    port_id = untrusted_qdb_id.replace("_", ".")
    return port_id if len(port_id) <= PORT_ID_MAX else None


def qdb_id(port_id):
    """The QubesDB key component of a (checked) port id."""
    return port_id.replace(".", "_")


def valid_port_id(untrusted_port_id):
    """True if it is a bus id in Qubes' form (2-1, 2-1.4)."""
    if not isinstance(untrusted_port_id, str):
        return False
    return port_from_qdb_id(untrusted_port_id.replace(".", "_")) == \
        untrusted_port_id


def valid_vm_name(untrusted_name):
    """True if it is a name qubesd accepts for a VM."""
    return isinstance(untrusted_name, str) and bool(_VM_RE.match(untrusted_name))


def _decode_str(untrusted_value):
    """udev's encoding (\\xHH escapes) to printable ASCII;
    anything else becomes '_'; at most STR_MAX characters."""
    out = []
    i = 0
    n = len(untrusted_value)
    while i < n and len(out) < STR_MAX:
        c = untrusted_value[i]
        if c == 0x5C and i + 3 < n and untrusted_value[i + 1] == 0x78:
            untrusted_hex = bytes(untrusted_value[i + 2:i + 4])
            if all(h in b"0123456789abcdefABCDEF" for h in untrusted_hex):
                c = int(untrusted_hex, 16)
                i += 3
        ch = chr(c)
        out.append(ch if ch in _PRINTABLE else "_")
        i += 1
    return "".join(out)


def list_ports(untrusted_paths):
    """Port ids of the devices in a QubesDB listing of QDB_ROOT, sorted;
    keys that are not bus ids are dropped (the caller logs ``bad``).
    Returns (ports, bad)."""
    ports = set()
    bad = 0
    for untrusted_path in untrusted_paths or ():
        if not isinstance(untrusted_path, str) or \
                not untrusted_path.startswith(QDB_ROOT):
            bad += 1
            continue
        untrusted_id = untrusted_path[len(QDB_ROOT):].split("/", 1)[0]
        port_id = port_from_qdb_id(untrusted_id)
        if port_id is None:
            bad += 1
            continue
        ports.add(port_id)
    return sorted(ports), bad


def read_record(qdb, port_id):
    """The Record of a listed (checked) port, from the backend's QubesDB."""
    rec = Record(port_id)
    base = QDB_ROOT + qdb_id(port_id)
    untrusted_desc = qdb.read(base + "/desc")
    untrusted_ifaces = qdb.read(base + "/interfaces")
    # sanitize
    if not untrusted_desc:
        return rec
    untrusted_fields = untrusted_desc.split(b" ")
    if len(untrusted_fields) != 4:
        rec.problem = "malformed desc"
        rec.name = _decode_str(untrusted_desc.replace(b" ", b"_"))
        return rec
    untrusted_ids = untrusted_fields[0].split(b":")
    if len(untrusted_ids) != 2 or not _HEX4_RE.match(untrusted_ids[0]) \
            or not _HEX4_RE.match(untrusted_ids[1]):
        rec.problem = "malformed vendor:product id"
        return rec
    ifaces = []
    for untrusted_iface in (untrusted_ifaces or b"").split(b":"):
        if not untrusted_iface:
            continue
        if not _IFACE_RE.match(untrusted_iface):
            rec.problem = "malformed interface list"
            return rec
        iface = untrusted_iface.decode("ascii").lower()
        if iface not in ifaces:
            ifaces.append(iface)
    if not ifaces or len(ifaces) > IFACES_MAX:
        rec.problem = "no interfaces" if not ifaces else \
            "too many interfaces"
        return rec
    rec.vid = untrusted_ids[0].decode("ascii").lower()
    rec.pid = untrusted_ids[1].decode("ascii").lower()
    rec.manufacturer = _decode_str(untrusted_fields[1])
    rec.name = _decode_str(untrusted_fields[2])
    rec.serial = _decode_str(untrusted_fields[3])
    rec.ifaces = ifaces
    rec.valid = True
    rec.problem = ""
    # end of sanitize
    return rec


def read_connected_to(qdb, port_id):
    """The VM name sys-usb says the device is lent to, or None; a value
    that is not a VM name is None too (the caller decides whether the VM
    exists)."""
    untrusted_value = qdb.read(QDB_ROOT + qdb_id(port_id) + "/connected-to")
    if not untrusted_value:
        return None
    try:
        untrusted_name = untrusted_value.decode("ascii", errors="strict")
    except UnicodeDecodeError:
        return None
    return untrusted_name if valid_vm_name(untrusted_name) else None
