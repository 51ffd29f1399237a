# tests/vm/scenarios/ctl-assign.sh: an ask rule answered no then yes by a scripted dom0 prompt (which sees the VM and device); a device assignment attaches a HID gadget to B when it is plugged in; a port assignment attaches storage when B's frontend (re)starts; the assigned storage unplugged and plugged again is attached to B again; after dom0 (usbgated) restarts, sys-usb publishes again and the assignments attach again
scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'ask id 1209:0002 to B
allow id 1209:0001 to B
allow id 1209:0003 to B
deny'
	ctl_daemons B

	# ask: no, then yes.
	vm_ok A 'gadget_sourcesink 2' "creating the SourceSink gadget"
	local ss=$VM_OUT
	ctl_wait 5 "SourceSink listed" ctl_listed "^sys-usb:$ss "
	echo 1 >"$CTL_DOM0/ask.answer"
	ctl_expect 4 "attach answered no" attach B "sys-usb:$ss"
	[[ $CTL_OUT == *"refused by the person asked"* ]] || fail "refusal after 'no': $CTL_OUT"
	grep -q "^USBGATE_VM=B$" "$CTL_DOM0/ask.log" && grep -q "^USBGATE_DEVICE=sys-usb:$ss$" "$CTL_DOM0/ask.log" ||
		fail "the prompt did not see the VM and device: $(cat "$CTL_DOM0/ask.log")"
	vm_ok B 'usbgate-frontend list' "listing vhci ports in B"
	assert_eq "vhci ports in B after 'no'" "no vhci port in use" "$VM_OUT"
	echo 0 >"$CTL_DOM0/ask.answer"
	ctl_ok "attach answered yes" attach B "sys-usb:$ss"
	vm_ok B 'wait_for 20 usb_devs 1209:0002' "the SourceSink gadget in B after 'yes'"
	ctl_ok "detaching the SourceSink gadget" detach B "sys-usb:$ss"
	vm_ok B 'wait_for 15 sh -c "! usb_devs 1209:0002"' "SourceSink still in B after detach"

	# A device assignment: attached when plugged in.
	ctl_ok "assigning the HID gadget by device" assign --device B 'sys-usb:*:1209:0003:TB0001:u030000'
	vm_ok A 'gadget_hid_fido 1' "creating the HID gadget"
	local hid=$VM_OUT
	ctl_wait 30 "HID gadget auto-attached to B on plug" ctl_attached "$hid" B
	vm_ok B 'usb_node 1209:0003 hidraw 20' "the HID gadget's hidraw in B"

	# A port assignment: attached when the VM (its frontend) starts.
	vm_ok A 'gadget_storage 0 16' "creating the storage gadget"
	local st=$VM_OUT
	ctl_wait 5 "storage listed" ctl_listed "^sys-usb:$st "
	ctl_ok "assigning the storage gadget" assign B "sys-usb:$st"
	ctl_listed "^sys-usb:$st .*attached" && fail "assign attached at once: $(ctl_ug list)"
	ctl_signal B "$CTL_FJOB_B" TERM
	vm_bg_wait B "$CTL_FJOB_B" 15 || fail "the frontend daemon did not exit on SIGTERM"
	vm_ok B 'wait_for 15 vhci_idle' "vhci ports left after the frontend exited"
	ctl_frontend B
	ctl_wait 40 "storage auto-attached when B's frontend started" ctl_attached "$st" B
	ctl_wait 40 "HID auto-attached when B's frontend started" ctl_attached "$hid" B
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B after the frontend started"

	# Unplug and plug again: attached again.
	vm_ok A 'gadget_remove 0' "unplugging the storage gadget"
	ctl_wait 10 "storage gone from the list" eval "! ctl_listed '^sys-usb:$st '"
	vm_ok B 'wait_for 15 sh -c "! usb_devs 1209:0001"' "storage still in B after the unplug"
	vm_ok A 'gadget_storage 0 16' "plugging the storage gadget in again"
	ctl_wait 40 "storage attached to B again after replug" ctl_attached "$VM_OUT" B
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B after the replug"
	vm_ok_t 60 B "gdd if=$VM_OUT bs=1M count=4 iflag=direct status=none | wc -c" "reading the disk in B after the replug"
	assert_eq "bytes read from the replugged disk" 4194304 "$VM_OUT"

	# dom0 restarts: the VMs' daemons notice on their ports, sys-usb
	# publishes again, B says hello again, the assignments attach again.
	ctl_gated_stop
	vm_ok B 'wait_for 20 vhci_idle' "devices left in B while dom0 was away"
	ctl_gated_start
	ctl_wait 40 "storage attached to B again after dom0 restarted" ctl_attached "$st" B
	ctl_wait 40 "HID attached to B again after dom0 restarted" ctl_attached "$hid" B
	ctl_listed "^sys-usb:$ss " || fail "sys-usb did not publish everything again: $(ctl_ug list)"
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B after dom0 restarted"
	ctl_gated_alive || fail "usbgated died"
}
