# tests/vm/scenarios/ctl-kill-session.sh: two storage gadgets imported into B at once; the session process of the first is killed with SIGKILL: dom0 learns it was signal 9, the first goes back to A's usb-storage, the second stays attached on its own vhci port and a round trip on it works; then sys-usb's session process of the second is killed with SIGKILL: dom0's log carries sys-usb's own cause (signal 9, not "local failure"), the second goes back to A's usb-storage and B has no port left
# __sessions VM PROG: the pids of VM's session processes (PROG not running
# as root: the sandboxed children that parse the peer's bytes).
__sessions() {
	vm_ok "$1" 'for p in /proc/[0-9]*; do
		c=$(tr "\0" " " <$p/cmdline 2>/dev/null)
		case $c in *'"$2"'*)
			u=$(sed -n "s/^Uid:[[:space:]]*\([0-9]*\).*/\1/p" $p/status 2>/dev/null)
			[ -n "$u" ] && [ "$u" != 0 ] && echo ${p#/proc/} ;;
		esac
	done; true' "listing the session processes in $1"
}

__one_backend_session() {
	__sessions A usbgate-backend
	[[ $VM_OUT =~ ^[0-9]+$ ]]
}

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'allow id 1209:0001 to B
deny'
	ctl_daemons B

	vm_ok A 'gadget_storage 0 16' "creating the first storage gadget"
	local s1=$VM_OUT
	vm_ok A 'gadget_storage 1 16' "creating the second storage gadget"
	local s2=$VM_OUT
	ctl_wait 5 "first gadget listed" ctl_listed "^sys-usb:$s1 "
	ctl_wait 5 "second gadget listed" ctl_listed "^sys-usb:$s2 "

	# The first import and its session process.
	ctl_ok "attaching the first gadget to B" attach B "sys-usb:$s1"
	ctl_wait 30 "the first gadget attached to B" ctl_attached "$s1" B
	__sessions B usbgate-frontend
	local p1=$VM_OUT
	[[ $p1 =~ ^[0-9]+$ ]] || fail "not one session process in B: '$p1'"

	# The second import, at the same time.
	ctl_ok "attaching the second gadget to B" attach B "sys-usb:$s2"
	ctl_wait 30 "the second gadget attached to B" ctl_attached "$s2" B
	vm_ok B 'disks() { [ $(usb_devs 1209:0001 | wc -l) -eq 2 ]; }; wait_for 30 disks' "two disks in B"
	vm_ok B 'usbgate-frontend list | grep -c "^port.*(usbgate)"' "listing vhci ports in B"
	assert_eq "usbgate's vhci ports in use in B" 2 "$VM_OUT"

	# SIGKILL to the first session: its port goes, the other stays.
	vm_ok B "kill -KILL $p1" "killing the first session process"
	ctl_wait 30 "dom0 ends the first session" eval "! ctl_listed '^sys-usb:$s1 .*attached'"
	ctl_wait 10 "dom0 names the signal" grep -q -- "$s1 detached inside B: .*killed by signal 9" "$VM_OUTDIR/usbgated.log"
	vm_ok B 'disks() { [ $(usb_devs 1209:0001 | wc -l) -eq 1 ]; }; wait_for 15 disks' "the first disk is still in B"
	vm_ok B 'usbgate-frontend list | grep -c "^port"' "listing vhci ports in B"
	assert_eq "vhci ports in use in B after the kill" 1 "$VM_OUT"
	ctl_attached "$s2" B || fail "the second gadget is no longer attached: $(ctl_ug status)"
	vm_ok B "usb_node 1209:0001 block 30" "the second disk in B"
	local dev=$VM_OUT sums
	vm_ok_t 120 B "storage_roundtrip $dev 8" "8 MiB round trip on the second disk"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back from the second disk" "${sums[0]}" "${sums[1]}"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$s1:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$s1:1.0/driver)" \
		"the first gadget has no driver in A after the kill"
	assert_eq "driver of the first gadget in A" usb-storage "$VM_OUT"

	# SIGKILL to sys-usb's session of the second: sys-usb says why.
	ctl_wait 15 "one sandboxed backend session left in A" __one_backend_session
	__sessions A usbgate-backend
	local p2=$VM_OUT
	[[ $p2 =~ ^[0-9]+$ ]] || fail "not one backend session process in A: '$p2'"
	vm_ok A "kill -KILL $p2" "killing sys-usb's session process of the second gadget"
	ctl_wait 30 "dom0 ends the second session" eval "! ctl_listed '^sys-usb:$s2 .*attached'"
	ctl_wait 10 "dom0 logs sys-usb's cause" grep -q -- "$s2 ended in sys-usb: .*session process killed by signal 9" "$VM_OUTDIR/usbgated.log"
	if grep -q -- "$s2 ended in sys-usb: .*local failure" "$VM_OUTDIR/usbgated.log"; then
		fail "dom0 got the generic text, not sys-usb's cause: $(grep -- "$s2 ended in" "$VM_OUTDIR/usbgated.log")"
	fi
	vm_ok B 'wait_for 15 vhci_idle' "vhci port still in use in B after the kill in A"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$s2:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$s2:1.0/driver)" \
		"the second gadget has no driver in A after the kill"
	assert_eq "driver of the second gadget in A" usb-storage "$VM_OUT"
	ctl_gated_alive || fail "usbgated died"
	ctl_save_logs
}
