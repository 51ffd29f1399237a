# tests/vm/usbgate.sh: helpers for scenarios that pass a device through
# usbgate (backend in VM A, frontend in VM B, joined by a virtio-serial port).
# Owns starting and ending one session and the checks every session must
# pass when it ends: the device back on A's own driver, no port left in use in
# B, both processes gone with the expected status.
# Sourced by scenarios after lib.sh.
#
# UG_HCD=usbgate (set by a kmod-usbgate-* scenario before it sources the
# scenario it repeats): B's frontend imports on usbgate_hcd (--hcd usbgate)
# instead of vhci_hcd, which B does not even load; a session's end also
# checks that the port is gone and that the module unloads.
UG_HCD=${UG_HCD:-vhci}
# shellcheck source=tests/vm/kmod.sh
source "$VM_DIR/kmod.sh"

# ug_boot [A-OPTS...] -- [B-OPTS...]: boot A (sys-usb) and B (AppVM) joined
# by the usbgate.0-3 ports (usbgate.0 to UG_LINKS-1 if set), both at the
# same time.
ug_boot() {
	local a=() b=() side=a arg
	for arg in "$@"; do
		if [[ $arg == -- ]]; then side=b; continue; fi
		if [[ $side == a ]]; then a+=("$arg"); else b+=("$arg"); fi
	done
	vm_launch_ok A --link "ab:server:${UG_LINKS:-4}" "${a[@]}"
	vm_launch_ok B --link "ab:client:${UG_LINKS:-4}" "${b[@]}"
	vm_up_ok A B
	if [[ $UG_HCD == usbgate ]]; then
		kmod_load B
	else
		vm_ok B 'modprobe vhci-hcd' "loading vhci-hcd in B"
	fi
}

# ug_boot_uas: ug_boot with QEMU's usb-uas (an 80 MiB image) on A's xHCI;
# sets VM_OUT to the device's bus id in A.
ug_boot_uas() {
	local img=$VM_RUNDIR/disk.img
	truncate -s 80M "$img"
	ug_boot --drive "if=none,id=d0,file=$img,format=raw,cache=unsafe" \
		--usb usb-uas,id=uas --qemu -device --qemu "scsi-hd,bus=uas.0,scsi-id=0,lun=0,drive=d0"
	vm_ok A "usb_node 46f4:0003 block >/dev/null; basename \$(usb_devs 46f4:0003)" "finding the UAS device in A"
}

# ug_attach SELECTOR [PORT] [BACKEND-OPTS]: serve SELECTOR from A on
# usbgate.PORT and import it in B. Sets UG_BJOB/UG_FJOB (jobs in A/B) and
# UG_BUSID (B's local bus id), UG_PORT (B's vhci or usbgate_hcd port).
ug_attach() {
	local sel=$1 k=${2:-0} opts=${3:-} i log
	UG_BJOB=$(vm_run_bg A "exec usbgate-backend serve --device $sel --channel dev:/dev/virtio-ports/usbgate.$k $opts") ||
		fail "starting usbgate-backend in A"
	UG_FJOB=$(vm_run_bg B "exec usbgate-frontend attach --hcd $UG_HCD --channel dev:/dev/virtio-ports/usbgate.$k") ||
		fail "starting usbgate-frontend in B"
	for i in $(seq 60); do
		log=$(vm_bg_log B "$UG_FJOB")
		if [[ $log =~ attached:\ ${UG_HCD}[a-z_]*\ port\ ([0-9]+)\ busid\ ([0-9.-]+) ]]; then
			UG_PORT=${BASH_REMATCH[1]}
			UG_BUSID=${BASH_REMATCH[2]}
			return 0
		fi
		vm_bg_running B "$UG_FJOB" || fail "usbgate-frontend ended before the device enumerated: $(tail -n 2 <<<"$log" | tr '\n' ' ')"
		sleep 0.5
	done
	fail "device $sel did not enumerate in B within 30 s: $(tail -n 2 <<<"$log" | tr '\n' ' ')"
}

# ug_read_under_way DEV: read B's disk DEV over and over with direct I/O
# until a read fails (job UG_RJOB); returns once 4 MiB are read, so that a
# failure injected next lands in the middle of a transfer.
ug_read_under_way() {
	UG_RJOB=$(vm_run_bg B "while gdd if=$1 of=/dev/null bs=1M iflag=direct status=none; do :; done; exit 1") ||
		fail "starting the reads in B"
	vm_ok B "wait_for 30 sh -c 'read -r _ _ s _ </sys/block/${1#/dev/}/stat; test \$s -ge 8192'" \
		"the reads of $1 in B did not start"
}

