# tests/vm/scenarios/usbgate-unlink-stress.sh: the cancellation stress that oopses USB/IP's exporting kernel (16 bulk-IN URBs cancelled every 0.2 s) run in B on a SourceSink passed by usbgate; A's kernel stays clean, the session survives and the device still moves data
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_sourcesink 0' "creating the SourceSink gadget"
	local busid=$VM_OUT
	ug_attach "$busid"
	vm_ok_t 120 B "tb-bulk -m 4 -q 16 -S 12 1209:0002" "bulk-IN cancellation stress in B"
	echo "$VM_OUT" >&2
	local n
	n=$(sed -n 's/^cancelled=\([0-9]*\).*/\1/p' <<<"$VM_OUT")
	[[ ${n:-0} -ge 100 ]] || fail "only ${n:-0} transfers were cancelled: the stress did not run"
	vm_ok_t 120 B "tb-bulk -m 8 -q 16 -l 65536 1209:0002" "bulk traffic after the stress"
	vm_bg_running A "$UG_BJOB" || fail "the backend did not survive the stress"
	ug_detach 0 0
}
