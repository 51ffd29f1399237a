# tests/vm/scenarios/sourcesink-bulk.sh: SourceSink gadget (bulk); libusb writes 16 MiB of the gadget-checked pattern and reads 16 MiB back, every byte verified
scenario() {
	vm_start_ok A
	vm_ok A 'udc_init 1 && gadget_sourcesink 0' "creating the SourceSink gadget"
	vm_ok A "usb_node 1209:0002 usbdev" "finding the SourceSink device node"
	local node=$VM_OUT
	vm_ok_t 120 A "tb-bulk -m 16 -q 16 -l 65536 $node" "bulk OUT/IN with pattern check on $node"
	echo "$VM_OUT" >&2
	[[ $VM_OUT == *in_mbs=* ]] || fail "tb-bulk printed no rate: $VM_OUT"
}
