# tests/vm/scenarios/usbgate-fail-channel-closed.sh: the channel is a host relay between A's and B's ports; the host kills it mid-transfer; both ends end, B has no vhci port left, the device is back on A's usb-storage, and a new relay carries a second session
scenario() {
	source "$VM_DIR/usbgate.sh"
	# usbgate.h: each guest's port is a server socket on the host, and the
	# host joins them with a relay it can kill (dom0 owning the channel).
	ug_boot --vport usbgate.h:server:ha -- --vport usbgate.h:server:hb
	local relay="exec socat UNIX-CONNECT:$VM_RUNDIR/ha.sock UNIX-CONNECT:$VM_RUNDIR/hb.sock"
	local rpid
	rpid=$(vm_host_bg "$relay")
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT
	UG_BJOB=$(vm_run_bg A "exec usbgate-backend serve --device $busid --channel dev:/dev/virtio-ports/usbgate.h") || fail "starting the backend"
	UG_FJOB=$(vm_run_bg B "exec usbgate-frontend attach --channel dev:/dev/virtio-ports/usbgate.h") || fail "starting the frontend"
	vm_ok_t 40 B "wait_for 30 sh -c 'grep -q attached: /tmp/bg/$UG_FJOB.log'" "the device did not enumerate in B"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	ug_read_under_way "$VM_OUT"
	kill "$rpid"
	# Both ends see end-of-stream (the port's host side went away).
	ug_expect_end 3 0
	ug_port_freed
	ug_reads_ended
	ug_check_returned "$busid" usb-storage
	# dom0 sets up a new channel: the next session works.
	vm_host_bg "$relay" >/dev/null
	sleep 1
	UG_BJOB=$(vm_run_bg A "exec usbgate-backend serve --device $busid --channel dev:/dev/virtio-ports/usbgate.h") || fail "starting the backend again"
	UG_FJOB=$(vm_run_bg B "exec usbgate-frontend attach --channel dev:/dev/virtio-ports/usbgate.h") || fail "starting the frontend again"
	vm_ok_t 40 B "wait_for 30 sh -c 'grep -q attached: /tmp/bg/$UG_FJOB.log'" "the device did not enumerate in B the second time"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B again"
	vm_ok_t 90 B "storage_roundtrip $VM_OUT 8" "8 MiB round trip on the new channel"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 on the new channel" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
}
