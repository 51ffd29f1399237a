# tests/vm/scenarios/ctl-two-vms.sh: B (vhci_hcd) and C (usbgate_hcd loaded, no vhci_hcd: its frontend daemon's default --hcd auto must pick our module) ask for the same storage gadget: C is refused as busy while B has it (nothing reaches C), gets it once B detached, on usbgate_hcd, and reads it; a HID gadget assigned to B with --allow-pid re-enumerates with a new PID and is attached to B again
scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot --c-kmod
	ctl_dom0 'allow id 1209:0001 to @anyvm
allow id 1209:0003 to B
allow id 1209:0005 to B
deny'
	ctl_daemons B C

	vm_ok A 'gadget_storage 0 16' "creating the storage gadget"
	local st=$VM_OUT
	ctl_wait 5 "storage listed" ctl_listed "^sys-usb:$st "
	ctl_ok "attaching the storage gadget to B" attach B "sys-usb:$st"
	ctl_expect 5 "attaching the same gadget to C" attach C "sys-usb:$st"
	[[ $CTL_OUT == *"attached to B"* ]] || fail "the refusal does not say who has it: $CTL_OUT"
	if vm_run C 'usb_devs 1209:0001' >/dev/null 2>&1; then
		fail "the storage gadget reached C while B has it"
	fi
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B"
	ctl_ok "detaching from B" detach B "sys-usb:$st"
	ctl_ok "attaching the storage gadget to C" attach C "sys-usb:$st"
	vm_ok C "usb_node 1209:0001 block 30" "the disk in C"
	local disk=$VM_OUT
	vm_ok C 'usb_devs 1209:0001' "the gadget's device in C"
	[[ $VM_OUT == */platform/usbgate_hcd.*/* ]] ||
		fail "C's import is not on usbgate_hcd (the default --hcd auto): $VM_OUT"
	VM_OUT=$disk
	vm_ok_t 60 C "gdd if=$VM_OUT bs=1M count=4 iflag=direct status=none | wc -c" "reading the disk in C"
	assert_eq "bytes read in C" 4194304 "$VM_OUT"
	vm_ok B 'wait_for 15 sh -c "! usb_devs 1209:0001"' "the disk is still in B"
	ctl_ok "detaching from C" detach C

	# Re-enumeration with a new PID (a bootloader): the assignment follows.
	vm_ok A 'gadget_hid_fido 1' "creating the HID gadget"
	local hid=$VM_OUT
	ctl_wait 5 "HID listed" ctl_listed "^sys-usb:$hid "
	ctl_ok "assigning the HID gadget with --allow-pid" assign --device --allow-pid 0005 B "sys-usb:$hid"
	ctl_ok "attaching the HID gadget to B" attach B "sys-usb:$hid"
	vm_ok B 'wait_for 20 usb_devs 1209:0003' "the HID gadget in B"
	vm_ok A "g=$GADGET_CFG_A/g1; echo '' >\$g/UDC && echo 0x0005 >\$g/idProduct && echo dummy_udc.1 >\$g/UDC && wait_for 15 gadget_busid 1 && usb_devs 1209:0005" \
		"re-enumerating the HID gadget as 1209:0005"
	ctl_wait 40 "the re-enumerated gadget attached to B" ctl_attached "$hid" B
	vm_ok B 'wait_for 20 usb_devs 1209:0005' "the re-enumerated gadget (1209:0005) in B"
	if vm_run B 'usb_devs 1209:0003' >/dev/null 2>&1; then
		fail "the old identity 1209:0003 is still in B"
	fi
	vm_ok C 'wait_for 15 sh -c "! usb_devs 1209:0001"' "the disk is still in C after the detach"
	kmod_unload C
	ctl_gated_alive || fail "usbgated died"
}
GADGET_CFG_A=/sys/kernel/config/usb_gadget
