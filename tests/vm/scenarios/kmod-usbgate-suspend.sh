# tests/vm/scenarios/kmod-usbgate-suspend.sh: system sleep of B with a disk attached on usbgate_hcd is refused before anything is frozen (the frontend serving the disk would be frozen while sd flushes its cache): "echo mem" fails with EBUSY, the kernel says why, and the disk goes on bit-exact as the same device; with the disk detached B's devices, usbgate_hcd's root hubs among them, suspend and resume (pm_test "devices"), and the disk attaches again and works
# timeout: 360
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
scenario() {
	source "$VM_DIR/usbgate.sh"
	local busid dev devnum sums
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	dev=$VM_OUT
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/devnum" "reading the device number"
	devnum=$VM_OUT
	vm_ok_t 90 B "storage_roundtrip $dev 4" "4 MiB round trip before the sleep"

	# The testbed's sleep: everything up to the firmware (freeze, then
	# every device suspended), 5 s, then the way back. A real S3 under
	# QEMU does not come back here (its wakeup boots the guest afresh).
	vm_ok B "echo devices >/sys/power/pm_test" "setting pm_test in B"
	# Without the refusal this write took 77 s: sd's SYNCHRONIZE CACHE
	# waited on the frozen frontend, the suspend failed with EIO and the
	# disk was gone.
	vm_ok_t 60 B "if echo mem >/sys/power/state 2>/run/sleep.err; then echo slept; else cat /run/sleep.err; fi" \
		"asking B to sleep with the disk attached"
	[[ $VM_OUT == *"Device or resource busy"* ]] ||
		fail "sleep with a disk on usbgate_hcd: '$VM_OUT', expected EBUSY"
	vm_ok B "dmesg | grep -c 'usbgate_hcd: system sleep refused: 1 port(s) in use' || true" "reading B's log"
	assert_eq "refusals in B's log" 1 "$VM_OUT"
	vm_ok B "dmesg | grep -c 'Freezing user space' || true" "reading B's log"
	assert_eq "freezes in B's log" 0 "$VM_OUT"
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/devnum" "reading the device number after the refusal"
	assert_eq "device number after the refusal" "$devnum" "$VM_OUT"
	vm_ok_t 90 B "storage_roundtrip $dev 4" "4 MiB round trip after the refusal"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 read back after the refusal" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage

	# Nothing attached: B's devices suspend and resume with usbgate_hcd
	# loaded (its root hubs among them).
	kmod_load B
	vm_ok_t 60 B "echo mem >/sys/power/state" "B's sleep with nothing attached"
	vm_ok B "dmesg | grep -c -e 'Freezing user space processes completed' -e 'PM: suspend debug: Waiting' -e 'usbgate_hcd: system sleep refused'" \
		"reading B's log"
	assert_eq "freezes, device sleeps and refusals in B's log, both attempts" 3 "$VM_OUT"

	ug_storage_again "$busid" 4
}
