# tests/vm/usbgate-ctl.sh: helpers for control-plane scenarios (ctl-*): the
# host plays dom0 and runs the real usbgated and usbgate CLI from the build
# tree; VM A (sys-usb) runs "usbgate-backend daemon", VMs B and C (AppVMs)
# run "usbgate-frontend daemon", each on its usbgate.ctl port (host end
# $VM_RUNDIR/NAME/ctl.sock, which usbgated connects to). Data channels are
# the virtio-serial links: usbgate.0-3 between A and B, usbgate-c.0-3 (in
# A) / usbgate.0-3 (in C) between A and C.
# Owns usbgated's configuration, rules and ask prompt for one scenario, and
# the CLI wrappers and waits the scenarios share.
# Sourced by scenarios after lib.sh.

CTL_DOM0=$VM_RUNDIR/dom0
CTL_BIN=$USBGATE_BUILDDIR/tools
CTL_SOCK=$CTL_DOM0/gated.sock

# ctl_boot [--c|--c-kmod] [A-OPTS...]: boot A and B (and C with --c or
# --c-kmod) at the same time, joined by their data links; vhci-hcd loaded
# in the AppVMs (--c-kmod: usbgate_hcd instead in C, which has no
# vhci-hcd), dummy_hcd with 4 controllers in A.
ctl_boot() {
	local with_c=0 c_kmod=0
	case ${1:-} in
	--c) with_c=1; shift ;;
	--c-kmod) with_c=1 c_kmod=1; shift ;;
	esac
	if ((with_c)); then
		vm_launch_ok A --link ab:server --link ac:server:4:usbgate-c "$@"
		vm_launch_ok B --link ab:client
		vm_launch_ok C --link ac:client
		vm_up_ok A B C
	else
		vm_launch_ok A --link ab:server "$@"
		vm_launch_ok B --link ab:client
		vm_up_ok A B
	fi
	vm_ok B 'modprobe vhci-hcd' "loading vhci-hcd in B"
	if ((with_c)); then
		if ((c_kmod)); then
			source "$VM_DIR/kmod.sh"
			kmod_load C
		else
			vm_ok C 'modprobe vhci-hcd' "loading vhci-hcd in C"
		fi
	fi
	vm_ok A 'udc_init 4' "loading dummy_hcd in A"
}

# ctl_dom0 RULES [CONF-LINES]: write usbgated.conf (plus CONF-LINES, e.g.
# "udev-auto-attach yes") and the rules (one string, lines separated by
# newlines) and start usbgated on the host.
ctl_dom0() {
	local k
	mkdir -p "$CTL_DOM0/rules.d" "$CTL_DOM0/state"
	printf '%s\n' "$1" >"$CTL_DOM0/rules.d/50-test.rules"
	# The scripted prompt: records what it was shown, answers from a file.
	cat >"$CTL_DOM0/ask" <<-EOF
		#!/bin/sh
		env | grep '^USBGATE_' | sort >>"$CTL_DOM0/ask.log"
		echo --- >>"$CTL_DOM0/ask.log"
		exit \$(cat "$CTL_DOM0/ask.answer" 2>/dev/null || echo 1)
	EOF
	chmod 755 "$CTL_DOM0/ask"
	{
		echo "socket $CTL_SOCK"
		echo "state-dir $CTL_DOM0/state"
		echo "rules-dir $CTL_DOM0/rules.d"
		echo "ask-command $CTL_DOM0/ask"
		echo "ask-timeout 20"
		# TCG guests on a shared machine: generous.
		echo "attach-timeout 30"
		echo "detach-timeout 10"
		echo "follow-window 20"
		[[ -n ${2:-} ]] && printf '%s\n' "$2"
		# QEMU's end of each usbgate.ctl port: framed like the port.
		echo "backend sys-usb framed:unix:$VM_RUNDIR/A/ctl.sock"
		echo "vm B framed:unix:$VM_RUNDIR/B/ctl.sock tag=office"
		echo "vm C framed:unix:$VM_RUNDIR/C/ctl.sock"
		for k in 0 1 2 3; do
			echo "data sys-usb B dev:/dev/virtio-ports/usbgate.$k dev:/dev/virtio-ports/usbgate.$k"
			echo "data sys-usb C dev:/dev/virtio-ports/usbgate-c.$k dev:/dev/virtio-ports/usbgate.$k"
		done
	} >"$CTL_DOM0/usbgated.conf"
	"$CTL_BIN/usbgated" -n -f "$CTL_DOM0/usbgated.conf" >/dev/null ||
		fail "usbgated -n refuses the test configuration"
	ctl_gated_start
}

