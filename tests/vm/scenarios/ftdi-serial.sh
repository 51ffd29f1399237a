# tests/vm/scenarios/ftdi-serial.sh: QEMU usb-serial (FTDI FT232); ftdi_sio binds /dev/ttyUSB0, 64-byte messages looped back by the host through the chardev come back byte-exact
scenario() {
	local sock=$VM_RUNDIR/serial.sock
	vm_start_ok A --qemu -chardev --qemu "socket,id=ser,path=$sock,server=on,wait=off" \
		--usb usb-serial,chardev=ser,always-plugged=on
	# The host end of the serial line echoes everything back.
	vm_host_bg "exec socat UNIX-CONNECT:$sock PIPE" >/dev/null
	vm_ok A 'usb_node 0403:6001 tty' "waiting for the ttyUSB node"
	local tty=$VM_OUT
	[[ $tty == /dev/ttyUSB* ]] || fail "expected a ttyUSB node, got $tty"
	vm_ok A "usb_driver \$(usb_devs 0403:6001)" "reading the bound driver"
	assert_eq "driver of interface 0" ftdi_sio "$VM_OUT"
	vm_ok A "tb-rtt ping -n 50 -s 64 $tty" "64-byte round trips over $tty and the host loop"
	echo "FTDI $VM_OUT" >&2
}
