# tests/vm/scenarios/link-loopback.sh: single-VM loopback link; usbgate.K is joined to usbgate-peer.K of the same guest and carries data intact both ways
scenario() {
	vm_start_ok A --link lo:loop:2
	local j sent
	j=$(vm_run_bg A "port_recv usbgate-peer.0 1048576") || fail "starting the receiver"
	vm_ok A "port_send usbgate.0 1048576" "sending 1 MiB on usbgate.0"
	sent=$VM_OUT
	vm_bg_wait A "$j" 30 || fail "usbgate-peer.0 did not receive 1 MiB"
	assert_eq "sha256 usbgate.0 -> usbgate-peer.0" "$sent" "$(vm_bg_log A "$j")"
	j=$(vm_run_bg A "port_recv usbgate.1 1048576") || fail "starting the receiver"
	vm_ok A "port_send usbgate-peer.1 1048576" "sending 1 MiB on usbgate-peer.1"
	sent=$VM_OUT
	vm_bg_wait A "$j" 30 || fail "usbgate.1 did not receive 1 MiB"
	assert_eq "sha256 usbgate-peer.1 -> usbgate.1" "$sent" "$(vm_bg_log A "$j")"
}
