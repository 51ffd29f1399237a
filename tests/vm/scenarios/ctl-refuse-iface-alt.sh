# tests/vm/scenarios/ctl-refuse-iface-alt.sh: a gadget whose interface 0 is storage (08) at alternate setting 0 and a boot keyboard (03:01:01) at setting 1 (sysfs in A shows only 08): under "allow with-interface one-of {08:*:*} deny-interface {03:*:* 0e:*:*}" B never sees class 03 at any setting and cannot select setting 1; "match-all {08:*:*}" denies it (its class set holds 03); "one-of {08:*:*}" alone allows it (USBGuard's one-of: some type matches), keyboard setting included, with the configuration pinned
#
# ifd: every interface descriptor of a sysfs device's cached descriptors,
# one line each: "interface N alt A class CC:SS:PP".
ALT_IFD_AWK='{ for (i = 1; i <= NF; i++) b[n++] = $i }
END {
	for (o = 18; o + 1 < n && b[o] >= 2; o += b[o])
		if (b[o + 1] == 4)
			printf "interface %d alt %d class %02x:%02x:%02x\n", b[o + 2], b[o + 3], b[o + 5], b[o + 6], b[o + 7]
}'

alt_ifd() { # VM SYSDEV WHAT
	vm_ok "$1" "od -An -tu1 -v $2/descriptors | awk '$ALT_IFD_AWK'" "$3"
}

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'allow with-interface one-of {08:*:*} deny-interface {03:*:* 0e:*:*}
deny'
	ctl_daemons B

	# The device: FunctionFS, descriptors from tb-altgadget.
	# shellcheck disable=SC2016
	vm_ok A '__gadget_new 0 0x0008 "testbed hidden keyboard"
		mkdir "$_g/functions/ffs.alt0" && mkdir -p /run/ffs-alt0 &&
		mount -t functionfs alt0 /run/ffs-alt0' "creating the gadget in A"
	local gjob
	gjob=$(vm_run_bg A 'exec tb-altgadget /run/ffs-alt0') || fail "starting tb-altgadget in A"
	vm_ok A 'wait_for 10 test -e /run/ffs-alt0/ep3 && __gadget_bind 0 ffs.alt0' "binding the gadget in A"
	local busid=$VM_OUT
	vm_ok A "wait_for 10 usb_devs 1209:0008 && usb_devs 1209:0008" "the gadget in A"
	local asys=$VM_OUT
	# What sysfs shows in A, and what the descriptors hold.
	vm_ok A "cat $asys/$busid:1.0/bInterfaceClass" "sysfs class of interface 0 in A"
	assert_eq "class sysfs shows in A" 08 "$VM_OUT"
	alt_ifd A "$asys" "A's interface descriptors"
	assert_eq "interface descriptors in A" "$(printf 'interface 0 alt 0 class 08:06:ff\ninterface 0 alt 1 class 03:01:01')" "$VM_OUT"
	ctl_wait 5 "gadget listed" ctl_listed "^sys-usb:$busid "

	# 1. The finding's rule: storage only, the keyboard setting refused.
	ctl_ok "policy test" policy test "sys-usb:$busid" B
	[[ $CTL_OUT == *allow* ]] || fail "policy test: $CTL_OUT"
	ctl_ok "attaching the gadget to B" attach B "sys-usb:$busid"
	vm_ok B 'wait_for 20 usb_devs 1209:0008 && usb_devs 1209:0008' "the gadget in B"
	local bsys=$VM_OUT node
	alt_ifd B "$bsys" "B's interface descriptors"
	assert_eq "interface descriptors B sees" "interface 0 alt 0 class 08:06:ff" "$VM_OUT"
	vm_ok B "lsusb -v -d 1209:0008 2>/dev/null | grep -c 'bInterfaceClass *3 ' || true" "lsusb -v in B"
	assert_eq "HID interface descriptors lsusb shows in B" 0 "$VM_OUT"
	vm_ok B "usb_node 1209:0008 usbdev 10" "the gadget's usbfs node in B"
	node=$VM_OUT
	vm_run B "tb-setalt $node 0 1" >"$VM_OUTDIR/setalt-refused.txt" 2>&1
	assert_eq "SET_INTERFACE 0/1 in B (no such setting in B's view)" EINVAL "$(head -n 1 "$VM_OUTDIR/setalt-refused.txt")"
	vm_ok B "tb-setalt $node 0 0" "SET_INTERFACE to the storage setting in B"
	assert_eq "SET_INTERFACE 0/0 in B" ok "$VM_OUT"
	ctl_ok "detaching the gadget" detach B "sys-usb:$busid"
	vm_ok B 'wait_for 15 vhci_idle' "vhci port still in use in B after detach"
	ctl_wait 15 "the gadget free again" eval "ctl_listed '^sys-usb:$busid ' && ! ctl_listed '^sys-usb:$busid .*attached'"

	# 2. Every type must be storage: the keyboard setting denies it.
	ctl_rules 'allow with-interface match-all {08:*:*}
