# tests/vm/scenarios/acm-serial-loopback.sh: CDC ACM gadget; cdc_acm binds, 64-byte messages on ttyACM come back byte-exact from an echo on ttyGS
scenario() {
	vm_start_ok A
	vm_ok A 'udc_init 1 && gadget_acm 0 >/dev/null && gadget_ttygs 0' "creating the ACM gadget"
	local ttygs=$VM_OUT
	vm_ok A 'usb_node 1209:0004 tty' "waiting for the ttyACM node"
	local tty=$VM_OUT
	[[ $tty == /dev/ttyACM* ]] || fail "expected a ttyACM node, got $tty"
	vm_ok A "usb_driver \$(usb_devs 1209:0004)" "reading the bound driver"
	assert_eq "driver of interface 0" cdc_acm "$VM_OUT"
	vm_run_bg A "exec tb-rtt echo -s 64 $ttygs" >/dev/null || fail "starting the echo on $ttygs"
	vm_ok A "tb-rtt ping -n 200 -s 64 $tty" "64-byte round trips over $tty"
	echo "ACM $VM_OUT" >&2
}
