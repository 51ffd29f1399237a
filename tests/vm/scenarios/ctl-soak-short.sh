# tests/vm/scenarios/ctl-soak-short.sh: the short soak (tests/vm/soak.sh): 15 attach/read/detach cycles of a storage gadget through usbgated, with a kill -9 every 3 cycles (backend daemon, frontend daemon, each one's session child, usbgated; each recovers to idle); fds, RSS and processes sampled idle after every cycle do not grow within a process lifetime, no vhci port is left in B
# timeout: 420
scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	source "$VM_DIR/soak.sh"
	soak_setup
	soak_run 15 3 1 >"$VM_OUTDIR/soak.txt"
	soak_summary >>"$VM_OUTDIR/soak.txt"
	assert_eq "kills injected" 5 "$SOAK_KILLED"
	soak_check
}
