# tests/vm/scenarios/storage-qemu-uas.sh: QEMU usb-uas (USB Attached SCSI) at SuperSpeed; the uas driver binds, 64 MiB O_DIRECT round trip matches in guest and host image
scenario() {
	local img=$VM_RUNDIR/disk.img
	truncate -s 80M "$img"
	vm_start_ok A --drive "if=none,id=d0,file=$img,format=raw,cache=unsafe" \
		--usb usb-uas,id=uas --qemu -device --qemu "scsi-hd,bus=uas.0,scsi-id=0,lun=0,drive=d0"
	vm_ok A "usb_node 46f4:0003 block" "waiting for the UAS disk"
	local dev=$VM_OUT
	vm_ok A "usb_devs 46f4:0003" "finding the device"
	local sysdev=$VM_OUT
	vm_ok A "cat $sysdev/speed; usb_driver $sysdev" "reading speed and driver"
	assert_eq "speed and driver" "5000 uas" "${VM_OUT//$'\n'/ }"
	vm_ok_t 120 A "storage_roundtrip $dev 64" "64 MiB round trip on $dev"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back from $dev" "${sums[0]}" "${sums[1]}"
	assert_eq "sha256 of the host image's first 64 MiB" "${sums[0]}" \
		"$(head -c 64M "$img" | sha256sum | cut -d' ' -f1)"
}
