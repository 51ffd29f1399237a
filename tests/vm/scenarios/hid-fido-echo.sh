# tests/vm/scenarios/hid-fido-echo.sh: HID gadget with a FIDO/U2F report descriptor; usbhid binds, 64-byte reports written to hidraw come back byte-exact from an echo on /dev/hidgN
scenario() {
	vm_start_ok A
	vm_ok A 'udc_init 1 && gadget_hid_fido 0 >/dev/null && gadget_hidg 0' "creating the HID gadget"
	local hidg=$VM_OUT
	vm_ok A 'usb_node 1209:0003 hidraw' "waiting for the hidraw node"
	local hidraw=$VM_OUT
	vm_ok A "od -An -tx1 -N3 /sys/class/hidraw/${hidraw#/dev/}/device/report_descriptor" \
		"reading the report descriptor the host side sees"
	assert_eq "usage page of the report descriptor" "06 d0 f1" "${VM_OUT# }"
	vm_ok A "usb_driver \$(usb_devs 1209:0003)" "reading the bound driver"
	assert_eq "driver of interface 0" usbhid "$VM_OUT"
	local job
	job=$(vm_run_bg A "exec tb-rtt echo -s 64 $hidg") || fail "starting the echo on $hidg"
	vm_ok A "tb-rtt ping -r -n 200 -s 64 $hidraw" "64-byte report round trips over $hidraw"
	echo "HID $VM_OUT" >&2
	vm_ok A "kill -0 \$(cat /tmp/bg/$job.pid)" "the echo process on $hidg is still alive"
}
