# usbgate_qubes/policy.py: what decides an attach in dom0 and what it
# leaves behind. Owns three things:
#  * the verdict of usbgate's rules (/etc/usbgate/rules.d), asked of the
#    usbgate command line ("usbgate --json policy test", the C rule engine)
#    with already-sanitized fields only;
#  * the assignment options usbgate adds to Qubes' (deny-interface,
#    reset-on-attach, allow-pid), checked once;
#  * the transient qrexec allow lines in /run/qubes/policy.d that let one
#    AppVM call qubes.USB+BUSID in one backend VM for the time of an attach.
import asyncio
import fcntl
import grp
import json
import os
import re
import tempfile

USBGATE_CLI = os.environ.get("USBGATE_CLI", "/usr/bin/usbgate")
RULES_DIR = os.environ.get("USBGATE_RULES_DIR", "/etc/usbgate/rules.d")
TRANSIENT_POLICY = os.environ.get(
    "USBGATE_QUBES_POLICY", "/run/qubes/policy.d/40-usbgate.policy")
CLI_TIMEOUT = 20

_TAG_RE = re.compile(r"\A[a-zA-Z0-9_.:-]{1,64}\Z")
_PATTERN_RE = re.compile(
    r"\A([0-9a-f]{2}):(?:([0-9a-f]{2}):([0-9a-f]{2}|\*)|\*:\*)\Z")
_PID_RE = re.compile(r"\A[0-9a-f]{4}\Z")


class Verdict:
    """decision: "allow", "deny" or "ask"; rule: "FILE:LINE: RULE" or "";
    refused: interface types (six hex digits) to hide; error: why no rule
    could decide ("" if one did)."""

    # pylint: disable=too-few-public-methods
    def __init__(self, decision, rule="", refused=(), error=""):
        self.decision = decision
        self.rule = rule
        self.refused = list(refused)
        self.error = error


async def decide(backend, port_id, device_id, ifaces, vm_name, tags):
    """Ask usbgate's rules about one attach. All arguments are checked
    values (qdb.Record, qubesd's names); ``ifaces`` is the device's type
    list in device_id order. Any failure is a deny, with the reason."""
    argv = [USBGATE_CLI, "--json", "policy", "test", "--rules", RULES_DIR,
            "--from", backend, "--port", port_id]
    for tag in sorted(tags):
        if _TAG_RE.match(tag):
            argv += ["--tag", tag]
    argv += [device_id, vm_name]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    except (OSError, asyncio.TimeoutError) as e:
        return Verdict("deny", error="cannot run {}: {}".format(USBGATE_CLI, e))
    try:
        reply = json.loads(out.decode("utf-8"))
        status = reply["status"]
        rows = reply["rows"]
    except (ValueError, KeyError, TypeError):
        why = err.decode("utf-8", errors="replace").strip().splitlines()
        return Verdict("deny", error="usbgate policy test failed: {}".format(
            why[-1] if why else "no reply"))
    if status not in (0, 4) or len(rows) != 1:
        return Verdict("deny", error=reply.get("message") or
                       "usbgate policy test exited {}".format(status))
    row = rows[0]
    decision = row.get("decision")
    if decision not in ("allow", "deny", "ask") or \
            (decision == "allow") != (status == 0):
        return Verdict("deny", error="unexpected verdict {!r}".format(decision))
    refused = []
    for n in row.get("refused_interfaces") or ():
        # the rule engine numbers the device_id's types from 0
        if isinstance(n, int) and 0 <= n < len(ifaces) and \
                ifaces[n] not in refused:
            refused.append(ifaces[n])
    return Verdict(decision, row.get("rule") or "", refused)


# ---- options ---------------------------------------------------------------

OPTION_KEYS = ("deny-interface", "reset-on-attach", "allow-pid")


class Options:
    """Checked usbgate options of an attach or assignment: deny: list of
    (class, subclass, protocol) patterns, None for a wildcard; reset: bool;
    allow_pids: list of product ids (four lowercase hex digits)."""

    # pylint: disable=too-few-public-methods
    def __init__(self):
        self.deny = []
        self.reset = False
        self.allow_pids = []

    def hides(self, iface):
        """True if a type (six hex digits) matches a deny-interface
        pattern."""
        got = (iface[0:2], iface[2:4], iface[4:6])
        return any(all(p is None or p == g for p, g in zip(pat, got))
                   for pat in self.deny)


def parse_options(options):
    """Options from Qubes' assignment options (a dict of str, values as
    qubesd deserialized them). Raises ValueError with the reason."""
    opts = Options()
    for key, value in (options or {}).items():
        if key not in OPTION_KEYS:
            raise ValueError("unknown USB option {!r} (usbgate knows {})"
                             .format(key, ", ".join(OPTION_KEYS)))
        if not isinstance(value, str):
            raise ValueError("option {} must be a string".format(key))
        words = [w for w in re.split(r"[ ,]+", value.strip().lower()) if w]
        if key == "deny-interface":
            for w in words:
                m = _PATTERN_RE.match(w)
                if not m:
                    raise ValueError(
                        "deny-interface: bad interface type {!r} (want "
                        "CC:SS:PP, CC:SS:* or CC:*:*)".format(w))
                opts.deny.append((m.group(1), m.group(2),
                                  None if m.group(3) in (None, "*")
                                  else m.group(3)))
            if not opts.deny:
                raise ValueError("deny-interface: no interface type")
        elif key == "reset-on-attach":
            if words not in (["yes"], ["true"], ["1"], ["on"], ["no"],
                             ["false"], ["0"], ["off"]):
                raise ValueError("reset-on-attach: want yes or no")
            opts.reset = words[0] in ("yes", "true", "1", "on")
        else:
            for w in words:
                if not _PID_RE.match(w):
                    raise ValueError(
                        "allow-pid: bad product id {!r} (want four hex "
                        "digits)".format(w))
                opts.allow_pids.append(w)
            if not opts.allow_pids:
                raise ValueError("allow-pid: no product id")
    return opts


# ---- transient qrexec policy -----------------------------------------------

def usb_policy_line(port_id, caller, backend):
    """The allow line for one attach (Qubes' policy format)."""
    return "qubes.USB +{} {} {} allow user=root\n".format(
        port_id, caller, backend)


def modify_transient_policy(line, add, path=None):
    """Add ``line`` to, or remove every copy of it from, the transient
    policy file, under an exclusive lock, replacing the file by rename (the
    policy daemon never reads half a file). The file goes when empty."""
    path = path or TRANSIENT_POLICY
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    # The lock is the directory's: no extra file where the policy daemon
    # reads.
    dirfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(dirfd, fcntl.LOCK_EX)
        try:
            with open(path) as f:
                lines = f.readlines()
        except FileNotFoundError:
            lines = []
        if add:
            lines.append(line)
        else:
            lines = [x for x in lines if x != line]
        if not lines:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".usbgate-")
        with os.fdopen(fd, "w") as f:
            f.write("".join(lines))
        try:
            os.chown(tmp, -1, grp.getgrnam("qubes").gr_gid)
        except (KeyError, PermissionError):
            pass
        os.chmod(tmp, 0o664)
        os.rename(tmp, path)
    finally:
        os.close(dirfd)
