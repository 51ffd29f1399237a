# tests/vm/scenarios/link-two-vm.sh: two guests joined by 4 virtio-serial ports usbgate.0-3 and a point-to-point network; data crosses every port intact in both directions, ping works
scenario() {
	vm_launch_ok A --link ab:server --net ab:1
	vm_launch_ok B --link ab:client --net ab:2
	vm_up_ok A B
	local i j1 j2 sent got
	for i in 0 1 2 3; do
		for n in A B; do
			vm_ok $n "test -c /dev/virtio-ports/usbgate.$i && test -c /dev/virtio-ports/usbgate.ctl" \
				"port usbgate.$i or usbgate.ctl missing in $n"
		done
	done
	for i in 0 3; do
		j1=$(vm_run_bg B "port_recv usbgate.$i 1048576") || fail "starting the receiver in B"
		vm_ok A "port_send usbgate.$i 1048576" "sending 1 MiB A -> B on usbgate.$i"
		sent=$VM_OUT
		vm_bg_wait B "$j1" 30 || fail "B did not receive 1 MiB on usbgate.$i"
		got=$(vm_bg_log B "$j1")
		assert_eq "sha256 of 1 MiB A -> B on usbgate.$i" "$sent" "$got"
		j2=$(vm_run_bg A "port_recv usbgate.$i 1048576") || fail "starting the receiver in A"
		vm_ok B "port_send usbgate.$i 1048576" "sending 1 MiB B -> A on usbgate.$i"
		sent=$VM_OUT
		vm_bg_wait A "$j2" 30 || fail "A did not receive 1 MiB on usbgate.$i"
		got=$(vm_bg_log A "$j2")
		assert_eq "sha256 of 1 MiB B -> A on usbgate.$i" "$sent" "$got"
	done
	vm_ok A 'ping -c 3 -W 5 192.168.77.2' "ping from A (192.168.77.1) to B (192.168.77.2)"
	# The dom0 control port's host end is a UNIX socket in the run dir.
	[[ -S $VM_RUNDIR/A/ctl.sock ]] || fail "no host socket for A's usbgate.ctl"
	# A port reads end-of-file while its host end is unconnected: connect
	# first, keep the connection, then read.
	vm_host_bg "{ printf 'hello\\n'; sleep 60; } | exec socat -u - UNIX-CONNECT:$VM_RUNDIR/A/ctl.sock" >/dev/null
	vm_ok A 'for i in $(seq 50); do x=$(head -c 6 /dev/virtio-ports/usbgate.ctl); [ -n "$x" ] && break; sleep 0.1; done; echo "$x"' \
		"reading usbgate.ctl"
	assert_eq "bytes from the host on usbgate.ctl" hello "$VM_OUT"
}
