# tests/vm/scenarios/qubes-refuse.sh: Qubes stage A refusals under the doubles: without dom0's temporary policy line the static policy denies qubes.USB (qubes.USBAttach fails with one line naming the refusal, not 127, nothing reaches work); qrexec-client-vm gets 126 for the denied call, for a service argument with a forbidden character, and exits 1 on an over-long name; with qubes.USBAttach missing in work dom0 reads 127 as "not installed"; the device keeps its driver in sys-usb throughout
scenario() {
	source "$VM_DIR/qubes.sh"
	qb_boot
	vm_ok A 'gadget_hid_fido 0' "creating the HID gadget"
	local busid=$VM_OUT
	qd0_wait_listed sys-usb "^$busid 1209:0003 " 10

	# No temporary policy line: the static deny (90-default-usb.policy:2).
	qd0_attach work sys-usb "$busid" --no-policy && fail "attach succeeded without a policy line"
	((QD0_RC != 127)) || fail "qubes.USBAttach exited 127 on a refusal"
	[[ $QD0_STDERR == "usbgate: attach sys-usb:$busid failed: qrexec refused qubes.USB+$busid to sys-usb (policy)" ]] ||
		fail "qubes.USBAttach's reason: '$QD0_STDERR'"
	grep -q "qubes.USB+$busid work -> sys-usb: deny (.*90-default-usb.policy:2)" "$VM_OUTDIR/qrexec-dom0.log" ||
		fail "dom0's qrexec log does not name the denying rule"
	vm_ok B 'usbgate-frontend list' "listing vhci ports in B"
	assert_eq "vhci ports in B after the refusal" "no vhci port in use" "$VM_OUT"
	assert_eq "connected-to after the refusal" "" "$(qd0_connected sys-usb "$busid")"

	# qrexec-client-vm itself, as a VM calls it.
	local rc
	rc=0; vm_run B "qrexec-client-vm sys-usb qubes.USB+$busid true" 2>/dev/null || rc=$?
	assert_eq "qrexec-client-vm status for a denied call" 126 "$rc"
	rc=0; vm_run B "qrexec-client-vm sys-usb 'qubes.USB+$busid;id' true" 2>/dev/null || rc=$?
	assert_eq "qrexec-client-vm status for a forbidden character" 126 "$rc"
	rc=0; vm_run B "qrexec-client-vm sys-usb qubes.USB+$(printf 'x%.0s' $(seq 60)) true" 2>/dev/null || rc=$?
	assert_eq "qrexec-client-vm status for a 70-character service" 1 "$rc"
	grep -q "refused: invalid target or service name" "$VM_OUTDIR/qrexec-dom0.log" ||
		fail "dom0 did not refuse the forbidden character"

	# A policy file the double does not understand denies everything, with
	# the reason in dom0's log (qrexec refuses an invalid policy too).
	echo '!compat-4.0' >"$QB_DOM0/etc/qubes/policy.d/35-compat.policy"
	qd0_attach work sys-usb "$busid" && fail "attach succeeded under an invalid policy"
	grep -q "deny: invalid policy: .*35-compat.policy:1: directive !compat-4.0" "$VM_OUTDIR/qrexec-dom0.log" ||
		fail "no clear error for the unsupported directive"
	rm "$QB_DOM0/etc/qubes/policy.d/35-compat.policy"

	# Not installed in work: qrexec's 127, which qubesd turns into
	# USBProxyNotInstalled.
	vm_ok B 'mv /usr/local/etc/qubes-rpc/qubes.USBAttach /root/' "removing qubes.USBAttach from B"
	qd0_attach work sys-usb "$busid"
	assert_eq "dom0's error without qubes.USBAttach in work" USBProxyNotInstalled "$QD0_ERROR"
	[[ $QD0_STDERR == *"service qubes.USBAttach not found"* ]] || fail "qrexec's message: '$QD0_STDERR'"
	vm_ok B 'mv /root/qubes.USBAttach /usr/local/etc/qubes-rpc/' "putting qubes.USBAttach back"

	vm_ok A "basename \$(readlink /sys/bus/usb/devices/$busid:1.0/driver)" "the HID gadget's driver in A"
	assert_eq "driver of the HID gadget in A" usbhid "$VM_OUT"
	# And the same device attaches once dom0 allows it.
	qd0_attach work sys-usb "$busid" || fail "attach with the policy line: $QD0_ERROR"
	vm_ok B "usb_devs 1209:0003" "the HID gadget is not enumerated in B when qubes.USBAttach returns"
	qd0_detach work sys-usb "$busid" || fail "detach: $QD0_ERROR"
	qb_driver_in_a "$busid"
	assert_eq "driver of the HID gadget in A after detach" usbhid "$VM_OUT"
}
