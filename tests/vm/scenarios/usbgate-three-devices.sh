# tests/vm/scenarios/usbgate-three-devices.sh: three devices (storage, FIDO HID, ACM serial) passed A -> B at once on three ports; all work together in B and all return to A's drivers
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 3 && gadget_storage 0 40 && gadget_hid_fido 1 && gadget_acm 2' "creating three gadgets"
	local ids
	read -r -a ids <<<"$(echo $VM_OUT)"
	vm_ok A 'h=$(gadget_hidg 1); t=$(gadget_ttygs 2); echo $h $t' "finding hidg and ttyGS"
	local ends
	read -r -a ends <<<"$VM_OUT"
	vm_run_bg A "exec tb-rtt echo -s 64 ${ends[0]}" >/dev/null || fail "starting the HID echo"
	vm_run_bg A "exec tb-rtt echo -s 64 ${ends[1]}" >/dev/null || fail "starting the serial echo"
	local b=() f=() k
	for k in 0 1 2; do
		ug_attach "${ids[$k]}" "$k"
		b+=("$UG_BJOB")
		f+=("$UG_FJOB")
	done
	vm_ok B 'usb_node 1209:0001 block; usb_node 1209:0003 hidraw; usb_node 1209:0004 tty' "waiting for the three nodes in B"
	local nodes
	read -r -a nodes <<<"$(echo $VM_OUT)"
	# All three at the same time.
	vm_ok_t 150 B "storage_roundtrip ${nodes[0]} 32 >/tmp/st & tb-rtt ping -r -n 300 -s 64 ${nodes[1]} >/tmp/hid & tb-rtt ping -n 300 -s 64 ${nodes[2]} >/tmp/ser & wait; cat /tmp/st /tmp/hid /tmp/ser" \
		"using the three devices at once in B"
	echo "three devices: $VM_OUT" >&2
	local sums
	read -r -a sums <<<"$(head -n 1 <<<"$VM_OUT")"
	assert_eq "sha256 of the storage round trip" "${sums[0]}" "${sums[1]}"
	[[ $(grep -c 'p50_us=' <<<"$VM_OUT") == 2 ]] || fail "HID or serial round trips did not finish: $VM_OUT"
	for k in 0 1 2; do
		UG_BJOB=${b[$k]} UG_FJOB=${f[$k]}
		ug_detach 0 0
	done
	ug_check_returned "${ids[0]}" usb-storage
	ug_check_returned "${ids[1]}" usbhid
	ug_check_returned "${ids[2]}" cdc_acm
}
