# tests/vm/scenarios/usbgate-uas.sh: QEMU usb-uas passed A -> B by usbgate; vhci has no bulk streams, so B's uas driver must refuse it cleanly (no hang, no oops), detach works and A's uas driver gets it back
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot_uas
	local busid=$VM_OUT
	ug_attach 46f4:0003
	vm_ok B "modprobe uas; sleep 2; cat /sys/bus/usb/devices/$UG_BUSID/speed" "reading the speed in B"
	assert_eq "speed in B" 5000 "$VM_OUT"
	# The interface stays without a driver (uas needs streams, usb-storage
	# does not take UAS-only devices): that is the clean refusal.
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID || echo none" "reading B's driver"
	[[ $VM_OUT == none || $VM_OUT == "" ]] || fail "a driver bound without streams: $VM_OUT"
	vm_ok B "dmesg | grep -c 'does not support streams\\|USB3 device without streams' || true" "reading B's log"
	echo "uas refusals logged in B: $VM_OUT" >&2
	ug_detach 0 0
	ug_check_returned "$busid" uas
	vm_ok A "usb_node 46f4:0003 block" "A's UAS disk after the session"
	vm_ok_t 90 A "storage_roundtrip $VM_OUT 16" "16 MiB round trip in A after the session"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 in A after the session" "${sums[0]}" "${sums[1]}"
}
