# tests/vm/scenarios/kmod-ughdev.sh: a device emulated in user space on /dev/usbgate_hcd (tb-ughdev) enumerates through the port reset request, moves SourceSink-pattern data both ways (tb-bulk, every byte checked) and survives an unlink stress; the same device at SuperSpeed enumerates on the USB 3 root hub and moves data; malformed records are refused with the expected errno; its exit disconnects the port and the module unloads
source "$VM_DIR/kmod.sh"

scenario() {
	local job log
	vm_start_ok A
	kmod_load A 2
	job=$(vm_run_bg A "exec tb-ughdev -x") || fail "starting tb-ughdev"
	vm_ok A "wait_for 30 usb_devs 1209:000a" "the emulated device did not enumerate"
	vm_ok_t 90 A "tb-bulk -m 4 -q 8 -l 65536 -S 2 1209:000a" "bulk OUT/IN with pattern check, then the unlink stress"
	[[ $VM_OUT == *in_mbs=* ]] || fail "tb-bulk printed no rate: $VM_OUT"
	log=$(vm_bg_log A "$job")
	[[ $log =~ port\ [0-9]+-1\ speed\ 3 ]] || fail "no high-speed port 1 in: $log"
	[[ $log == *"reset 1"* ]] || fail "no port reset request reached the device: $log"
	[[ $log == *"hostile: 18 refused"* ]] || fail "the kernel did not refuse every malformed record: $log"
	vm_ok A "tb_pkill tb-ughdev TERM" "signalling tb-ughdev"
	vm_bg_wait A "$job" 20 || fail "tb-ughdev did not end on SIGTERM: $(vm_bg_log A "$job" | tail -n 2)"
	log=$(vm_bg_log A "$job")
	[[ $log =~ in\ [1-9][0-9]*\ out\ [1-9][0-9]*\ bad\ 0 ]] || fail "no data counted by the device: $log"
	vm_ok A "wait_for 10 eval '! usb_devs 1209:000a'" "the device must leave when its process closes the device"

	job=$(vm_run_bg A "exec tb-ughdev -S") || fail "starting tb-ughdev -S"
	vm_ok A "wait_for 30 usb_devs 1209:000a" "the SuperSpeed device did not enumerate"
	vm_ok A 'cat $(usb_devs 1209:000a)/speed' "reading the device's speed"
	assert_eq "SuperSpeed device speed" 5000 "$VM_OUT"
	vm_ok_t 60 A "tb-bulk -m 2 -q 4 -l 65536 1209:000a" "SuperSpeed bulk OUT/IN with pattern check"
	vm_ok A "tb_pkill tb-ughdev TERM" "signalling tb-ughdev"
	vm_bg_wait A "$job" 20 || fail "tb-ughdev -S did not end on SIGTERM"
	vm_ok A "wait_for 10 eval '! usb_devs 1209:000a'" "the SuperSpeed device must leave"
	kmod_unload A
}
