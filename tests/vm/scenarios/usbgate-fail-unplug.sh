# tests/vm/scenarios/usbgate-fail-unplug.sh: the device is unplugged in A in the middle of a transfer in B; both sides end with a reason (backend status 5), B has no vhci port left, no oops; a replugged device attaches again and works
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	local reader
	reader=$(vm_run_bg B "exec gdd if=$dev of=/dev/null bs=1M count=80 iflag=direct") || fail "starting a long read in B"
	sleep 2
	vm_ok A 'gadget_remove 0' "unplugging the gadget in A"
	ug_expect_end any 5
	vm_bg_wait B "$reader" 60 >/dev/null
	vm_ok B 'wait_for 10 sh -c "! usbgate-frontend list | grep -q ^port"' "a vhci port is left in use in B"
	vm_ok A "usbgate-backend list | grep -c 1209:0001 || true" "listing A's devices"
	assert_eq "devices 1209:0001 in A after the unplug" 0 "$VM_OUT"
	# Plug it again: a second session works.
	vm_ok A 'gadget_storage 0 16' "replugging the gadget"
	busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B again"
	vm_ok_t 90 B "storage_roundtrip $VM_OUT 8" "8 MiB round trip after the replug"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 after the replug" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
}
