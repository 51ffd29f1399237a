# tests/vm/scenarios/usbgate-storage-hs.sh: mass-storage gadget (high speed) passed A -> B by usbgate; B's usb-storage writes and reads back 64 MiB bit-exact; the device returns to A's usb-storage
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/speed" "reading the speed in B"
	assert_eq "speed of the device in B" 480 "$VM_OUT"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" usb-storage "$VM_OUT"
	vm_ok_t 150 B "storage_roundtrip $dev 64" "64 MiB round trip on $dev in B"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
	# The data written in B is on the disk A's kernel sees again.
	vm_ok A "usb_node 1209:0001 block" "A's disk after the session"
	vm_ok A "gdd if=$VM_OUT bs=1M count=64 iflag=direct status=none | sha256sum | cut -d' ' -f1" "reading the disk in A"
	assert_eq "sha256 of the 64 MiB as A reads them" "${sums[0]}" "$VM_OUT"
}
