# tests/vm/scenarios/kmod-usbgate-kill9.sh: kill -9 of the frontend (both processes) on usbgate_hcd while B reads the disk (URBs in flight): the reader fails instead of hanging, the port disconnects, the backend gives the device back to A, a second attach on the same module moves 8 MiB bit-exact, then the module unloads; no oops
scenario() {
	# shellcheck disable=SC2034 # read by usbgate.sh
	UG_HCD=usbgate
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	ug_read_under_way "$VM_OUT"
	vm_ok B 'tb_pkill usbgate-frontend KILL' "killing the frontend"
	ug_port_freed
	ug_reads_ended
	ug_expect_end any 0
	vm_ok A "wait_for 10 test -e /sys/bus/usb/devices/$busid:1.0/driver" "device $busid has no driver in A after the kill"
	ug_storage_again "$busid" 8
}