deny'
	ctl_expect 4 "attaching under match-all {08:*:*}" attach B "sys-usb:$busid"
	[[ $CTL_OUT == *denied* ]] || fail "refusal does not say denied: $CTL_OUT"
	vm_run B 'usb_devs 1209:0008' >/dev/null 2>&1 && fail "the denied gadget reached B"

	# 3. USBGuard's one-of: some type is storage, so it is allowed, keyboard
	# setting included; the configuration is pinned all the same.
	ctl_rules 'allow with-interface one-of {08:*:*}
deny'
	ctl_ok "attaching under one-of {08:*:*}" attach B "sys-usb:$busid"
	vm_ok B 'wait_for 20 usb_devs 1209:0008 && usb_devs 1209:0008' "the gadget in B (one-of)"
	bsys=$VM_OUT
	alt_ifd B "$bsys" "B's interface descriptors (one-of)"
	assert_eq "interface descriptors B sees (one-of)" "$(printf 'interface 0 alt 0 class 08:06:ff\ninterface 0 alt 1 class 03:01:01')" "$VM_OUT"
	vm_ok B "usb_node 1209:0008 usbdev 10" "the gadget's usbfs node in B (one-of)"
	node=$VM_OUT
	vm_run B "tb-setalt $node 0 1" >"$VM_OUTDIR/setalt-allowed.txt" 2>&1
	[[ $(head -n 1 "$VM_OUTDIR/setalt-allowed.txt") == EINVAL ]] &&
		fail "SET_INTERFACE 0/1 under one-of: B does not know setting 1"
	vm_run B "tb-setalt $node 0 0" >/dev/null 2>&1
	if vm_run B "echo 0 >$bsys/bConfigurationValue" >"$VM_OUTDIR/unconfigure.txt" 2>&1; then
		fail "B unconfigured the device: the configuration is not pinned"
	fi
	vm_ok B "echo 1 >$bsys/bConfigurationValue && cat $bsys/bConfigurationValue" "configuring the device again in B"
	assert_eq "configuration in B" 1 "$VM_OUT"
	ctl_ok "detaching the gadget (one-of)" detach B "sys-usb:$busid"

	vm_bg_running A "$gjob" || fail "tb-altgadget in A died: $(vm_bg_log A "$gjob" | tail -n 3)"
	ctl_save_logs
	grep -q "hiding 0 interface(s) from the frontend, and 1 alternate setting(s); configuration 1 pinned" "$VM_OUTDIR/backend.log" ||
		fail "the backend log does not show the alternate setting filter: $(grep -i hiding "$VM_OUTDIR/backend.log")"
	grep -q "hiding 0 interface(s) from the frontend, and 0 alternate setting(s); configuration 1 pinned" "$VM_OUTDIR/backend.log" ||
		fail "the backend log does not show the pinning filter: $(grep -i hiding "$VM_OUTDIR/backend.log")"
	vm_bg_log A "$gjob" >"$VM_OUTDIR/altgadget.log" 2>/dev/null
	ctl_gated_alive || fail "usbgated died"
}
