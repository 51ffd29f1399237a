# qubes.device_protocol double (R4.3 device API): Port, VirtualDevice,
# DeviceInterface, DeviceCategory, DeviceInfo, UnknownDevice,
# AssignmentMode, DeviceAssignment, and the serializer's checks that make
# qubesd refuse a device whose properties carry characters outside its
# allowed sets (the Admin API listing fails then).
import enum
import string

from qubes.exc import ProtocolError, QubesValueError

ALLOWED_KEY = set(string.digits + string.ascii_letters +
                  r"!#$%&()*+,-./:;<>?@[\]^_{|}~")
ALLOWED_VALUE = ALLOWED_KEY | set(string.punctuation + " ")


def pack_property(key, value):
    """key='value' as the Admin API sends it; ProtocolError on a
    character qubesd refuses."""
    if value is None:
        return b""
    quoted = "'" + str(value).replace("'", r"\'") + "'"
    bad = (set(key) - ALLOWED_KEY) | (set(quoted) - ALLOWED_VALUE)
    if bad:
        raise ProtocolError("Invalid chars in property: " + repr(bad))
    return key.encode("ascii") + b"=" + quoted.encode("ascii")


class Port:
    def __init__(self, backend_domain, port_id, devclass):
        self._backend = backend_domain
        self._port_id = port_id
        self._devclass = devclass

    backend_domain = property(lambda self: self._backend)
    port_id = property(lambda self: self._port_id
                       if self._port_id is not None else "*")
    devclass = property(lambda self: self._devclass or "peripheral")

    @property
    def backend_name(self):
        return self._backend.name if self._backend is not None else "*"

    def __eq__(self, other):
        return isinstance(other, Port) and \
            (self.backend_name, self.port_id, self.devclass) == \
            (other.backend_name, other.port_id, other.devclass)

    def __hash__(self):
        return hash((self.backend_name, self.port_id, self.devclass))

    def __str__(self):
        return "{}:{}".format(self.backend_name, self.port_id)

    def __repr__(self):
        return "{}+{}".format(self.backend_name, self.port_id)


class AnyPort(Port):
    def __init__(self, devclass):
        super().__init__(None, "*", devclass)

    def __str__(self):
        return "*"


class VirtualDevice:
    def __init__(self, port=None, device_id=None):
        self.port = port if port is not None else AnyPort(None)
        self._device_id = device_id

    @property
    def device_id(self):
        return self._device_id if self._device_id is not None else "*"

    backend_domain = property(lambda self: self.port.backend_domain)
    backend_name = property(lambda self: self.port.backend_name)
    port_id = property(lambda self: self.port.port_id)
    devclass = property(lambda self: self.port.devclass)

    @property
    def description(self):
        return "any device" if self.device_id == "*" else self.device_id

    def clone(self, **kwargs):
        attr = {"port": self.port, "device_id": self.device_id}
        attr.update(kwargs)
        return VirtualDevice(**attr)

    def __eq__(self, other):
        if isinstance(other, (VirtualDevice, DeviceAssignment)):
            return self.port == other.port and \
                self.device_id == other.device_id
        if isinstance(other, Port):
            return self.port == other and self.device_id == "*"
        return NotImplemented

    def __hash__(self):
        return hash((self.port, self.device_id))

    def __str__(self):
        return "{}:{}".format(self.port, self.device_id)

    def serialize(self):
        return b" ".join(pack_property(k, v) for k, v in (
            ("device_id", self.device_id), ("port_id", self.port_id),
            ("devclass", self.devclass),
            ("backend_domain", self.backend_name)))


