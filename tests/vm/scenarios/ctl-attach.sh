# tests/vm/scenarios/ctl-attach.sh: usbgated on the host lists a storage gadget plugged into sys-usb (A) (the delay printed), attaches it to B on an allow rule (16 MiB round trip in B), detaches it (back on A's usb-storage); a HID gadget is refused by a deny rule the refusal names, and nothing reaches B; udev's USBGATE_EXPORT=0 withdraws a device, USBGATE_AUTO_ATTACH=B attaches one the rules allow and not one they deny
# __udev_props VM BUSID LINES: set the device's udev properties (no udevd in
# the guests: write its database entry, send the change uevent udevd sends).
__udev_props() {
	vm_ok "$1" "d=/sys/bus/usb/devices/$2; mkdir -p /run/udev/data &&
		printf '$3\\n' >/run/udev/data/c\$(cat \$d/dev) && echo change >\$d/uevent" \
		"setting udev properties of $2 in $1"
}

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	# sys-usb's udev requests are off by default: this scenario tests them.
	ctl_dom0 'allow id 1209:0001 to @tag:office
deny id 1209:0003
deny' 'udev-auto-attach yes'
	ctl_daemons B

	# Plugged in: listed (how long it took is printed, not asserted: it
	# depends on the machine's load).
	vm_ok A 'gadget_storage 0 32' "creating the storage gadget"
	local busid=$VM_OUT t0 ms
	t0=$(date +%s%N)
	ctl_wait 30 "storage gadget listed" ctl_listed "^sys-usb:$busid "
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "listed $ms ms after the gadget enumerated" | tee -a "$VM_OUTDIR/figures" >&2

	# Allowed: attached in B, data crosses.
	ctl_ok "attaching the storage gadget to B" attach B "sys-usb:$busid"
	[[ $CTL_OUT == *"Attached sys-usb:$busid to B"* ]] || fail "attach said: $CTL_OUT"
	ctl_listed "^sys-usb:$busid .*B \(attached\)" || fail "list does not show the device attached to B: $(ctl_ug list)"
	vm_ok B "usb_node 1209:0001 block 30" "waiting for the disk in B"
	local dev=$VM_OUT sums
	vm_ok_t 120 B "storage_roundtrip $dev 16" "16 MiB round trip on $dev in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"

	# Detach: gone from B, back on A's driver.
	ctl_ok "detaching from B" detach B "sys-usb:$busid"
	vm_ok B 'wait_for 15 vhci_idle' "vhci port still in use in B after detach"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$busid:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$busid:1.0/driver)" \
		"the storage gadget has no driver in A after detach"
	assert_eq "driver of $busid in A after detach" usb-storage "$VM_OUT"
	ctl_listed "^sys-usb:$busid .*attached" && fail "list still shows the device attached: $(ctl_ug list)"

	# Denied: the refusal names the rule, nothing is attached.
	vm_ok A 'gadget_hid_fido 1' "creating the HID gadget"
	local hid=$VM_OUT
	ctl_wait 5 "HID gadget listed" ctl_listed "^sys-usb:$hid "
	ctl_expect 4 "attaching the denied HID gadget" attach B "sys-usb:$hid"
	[[ $CTL_OUT == *"denied by rule"*"50-test.rules:2"*"deny id 1209:0003"* ]] ||
		fail "the refusal does not name the rule: $CTL_OUT"
	vm_ok B 'sleep 1; usbgate-frontend list' "listing vhci ports in B"
	assert_eq "vhci ports in use in B after the refusal" "no vhci port in use" "$VM_OUT"
	vm_ok A "basename \$(readlink /sys/bus/usb/devices/$hid:1.0/driver)" "the HID gadget's driver in A"
	assert_eq "driver of the refused HID gadget in A" usbhid "$VM_OUT"

	# udev says USBGATE_EXPORT=0: no udevd in the guests, so write its
	# database entry and send the change uevent udevd would have caused.
	__udev_props A "$hid" 'E:USBGATE_EXPORT=0'
	ctl_wait 5 "the HID gadget unpublished after USBGATE_EXPORT=0" eval "! ctl_listed '^sys-usb:$hid '"
	ctl_listed "^sys-usb:$busid " || fail "the storage gadget went away too: $(ctl_ug list)"

	# USBGATE_AUTO_ATTACH=B is a request: dom0's deny rule still wins for
	# the HID gadget; the storage gadget, allowed by a rule that names it
	# and B (by B's tag), is attached by it.
	__udev_props A "$hid" 'E:USBGATE_AUTO_ATTACH=B'
	ctl_wait 5 "the HID gadget published again" ctl_listed "^sys-usb:$hid "
	__udev_props A "$busid" 'E:USBGATE_EXPORT=0'
	ctl_wait 5 "the storage gadget withdrawn" eval "! ctl_listed '^sys-usb:$busid '"
	__udev_props A "$busid" 'E:USBGATE_AUTO_ATTACH=B'
	ctl_wait 30 "the storage gadget attached to B on udev's request" ctl_attached "$busid" B
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B after udev's request"
	ctl_listed "^sys-usb:$hid .*attached" && fail "udev's request overrode the deny rule: $(ctl_ug list)"
	grep -q -- "$hid -> B (udev request): denied by rule" "$VM_OUTDIR/usbgated.log" ||
		fail "no trace of the HID gadget's udev request being denied"
	ctl_gated_alive || fail "usbgated died"
}
