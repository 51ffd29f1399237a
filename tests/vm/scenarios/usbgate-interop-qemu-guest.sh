# tests/vm/scenarios/usbgate-interop-qemu-guest.sh: usbgate-backend serves a usbredir guest nobody here wrote: QEMU's usb-redir device of VM B (raw usbredir over a virtio-serial port); the disk works in B, and when QEMU lets go the device returns to A's usb-storage
scenario() {
	source "$VM_DIR/usbgate.sh"
	vm_launch_ok A --vport tb.redir:server:redir
	vm_launch_ok B --xhci
	vm_up_ok A B
	vm_ok B "modprobe vhci-hcd" "loading vhci-hcd in B (for the final check)"
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT
	# B's QEMU connects first, so nothing the backend writes is lost.
	vm_monitor B "chardev-add socket,id=ur,path=$VM_RUNDIR/redir.sock" >/dev/null
	UG_BJOB=$(vm_run_bg A "exec usbgate-backend serve --device $busid --channel rawdev:/dev/virtio-ports/tb.redir") ||
		fail "starting usbgate-backend"
	sleep 0.5
	vm_monitor B "device_add usb-redir,chardev=ur,id=urd,bus=xhci.0" >/dev/null
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk behind QEMU's usb-redir in B"
	local dev=$VM_OUT
	vm_ok B "basename \$(usb_devs 1209:0001)" "finding the device in B"
	vm_ok B "cat /sys/bus/usb/devices/$VM_OUT/../product 2>/dev/null; usb_driver /sys/bus/usb/devices/$VM_OUT" "reading B's driver"
	[[ $VM_OUT == *usb-storage* ]] || fail "usb-storage did not bind in B: $VM_OUT"
	vm_ok_t 150 B "storage_roundtrip $dev 32" "32 MiB round trip in B"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	vm_monitor B "device_del urd" >/dev/null
	vm_ok B "wait_for 10 sh -c '! usb_devs 1209:0001'" "the device is still in B after device_del"
	local i
	for ((i = 0; i < 25; i++)); do
		[[ $(vm_monitor B "chardev-remove ur") == *rror* ]] || break
		sleep 0.2
	done
	vm_bg_wait A "$UG_BJOB" 30 || fail "usbgate-backend did not end cleanly: $(vm_bg_log A "$UG_BJOB" | tail -n 2 | tr '\n' ' ')"
	ug_check_returned "$busid" usb-storage
}