class DeviceCategory(enum.Enum):
    Other = ("*******",)
    Network = ("u02****", "ue0****")
    Keyboard = ("u03**01",)
    Mouse = ("u03**02",)
    Input = ("u03****",)
    Printer = ("u07****",)
    Camera = ("u06****", "u0e****")
    Audio = ("u01****",)
    Multimedia = ("u10****",)
    USB_Storage = ("u08****",)
    Bluetooth = ("ue00101",)
    Smart_Card_Readers = ("u0b****",)

    @staticmethod
    def from_str(code):
        best, best_score = DeviceCategory.Other, 0
        if len(code) != 7:
            return best
        for cat in DeviceCategory:
            for pat in cat.value:
                score = 0
                for c, p in zip(code, pat):
                    if c == p:
                        score += 1
                    elif p != "*":
                        score = -1
                        break
                if score > best_score:
                    best, best_score = cat, score
        return best


class DeviceInterface:
    """qubesd's rules: with a devclass, at most 6 characters of hex digits
    or '*' (padded with '*'), prefixed with the class letter; else a
    7-character code as is."""

    def __init__(self, interface_encoding, devclass=None):
        padded = interface_encoding.ljust(6, "*")
        if devclass:
            if len(padded) > 6:
                raise ProtocolError("interface encoding too long")
            if not all(c in string.hexdigits + "*" for c in padded):
                raise ProtocolError("Invalid characters in interface "
                                    "encoding")
            code = devclass[0].lower() + padded
        else:
            code = ("?" + padded) if len(padded) == 6 else padded
            devclass = {"u": "usb", "p": "pci", "b": "block",
                        "m": "mic"}.get(code[0])
        self.devclass = devclass
        self._code = code
        self.category = DeviceCategory.from_str(code)

    @classmethod
    def unknown(cls):
        return cls("?******")

    def __repr__(self):
        return self._code

    def __str__(self):
        return "{} device".format((self.devclass or "peripheral").upper())

    def __eq__(self, other):
        return isinstance(other, DeviceInterface) and repr(self) == \
            repr(other)

    def __hash__(self):
        return hash(self._code)


class DeviceInfo(VirtualDevice):
    def __init__(self, port, *, vendor=None, product=None,
                 manufacturer=None, name=None, serial=None, interfaces=None,
                 parent=None, attachment=None, device_id=None, **kwargs):
        super().__init__(port, device_id)
        self._vendor = vendor
        self._product = product
        self._manufacturer = manufacturer
        self._name = name
        self._serial = serial
        self._interfaces = interfaces
        self._parent = parent
        self._attachment = attachment
        self.data = kwargs

    vendor = property(lambda self: self._vendor or "unknown")
    product = property(lambda self: self._product or "unknown")
    manufacturer = property(lambda self: self._manufacturer or "unknown")
    name = property(lambda self: self._name or "unknown")
    serial = property(lambda self: self._serial or "unknown")
    parent_device = property(lambda self: self._parent)
    attachment = property(lambda self: self._attachment)

    @property
    def interfaces(self):
        return self._interfaces or [DeviceInterface.unknown()]

    @property
    def device_id(self):
        return self._device_id or "0000:0000::?******"

    @device_id.setter
    def device_id(self, value):
        self._device_id = value

    @property
    def description(self):
        if self.product != "unknown":
            prod = self.product
        elif self.name != "unknown":
            prod = self.name
        elif self.serial != "unknown":
            prod = self.serial
        else:
            prod = "unknown {} device".format(self.devclass)
        if self.vendor != "unknown":
            vendor = self.vendor
        elif self.manufacturer != "unknown":
            vendor = self.manufacturer
        else:
            vendor = "unknown vendor"
        cat = next((i.category.name for i in self.interfaces
                    if i.category.name != "Other"),
                   "{} device".format(self.devclass.upper()))
        return "{}: {} {}".format(cat, vendor, prod)

    def serialize(self):
        """What admin.vm.device.usb.Available sends per device."""
        props = [super().serialize()]
        default = DeviceInfo(self.port)
        for key in ("vendor", "product", "manufacturer", "name", "serial"):
            if getattr(self, key) != getattr(default, key):
                props.append(pack_property(key, getattr(self, key)))
        if self.attachment:
            props.append(pack_property("attachment", self.attachment.name))
        props.append(pack_property("interfaces", "".join(
            repr(i) for i in self.interfaces)))
        for key, value in self.data.items():
            props.append(pack_property("_" + key, value))
        return b" ".join(props)


