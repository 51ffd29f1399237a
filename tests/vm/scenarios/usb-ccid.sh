# tests/vm/scenarios/usb-ccid.sh: QEMU usb-ccid enumerates with a smart-card (class 0x0b) interface and readable descriptors
scenario() {
	vm_start_ok A --usb usb-ccid
	vm_ok A 'wait_for 20 usb_devs 08e6:4433 && usb_devs 08e6:4433' "waiting for the CCID reader"
	local sysdev=$VM_OUT
	vm_ok A "cat $sysdev/*:1.0/bInterfaceClass" "reading the interface class"
	assert_eq "interface class" 0b "$VM_OUT"
	# lsusb reads the descriptors from the device and parses the CCID
	# class descriptor of a class-11 interface.
	vm_ok A "lsusb -v -d 08e6:4433 2>/dev/null" "reading the descriptors with lsusb"
	grep -q 'bInterfaceClass *11' <<<"$VM_OUT" || fail "lsusb shows no class-11 interface"
	grep -q 'ChipCard Interface Descriptor' <<<"$VM_OUT" ||
		fail "lsusb found no CCID class descriptor"
}
