# tests/vm/scenarios/ctl-refuse-iface.sh: a composite gadget (storage + HID) attached to B under a rule that refuses HID interfaces: B's kernel sees one interface (storage, no HID, wTotalLength and bNumInterfaces rewritten by sys-usb), a 16 MiB round trip works; the sandboxed session's own usbfs file cannot claim, select a setting of, or rebind interface 1 (EACCES from the kernel); after detach both functions are back on A's drivers
scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'allow id 1209:0006 to B deny-interface 03:*:*
deny'
	ctl_daemons B

	# One gadget, two functions: mass storage (interface 0), HID (1).
	# shellcheck disable=SC2016
	vm_ok A '__gadget_new 0 0x0006 "testbed composite"
		gdd if=/dev/zero of=/run/gadget0.img bs=1M count=0 seek=32 2>/dev/null
		mkdir "$_g/functions/mass_storage.0"
		echo 0 >"$_g/functions/mass_storage.0/lun.0/removable"
		echo /run/gadget0.img >"$_g/functions/mass_storage.0/lun.0/file"
		mkdir "$_g/functions/hid.usb0"
		echo 0 >"$_g/functions/hid.usb0/protocol"
		echo 0 >"$_g/functions/hid.usb0/subclass"
		echo 64 >"$_g/functions/hid.usb0/report_length"
		printf "$FIDO_REPORT_DESC" >"$_g/functions/hid.usb0/report_desc"
		ln -s "$_g/functions/mass_storage.0" "$_g/configs/c.1/"
		__gadget_bind 0 hid.usb0' "creating the composite gadget"
	local busid=$VM_OUT
	vm_ok A "wait_for 10 test -e /sys/bus/usb/devices/$busid:1.1/driver && basename \$(readlink /sys/bus/usb/devices/$busid:1.1/driver)" \
		"the composite's HID function in A"
	assert_eq "driver of interface 1 in A" usbhid "$VM_OUT"
	ctl_wait 5 "composite listed" ctl_listed "^sys-usb:$busid "
	ctl_ok "policy test" policy test "sys-usb:$busid" B
	[[ $CTL_OUT == *allow* ]] || fail "policy test: $CTL_OUT"

	ctl_ok "attaching the composite to B" attach B "sys-usb:$busid"
	vm_ok B 'wait_for 20 usb_devs 1209:0006 && usb_devs 1209:0006' "the composite in B"
	local sys=$VM_OUT
	vm_ok B "cat $sys/bNumInterfaces; ls -d $sys/*:1.* | wc -l" "reading B's view of the interfaces"
	assert_eq "interfaces B sees (bNumInterfaces, sysfs)" "$(printf ' 1\n1')" "$VM_OUT"
	vm_ok B "cat $sys/*:1.0/bInterfaceClass" "reading interface 0's class in B"
	assert_eq "class of B's only interface" 08 "$VM_OUT"
	vm_ok B "od -An -tu1 -j18 -N4 $sys/descriptors | tr -s ' '" "reading B's cached configuration header"
	assert_eq "B's configuration header (bLength type wTotalLength-lo -hi)" " 9 2 32 0" "$VM_OUT"
	vm_ok B "lsusb -v -d 1209:0006 2>/dev/null | grep -c 'Human Interface Device' || true" "lsusb -v in B"
	assert_eq "HID interfaces lsusb shows in B" 0 "$VM_OUT"
	if vm_run B 'ls /sys/class/hidraw/' 2>/dev/null | grep -q hidraw; then
		fail "B has a hidraw node: the HID interface leaked"
	fi
	vm_ok B "usb_node 1209:0006 block 30" "the composite's disk in B"
	local dev=$VM_OUT sums
	vm_ok_t 120 B "storage_roundtrip $dev 16" "16 MiB round trip on $dev in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"

	# The sandboxed session's own usbfs file (a duplicate taken with
	# pidfd_getfd): it serves interface 0 and cannot reach interface 1,
	# whatever a compromised parser would ask of the kernel.
	vm_ok A "tb-usbfsprobe /dev/bus/usb/\$(printf '%03d/%03d' \$(cat /sys/bus/usb/devices/$busid/busnum) \$(cat /sys/bus/usb/devices/$busid/devnum)) 0 1" \
		"probing the session's usbfs file in A"
	printf '%s\n' "$VM_OUT" >"$VM_OUTDIR/usbfsprobe.txt"
	assert_eq "what the session's usbfs file may do (kernel's answers)" "$(printf '%s\n' \
		'claim 0: ok' 'claim 1: EACCES' 'disconnect-claim 1: EACCES' \
		'setinterface 1: EACCES' 'control-set-interface 1: EACCES' 'connect 1: EACCES')" "$VM_OUT"

	ctl_ok "detaching the composite" detach B "sys-usb:$busid"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$busid:1.1/driver && for i in 0 1; do basename \$(readlink /sys/bus/usb/devices/$busid:1.\$i/driver); done" \
		"the composite's drivers in A after detach"
	assert_eq "drivers of interfaces 0 and 1 in A after detach" "$(printf 'usb-storage\nusbhid')" "$VM_OUT"
	ctl_save_logs
	grep -q "hiding 1 interface(s) from the frontend" "$VM_OUTDIR/backend.log" ||
		fail "the backend log does not show the filter: $(grep -i filter "$VM_OUTDIR/backend.log")"
	ctl_gated_alive || fail "usbgated died"
}
