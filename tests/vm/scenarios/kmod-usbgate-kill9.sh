# tests/vm/scenarios/kmod-usbgate-kill9.sh: kill -9 of the frontend (both processes) on usbgate_hcd while B reads the disk (URBs in flight): the reader fails instead of hanging, the port disconnects, the backend gives the device back to A, a second attach on the same module moves 8 MiB bit-exact, then the module unloads; no oops
scenario() {
	# shellcheck disable=SC2034 # read by usbgate.sh
	UG_HCD=usbgate
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT rd
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	# Reads back to back until one fails: after the first pass the
	# kill lands mid-read (or the next read finds the port gone).
	rd=$(vm_run_bg B "while gdd if=$VM_OUT of=/dev/null bs=1M count=40 iflag=direct; do touch /tmp/kill9.pass; done; exit 1") ||
		fail "starting the reads in B"
	vm_ok B 'wait_for 60 test -e /tmp/kill9.pass' "no 40 MiB read completed in B"
	vm_ok B 'tb_pkill usbgate-frontend KILL' "killing the frontend"
	vm_ok B "wait_for 10 eval '! test -e /sys/bus/usb/devices/$UG_BUSID'" "the port did not disconnect"
	vm_bg_wait B "$rd" 30
	[[ $? == 124 ]] && fail "the reads in B still wait on URBs of a dead port"
	ug_expect_end any 0
	vm_ok A "wait_for 10 test -e /sys/bus/usb/devices/$busid:1.0/driver" "device $busid has no driver in A after the kill"
	ug_storage_again "$busid" 8
}
