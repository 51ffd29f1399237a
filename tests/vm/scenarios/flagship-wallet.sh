# tests/vm/scenarios/flagship-wallet.sh: Trezor-style wallet (FunctionFS gadget, vendor class, 64-byte interrupt endpoints) passed A -> B by usbgate: 1000 checked round trips from B with libusb, a host-side reset in B (the trezord pattern), and three reboots into the bootloader and back (another product id each time) with the device passed to B again after each re-enumeration
# timeout: 360
scenario() {
	source "$VM_DIR/usbgate.sh"
	source "$VM_DIR/flagship.sh"
	ug_boot
	fl_wallet_start
	local busid=$FL_WALLET_BUSID job i

	vm_ok_t 120 A 'tb-walletc ping -n 200' "200 native round trips in A"
	echo "wallet native: $VM_OUT" >&2

	ug_attach "$busid"
	vm_ok_t 300 B 'tb-walletc ping -n 1000' "1000 round trips in B"
	echo "wallet usbgate: $VM_OUT" >&2
	assert_eq "round trips in B" 1000 "$(fl_kv round_trips "$VM_OUT")"

	# Reboot into the bootloader and back, three times. The client in B
	# waits for each identity; the scenario plays dom0's identity
	# assignment and passes each new identity (VID:PID:serial) to B
	# (see fl_wallet_follow): the first cycle by port, the others by
	# identity.
	job=$(vm_run_bg B 'exec tb-walletc reboot -c 3 -w 90') || fail "starting the reboot client in B"
	fl_wallet_follow 0007 "$busid"
	fl_wallet_follow 0006 "$busid"
	for i in 2 3; do
		fl_wallet_follow 0007 1209:0007:TBWAL0001
		fl_wallet_follow 0006 1209:0006:TBWAL0001
	done
	vm_bg_wait B "$job" 60 ||
		fail "reboot cycles in B: exit $?: $(vm_bg_log B "$job" | tail -n 3 | tr '\n' ' ')"
	echo "wallet usbgate reboots: $(vm_bg_log B "$job" | tail -n 1)" >&2

	# SET_INTERFACE to the current alt setting halfway (what many libusb
	# programs do after claiming): the interrupt streams must survive it.
	vm_ok_t 120 B 'tb-walletc ping -n 100 -a' "round trips in B around a SET_INTERFACE"

	# A host-side bus reset in B while a request is unanswered (trezord
	# resets on /acquire): the device must stay, and the next answers must
	# be the right ones, not the stale one.
	# usbgate_hcd passes the reset to the frontend, which makes it a
	# usbredir reset of the real device: the gadget in A must see a bus
	# reset (FunctionFS "disabled"). vhci_hcd resets its port locally; a
	# reset reaches A there only through the frontend's heuristic.
	local resets0 resets
	resets0=$(vm_bg_log A "$FL_WALLET_JOB" | grep -c 'disabled')
	vm_ok_t 120 B 'tb-walletc reset -n 50' "host-side reset of the wallet in B"
	resets=$(($(vm_bg_log A "$FL_WALLET_JOB" | grep -c 'disabled') - resets0))
	echo "wallet usbgate reset: $VM_OUT (bus resets seen by the gadget in A meanwhile: $resets; hcd ${UG_HCD:-vhci})" >&2
	[[ ${UG_HCD:-vhci} != usbgate ]] || ((resets >= 1)) ||
		fail "B's reset on usbgate_hcd did not reach the device in A (no bus reset seen by the gadget)"
	vm_ok_t 120 B 'tb-walletc ping -n 100' "round trips in B after the reset"

	ug_detach 0 0
	ug_port_freed
	vm_ok_t 60 A 'tb-walletc ping -n 50' "round trips in A after the session"
	vm_bg_running A "$FL_WALLET_JOB" || fail "the wallet program in A died: $(vm_bg_log A "$FL_WALLET_JOB" | tail -n 3)"
}
