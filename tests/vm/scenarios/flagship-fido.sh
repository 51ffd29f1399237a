# tests/vm/scenarios/flagship-fido.sh: FIDO HID gadget with a CTAPHID authenticator passed A -> B by usbgate; 1000 single-packet and 100 18-packet CTAPHID pings from B's hidraw come back byte-exact, error replies arrive; the key returns to A's usbhid
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_hid_fido 0 >/dev/null && gadget_hidg 0' "creating the FIDO HID gadget"
	local hidg=$VM_OUT
	vm_run_bg A "exec tb-ctaphid authenticator $hidg" >/dev/null || fail "starting the authenticator on $hidg"
	vm_ok A 'gadget_busid 0' "the gadget's bus id"
	local busid=$VM_OUT
	# Native baseline in A (same gadget, same authenticator).
	vm_ok A 'usb_node 1209:0003 hidraw' "waiting for A's hidraw node"
	vm_ok_t 120 A "tb-ctaphid ping -n 200 -s 57 $VM_OUT" "200 native CTAPHID pings in A"
	echo "fido native: $(tail -n1 <<<"$VM_OUT")" >&2

	ug_attach "$busid"
	vm_ok B "usb_node 1209:0003 hidraw" "waiting for the hidraw node in B"
	local hidraw=$VM_OUT
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" usbhid "$VM_OUT"
	vm_ok_t 300 B "tb-ctaphid ping -n 1000 -s 57 $hidraw" "1000 single-packet CTAPHID pings in B"
	echo "fido usbgate: $(tail -n1 <<<"$VM_OUT")" >&2
	[[ $VM_OUT == *pings=1000\ * ]] || fail "the ping tool did not report 1000 pings: $VM_OUT"
	# 1024 bytes: an init packet and 17 continuations each way.
	vm_ok_t 300 B "tb-ctaphid ping -n 100 -s 1024 $hidraw" "100 18-packet CTAPHID pings in B"
	echo "fido usbgate 1024 B: $(tail -n1 <<<"$VM_OUT")" >&2
	ug_detach 0 0
	ug_check_returned "$busid" usbhid
	# The key still answers in A after its trip.
	vm_ok A 'usb_node 1209:0003 hidraw' "A's hidraw node after the session"
	vm_ok_t 60 A "tb-ctaphid ping -n 20 -s 200 $VM_OUT" "CTAPHID pings in A after the session"
}
