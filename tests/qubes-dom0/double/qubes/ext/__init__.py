# qubes.ext double: Extension (one instance per class; its decorated
# methods become handlers of every LocalVM, or of the app with system=True)
# and the handler decorator.
import collections


class Extension:
    def __new__(cls):
        if "_instance" not in cls.__dict__:
            cls._instance = super().__new__(cls)
            import qubes.app
            import qubes.vm
            for name in dir(cls):
                attr = getattr(cls._instance, name)
                events = getattr(attr, "ha_events", None)
                if not callable(attr) or events is None:
                    continue
                target = qubes.app.Qubes if attr.ha_system else \
                    qubes.vm.LocalVM
                for event in events:
                    target.__handlers__[event].add(attr)
        return cls._instance

    def __init__(self):
        self.devices_cache = collections.defaultdict(dict)

    def ensure_detach(self, vm, port):
        pass


def handler(*events, **kwargs):
    def decorator(func):
        func.ha_events = events
        func.ha_system = bool(kwargs.get("system", False))
        return func
    return decorator
