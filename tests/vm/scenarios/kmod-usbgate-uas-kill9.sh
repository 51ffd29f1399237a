# tests/vm/scenarios/kmod-usbgate-uas-kill9.sh: kill -9 of the frontend on usbgate_hcd while the kernel waits for its answer to a bulk streams request (uas unbound in B frees its streams; A's backend is stopped, so no answer comes): the request fails at once by the session's teardown (not by its 10 s timeout), the unbind returns, the port disconnects, the backend gives the device back to A's uas and the module unloads; no oops
# shellcheck disable=SC2034 # read by usbgate.sh and kmod.sh
UG_HCD=usbgate KMOD_PARAMS=streams_timeout=300
scenario() {
	source "$VM_DIR/usbgate.sh"
	local busid job
	ug_boot_uas
	busid=$VM_OUT
	ug_attach 46f4:0003
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" uas "$VM_OUT"
	# No answer will come from sys-usb (the backend and its session
	# process stopped): the free waits in the kernel.
	vm_ok A 'tb_pkill usbgate-backend STOP' "stopping the backend"
	job=$(vm_run_bg B "echo $UG_BUSID:1.0 > /sys/bus/usb/drivers/uas/unbind") ||
		fail "starting the unbind in B"
	# (streams_timeout=300: the kill comes long before the timeout.)
	vm_ok B "wait_for 60 sh -c 'cat /proc/[0-9]*/stack 2>/dev/null | grep -q streams_ask'" \
		"no task waits for a streams answer in B"
	vm_ok B 'tb_pkill usbgate-frontend KILL' "killing the frontend"
	vm_bg_wait B "$job" 30
	[[ $? == 124 ]] && fail "the unbind in B still waits for a dead frontend"
	vm_ok B "wait_for 10 eval '! test -e /sys/bus/usb/devices/$UG_BUSID'" "the port did not disconnect"
	vm_ok B "dmesg | grep -c 'bulk streams: no answer' || true" "reading B's log"
	assert_eq "streams requests that timed out in B" 0 "$VM_OUT"
	vm_ok A 'tb_pkill usbgate-backend CONT' "resuming the backend"
	ug_expect_end any 0
	ug_check_returned "$busid" uas
}
