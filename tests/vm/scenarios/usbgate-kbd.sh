# tests/vm/scenarios/usbgate-kbd.sh: QEMU usb-kbd passed A -> B by usbgate; a key pressed at A's QEMU arrives as an evdev key press in B
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot --usb usb-kbd
	vm_ok A "usb_node 0627:0001 input >/dev/null; basename \$(usb_devs 0627:0001)" "finding the keyboard in A"
	local busid=$VM_OUT
	ug_attach 0627:0001
	vm_ok B 'usb_node 0627:0001 input' "waiting for the event node in B"
	local ev=$VM_OUT job i
	job=$(vm_run_bg B "exec tb-evwait $ev 30 20") || fail "starting tb-evwait in B"
	for ((i = 0; i < 50; i++)); do
		[[ $(vm_bg_log B "$job") == *ready* ]] && break
		sleep 0.2
	done
	vm_monitor A 'sendkey a' >/dev/null
	vm_bg_wait B "$job" 20 || fail "no KEY_A press in B: $(vm_bg_log B "$job" | tail -n 1)"
	ug_detach 0 0
	ug_check_returned "$busid" usbhid
}
