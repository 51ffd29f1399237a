# tests/vm/scenarios/usbgate-fail-kill-frontend.sh: kill -9 of the frontend (both processes) during a transfer; vhci frees the port in B, the backend notices the silent channel and gives the device back to A; a second attach works
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	vm_run_bg B "exec gdd if=$dev of=/dev/null bs=1M count=40 iflag=direct" >/dev/null || fail "starting a read in B"
	sleep 1
	vm_ok B 'tb_pkill usbgate-frontend KILL' "killing the frontend"
	vm_ok B 'wait_for 10 sh -c "! usbgate-frontend list | grep -q ^port"' "a vhci port is left in use in B"
	ug_expect_end any 0
	ug_check_returned "$busid" usb-storage
	ug_storage_again "$busid" 8
}
