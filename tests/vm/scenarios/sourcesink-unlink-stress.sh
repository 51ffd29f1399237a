# tests/vm/scenarios/sourcesink-unlink-stress.sh: 16 bulk-IN URBs cancelled every 0.2 s for 8 s on a native SourceSink gadget; the kernel stays clean and the device answers (the baseline of the USB/IP unlink oops)
scenario() {
	vm_start_ok A
	vm_ok A 'udc_init 1 && gadget_sourcesink 0' "creating the SourceSink gadget"
	vm_ok_t 90 A "tb-bulk -m 4 -q 16 -S 8 1209:0002" "bulk-IN cancellation stress"
	echo "$VM_OUT" >&2
	local n
	n=$(sed -n 's/^cancelled=\([0-9]*\).*/\1/p' <<<"$VM_OUT")
	[[ ${n:-0} -ge 100 ]] || fail "only ${n:-0} transfers were cancelled: the stress did not run"
}