# ug_reads_ended: after an injected failure the reads of ug_read_under_way
# fail within 30 s instead of waiting on URBs of a dead port.
ug_reads_ended() {
	vm_bg_wait B "$UG_RJOB" 30
	[[ $? == 124 ]] && fail "the reads in B still wait on URBs of a dead port"
	return 0
}

# ug_signal NAME 'JOB...' SIGNAL: signal each job's program itself (the
# direct children of the job's wrapper shell), not the wrapper, so that the
# job's exit status is still recorded. One pass over /proc for all of them.
ug_signal() {
	vm_run -t 10 "$1" "w=' '; for j in $2; do read -r x </tmp/bg/\$j.pid; w=\"\$w\$x \"; done
	for p in /proc/[0-9]*; do
		read -r _ _ _ pp _ 2>/dev/null <\$p/stat || continue
		case \$w in *\" \$pp \"*) kill -$3 \${p#/proc/} ;; esac
	done; true"
}

# ug_detach [WANT-FRONTEND-STATUS] [WANT-BACKEND-STATUS]: stop the frontend
# with SIGTERM (the usual detach) and check both ends.
ug_detach() {
	ug_signal B "$UG_FJOB" TERM
	ug_expect_end "${1:-0}" "${2:-0}"
}

# ug_expect_end WANT-FRONTEND WANT-BACKEND: wait for both processes to end
# with these statuses ("any" accepts any).
ug_expect_end() {
	local rc
	vm_bg_wait B "$UG_FJOB" 30
	rc=$?
	# Keep both logs with the scenario's output (shown on failure).
	{ echo "--- frontend (status $rc):"; vm_bg_log B "$UG_FJOB"; } >&2
	[[ $1 == any || $rc == "$1" ]] ||
		fail "usbgate-frontend ended with $rc, expected $1: $(vm_bg_log B "$UG_FJOB" | tail -n 2 | tr '\n' ' ')"
	vm_bg_wait A "$UG_BJOB" 30
	rc=$?
	{ echo "--- backend (status $rc):"; vm_bg_log A "$UG_BJOB"; } >&2
	[[ $2 == any || $rc == "$2" ]] ||
		fail "usbgate-backend ended with $rc, expected $2: $(vm_bg_log A "$UG_BJOB" | tail -n 2 | tr '\n' ' ')"
}

# ug_port_freed [SECONDS]: within SECONDS (10), no port of B's host
# controller holds a device: no vhci port in use, or no device below a
# usbgate_hcd root hub.
ug_port_freed() {
	local t=${1:-10}
	if [[ $UG_HCD == usbgate ]]; then
		vm_ok B "wait_for $t sh -c '! ls -d /sys/devices/platform/usbgate_hcd.*/usb*/*-[1-9]* 2>/dev/null'" \
			"a usbgate_hcd port in B still has a device"
		return
	fi
	vm_ok B "wait_for $t vhci_idle || { usbgate-frontend list; false; }" "vhci ports still in use in B"
}

# ug_check_returned BUSID DRIVER: after a session, A's driver owns the device
# again and B has no port left in use; with usbgate_hcd the module then
# unloads (no session, port or URB holds it; once, when several sessions
# are checked in a row).
ug_check_returned() {
	vm_ok A "wait_for 10 test -e /sys/bus/usb/devices/$1:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$1:1.0/driver)" \
		"device $1 has no driver in A after the session"
	assert_eq "driver of $1 in A after the session" "$2" "$VM_OUT"
	ug_port_freed
	if [[ $UG_HCD == usbgate && -z ${UG_UNLOADED:-} ]]; then
		kmod_unload B
		UG_UNLOADED=1
	fi
}

# ug_storage_again BUSID MIB: attach the storage gadget BUSID once more
# (after a session that ended badly), move MIB MiB bit-exact through it,
# detach and check that it returned to A.
ug_storage_again() {
	ug_attach "$1"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B again"
	vm_ok_t 90 B "storage_roundtrip $VM_OUT $2" "$2 MiB round trip on the second attach"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 on the second attach" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$1" usb-storage
}
