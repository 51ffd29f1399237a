# tests/vm/scenarios/ctl-lying-backend.sh: a compromised sys-usb (tb-liar on the data channel between the real backend and B) offers the storage gadget dom0 approved as a boot keyboard, first in its configuration descriptors, then in its interface list: each time B's frontend ends the session, the attach fails with "device identity mismatch", the vhci port is released, B's kernel never completes the enumeration, shows no class 03 interface and probes no HID driver, and the frontend's log names the class
#
# ctl_lie_count: the vhci enumerations B's kernel started, and those it
# completed for the gadget (1209:0001), as "STARTED COMPLETED".
ctl_lie_count() {
	vm_ok B "echo \$(dmesg | grep -c 'USB device number .* using vhci_hcd') \$(dmesg | grep -c 'New USB device found, idVendor=1209, idProduct=0001')" \
		"counting enumerations in B"
}

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	# B's first data channel: the backend listens on a socket in A, which
	# tb-liar joins to B's port (the pool's first free channel is this one).
	ctl_dom0 'allow id 1209:0001
deny' 'data sys-usb B unix:/run/liar.sock dev:/dev/virtio-ports/usbgate.0'
	ctl_daemons B
	vm_ok A 'gadget_storage 0 16' "creating the storage gadget"
	local busid=$VM_OUT mode liar rc
	local -a before after
	ctl_wait 30 "storage gadget listed" ctl_listed "^sys-usb:$busid "

	for mode in descriptors interface-info; do
		ctl_lie_count
		read -r -a before <<<"$VM_OUT"
		liar=$(vm_run_bg A "exec tb-liar unix:/run/liar.sock dev:/dev/virtio-ports/usbgate.0 $mode") ||
			fail "starting tb-liar ($mode)"
		ctl_expect 7 "attaching through the lying backend ($mode)" attach B "sys-usb:$busid"
		[[ $CTL_OUT == *"could not import $busid: device identity mismatch"* ]] ||
			fail "the failure does not name the mismatch ($mode): $CTL_OUT"
		rc=0
		vm_bg_wait A "$liar" 30 || rc=$?
		vm_bg_log A "$liar" >"$VM_OUTDIR/liar-$mode.log" 2>&1
		((rc == 0)) || fail "tb-liar ($mode) ended with $rc: $(tail -n 3 "$VM_OUTDIR/liar-$mode.log")"
		# The lie was told (else this proves nothing).
		if [[ $mode == descriptors ]]; then
			grep -Eq '^lied: [1-9][0-9]* interface descriptors, 0 interface lists' "$VM_OUTDIR/liar-$mode.log" ||
				fail "tb-liar told no lie in the descriptors: $(cat "$VM_OUTDIR/liar-$mode.log")"
		else
			grep -Eq '^lied: [0-9]+ interface descriptors, [1-9][0-9]* interface lists' "$VM_OUTDIR/liar-$mode.log" ||
				fail "tb-liar told no lie in the interface list: $(cat "$VM_OUTDIR/liar-$mode.log")"
		fi
		vm_ok B 'wait_for 15 vhci_idle' "vhci port still in use in B ($mode)"
		ctl_lie_count
		read -r -a after <<<"$VM_OUT"
		# Lying descriptors: the kernel started (and may have retried),
		# never completed: the configuration never reached it. Lying
		# list: no port at all.
		if [[ $mode == descriptors ]]; then
			((after[0] > before[0])) || fail "B's kernel never started enumerating ($mode): ${after[*]}"
		else
			assert_eq "enumerations started in B ($mode)" "${before[0]}" "${after[0]}"
		fi
		assert_eq "enumerations of the gadget completed in B ($mode)" 0 "${after[1]}"
		vm_ok B 'cat /sys/bus/usb/devices/*:*/bInterfaceClass 2>/dev/null | grep -c "^03$" || true' "interface classes in B"
		assert_eq "class 03 interfaces in B ($mode)" 0 "$VM_OUT"
		# No HID driver ever probed it (without the check, usbhid did).
		vm_ok B "dmesg | grep -cE 'usbhid [0-9]+-|hid-generic' || true" "HID probes in B's kernel log"
		assert_eq "HID probes in B ($mode)" 0 "$VM_OUT"
		ctl_wait 15 "the gadget free again ($mode)" eval "ctl_listed '^sys-usb:$busid ' && ! ctl_listed '^sys-usb:$busid .*B'"
	done

	ctl_save_logs
	grep -q "configuration descriptor: interface 0 alt 0 has class 03:01:01, which dom0 did not approve" "$VM_OUTDIR/frontend-B.log" ||
		fail "the frontend log does not name the lying descriptor: $(grep -i 'session ended' "$VM_OUTDIR/frontend-B.log")"
	grep -q "the backend announces interface 0 of class 03:01:01, which dom0 did not approve" "$VM_OUTDIR/frontend-B.log" ||
		fail "the frontend log does not name the lying interface list: $(grep -i 'session ended' "$VM_OUTDIR/frontend-B.log")"
	[[ $(grep -c "failed: device identity mismatch" "$VM_OUTDIR/frontend-B.log") == 2 ]] ||
		fail "B did not report two mismatches to dom0: $(grep -i 'import' "$VM_OUTDIR/frontend-B.log")"
	ctl_gated_alive || fail "usbgated died"
}
