#!/bin/bash
# tests/unit/qubes_doubles.sh: the contract of the testbed's Qubes doubles
# (tests/vm/qubes/), on the host, without VMs: tb-qrexec's dom0, two agents
# ("sys-usb" and "work", their virtio-serial ports replaced by socat ptys)
# and qrexec-client-vm: service lookup order, argv[1], the QREXEC_*
# environment, rpc-config, exit codes 125/126/127, the policy (file order,
# first match, a clear error that denies all), the limits; and the QubesDB
# double's limits and watch. Exit 77 (skip, never a pass) without socat.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
Q=${USBGATE_BUILDDIR:-$top}/tests/tools/tb-qrexec
command -v socat >/dev/null || { echo "socat missing"; exit 77; }
[[ -x $Q ]] || { echo "$Q not built"; exit 1; }
T=$(mktemp -d /tmp/qxd.XXXXXX)
chmod 755 "$T"	# services run as nobody too
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0
check() { # WHAT WANT GOT
	if [[ $2 == "$3" ]]; then echo "ok - $1"; else echo "FAIL - $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}

for v in A B; do
	mkdir -p "$T/$v/ports" "$T/$v/rpc1" "$T/$v/rpc2" "$T/$v/cfg"
	for k in 0 1; do
		for kind in exec call; do
			socat "UNIX-LISTEN:$T/qx-$v-$kind.$k.sock" "PTY,link=$T/$v/ports/qrexec.$kind.$k,rawer" 2>/dev/null &
			pids+=($!)
		done
	done
done
for i in $(seq 100); do [[ -S $T/qx-B-call.1.sock ]] && break; sleep 0.1; done
mkdir -p "$T/etc" "$T/run"
echo 'test.Echo * @anyvm @anyvm deny' >"$T/etc/90-test.policy"
"$Q" dom0 --socket "$T/d0.sock" --policy-dir "$T/etc" --policy-dir "$T/run" --log "$T/d0.log" \
	--vm "sys-usb:$T/qx-A:2:2" --vm "work:$T/qx-B:2:2" &
pids+=($!)
# socat makes each pty once dom0 has connected its socket.
for i in $(seq 100); do
	[[ -S $T/d0.sock && -e $T/A/ports/qrexec.call.1 && -e $T/B/ports/qrexec.call.1 ]] && break
	sleep 0.1
done
for v in A B; do
	env QREXEC_LEAK=1 TB_QREXEC_PORT_DIR="$T/$v/ports" QREXEC_SERVICE_PATH="$T/$v/rpc1:$T/$v/rpc2" \
		QUBES_RPC_CONFIG_PATH="$T/$v/cfg" "$Q" agent 2>"$T/agent-$v.log" &
	pids+=($!)
done
for i in $(seq 100); do
	grep -q "serving 2 exec ports" "$T/agent-A.log" "$T/agent-B.log" 2>/dev/null &&
		[[ $(grep -l "serving 2 exec ports" "$T/agent-A.log" "$T/agent-B.log" | wc -l) == 2 ]] && break
	sleep 0.1
done
ln -s "$Q" "$T/qrexec-client-vm"
# Every call under a time limit: a hang is a failure (124), not a stuck test.
cvm() { TB_QREXEC_PORT_DIR="$T/B/ports" timeout -k 2 20 "$T/qrexec-client-vm" "$@"; }
d0() { timeout -k 2 20 "$Q" client --socket "$T/d0.sock" "$@"; }

cat >"$T/A/rpc2/test.Echo" <<'EOS'
#!/bin/sh
echo "argc=$# argv1=${1-none} full=$QREXEC_SERVICE_FULL_NAME remote=$QREXEC_REMOTE_DOMAIN arg=${QREXEC_SERVICE_ARGUMENT-unset} type=$QREXEC_REQUESTED_TARGET_TYPE target=${QREXEC_REQUESTED_TARGET-} leak=${QREXEC_LEAK-none} user=$(id -un)"
cat
echo "to stderr" >&2
exit 3
EOS
printf '#!/bin/sh\necho specific\n' >"$T/A/rpc2/test.Echo+special"
printf '#!/bin/sh\necho generic-first-dir\n' >"$T/A/rpc1/test.Echo2"
printf '#!/bin/sh\necho specific-second-dir\n' >"$T/A/rpc2/test.Echo2+x"
chmod 755 "$T"/A/rpc*/*

# dom0 -> VM (qrexec-client): stdin, stdout, stderr, exit code, environment.
out=$(printf 'hello\n' | d0 -d sys-usb 'root:QUBESRPC test.Echo+abc dom0' 2>"$T/err"); rc=$?
check "dom0 call: stdout" "argc=1 argv1=abc full=test.Echo+abc remote=dom0 arg=abc type= target= leak=none user=root
hello" "$out"
check "dom0 call: exit code" 3 "$rc"
check "dom0 call: stderr" "to stderr" "$(cat "$T/err")"
out=$(d0 -d sys-usb 'root:QUBESRPC test.Echo dom0' </dev/null 2>/dev/null)
check "no argument: no argv[1], no QREXEC_SERVICE_ARGUMENT" "argc=0 argv1=none full=test.Echo remote=dom0 arg=unset type= target= leak=none user=root" "$out"
check "NAME+ARG before NAME" specific "$(d0 -d sys-usb 'root:QUBESRPC test.Echo+special dom0' </dev/null)"
check "NAME+ARG in every directory before NAME" specific-second-dir "$(d0 -d sys-usb 'root:QUBESRPC test.Echo2+x dom0' </dev/null)"
check "NAME when NAME+ARG is absent" generic-first-dir "$(d0 -d sys-usb 'root:QUBESRPC test.Echo2+y dom0' </dev/null)"
d0 -d sys-usb 'root:QUBESRPC test.Missing+1 dom0' </dev/null 2>"$T/err"; rc=$?
check "service not found: 127" 127 "$rc"
check "service not found: message" "service test.Missing+1 not found" "$(cat "$T/err")"
d0 -d nosuchvm 'root:QUBESRPC test.Echo dom0' </dev/null 2>/dev/null; check "unknown VM: 125" 125 "$?"
d0 -d sys-usb 'nosuchuser:QUBESRPC test.Echo dom0' </dev/null 2>/dev/null; check "unknown user: 125" 125 "$?"

# rpc-config.
echo "force-user = 'nobody'" >"$T/A/cfg/test.Echo"
out=$(d0 -d sys-usb 'root:QUBESRPC test.Echo dom0' </dev/null 2>/dev/null)
check "rpc-config force-user" "user=nobody" "${out##* }"
printf "wait-for-session = 1\nskip-service-descriptor = true\nforce-user = 'root'\n" >"$T/A/cfg/test.Echo"
out=$(d0 -d sys-usb 'root:QUBESRPC test.Echo dom0' </dev/null 2>/dev/null)
check "rpc-config: the other keys accepted" "user=root" "${out##* }"
echo "force-user = root" >"$T/A/cfg/test.Echo"
d0 -d sys-usb 'root:QUBESRPC test.Echo dom0' </dev/null 2>"$T/err"; rc=$?
check "rpc-config: unquoted string refused (125)" 125 "$rc"
echo "bogus = 1" >"$T/A/cfg/test.Echo"
d0 -d sys-usb 'root:QUBESRPC test.Echo dom0' </dev/null 2>"$T/err"; rc=$?
check "rpc-config: unknown key refused (125)" 125 "$rc"
[[ $(cat "$T/err") == *"unknown key bogus"* ]]; check "rpc-config: the error names the key" 0 "$?"
rm "$T/A/cfg/test.Echo"

# VM -> VM (qrexec-client-vm) under the policy.
out=$(printf 'x\n' | cvm sys-usb test.Echo+abc 2>"$T/err"); rc=$?
check "denied call: 126" 126 "$rc"
check "denied call: message" "Request refused" "$(cat "$T/err")"
grep -q "test.Echo+abc work -> sys-usb: deny (.*/etc/90-test.policy:1)" "$T/d0.log"; check "the denying rule is logged" 0 "$?"
echo 'test.Echo +abc work sys-usb allow user=root' >"$T/run/40-test.policy"
out=$(printf 'from work\n' | cvm sys-usb test.Echo+abc 2>/dev/null); rc=$?
check "allowed call: remote stdout" "argc=1 argv1=abc full=test.Echo+abc remote=work arg=abc type=name target=sys-usb leak=none user=root
from work" "$out"
check "allowed call without a local program: the service's exit code" 3 "$rc"
out=$(cvm sys-usb test.Echo+abc sh -c 'echo to-service; exec 1>&-; cat >"$0.got"; exit 7' "$T/local" 2>/dev/null); rc=$?
check "local program: its exit code" 7 "$rc"
check "local program: its stdin is the service's stdout" "to-service" "$(tail -n 1 "$T/local.got")"
out=$(printf 'x\n' | cvm sys-usb test.Echo+abd 2>/dev/null); check "another argument: denied" 126 "$?"
printf 'x\n' | cvm sys-usb 'test.Echo+a;b' 2>/dev/null; check "forbidden character: 126" 126 "$?"
printf 'x\n' | cvm sys-usb "test.Echo+$(printf 'a%.0s' $(seq 60))" 2>/dev/null; check "service longer than 63: 1" 1 "$?"
printf 'x\n' | cvm "$(printf 'v%.0s' $(seq 32))" test.Echo 2>/dev/null; check "target longer than 31: 1" 1 "$?"
echo 'test.Echo * work @anyvm allow user=root' >"$T/run/10-first.policy"
echo 'test.Echo * work @anyvm deny' >"$T/etc/05-earlier.policy"
printf 'x\n' | cvm sys-usb test.Echo+zzz >/dev/null 2>&1; check "files merged in name order, first match wins" 126 "$?"
rm "$T/etc/05-earlier.policy"
printf 'x\n' | cvm sys-usb test.Echo+zzz >/dev/null 2>&1; check "then the next file allows" 3 "$?"
echo '!include-dir /etc/qubes/policy.d/include' >"$T/etc/30-include.policy"
printf 'x\n' | cvm sys-usb test.Echo+abc >/dev/null 2>&1; check "an unsupported directive denies all" 126 "$?"
grep -q "invalid policy: .*30-include.policy:1: directive !include-dir: not supported" "$T/d0.log"; check "with a clear error" 0 "$?"
rm "$T/etc/30-include.policy"
echo 'test.Echo * @tag:usb @anyvm allow' >"$T/run/20-tag.policy"
printf 'x\n' | cvm sys-usb test.Echo+abc >/dev/null 2>&1; check "an unsupported token denies all" 126 "$?"
rm "$T/run/20-tag.policy"
printf 'x\n' | cvm sys-usb test.Echo+abc >/dev/null 2>&1; check "valid again" 3 "$?"
echo 'test.Echo +d work @default allow target=sys-usb user=root' >"$T/run/05-default.policy"
out=$(printf '' | cvm @default test.Echo+d 2>/dev/null)
check "@default redirected by target=: keyword type" "type=keyword target=" "$(sed 's/.*\(type=[^ ]*\) \(target=[^ ]*\).*/\1 \2/' <<<"$(head -n1 <<<"$out")")"
echo 'test.Echo +u work sys-usb allow' >"$T/run/06-user.policy"
printf '' | cvm sys-usb test.Echo+u >/dev/null 2>&1; rc=$?
if getent passwd user >/dev/null; then want=3; else want=125; fi
check "no user= in the policy: the VM's default user 'user'" "$want" "$rc"

