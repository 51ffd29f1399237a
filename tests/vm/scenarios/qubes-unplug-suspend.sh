# tests/vm/scenarios/qubes-unplug-suspend.sh: Qubes stage A under the doubles: a device unplugged in sys-usb while attached ends the session (work's vhci port freed, connected-to and the device's QubesDB keys gone, work's import gone); two attached devices, then sys-usb's suspend-pre.d hook ends every session: both back on sys-usb's drivers, connected-to gone, work's ports freed
scenario() {
	source "$VM_DIR/qubes.sh"
	qb_boot
	vm_ok A 'gadget_storage 0 16' "creating the storage gadget"
	local disk=$VM_OUT
	qd0_wait_listed sys-usb "^$disk 1209:0001 " 10
	qd0_attach work sys-usb "$disk" || fail "attach: $QD0_ERROR"
	vm_ok B "usb_devs 1209:0001" "the disk is not enumerated in B when qubes.USBAttach returns"

	# Unplug in sys-usb while attached.
	vm_ok A 'gadget_remove 0' "unplugging the storage gadget"
	vm_ok B 'wait_for 30 vhci_idle' "vhci port still in use in B after the unplug"
	qd0_wait_unlisted sys-usb "^$disk " 15
	vm_ok A "wait_for 15 sh -c '! ls -d /run/usbgate-qubes/export-* 2>/dev/null'" "qubes.USB still runs in A after the unplug"
	vm_ok B "wait_for 15 sh -c '! ls -d /run/usbgate-qubes/import-*/ 2>/dev/null'" "the import still runs in B after the unplug"
	local left
	left=$(qd0_qdb sys-usb "qubesdb-list /qubes-usb-devices/${disk//./_}/")
	assert_eq "QubesDB keys of the unplugged device" "" "$left"

	# Two devices attached, then the host suspends.
	vm_ok A 'gadget_storage 1 16' "creating a second storage gadget"
	local d1=$VM_OUT
	vm_ok A 'gadget_hid_fido 2' "creating the HID gadget"
	local hid=$VM_OUT
	qd0_wait_listed sys-usb "^$hid 1209:0003 " 10
	qd0_wait_listed sys-usb "^$d1 1209:0001 " 10
	qd0_attach work sys-usb "$d1" || fail "attach of $d1: $QD0_ERROR"
	qd0_attach work sys-usb "$hid" || fail "attach of $hid: $QD0_ERROR"
	assert_eq "devices on vhci in B" 2 "$(qb_vhci_busids B | wc -l)"
	vm_ok A 'ln -s /usr/local/lib/usbgate/qubes/detach-all /run/usbgate-detach-all.sh && /run/usbgate-detach-all.sh' \
		"the suspend-pre.d hook in sys-usb"
	assert_eq "connected-to of $d1 after the hook" "" "$(qd0_connected sys-usb "$d1")"
	assert_eq "connected-to of $hid after the hook" "" "$(qd0_connected sys-usb "$hid")"
	qb_driver_in_a "$d1"
	assert_eq "driver of $d1 in A after the hook" usb-storage "$VM_OUT"
	qb_driver_in_a "$hid"
	assert_eq "driver of $hid in A after the hook" usbhid "$VM_OUT"
	vm_ok B 'wait_for 30 vhci_idle' "vhci ports still in use in B after the hook"
}
