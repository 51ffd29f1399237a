# tests/vm/scenarios/usbgate-hostile-frontend.sh: an AppVM that turns hostile after a proper usbredir hello (unknown packet type, lying length, a 2 GiB header, 200 random packets); each time the backend hangs up with status 4, gives the device back to A's usb-storage and survives to serve it again
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 16' "creating the mass-storage gadget"
	local busid=$VM_OUT mode rc
	for mode in badtype lying huge "random 7"; do
		UG_BJOB=$(vm_run_bg A "exec usbgate-backend serve --device $busid --channel dev:/dev/virtio-ports/usbgate.0") ||
			fail "starting the backend ($mode)"
		vm_ok_t 60 B "tb-hostile-guest dev:/dev/virtio-ports/usbgate.0 $mode" "hostile guest ($mode)"
		assert_eq "backend's reaction to '$mode'" hung-up "$VM_OUT"
		vm_bg_wait A "$UG_BJOB" 30
		rc=$?
		{ echo "--- backend ($mode, status $rc):"; vm_bg_log A "$UG_BJOB"; } >&2
		[[ $rc == 4 ]] || fail "backend ended with $rc after '$mode', expected 4 (protocol violation)"
		ug_check_returned "$busid" usb-storage
	done
	# A well-behaved AppVM still gets the device.
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	vm_ok_t 90 B "storage_roundtrip $VM_OUT 8" "8 MiB round trip after the attacks"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 after the attacks" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
}
