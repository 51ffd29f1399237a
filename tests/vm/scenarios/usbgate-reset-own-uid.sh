# tests/vm/scenarios/usbgate-reset-own-uid.sh: a mass-storage gadget served with --reset-on-attach: the backend resets it, finds the same device at the port and serves it; its parsing process runs under a uid of the per-session range (not nobody, not root); the disk works in B and returns to A
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot
	vm_ok A 'udc_init 1 && gadget_storage 0 16' "creating the mass-storage gadget"
	local busid=$VM_OUT
	ug_attach "$busid" 0 "--reset-on-attach -v"
	vm_ok B "usb_node 1209:0001 block" "waiting for the disk in B"
	local dev=$VM_OUT
	# The uids of A's usbgate-backend processes: root (the privileged
	# half) and one from 1962934272-1962934527 (the session).
	vm_ok A 'for p in /proc/[0-9]*; do
		tr "\0" " " <$p/cmdline 2>/dev/null | grep -q "^usbgate-backend serve" &&
		awk "/^Uid:/ { print \$2 }" $p/status; done | sort -u | tr "\n" " "' \
		"reading the backend's uids in A"
	local uids=($VM_OUT) own=0 u
	for u in "${uids[@]}"; do
		((u >= 1962934272 && u <= 1962934527)) && own=$((own + 1))
	done
	assert_eq "session processes under a per-session uid (uids: ${uids[*]})" 1 "$own"
	assert_eq "backend processes (root and the session)" 2 "${#uids[@]}"
	vm_ok_t 120 B "storage_roundtrip $dev 16" "16 MiB round trip on $dev in B"
	local sums
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	ug_detach 0 0
	ug_check_returned "$busid" usb-storage
	local log
	log=$(vm_bg_log A "$UG_BJOB")
	[[ $log =~ session\ uid\ ([0-9]+) ]] ||
		fail "the backend's log does not name the session uid"
	((BASH_REMATCH[1] >= 1962934272 && BASH_REMATCH[1] <= 1962934527)) ||
		fail "session uid ${BASH_REMATCH[1]} outside the default range"
	[[ $log == *"reset $busid: the same device answers"* ]] ||
		fail "the backend did not re-check the device after the reset"
	[[ $log != *"after reset"* ]] ||
		fail "the reset was not clean: $(grep 'after reset' <<<"$log")"
}
