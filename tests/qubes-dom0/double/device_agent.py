# device_agent double: the other end of Qubes' attach prompt, the socket
# service device-agent.GUI that the devices widget's agent serves in the
# GUI VM (qubes-desktop-linux-manager, R4.3), with its contract: one
# connection per prompt; the request is an ASCII header "SERVICE SOURCE
# [...]" ending in NUL, then JSON parameters up to EOF (source,
# device_name, argument, targets, default_target, icons); the service name
# must be device-agent.GUI; source and every domain name must be a
# sanitized domain name and device_name in the Admin API's parameter
# characters, or the agent fails and closes without an answer. The answer
# is "allow:VM" or "deny", then EOF. Here the person at the prompt is the
# test's choose(params) -> VM name or None; requests lists the parameters
# of each prompt shown, errors why a request was refused.
import asyncio
import json
import os
import re
import string

SERVICE = "device-agent.GUI"
_DOMAIN_RE = re.compile(r"\A[a-zA-Z][a-zA-Z0-9_.-]{0,30}\Z")
_PARAM_CHARS = frozenset(string.digits + string.ascii_letters +
                         string.punctuation + " ")


def _domain(name):
    if not isinstance(name, str) or not _DOMAIN_RE.match(name):
        raise ValueError("invalid domain name {!r}".format(name))
    return name


class DeviceAgent:
    def __init__(self, choose=None):
        self.choose = choose
        self.requests = []
        self.errors = []
        self.server = None

    async def start(self, directory):
        """Serve at DIRECTORY/device-agent.GUI."""
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, SERVICE)
        if os.path.exists(path):
            os.unlink(path)
        self.server = await asyncio.start_unix_server(self._connected, path)

    def close(self):
        if self.server is not None:
            self.server.close()

    async def _connected(self, reader, writer):
        try:
            data = (await reader.read()).decode("ascii")
            header, sep, body = data.partition("\0")
            words = header.split(" ")
            if not sep or len(words) < 2 or words[0] != SERVICE:
                raise ValueError("bad request header {!r}".format(header))
            answer = self._prompt(json.loads(body))
            writer.write(answer.encode("ascii"))
            await writer.drain()
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self.errors.append("{}: {}".format(type(e).__name__, e))
        finally:
            writer.close()

    def _prompt(self, params):
        _domain(params["source"])
        name = params["device_name"]
        if not isinstance(name, str) or set(name) - _PARAM_CHARS:
            raise ValueError("invalid device name {!r}".format(name))
        if not isinstance(params["argument"], str):
            raise ValueError("invalid argument")
        targets = [_domain(t.partition(" ")[0]) for t in params["targets"]]
        default = params["default_target"]
        if default and default not in targets:
            raise ValueError("default target not among the targets")
        for dom in params["icons"]:
            _domain(dom[len("@dispvm:"):] if dom.startswith("@dispvm:")
                    else dom)
        self.requests.append(params)
        chosen = self.choose(params) if self.choose else None
        return "allow:" + chosen if chosen in targets else "deny"
