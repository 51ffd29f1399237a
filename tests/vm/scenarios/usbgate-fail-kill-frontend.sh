# tests/vm/scenarios/usbgate-fail-kill-frontend.sh: kill -9 of the frontend (both processes) during a transfer; vhci frees the port in B, the backend notices the silent channel and gives the device back to A; a second attach works
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	ug_read_under_way "$dev"
	vm_ok B 'tb_pkill usbgate-frontend KILL' "killing the frontend"
	ug_port_freed
	ug_reads_ended
	ug_expect_end any 0
	ug_check_returned "$busid" usb-storage
	ug_storage_again "$busid" 8
}
