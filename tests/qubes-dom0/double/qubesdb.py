# qubesdb double: one VM's QubesDB as dom0 sees it (read / list / write /
# rm) with Qubes' limits (a path of at most 63 characters of
# [A-Za-z0-9/_.:-] starting with '/', a value of at most 3072 bytes) and
# its watches: a write or rm of exactly a watched path calls the watcher
# (later, from the event loop, as qubesd's QubesDB watch does).
import asyncio
import re

PATH_RE = re.compile(r"\A/[A-Za-z0-9/_.:-]{0,62}\Z")
VALUE_MAX = 3072


class Error(Exception):
    pass


class QubesDB:
    def __init__(self):
        self.data = {}
        self.watches = {}

    def _check(self, path):
        if not PATH_RE.match(path):
            raise Error("invalid path " + repr(path))

    def read(self, path):
        return self.data.get(path)

    def list(self, prefix):
        return sorted(p for p in self.data if p.startswith(prefix))

    def write(self, path, value):
        self._check(path)
        if isinstance(value, str):
            value = value.encode()
        if len(value) > VALUE_MAX:
            raise Error("value too long")
        self.data[path] = bytes(value)
        self._fire(path)

    def rm(self, path):
        self._check(path)
        if path.endswith("/"):
            for p in [p for p in self.data if p.startswith(path)]:
                del self.data[p]
        else:
            self.data.pop(path, None)
        self._fire(path)

    def _fire(self, path):
        cb = self.watches.get(path)
        if cb is not None:
            asyncio.get_event_loop().call_soon(cb, path)
