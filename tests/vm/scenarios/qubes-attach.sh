# tests/vm/scenarios/qubes-attach.sh: Qubes stage A under the qrexec and QubesDB doubles: dom0 (doing what qubes-usb-proxy-dom0 does) lists a storage gadget from sys-usb's QubesDB, qubes.USBAttach in work returns 0 once the disk enumerated, 8 MiB round trip, connected-to reads work, the temporary policy is gone; qubes.USBDetach in sys-usb gives it back to usb-storage; again with QUBES_USB_RESET=1 (the backend resets) and the AppVM form of qubes.USBDetach
scenario() {
	source "$VM_DIR/qubes.sh"
	qb_boot

	# Published by the udev stand-in, listed by dom0 from QubesDB.
	vm_ok A 'gadget_storage 0 16' "creating the storage gadget"
	local busid=$VM_OUT id list
	id=${busid//./_}
	qd0_wait_listed sys-usb "^$busid 1209:0001 " 10
	list=$(qd0_list sys-usb)
	[[ $list == *"$busid 1209:0001 usbgate\\x20testbed testbed\\x20storage TB0000 -> "* ]] ||
		fail "dom0's listing of sys-usb: $list"
	assert_eq "interfaces in QubesDB" ":080650:" "$(qd0_qdb sys-usb "qubesdb-read /qubes-usb-devices/$id/interfaces")"

	# qvm-usb attach work sys-usb:BUSID
	qd0_attach work sys-usb "$busid" || fail "attach: $QD0_ERROR"
	[[ -z $(ls "$QB_DOM0/run/qubes/policy.d") ]] || fail "the temporary policy line was left behind"
	grep -q "qubes.USB+$busid work -> sys-usb: allow (.*45-usb-attach-work-$busid.policy:1)" "$VM_OUTDIR/qrexec-dom0.log" ||
		fail "dom0's qrexec log shows no allowed qubes.USB+$busid"
	# qubes.USBAttach returned only after work's kernel enumerated the
	# device (its driver and the disk node follow).
	vm_ok B "usb_devs 1209:0001" "the device is not enumerated in B when qubes.USBAttach returns"
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B"
	local dev=$VM_OUT sums
	assert_eq "connected-to after attach" work "$(qd0_connected sys-usb "$busid")"
	[[ $(qd0_qdb sys-usb "qubesdb-read /qubes-usb-devices/$id/x-pid") =~ ^[0-9]+$ ]] || fail "no x-pid in QubesDB"
	vm_ok_t 120 B "storage_roundtrip $dev 8" "8 MiB round trip on $dev in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	qd0_attach work sys-usb "$busid"
	assert_eq "a second attach of an attached device" DeviceAlreadyAttached "$QD0_ERROR"

	# qvm-usb detach: qubes.USBDetach in sys-usb, back on A's usb-storage.
	qd0_detach work sys-usb "$busid" || fail "detach: $QD0_ERROR"
	qd0_wait_connected sys-usb "$busid" "" 10
	assert_eq "x-pid after detach" "" "$(qd0_qdb sys-usb "qubesdb-read -q /qubes-usb-devices/$id/x-pid" 2>/dev/null)"
	qb_driver_in_a "$busid"
	assert_eq "driver of $busid in A after detach" usb-storage "$VM_OUT"
	vm_ok B 'wait_for 15 vhci_idle' "vhci port still in use in B after detach"

	# QUBES_USB_RESET=1 (80-qubes-usb-reset.rules): the backend resets the
	# device before lending it. No udevd: write its database entry.
	vm_ok A "mkdir -p /run/udev/data && echo E:QUBES_USB_RESET=1 >/run/udev/data/c\$(cat /sys/bus/usb/devices/$busid/dev)" \
		"setting QUBES_USB_RESET on $busid"
	qd0_attach work sys-usb "$busid" || fail "attach with QUBES_USB_RESET: $QD0_ERROR"
	vm_ok A "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -o 'serve --device $busid --channel stdio --reset-on-attach'" \
		"the backend in A does not run with --reset-on-attach"
	vm_ok B "usb_devs 1209:0001" "the device is not enumerated in B after the attach with reset"
	assert_eq "connected-to after the second attach" work "$(qd0_connected sys-usb "$busid")"

	# The AppVM form: qubes.USBDetach in work releases the vhci port; the
	# session ends in sys-usb, which takes the device back.
	qd0_client work "root:QUBESRPC qubes.USBDetach dom0" "sys-usb $busid
"
	assert_eq "qubes.USBDetach in work (stderr: $QD0_STDERR)" 0 "$QD0_RC"
	vm_ok B 'usbgate-frontend list' "listing vhci ports in B"
	assert_eq "vhci ports in B after the AppVM-form detach" "no vhci port in use" "$VM_OUT"
	qd0_wait_connected sys-usb "$busid" "" 20
	qb_driver_in_a "$busid"
	assert_eq "driver of $busid in A after the AppVM-form detach" usb-storage "$VM_OUT"
}
