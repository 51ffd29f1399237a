# tests/vm/scenarios/usbgate-serial-ftdi.sh: QEMU usb-serial (FTDI FT232) passed A -> B by usbgate; B's ftdi_sio binds and 64-byte messages looped back by the host come back byte-exact
scenario() {
	source "$VM_DIR/usbgate.sh"
	local sock=$VM_RUNDIR/serial.sock
	ug_boot --qemu -chardev --qemu "socket,id=ser,path=$sock,server=on,wait=off" \
		--usb usb-serial,chardev=ser,always-plugged=on
	vm_host_bg "exec socat UNIX-CONNECT:$sock PIPE" >/dev/null
	vm_ok A "usb_node 0403:6001 tty >/dev/null; basename \$(usb_devs 0403:6001)" "finding the FTDI device in A"
	local busid=$VM_OUT
	ug_attach 0403:6001
	vm_ok B "usb_node 0403:6001 tty" "waiting for ttyUSB in B"
	local tty=$VM_OUT
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" ftdi_sio "$VM_OUT"
	vm_ok_t 90 B "tb-rtt ping -n 100 -s 64 $tty" "64-byte round trips over $tty in B"
	echo "FTDI via usbgate: $VM_OUT" >&2
	ug_detach 0 0
	ug_check_returned "$busid" ftdi_sio
}
