# tests/vm/scenarios/qubes-dom0-ext.sh: Qubes stage B: usbgate's real qubesd extension (in the qubesd double on the host as dom0) drives sys-usb and work through the qrexec double: a stick that also types is listed from sys-usb's QubesDB, attached under the shipped default rules with its boot-keyboard interface hidden (usbgate.Options, the backend's --refuse, work sees storage only, 8 MiB round trip), the AppVM's qubes.USB call allowed by the transient policy line, which is gone after; detached back to sys-usb's drivers; a rule denies another device with its file and line; a required assignment attaches at VM start; the device unplugged and plugged again on its port goes back to work with device events; Qubes' prompt (device-agent.GUI, asked by a rule) says no: the key stays in sys-usb with its drivers, not in work; an ask-to-attach assignment with deny-interface=03:*:* asks once when the key is plugged again, yes: work gets the storage interface only (the backend's --refuse, 2 MiB round trip); a wallet attached with allow-pid=0007 reboots into its bootloader (another product id) and back, and work gets each identity back without a new attach
# timeout: 300

# combo IDX PID HID_SUBCLASS:PROTOCOL NAME: the command that creates in A a
# gadget with a storage interface (08:06:50) and a HID interface behind it
# (03:SS:PP, the FIDO report descriptor) and prints its bus id.
combo() {
	# shellcheck disable=SC2016
	printf '%s' '__gadget_new '"$1 $2 \"$4\""' && f=$_g/functions &&
		dd if=/dev/zero of=/run/gadget'"$1"'.img bs=1M count=0 seek=32 2>/dev/null &&
		mkdir $f/mass_storage.0 $f/hid.usb0 &&
		echo /run/gadget'"$1"'.img >$f/mass_storage.0/lun.0/file &&
		for kv in protocol='"${3#*:}"' subclass='"${3%:*}"' report_length=8; do echo ${kv#*=} >$f/hid.usb0/${kv%=*}; done &&
		printf "$FIDO_REPORT_DESC" >$f/hid.usb0/report_desc &&
		ln -s $f/mass_storage.0 $_g/configs/c.1/ && __gadget_bind '"$1"' hid.usb0'
}

# storage_only_in_b BUSID VID:PID MIB: the device A serves with its
# interface 1 hidden (the backend's --refuse 1) is in B with its storage
# interface alone, and MIB MiB written to it read back the same.
storage_only_in_b() {
	vm_ok A "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -o 'serve --device $1 --channel stdio --refuse 1'" \
		"the backend in A does not hide interface 1 of $1"
	vm_ok B "wait_for 20 usb_devs $2 && usb_devs $2" "$2 in B"
	local sys=$VM_OUT sums
	vm_ok B "cat $sys/bNumInterfaces; cat $sys/*:1.*/bInterfaceClass" "reading B's view of $2's interfaces"
	assert_eq "interfaces of $2 B sees (bNumInterfaces, classes)" "$(printf ' 1\n08')" "$VM_OUT"
	vm_ok B "usb_node $2 block 30" "the disk of $2 in B"
	vm_ok_t 120 B "storage_roundtrip $VM_OUT $3" "$3 MiB round trip on $2 in B"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back from $2 in B" "${sums[0]}" "${sums[1]}"
}

scenario() {
	source "$VM_DIR/qubes.sh"
	qb_boot
	# usbgate-dom0's default (integration/dom0/90-default.rules) after one
	# local deny
	qx_start "deny id 1209:0001 to work
ask id 1209:0008 to work
$(grep -v '^#' "$VM_TOP/integration/dom0/90-default.rules")"
	qx events

	# A storage stick with a boot keyboard behind it: interface 0 storage
	# (08:06:50), interface 1 keyboard (03:01:01).
	local mk
	mk=$(combo 0 0x0007 1:1 "testbed typing stick")
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
	storage_only_in_b "$busid" 1209:0007 8
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
	qx_wait_unlisted sys-usb "$busid" 15
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

	# The stick leaves work for good (B would see two 1209:0007 once the
	# wallet below is in its bootloader).
	vm_ok A 'gadget_remove 0' "unplugging the stick"
	vm_ok B 'wait_for 20 sh -c "! usb_devs 1209:0007"' "the stick still in B after the unplug"

	# ask, no: a rule asks about this key; Qubes' prompt (device-agent.GUI
	# of the GUI VM, dom0 here) says no: nothing reaches work, the key
	# stays on sys-usb's drivers
	vm_ok A "$(combo 1 0x0008 0:0 "testbed key with storage")" "creating the key with storage"
	local busid3=$VM_OUT devid3=1209:0008:TB0001:u080650u030000
	qx_wait_list sys-usb " ?$busid3=$devid3>( |$)" 15
	qx events
	qx gui deny || fail "gui: $QX_OUT"
	if qx attach work "sys-usb:$busid3"; then
		fail "the attach went on after the prompt said no"
	fi
	[[ $QX_OUT == *"sys-usb:$busid3 ($devid3) to work refused at the prompt"* ]] ||
		fail "the refusal does not name the prompt: $QX_OUT"
	qx events
	assert_eq "prompts and events after the no" "gui:prompt:sys-usb:$busid3>work" "${QX_OUT#OK }"
	qx_wait_list sys-usb " ?$busid3=$devid3>( |$)" 0
	vm_ok B 'usb_devs 1209:0008 || echo none' "looking for the key in B"
	assert_eq "the key in B after the prompt said no" none "$VM_OUT"
	vm_ok A "for i in 0 1; do usb_driver /sys/bus/usb/devices/$busid3 \$i; done" "the key's drivers in A"
	assert_eq "drivers of the key's interfaces in A after the no" "$(printf 'usb-storage\nusbhid')" "$VM_OUT"

	# ask, yes: an ask-to-attach assignment (by identity, any port) that
	# hides HID (deny-interface=03:*:*, kept with the assignment); plugged
	# again, the key is asked about once and goes to work with its HID
	# interface hidden by the backend
	qx assign work "sys-usb:*" "$devid3" ask-to-attach 'deny-interface=03:*:*' || fail "assign: $QX_OUT"
	qx gui work || fail "gui: $QX_OUT"
	vm_ok A 'echo "" >/sys/kernel/config/usb_gadget/g1/UDC' "unplugging the key"
	qx_wait_unlisted sys-usb "$busid3" 15
	vm_ok A 'echo dummy_udc.1 >/sys/kernel/config/usb_gadget/g1/UDC && wait_for 15 gadget_busid 1 && gadget_busid 1' \
		"plugging the key again"
	assert_eq "bus id of the key plugged again" "$busid3" "$VM_OUT"
	qx_wait_list sys-usb " ?$busid3=$devid3>work( |$)" 30
	qx events
	[[ $(grep -o "gui:prompt:[^ ]*" <<<"$QX_OUT") == "gui:prompt:sys-usb:$busid3>work" ]] ||
		fail "not one prompt for the assigned key: $QX_OUT"
	storage_only_in_b "$busid3" 1209:0008 2

	# a wallet attached by hand with allow-pid=0007 reboots into its
	# bootloader (1209:0007) and back (1209:0006): the extension follows
	# it, and work's client gets each identity without a new attach
	local wjob wbus wid=1209:0006:TBWAL0001:uff0000 bid=1209:0007:TBWAL0001:uff0000
	wjob=$(vm_run_bg A 'exec tb-wallet 2') || fail "starting the wallet in A"
	vm_ok A 'wait_for 20 usb_devs 1209:0006 && gadget_busid 2' "the wallet did not enumerate in A"
	wbus=$VM_OUT
	qx_wait_list sys-usb " ?$wbus=$wid>( |$)" 15
	qx attach work "sys-usb:$wbus" allow-pid=0007 || fail "attach of the wallet: $QX_OUT"
	vm_ok_t 60 B 'tb-walletc ping -n 20' "round trips with the wallet in B"
	qx events
	vm_ok_t 90 B 'tb-walletc to-bootloader -w 60' "the wallet's bootloader in B"
	qx_wait_list sys-usb " ?$wbus=$bid>work( |$)" 10
	vm_ok_t 90 B 'tb-walletc to-firmware -w 60' "the wallet's firmware back in B"
	qx_wait_list sys-usb " ?$wbus=$wid>work( |$)" 10
	qx events
	assert_eq "work's device-attach events for the wallet's two re-enumerations" 2 \
		"$(tr ' ' '\n' <<<"$QX_OUT" | grep -cx "work:device-attach:sys-usb:$wbus")"
	[[ $QX_OUT != *gui:prompt* ]] || fail "a followed wallet was asked about: $QX_OUT"
	vm_bg_running A "$wjob" || fail "the wallet program in A died: $(vm_bg_log A "$wjob" | tail -n 3)"
}
