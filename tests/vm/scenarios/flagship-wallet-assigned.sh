# tests/vm/scenarios/flagship-wallet-assigned.sh: the Trezor-style wallet under the real control plane (usbgated as dom0, daemons in A and B): an identity assignment with --allow-pid 0007,0006 attaches it to B when plugged, and through three reboots into the bootloader and back it comes back attached to B by itself each time (usbgate list and the client in B agree, in both modes; re-attach times printed); once unassigned, its next re-enumerations stay in sys-usb
# timeout: 360
scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	source "$VM_DIR/flagship.sh"
	ctl_boot
	ctl_dom0 'allow id 1209:* to B
deny'
	ctl_backend
	ctl_frontend B
	ctl_wait 60 "sys-usb connected to dom0" ctl_connected sys-usb
	ctl_wait 60 "B connected to dom0" ctl_connected B

	FL_WALLET_JOB=$(vm_run_bg A 'exec tb-wallet 0') || fail "starting the wallet in A"
	vm_ok A 'wait_for 20 usb_devs 1209:0006 && gadget_busid 0' "the wallet did not enumerate in A"
	local busid=$VM_OUT i mode pid t0 line
	ctl_wait 10 "the wallet listed by dom0" ctl_listed "^sys-usb:$busid "

	# The identity assignment: this device (VID, serial) in any port, in
	# firmware (0006) or bootloader (0007) mode. Like qvm-usb assign, it
	# attaches the next time the device appears, not at once.
	ctl_ok "assigning the wallet by identity" assign --device --allow-pid 0007,0006 B "sys-usb:$busid"
	ctl_listed "^sys-usb:$busid .*B \(attached\)" && fail "assign attached at once: $(ctl_ug list)"

	# Plugged in again (the gadget leaves the bus and comes back): it
	# attaches to B by itself.
	t0=$(date +%s%N)
	vm_ok A "g=$GADGET_CFG_A/g0; echo '' >\$g/UDC && sleep 0.5 && echo dummy_udc.0 >\$g/UDC && wait_for 15 gadget_busid 0 && gadget_busid 0" \
		"re-plugging the wallet in A"
	busid=$VM_OUT
	ctl_wait 60 "the wallet attached to B on plug" ctl_attached "$busid" B
	echo "wallet attached to B on plug after $(fl_ms_since "$t0") ms" >&2
	vm_ok_t 60 B 'tb-walletc ping -n 20' "round trips in B after the plug"

	# Reboot into the bootloader and back, three times: nobody attaches
	# anything; the assignment brings each identity back to B. The
	# client in B waits for each new identity (re-attach time: from its
	# last answer under the old identity to Features under the new one).
	for i in 1 2 3; do
		for mode in bootloader firmware; do
			[[ $mode == bootloader ]] && pid=0007 || pid=0006
			t0=$(date +%s%N)
			vm_ok_t 90 B "tb-walletc to-$mode -w 60" "cycle $i: the wallet back in B in $mode mode"
			line=$VM_OUT
			busid=$(vm_run -t 10 A 'gadget_busid 0') || fail "cycle $i: no wallet in A"
			ctl_wait 20 "cycle $i: dom0's session of the $mode attached to B" ctl_attached "$busid" B
			ctl_wait 10 "cycle $i: usbgate list shows the $mode attached to B" \
				ctl_listed "^sys-usb:$busid .*B \(attached\)"
			ctl_ug --json list | grep -q "\"id\": *\"1209:$pid\"" ||
				fail "cycle $i: dom0 does not list 1209:$pid: $(ctl_ug --json list)"
			echo "wallet cycle $i: $mode re-attached to B: $(fl_kv reattach_s "$line") s in B's client ($(fl_ms_since "$t0") ms for the whole step)" >&2
		done
	done
	vm_ok_t 60 B 'tb-walletc ping -n 20' "round trips in B after the cycles"

	# Unassigned: the device stays where it is until it re-enumerates;
	# then it stays in sys-usb, in the bootloader and back in the
	# firmware (driven from A, which can only talk to it if nobody took
	# it).
	ctl_ok "unassigning" unassign B
	vm_ok_t 60 B 'tb-walletc to-bootloader -w 0' "rebooting the unassigned wallet from B"
	vm_ok A 'wait_for 30 usb_devs 1209:0007 && gadget_busid 0' "the bootloader did not come back in A"
	busid=$VM_OUT
	ctl_wait 20 "the bootloader listed by dom0" ctl_listed "^sys-usb:$busid "
	sleep 5
	ctl_listed "^sys-usb:$busid .*\(attached\)" && fail "the unassigned bootloader was attached: $(ctl_ug list)"
	ctl_ug status | grep -q "^session " && fail "a session after unassign: $(ctl_ug status)"
	vm_ok_t 60 A 'tb-walletc to-firmware -w 30' "the bootloader, left in A, back to the firmware from A"
	sleep 5
	ctl_listed "^sys-usb:$busid .*\(attached\)" && fail "the unassigned firmware was attached: $(ctl_ug list)"
	ctl_ug status | grep -q "^session " && fail "a session after unassign: $(ctl_ug status)"
	vm_ok B 'usbgate-frontend list' "listing vhci ports in B"
	assert_eq "vhci ports in B after unassign" "no vhci port in use" "$VM_OUT"
	vm_ok_t 60 A 'tb-walletc ping -n 20' "round trips in A at the end"
	vm_bg_running A "$FL_WALLET_JOB" || fail "the wallet program in A died: $(vm_bg_log A "$FL_WALLET_JOB" | tail -n 3)"
	ctl_gated_alive || fail "usbgated died"
	ctl_save_logs
}
GADGET_CFG_A=/sys/kernel/config/usb_gadget

# fl_ms_since T0-NS: milliseconds since T0 (date +%s%N).
fl_ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}