# ctl_gated_start: start usbgated with this scenario's configuration.
ctl_gated_start() {
	local i
	CTL_GATED_PID=$(vm_host_bg "exec '$CTL_BIN/usbgated' -d -vv -f '$CTL_DOM0/usbgated.conf' >>'$VM_OUTDIR/usbgated.log' 2>&1")
	for i in $(seq 50); do
		[[ -S $CTL_SOCK ]] && return 0
		sleep 0.1
	done
	fail "usbgated did not start: $(tail -n 3 "$VM_OUTDIR/usbgated.log")"
}

# ctl_gated_stop: SIGTERM to usbgated; wait until it is gone.
ctl_gated_stop() {
	local i
	kill "$CTL_GATED_PID" 2>/dev/null
	for i in $(seq 100); do
		ctl_gated_alive || return 0
		sleep 0.1
	done
	fail "usbgated did not exit on SIGTERM"
}

# ctl_rules RULES: replace the rules and reload them.
ctl_rules() {
	printf '%s\n' "$1" >"$CTL_DOM0/rules.d/50-test.rules"
	ctl_ok "reloading the rules" reload
}

# ctl_gated_alive: usbgated still runs.
ctl_gated_alive() {
	kill -0 "$CTL_GATED_PID" 2>/dev/null
}

# ctl_ug ARGS...: the real CLI against this scenario's usbgated. Output on
# stdout/stderr, exit status kept.
ctl_ug() {
	"$CTL_BIN/usbgate" --socket "$CTL_SOCK" "$@"
}

# ctl_ok WHAT ARGS...: run the CLI, fail the scenario unless it exits 0;
# stdout in $CTL_OUT.
ctl_ok() {
	local what=$1 err rc=0
	shift
	err=$(mktemp "$VM_RUNDIR/ctlerr.XXXXXX")
	CTL_OUT=$(ctl_ug "$@" 2>"$err") || rc=$?
	((rc == 0)) || fail "$what: usbgate $*: exit $rc: $(tail -n 1 "$err")"
	rm -f "$err"
}

# ctl_expect WANT-RC WHAT ARGS...: run the CLI and check its exit status;
# stdout+stderr in $CTL_OUT.
ctl_expect() {
	local want=$1 what=$2 rc=0
	shift 2
	CTL_OUT=$(ctl_ug "$@" 2>&1) || rc=$?
	((rc == want)) || fail "$what: usbgate $*: exit $rc, expected $want: $CTL_OUT"
}

# ctl_backend [EXTRA-OPTS]: start the backend daemon in A; sets CTL_BJOB.
ctl_backend() {
	CTL_BJOB=$(vm_run_bg A "exec usbgate-backend daemon --control dev:/dev/virtio-ports/usbgate.ctl -v ${1:-}") ||
		fail "starting usbgate-backend daemon in A"
}

# ctl_frontend NAME: start the frontend daemon in NAME; sets CTL_FJOB_NAME.
ctl_frontend() {
	local job
	job=$(vm_run_bg "$1" "exec usbgate-frontend daemon --control dev:/dev/virtio-ports/usbgate.ctl -v") ||
		fail "starting usbgate-frontend daemon in $1"
	printf -v "CTL_FJOB_$1" '%s' "$job"
}