# The QubesDB double.
QDB="$top/tests/vm/qubes/qubesdb"
mkdir -p "$T/bin"
for c in read write rm list multiread watch; do ln -s "$QDB" "$T/bin/qubesdb-$c"; done
export QDB_DIR=$T/qdb PATH=$T/bin:$PATH
qubesdb-write /qubes-usb-devices/2-1/desc 'x' /qubes-usb-devices ''; check "qdb write" 0 "$?"
qubesdb-write /a/b 2>/dev/null; check "qdb write: odd arguments" 1 "$?"
qubesdb-write "/$(printf 'p%.0s' $(seq 63))" v 2>/dev/null; check "qdb: path of 64 bytes refused" 1 "$?"
qubesdb-write "/$(printf 'p%.0s' $(seq 62))" v; check "qdb: path of 63 bytes accepted" 0 "$?"
qubesdb-write /v "$(printf 'v%.0s' $(seq 3073))" 2>/dev/null; check "qdb: value of 3073 bytes refused" 1 "$?"
qubesdb-write /v "$(printf 'v%.0s' $(seq 3072))"; check "qdb: value of 3072 bytes accepted" 0 "$?"
qubesdb-write /a/ x 2>/dev/null; check "qdb: write to a path ending in /" 1 "$?"
qubesdb-write '/a b' x 2>/dev/null; check "qdb: a space in a path" 1 "$?"
check "qdb list" "2-1/desc" "$(qubesdb-list /qubes-usb-devices/)"
qubesdb-read /nope 2>/dev/null; check "qdb read of a missing key" 1 "$?"
timeout 20 qubesdb-watch /qubes-usb-devices >"$T/watch" 2>&1 </dev/null &
pids+=($!)
sleep 0.5
qubesdb-write /qubes-usb-devices/2-1/connected-to work
qubesdb-write /qubes-usb-devices ''
for i in $(seq 30); do [[ -s $T/watch ]] && break; sleep 0.1; done
check "qdb watch fires on its exact path only" /qubes-usb-devices "$(cat "$T/watch")"
qubesdb-rm /qubes-usb-devices/2-1/; check "qdb rm of a directory" 0 "$?"
check "qdb: the directory is gone" "" "$(qubesdb-list /qubes-usb-devices/)"
qubesdb-rm /qubes-usb-devices/2-1/ 2>/dev/null; check "qdb rm of nothing" 1 "$?"

echo "$fails failed"
((fails == 0))
