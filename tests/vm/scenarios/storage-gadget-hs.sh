# tests/vm/scenarios/storage-gadget-hs.sh: mass-storage gadget (high speed) on dummy_hcd; usb-storage binds, 64 MiB round trip with O_DIRECT is bit-exact
scenario() {
	vm_start_ok A
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	local busid=$VM_OUT
	vm_ok A "cat /sys/bus/usb/devices/$busid/speed" "reading the speed"
	assert_eq "speed of the gadget" 480 "$VM_OUT"
	vm_ok A "usb_node 1209:0001 block" "waiting for the gadget's disk"
	local dev=$VM_OUT
	vm_ok A "usb_driver /sys/bus/usb/devices/$busid" "reading the bound driver"
	assert_eq "driver of interface 0" usb-storage "$VM_OUT"
	vm_ok_t 120 A "storage_roundtrip $dev 64" "64 MiB round trip on $dev"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back from $dev" "${sums[0]}" "${sums[1]}"
}
