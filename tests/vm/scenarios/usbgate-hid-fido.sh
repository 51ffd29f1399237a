# tests/vm/scenarios/usbgate-hid-fido.sh: HID gadget with a FIDO report descriptor passed A -> B by usbgate; B's usbhid binds, the descriptor reads 06 d0 f1, and 500 x 64-byte reports come back byte-exact
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_hid_fido 0' "creating the HID gadget"
	local busid=$VM_OUT
	vm_ok A 'gadget_hidg 0' "finding hidg"
	vm_run_bg A "exec tb-rtt echo -s 64 $VM_OUT" >/dev/null || fail "starting the echo"
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0003 hidraw" "waiting for hidraw in B"
	local hidraw=$VM_OUT
	vm_ok B "od -An -tx1 -N3 /sys/class/hidraw/${hidraw#/dev/}/device/report_descriptor" "reading the report descriptor in B"
	assert_eq "usage page in B" "06 d0 f1" "${VM_OUT# }"
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" usbhid "$VM_OUT"
	vm_ok_t 120 B "tb-rtt ping -r -n 500 -s 64 $hidraw" "500 report round trips in B"
	echo "HID via usbgate: $VM_OUT" >&2
	ug_detach 0 0
	ug_check_returned "$busid" usbhid
}
