# tests/vm/scenarios/usbgate-serial-acm.sh: CDC ACM gadget passed A -> B by usbgate; B's cdc_acm binds and 64-byte messages echoed by the gadget come back byte-exact; both interfaces return to A's cdc_acm
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_acm 0' "creating the ACM gadget"
	local busid=$VM_OUT
	vm_ok A 'gadget_ttygs 0' "finding ttyGS"
	vm_run_bg A "exec tb-rtt echo -s 64 $VM_OUT" >/dev/null || fail "starting the echo"
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0004 tty" "waiting for ttyACM in B"
	local tty=$VM_OUT
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" cdc_acm "$VM_OUT"
	vm_ok_t 90 B "tb-rtt ping -n 200 -s 64 $tty" "64-byte round trips over $tty in B"
	echo "ACM via usbgate: $VM_OUT" >&2
	ug_detach 0 0
	ug_check_returned "$busid" cdc_acm
	vm_ok A "usb_driver /sys/bus/usb/devices/$busid 1" "driver of A's data interface"
	assert_eq "driver of interface 1 in A" cdc_acm "$VM_OUT"
}