# ctl_daemons VM...: start sys-usb's backend daemon and the frontend
# daemon in each VM, and wait until usbgated has every one's hello.
ctl_daemons() {
	local vm
	ctl_backend
	for vm in "$@"; do
		ctl_frontend "$vm"
	done
	ctl_wait 30 "sys-usb connected to dom0" ctl_connected sys-usb
	for vm in "$@"; do
		ctl_wait 30 "$vm connected to dom0" ctl_connected "$vm"
	done
}

# ctl_wait SECONDS WHAT CMD...: retry CMD (a host command) every 0.1 s.
ctl_wait() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(date +%s%N) + secs * 1000000000))
	while ! "$@" >/dev/null 2>&1; do
		(($(date +%s%N) < end)) || fail "$what: not within $secs s"
		sleep 0.1
	done
}

# ctl_listed PATTERN: 0 if a "usbgate list" line matches the ERE.
ctl_listed() {
	ctl_ug list 2>/dev/null | grep -Eq -- "$1"
}

# ctl_connected NAME: 0 once usbgated has NAME's hello (usbgate status).
ctl_connected() {
	ctl_ug status 2>/dev/null | grep -E "^(backend|vm) +$1 " | grep -q connected
}

# ctl_vhci_busids VM: print the local bus ids of the devices attached
# through vhci in VM.
ctl_vhci_busids() {
	vm_run -t 10 "$1" 'usbgate-frontend list | sed -n "s/^port [0-9]*: .* busid \([0-9.-]*\),.*/\1/p" | grep -v "^0-0$"'
}

# ctl_disk_roundtrip_detach BUSID MIB: the storage gadget BUSID of sys-usb,
# attached to B: a MIB MiB round trip on its disk in B (sha256 of what was
# written and read back), then dom0 detaches it and A's usb-storage has it
# again.
ctl_disk_roundtrip_detach() {
	local busid=$1 mib=$2 dev sums
	vm_ok B "usb_node 1209:0001 block 30" "waiting for the disk in B"
	dev=$VM_OUT
	vm_ok_t 120 B "storage_roundtrip $dev $mib" "$mib MiB round trip on $dev in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	ctl_ok "detaching the storage gadget" detach B "sys-usb:$busid"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$busid:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$busid:1.0/driver)" \
		"the gadget has no driver in A after detach"
	assert_eq "driver of the gadget in A" usb-storage "$VM_OUT"
}

# ctl_save_logs: copy the daemons' logs to the scenario's output
# directory (fail() does it; scenarios may call it at the end too).
ctl_save_logs() {
	local n j
	[[ -n ${CTL_BJOB:-} ]] && vm_bg_log A "$CTL_BJOB" >"$VM_OUTDIR/backend.log" 2>/dev/null
	for n in B C; do
		j=CTL_FJOB_$n
		[[ -n ${!j:-} ]] && vm_bg_log "$n" "${!j}" >"$VM_OUTDIR/frontend-$n.log" 2>/dev/null
	done
	return 0
}

# A failing scenario keeps the daemons' logs next to the consoles.
vm_on_fail ctl_save_logs

# ctl_signal NAME JOB SIGNAL: signal the job's program itself (the direct
# children of the job's wrapper shell), so that its exit status is kept.
ctl_signal() {
	vm_run -t 10 "$1" "w=\$(cat /tmp/bg/$2.pid); for p in /proc/[0-9]*; do
		[ \"\$(cut -d' ' -f4 \$p/stat 2>/dev/null)\" = \"\$w\" ] && kill -$3 \${p#/proc/}; done; true"
}

# ctl_attached BUSID VM: 0 once dom0's session for sys-usb:BUSID with VM is
# "attached" (the VM reported the device enumerated; "usbgate list" shows
# the VM as soon as the attach starts).
ctl_attached() {
	ctl_ug status 2>/dev/null | grep -Eq "^session [0-9a-f]+  sys-usb:$1 -> $2  attached$"
}
