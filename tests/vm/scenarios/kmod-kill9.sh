# tests/vm/scenarios/kmod-kill9.sh: kill -9 of the process behind a usbgate_hcd port while bulk IN URBs are in flight: the URBs are given back (the libusb client fails instead of hanging), the port disconnects, the module unloads, no oops
source "$VM_DIR/kmod.sh"

scenario() {
	local dev cli
	vm_start_ok A
	kmod_load A 2
	dev=$(vm_run_bg A "exec tb-ughdev -H") || fail "starting tb-ughdev"
	vm_ok A "wait_for 30 usb_devs 1209:000a" "the emulated device did not enumerate"
	cli=$(vm_run_bg A "exec tb-bulk -m 1 -q 8 -l 65536 1209:000a") || fail "starting tb-bulk"
	vm_ok A "wait_for 30 grep -q 'holding bulk IN' /tmp/bg/$dev.log" "no bulk IN reached the device"
	vm_bg_kill A "$dev" KILL
	vm_bg_wait A "$cli" 20 && fail "tb-bulk succeeded although its device died"
	[[ $? == 124 ]] && fail "tb-bulk still waits on URBs of a dead device: $(vm_bg_log A "$cli" | tail -n 2)"
	vm_ok A "wait_for 10 eval '! usb_devs 1209:000a'" "the port must disconnect"
	kmod_unload A
}
