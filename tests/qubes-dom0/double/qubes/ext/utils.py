# qubes.ext.utils double: confirm_device_attachment, Qubes' prompt through
# the device-agent.GUI socket service of the GUI VM. The test sets
# GUI_AGENT to a function of the parameters qubesd sends (source,
# device_name, argument, targets, default_target, icons) returning the
# agent's reply ("allow:VM" or anything else); any failure means "".
GUI_AGENT = None
CALLS = []


async def confirm_device_attachment(device, frontends):
    try:
        names = [vm.name for vm in frontends.keys()]
        params = {
            "source": device.backend_domain.name,
            "device_name": device.description,
            "argument": device.port_id,
            "targets": names,
            "default_target": names[0] if len(names) == 1 else "",
            "icons": {},
        }
        CALLS.append(params)
        reply = GUI_AGENT(params)
        if reply.startswith("allow:") and reply[len("allow:"):] in names:
            return reply[len("allow:"):]
        return ""
    except Exception:  # pylint: disable=broad-except
        return ""
