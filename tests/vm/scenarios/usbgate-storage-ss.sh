# tests/vm/scenarios/usbgate-storage-ss.sh: QEMU usb-storage at SuperSpeed passed A -> B by usbgate; it arrives on B's USB 3 hub at 5000 Mb/s and a 64 MiB round trip matches in B and in the host's image
scenario() {
	source "$VM_DIR/usbgate.sh"
	local img=$VM_RUNDIR/disk.img
	truncate -s 80M "$img"
	ug_boot --drive "if=none,id=d0,file=$img,format=raw,cache=unsafe" --usb usb-storage,drive=d0
	vm_ok A "usb_node 46f4:0001 block >/dev/null; basename \$(usb_devs 46f4:0001)" "finding the usb-storage device in A"
	local busid=$VM_OUT
	ug_attach 46f4:0001
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/speed; usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading speed and driver in B"
	assert_eq "speed and driver in B" "5000 usb-storage" "${VM_OUT//$'\n'/ }"
	vm_ok B "usb_node 46f4:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	vm_ok_t 150 B "storage_roundtrip $dev 64" "64 MiB round trip on $dev in B"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	assert_eq "sha256 of the host image's first 64 MiB" "${sums[0]}" \
		"$(head -c 64M "$img" | sha256sum | cut -d' ' -f1)"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
}
