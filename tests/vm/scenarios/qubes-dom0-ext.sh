# tests/vm/scenarios/qubes-dom0-ext.sh: Qubes stage B: usbgate's real qubesd extension (in the qubesd double on the host as dom0) drives sys-usb and work through the qrexec double: a stick that also types is listed from sys-usb's QubesDB, attached under the shipped default rules with its boot-keyboard interface hidden (usbgate.Options, the backend's --refuse, work sees storage only, 8 MiB round trip), the AppVM's qubes.USB call allowed by the transient policy line, which is gone after; detached back to sys-usb's drivers; a rule denies another device with its file and line; a required assignment attaches at VM start; the device unplugged and plugged again on its port goes back to work with device events
scenario() {
	source "$VM_DIR/qubes.sh"
	qb_boot
	# usbgate-dom0's default (integration/dom0/90-default.rules) after one
	# local deny
	qx_start "deny id 1209:0001 to work
$(grep -v '^#' "$VM_TOP/integration/dom0/90-default.rules")"
	qx events

	# A storage stick with a boot keyboard behind it: interface 0 storage
	# (08:06:50), interface 1 keyboard (03:01:01).
	# shellcheck disable=SC2016
	local mk='__gadget_new 0 0x0007 "testbed typing stick" && f=$_g/functions &&
		dd if=/dev/zero of=/run/gadget0.img bs=1M count=0 seek=32 2>/dev/null &&
		mkdir $f/mass_storage.0 $f/hid.usb0 &&
		echo /run/gadget0.img >$f/mass_storage.0/lun.0/file &&
		for kv in protocol=1 subclass=1 report_length=8; do echo ${kv#*=} >$f/hid.usb0/${kv%=*}; done &&
		printf "$FIDO_REPORT_DESC" >$f/hid.usb0/report_desc &&
		ln -s $f/mass_storage.0 $_g/configs/c.1/ && __gadget_bind 0 hid.usb0'
	vm_ok A "$mk" "creating the typing stick"
	local busid=$VM_OUT devid
	qx_wait_list sys-usb "(^OK | )$busid=1209:0007:[^:]*:u080650u030101>( |$)" 15
	devid=$(sed -n "s/.* \?$busid=\([^>]*\)>.*/\1/p" <<<"${QX_OUT#OK }")
	qx events
	[[ $QX_OUT == *"sys-usb:device-added:sys-usb:$busid"* ]] || fail "no device-added for $busid: $QX_OUT"

	# qvm-usb attach work sys-usb:BUSID, under the default rules
	qx attach work "sys-usb:$busid" || fail "attach: $QX_OUT"
	[[ -z $(ls "$QB_DOM0/run/qubes/policy.d") ]] || fail "the transient policy line was left behind"
	grep -q "qubes.USB+$busid work -> sys-usb: allow (.*40-usbgate.policy:1)" "$VM_OUTDIR/qrexec-dom0.log" ||
		fail "dom0's qrexec log shows no qubes.USB+$busid allowed by the transient line"
	vm_ok A "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -o 'serve --device $busid --channel stdio --refuse 1'" \
		"the backend in A does not hide interface 1"
	vm_ok B 'wait_for 20 usb_devs 1209:0007 && usb_devs 1209:0007' "the stick in B"
	local sys=$VM_OUT
	vm_ok B "cat $sys/bNumInterfaces; cat $sys/*:1.*/bInterfaceClass" "reading B's view of the interfaces"
	assert_eq "interfaces B sees (bNumInterfaces, classes)" "$(printf ' 1\n08')" "$VM_OUT"
	vm_ok B "usb_node 1209:0007 block 30" "the stick's disk in B"
	local dev=$VM_OUT sums
	vm_ok_t 120 B "storage_roundtrip $dev 8" "8 MiB round trip on $dev in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	qx_wait_list sys-usb " ?$busid=$devid>work( |$)" 10
	qx events
	[[ $QX_OUT == *"work:device-attach:sys-usb:$busid"* ]] || fail "no device-attach on work: $QX_OUT"

	# qvm-usb detach: back on A's drivers, both interfaces
	qx detach work "sys-usb:$busid" || fail "detach: $QX_OUT"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$busid:1.1/driver && for i in 0 1; do basename \$(readlink /sys/bus/usb/devices/$busid:1.\$i/driver); done" \
		"the stick's drivers in A after detach"
	assert_eq "drivers of interfaces 0 and 1 in A after detach" "$(printf 'usb-storage\nusbhid')" "$VM_OUT"
	qx_wait_list sys-usb " ?$busid=$devid>( |$)" 10

	# a rule denies: no call reaches the VMs
	vm_ok A 'gadget_storage 1 16' "creating the storage gadget"
	local busid2=$VM_OUT
	qx_wait_list sys-usb " ?$busid2=1209:0001:" 15
	if qx attach work "sys-usb:$busid2"; then
		fail "attach of a denied device succeeded"
	fi
	[[ $QX_OUT == *"usbgate policy denies sys-usb:$busid2"*"50-scenario.rules:1: deny id 1209:0001 to work"* ]] ||
		fail "the denial does not name the rule: $QX_OUT"
	vm_ok A 'gadget_remove 1' "removing the storage gadget"

	# a required assignment attaches at VM start
	qx stop work || fail "stop: $QX_OUT"
	qx assign work "sys-usb:$busid" "$devid" required || fail "assign: $QX_OUT"
	qx start work || fail "start: $QX_OUT"
	vm_ok B 'wait_for 20 usb_devs 1209:0007' "the stick in B after the start"
	qx_wait_list sys-usb " ?$busid=$devid>work( |$)" 10
	qx events

	# re-enumeration: unplugged and plugged again on its port, it goes
	# back to work through the assignment, with device events
	vm_ok A 'gadget_remove 0' "unplugging the stick"
	local end=$((SECONDS + 15))
	while qx list sys-usb; [[ " ${QX_OUT#OK }" == *" $busid="* ]]; do
		((SECONDS < end)) || fail "the stick is still listed after the unplug: $QX_OUT"
		sleep 0.3
	done
	vm_ok B 'wait_for 20 sh -c "! usb_devs 1209:0007"' "the stick still in B after the unplug"
	vm_ok A "$mk" "plugging the stick again"
	assert_eq "bus id of the stick plugged again" "$busid" "$VM_OUT"
	qx_wait_list sys-usb " ?$busid=$devid>work( |$)" 30
	vm_ok B 'wait_for 20 usb_devs 1209:0007' "the stick in B after re-enumeration"
	qx events
	local e
	for e in "work:device-detach:sys-usb:$busid" "sys-usb:device-removed:sys-usb:$busid" \
		"sys-usb:device-added:sys-usb:$busid" "work:device-attach:sys-usb:$busid"; do
		[[ $QX_OUT == *"$e"* ]] || fail "no $e among the events: $QX_OUT"
	done
}
