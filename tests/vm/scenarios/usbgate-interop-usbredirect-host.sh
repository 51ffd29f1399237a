# tests/vm/scenarios/usbgate-interop-usbredirect-host.sh: usbgate-frontend imports from a usbredir host nobody here wrote: upstream usbredirect in A, over TCP through the host; the disk works in B and returns to A afterwards
# timeout: 360
scenario() {
	source "$VM_DIR/usbgate.sh"
	vm_launch_ok A --hostfwd redir:4000
	vm_launch_ok B --user-net
	vm_up_ok A B
	vm_ok B 'modprobe vhci-hcd' "loading vhci-hcd in B"
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT
	UG_BJOB=$(vm_run_bg A "exec usbredirect --device 1209:0001 --as 0.0.0.0:4000") || fail "starting usbredirect in A"
	vm_ok A "wait_for 10 sh -c 'netstat -ltn | grep -q :4000'" "usbredirect is not listening"
	UG_FJOB=$(vm_run_bg B "exec usbgate-frontend attach --channel tcp:10.0.2.2:$(vm_port redir)") ||
		fail "starting usbgate-frontend in B"
	vm_ok_t 40 B "wait_for 30 sh -c 'grep -q attached: /tmp/bg/$UG_FJOB.log'" "the device did not enumerate in B"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	vm_ok_t 150 B "storage_roundtrip $dev 32" "32 MiB round trip in B"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	ug_signal B "$UG_FJOB" TERM
	vm_bg_wait B "$UG_FJOB" 30 || fail "usbgate-frontend did not end cleanly: $(vm_bg_log B "$UG_FJOB" | tail -n 2 | tr '\n' ' ')"
	vm_bg_wait A "$UG_BJOB" 30 >/dev/null	# usbredirect is one-shot
	ug_check_returned "$busid" usb-storage
}
