# tests/vm/scenarios/kmod-usbgate-suspend.sh: system sleep of B with a disk attached on usbgate_hcd goes through (pm_test "devices"): before anything is frozen the disk's port is parked (sd flushes its cache through the still-running frontend, then B's USB core removes the device), B's devices suspend and resume, and after the wake the same session shows the disk again on the same port, where it re-enumerates and moves data bit-exact; the frontend and the backend ran on throughout and A never took the device back
# timeout: 360
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
scenario() {
	source "$VM_DIR/usbgate.sh"
	local busid dev sums
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	dev=$VM_OUT
	vm_ok_t 90 B "storage_roundtrip $dev 4" "4 MiB round trip before the sleep"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 read back before the sleep" "${sums[0]}" "${sums[1]}"

	# The testbed's sleep: everything up to the firmware (freeze, then
	# every device suspended), 5 s, then the way back. A real S3 under
	# QEMU does not come back here (its wakeup boots the guest afresh).
	# Without the parking this write took 77 s: sd's SYNCHRONIZE CACHE
	# waited on the frozen frontend, the suspend failed with EIO and the
	# disk was gone.
	vm_ok B "echo devices >/sys/power/pm_test" "setting pm_test in B"
	vm_ok_t 90 B "if echo mem >/sys/power/state 2>/run/sleep.err; then echo slept; else cat /run/sleep.err; fi" \
		"asking B to sleep with the disk attached"
	assert_eq "B's sleep with the disk attached" slept "$VM_OUT"
	vm_ok B "dmesg | grep -c -e 'usbgate_hcd: bus [0-9]* port $UG_PORT parked for system sleep' -e 'usbgate_hcd: bus [0-9]* port $UG_PORT shown again after system sleep' -e 'PM: suspend debug: Waiting' || true" \
		"reading B's log"
	assert_eq "parkings, device sleeps and wakes in B's log" 3 "$VM_OUT"
	# The cache flush reached the device: the drivers were unbound while
	# the frontend still ran, before the port was parked.
	vm_ok B "dmesg | sed -n -e '/sda.*Synchronizing SCSI cache/s/.*/flush/p' -e '/parked for system sleep/s/.*/park/p' | tr '\n' ' '" "reading B's log"
	assert_eq "the disk's cache flush, then the parking, in B's log" "flush park " "$VM_OUT"
	vm_ok B "dmesg | grep -c -e 'Synchronize Cache.*failed' -e 'usbgate_hcd: system sleep refused' -e 'WARNING' || true" "reading B's log"
	assert_eq "failed cache flushes, refusals and warnings in B's log" 0 "$VM_OUT"

	# The same session: both ends ran on, A never took the device back,
	# and B enumerates the disk again on the same port.
	vm_bg_running B "$UG_FJOB" || fail "usbgate-frontend did not run on through the sleep"
	vm_bg_running A "$UG_BJOB" || fail "usbgate-backend did not run on through the sleep"
	vm_ok A "basename \$(readlink /sys/bus/usb/devices/$busid:1.0/driver)" "reading the driver of $busid in A"
	assert_eq "driver of $busid in A after B's sleep" usbfs "$VM_OUT"
	vm_ok B "wait_for 30 test -e /sys/bus/usb/devices/$UG_BUSID/idVendor && cat /sys/bus/usb/devices/$UG_BUSID/idVendor" \
		"the disk back on port $UG_PORT of B after the sleep"
	assert_eq "vendor on port $UG_PORT after the sleep" 1209 "$VM_OUT"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B after the sleep"
	dev=$VM_OUT
	vm_ok_t 90 B "storage_roundtrip $dev 4" "4 MiB round trip after the sleep"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 read back after the sleep" "${sums[0]}" "${sums[1]}"
	vm_ok B "dmesg | grep -c 'usb $UG_BUSID: new high-speed USB device' || true" "reading B's log"
	((VM_OUT >= 2)) || fail "the disk was enumerated $VM_OUT time(s) in B, not again after the sleep"

	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
}
