# tests/vm/scenarios/kmod-usbgate-uas-late.sh: a bulk streams grant that reaches usbgate_hcd after its caller gave up (uas bound again in B with streams_timeout=0, so its allocation times out at once and the frontend's answer is always late): uas fails to bind, the kernel takes the late grant back with a free of its own, and uas then binds with its streams (not refused as a second allocation) and moves 4 MiB bit-exact; A's uas has the device back, the module unloads, no oops
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
scenario() {
	source "$VM_DIR/usbgate.sh"
	local busid intf param=/sys/module/usbgate_hcd/parameters/streams_timeout sums log
	ug_boot_uas
	busid=$VM_OUT
	ug_attach 46f4:0003
	intf=$UG_BUSID:1.0
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" uas "$VM_OUT"
	# Unbound, uas frees its streams (answered in time).
	vm_ok B "echo $intf > /sys/bus/usb/drivers/uas/unbind" "unbinding uas in B"
	# streams_timeout=0: the caller gives up before the frontend can have
	# read the request; sys-usb's grant comes after, every time.
	vm_ok B "echo 0 > $param" "setting streams_timeout=0 in B"
	vm_run -t 30 B "echo $intf > /sys/bus/usb/drivers/uas/bind" 2>/dev/null
	vm_ok B "! test -e /sys/bus/usb/devices/$intf/driver" \
		"uas bound in B although its allocation timed out"
	vm_ok B "wait_for 20 sh -c 'dmesg | grep -q \"bulk streams granted after the timeout: freeing them\"'" \
		"the late grant was not taken back in B"
	vm_ok B "echo 10 > $param" "setting streams_timeout=10 in B"
	# The take-back's free is answered before this allocation is asked
	# (the kernel waits for it): granted, not refused as a second one.
	vm_ok_t 40 B "echo $intf > /sys/bus/usb/drivers/uas/bind" "binding uas again in B"
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B after the late grant" uas "$VM_OUT"
	vm_ok B "usb_node 46f4:0003 block" "waiting for the UAS disk in B"
	vm_ok_t 90 B "storage_roundtrip $VM_OUT 4" "4 MiB round trip in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	vm_ok B "dmesg | grep -c 'bulk streams: no answer from the frontend' || true" "reading B's log"
	assert_eq "streams requests that timed out in B" 1 "$VM_OUT"
	vm_ok B "dmesg | grep -c 'bulk streams granted after the timeout' || true" "reading B's log"
	assert_eq "late grants taken back in B" 1 "$VM_OUT"
	ug_detach 0 0
	log=$(vm_bg_log B "$UG_FJOB")
	[[ $log =~ session\ ended:.*\ ([0-9]+)\ bulk\ streams, ]] ||
		fail "no stream count in the frontend's log: $(tail -n 2 <<<"$log" | tr '\n' ' ')"
	# Three grants of 15 (QEMU's usb-uas): the first bind, the late
	# one, the bind after it.
	assert_eq "bulk streams granted by sys-usb" 45 "${BASH_REMATCH[1]}"
	ug_check_returned "$busid" uas
}
