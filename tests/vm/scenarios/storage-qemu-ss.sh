# tests/vm/scenarios/storage-qemu-ss.sh: QEMU usb-storage at SuperSpeed on qemu-xhci; usb-storage binds, 64 MiB O_DIRECT round trip matches in the guest and in the host's image
scenario() {
	local img=$VM_RUNDIR/disk.img
	truncate -s 80M "$img"
	vm_start_ok A --drive "if=none,id=d0,file=$img,format=raw,cache=unsafe" --usb usb-storage,drive=d0
	vm_ok A "usb_node 46f4:0001 block" "waiting for the usb-storage disk"
	local dev=$VM_OUT
	vm_ok A "usb_devs 46f4:0001" "finding the device"
	local sysdev=$VM_OUT
	vm_ok A "cat $sysdev/speed; usb_driver $sysdev" "reading speed and driver"
	assert_eq "speed and driver" "5000 usb-storage" "${VM_OUT//$'\n'/ }"
	vm_ok_t 120 A "storage_roundtrip $dev 64" "64 MiB round trip on $dev"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back from $dev" "${sums[0]}" "${sums[1]}"
	assert_eq "sha256 of the host image's first 64 MiB" "${sums[0]}" \
		"$(head -c 64M "$img" | sha256sum | cut -d' ' -f1)"
}
