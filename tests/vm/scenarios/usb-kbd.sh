# tests/vm/scenarios/usb-kbd.sh: QEMU usb-kbd; usbhid binds, a key sent through the QEMU monitor arrives as an evdev key press
scenario() {
	vm_start_ok A --usb usb-kbd
	vm_ok A 'usb_node 0627:0001 input' "waiting for the keyboard's event node"
	local ev=$VM_OUT
	vm_ok A "usb_driver \$(usb_devs 0627:0001)" "reading the bound driver"
	assert_eq "driver of interface 0" usbhid "$VM_OUT"
	local job i
	job=$(vm_run_bg A "exec tb-evwait $ev 30 20") || fail "starting tb-evwait"
	for ((i = 0; i < 50; i++)); do
		[[ $(vm_bg_log A "$job") == *ready* ]] && break
		sleep 0.2
	done
	vm_monitor A 'sendkey a' >/dev/null
	vm_bg_wait A "$job" 20 || fail "no KEY_A press on $ev: $(vm_bg_log A "$job" | tail -n 1)"
}
