# qubes.ext.utils double: confirm_device_attachment, Qubes' prompt, with
# qubesd R4.3's contract: the parameters it sends (source, device_name,
# argument, targets, default_target, icons of every domain, "@dispvm:NAME"
# for a disposable) to the socket service device-agent.GUI of the GUI VM
# (dom0 unless dom0's guivm names another), through qrexec.server's local
# call: connect to SOCKET_PATH/device-agent.GUI, send the header
# "device-agent.GUI dom0 name dom0\0" then the parameters as JSON, shut
# the sending side, read the ASCII answer to EOF. "allow:VM" with VM among
# the targets chooses VM; anything else, or any failure, is "" (the
# failure is printed on stderr, as qubesd does). A GUI VM other than dom0
# is not doubled (the call fails, hence ""). CALLS records the parameters
# sent, for the tests.
import asyncio
import json
import os
import sys

SOCKET_PATH = "/var/run/qubes"
SERVICE = "device-agent.GUI"
CALLS = []


async def confirm_device_attachment(device, frontends):
    try:
        return await _confirm(device, frontends)
    except Exception as e:  # pylint: disable=broad-except
        print("{}: {}".format(type(e).__name__, e), file=sys.stderr)
        return ""


async def _confirm(device, frontends):
    app = tuple(frontends.keys())[0].app
    names = [vm.name for vm in frontends.keys()]
    try:
        guivm = app.domains["dom0"].guivm.name
    except AttributeError:
        guivm = "dom0"
    params = {
        "source": device.backend_domain.name,
        "device_name": device.description,
        "argument": device.port_id,
        "targets": names,
        "default_target": names[0] if len(names) == 1 else "",
        "icons": {(vm.name if vm.klass != "DispVM" else
                   "@dispvm:" + vm.name): vm.icon
                  for vm in app.domains.values()},
    }
    CALLS.append(params)
    if guivm != "dom0":
        raise NotImplementedError("a GUI VM other than dom0")
    reader, writer = await asyncio.open_unix_connection(
        os.path.join(SOCKET_PATH, SERVICE))
    try:
        writer.write("{} dom0 name dom0\0".format(SERVICE).encode("ascii"))
        writer.write(json.dumps(params).encode("ascii"))
        writer.write_eof()
        await writer.drain()
        reply = (await reader.read()).decode("ascii")
    finally:
        writer.close()
    if reply.startswith("allow:") and reply[len("allow:"):] in names:
        return reply[len("allow:"):]
    return ""
