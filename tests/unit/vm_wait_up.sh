#!/bin/bash
# vm_wait_up.sh: proves that the testbed's vm_wait_up (tests/vm/lib.sh)
# waits for every guest it is given, notes each one's boot time, PINGs the
# ones not yet up, and names the guest that died or never answered, which
# vm_up_ok's failure reason repeats. The guests are stand-ins: a directory
# as vm_launch leaves it, a sleeping process as QEMU, PONGs written by the
# test as the agent's.
set -u
lib=$(cd "$(dirname "$0")/../vm" && pwd)/lib.sh
tmp=$(mktemp -d)
sleeper=""
trap '[[ -n $sleeper ]] && kill "$sleeper"; rm -rf "$tmp"' EXIT
sleep 300 &
sleeper=$!
err() { echo "$*"; exit 1; }

# guest NAME alive|dead: a launched guest that has not answered yet.
guest() {
	local d=$tmp/run/$1
	mkdir -p "$d"
	: >"$d/req"
	: >"$d/resp.log"
	date +%s.%N >"$d/boot.t0"
	if [[ $2 == alive ]]; then echo "$sleeper" >"$d/qemu.pid"; else : >"$d/qemu.pid"; fi
	echo "console of $1: last line" >"$tmp/out/$1.console.log"
}

mkdir -p "$tmp/run" "$tmp/out"
# shellcheck source=tests/vm/lib.sh
source "$lib"
VM_RUNDIR=$tmp/run
VM_OUTDIR=$tmp/out

# Both up: A answers first, B only once A has; the wait ends with both.
guest A alive
guest B alive
echo "PONG 0" >>"$tmp/run/A/resp.log"
(
	until [[ -s $tmp/run/A/boot.secs ]]; do sleep 0.05; done
	echo "PONG 5" >>"$tmp/run/B/resp.log"
) &
writer=$!
vm_wait_up A B 2>"$tmp/log" || err "vm_wait_up A B: status $?, want 0: $(cat "$tmp/log")"
wait "$writer"
for v in A B; do
	[[ $(cat "$tmp/run/$v/boot.secs" 2>/dev/null) =~ ^[0-9]+\.[0-9]$ ]] ||
		err "no boot time for $v: '$(cat "$tmp/run/$v/boot.secs" 2>/dev/null)'"
	grep -q "^vm $v up in [0-9.]* s$" "$tmp/log" || err "no 'vm $v up' line: $(cat "$tmp/log")"
done
grep -q '^PING ' "$tmp/run/B/req" || err "B, not up yet, was never PINGed"
grep -q '^PING ' "$tmp/run/A/req" && err "A was PINGed though it had answered"

# A guest whose QEMU ended: named, even when listed after one still booting.
guest C alive
guest D dead
VM_BOOT_FAILED=x
vm_wait_up C D 2>"$tmp/log" && err "vm_wait_up C D: status 0 with D dead"
[[ $VM_BOOT_FAILED == D ]] || err "VM_BOOT_FAILED '$VM_BOOT_FAILED', want D"
grep -q "vm_wait_up D: the VM died during boot" "$tmp/log" || err "no death message: $(cat "$tmp/log")"

# A guest that never answers: named once VM_BOOT_TIMEOUT has passed.
guest E alive
VM_BOOT_TIMEOUT=1 vm_wait_up E 2>"$tmp/log" && err "vm_wait_up E: status 0 without an answer"
[[ $VM_BOOT_FAILED == E ]] || err "VM_BOOT_FAILED '$VM_BOOT_FAILED', want E"
grep -q "vm_wait_up E: no agent after 1s" "$tmp/log" || err "no timeout message: $(cat "$tmp/log")"

# vm_up_ok fails the scenario with the name and the console's last line.
guest F alive
echo "PONG 0" >>"$tmp/run/F/resp.log"
guest G dead
(vm_up_ok F G 2>/dev/null)
rc=$?
[[ $rc == 1 ]] || err "vm_up_ok F G: exit status $rc, want 1"
[[ $(cat "$tmp/out/.reason") == "VM G did not boot: console of G: last line" ]] ||
	err "reason: $(cat "$tmp/out/.reason")"
echo "vm_wait_up: waits for all, names the guest that did not boot"
