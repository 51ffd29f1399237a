# tests/vm/scenarios/usbgate-fail-kill-backend.sh: kill -9 of the backend's parsing child, then of its privileged parent, each during a transfer in B; every time the frontend ends with "backend gone" or a clean disconnect, B has no vhci port left, the device is back on A's usb-storage, and the next attach works
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 40' "creating the mass-storage gadget"
	local busid=$VM_OUT who
	for who in child parent; do
		ug_attach "$busid"
		vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B ($who)"
		ug_read_under_way "$VM_OUT"
		# The job's program is the parent; the session child is its child.
		vm_ok A "w=\$(cat /tmp/bg/$UG_BJOB.pid); par=''; for p in /proc/[0-9]*; do
			[ \"\$(cut -d' ' -f4 \$p/stat)\" = \"\$w\" ] && par=\${p#/proc/}; done
			chi=''; for p in /proc/[0-9]*; do
			[ \"\$(cut -d' ' -f4 \$p/stat)\" = \"\$par\" ] && chi=\${p#/proc/}; done
			[ -n \"\$par\" ] && [ -n \"\$chi\" ] || exit 1
			if [ $who = child ]; then kill -KILL \$chi; else kill -KILL \$par; fi" "killing the backend's $who"
		# killed child: the parent reports it (1); killed parent: no status
		ug_expect_end any any
		ug_port_freed 15
		ug_reads_ended
		ug_check_returned "$busid" usb-storage
	done
	ug_attach "$busid"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B again"
	vm_ok_t 90 B "storage_roundtrip $VM_OUT 8" "8 MiB round trip on the third attach"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 on the third attach" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
}
