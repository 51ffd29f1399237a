# tests/vm/scenarios/usbgate-fail-unplug.sh: the device is unplugged in A in the middle of a transfer in B; both sides end with a reason (backend status 5), no port of B's host controller keeps it, no oops; a replugged device attaches again and works
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	ug_read_under_way "$dev"
	vm_ok A 'gadget_remove 0' "unplugging the gadget in A"
	ug_expect_end any 5
	ug_reads_ended
	ug_port_freed
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