class UnknownDevice(DeviceInfo):
    pass


class AssignmentMode(enum.Enum):
    MANUAL = "manual"
    ASK = "ask-to-attach"
    AUTO = "auto-attach"
    REQUIRED = "required"


class DeviceAssignment:
    def __init__(self, device, frontend_domain=None, options=None,
                 mode="manual"):
        if isinstance(device, DeviceInfo):
            device = VirtualDevice(device.port, device.device_id)
        self.virtual_device = device
        self.options = dict(options or {})
        for key in self.options:
            if set(key) - ALLOWED_KEY:
                raise ProtocolError("Invalid chars in option name")
        self.mode = mode if isinstance(mode, AssignmentMode) else \
            AssignmentMode(mode)
        self.frontend_domain = frontend_domain

    @classmethod
    def new(cls, backend_domain, port_id, devclass, device_id=None, *,
            frontend_domain=None, options=None, mode="manual"):
        return cls(VirtualDevice(Port(backend_domain, port_id, devclass),
                                 device_id), frontend_domain, options, mode)

    def clone(self, **kwargs):
        attr = {"device": self.virtual_device, "options": self.options,
                "mode": self.mode, "frontend_domain": self.frontend_domain}
        attr.update(kwargs)
        return DeviceAssignment(**attr)

    backend_domain = property(lambda self: self.virtual_device.backend_domain)
    backend_name = property(lambda self: self.virtual_device.backend_name)
    port_id = property(lambda self: self.virtual_device.port_id)
    devclass = property(lambda self: self.virtual_device.devclass)
    device_id = property(lambda self: self.virtual_device.device_id)

    @property
    def port(self):
        return Port(self.backend_domain, self.port_id, self.devclass)

    @property
    def required(self):
        return self.mode == AssignmentMode.REQUIRED

    @property
    def attach_automatically(self):
        return self.mode in (AssignmentMode.AUTO, AssignmentMode.ASK,
                             AssignmentMode.REQUIRED)

    def matches(self, device):
        return self.devclass == device.devclass and \
            self.backend_domain == device.backend_domain and \
            self.port_id in ("*", device.port_id) and \
            self.device_id in ("*", device.device_id)

    @property
    def devices(self):
        if self.backend_domain is None:
            return []
        coll = self.backend_domain.devices[self.devclass]
        if self.port_id != "*":
            dev = coll[self.port_id]
            if isinstance(dev, UnknownDevice) or \
                    self.device_id in (dev.device_id, "*"):
                return [dev]
        return [d for d in coll if self.matches(d)]

    @property
    def device(self):
        devs = self.devices
        if len(devs) == 1:
            return devs[0]
        if len(devs) > 1:
            raise ProtocolError("Too many devices matches to assignment")
        return UnknownDevice(self.port, device_id=self.device_id)

    def __eq__(self, other):
        if isinstance(other, (VirtualDevice, DeviceAssignment)):
            return self.port == other.port and \
                self.device_id == other.device_id
        return False

    def __hash__(self):
        return hash(self.virtual_device)

    def __str__(self):
        return str(self.virtual_device)

    def serialize(self):
        props = [self.virtual_device.serialize(),
                 pack_property("mode", self.mode.value)]
        if self.frontend_domain is not None:
            props.append(pack_property("frontend_domain",
                                       self.frontend_domain.name))
        for key, value in self.options.items():
            props.append(pack_property("_" + key, value))
        return b" ".join(props)


def qbool(value):
    if isinstance(value, str):
        if value.lower() in ("0", "no", "false", "off"):
            return False
        if value.lower() in ("1", "yes", "true", "on"):
            return True
        raise QubesValueError("Invalid literal for boolean property")
    return bool(value)
