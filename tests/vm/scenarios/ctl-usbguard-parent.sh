# tests/vm/scenarios/ctl-usbguard-parent.sh: USBGuard's parent-hash and with-connect-type in dom0's rules: the hash of the root hub a storage gadget hangs on in sys-usb (A) is computed in A with sha256sum over USBGuard's byte string (product, idVendor, idProduct, serial, descriptors with the root hub's bcdDevice zeroed), not by usbgate; a rule with another parent-hash refuses the gadget and one with that hash attaches it to B (disk seen in B); with-connect-type with another type than the port's connect_type refuses it, one-of with the port's attaches it

# __parent_hash BUSID: PH=the base64 USBGuard parent-hash of the device
# at BUSID in A, from the hub's sysfs files, by sha256sum and bash alone.
__parent_hash() {
	# shellcheck disable=SC2016
	vm_ok A 'p=$(readlink -f /sys/bus/usb/devices/'"$1"'/..)
		v=$(cat $p/idVendor) pid=$(cat $p/idProduct)
		{ printf %s "$(cat $p/product)" "$v" "$pid" "$(cat $p/serial)"
		  case $v:$pid in
		  1d6b:0001 | 1d6b:0002 | 1d6b:0003)
			# A root hub: bcdDevice (bytes 12-13, the kernel
			# version) hashed as zero.
			head -c 12 $p/descriptors; printf "\000\000"
			tail -c +15 $p/descriptors ;;
		  *) cat $p/descriptors ;;
		  esac; } | sha256sum | cut -c1-64' "hashing the hub of $1 in A"
	[[ $VM_OUT =~ ^[0-9a-f]{64}$ ]] || fail "sha256sum in A gave '$VM_OUT'"
	# shellcheck disable=SC2059
	PH=$(printf "$(sed 's/../\\x&/g' <<<"$VM_OUT")" | base64 -w0)
	[[ ${#PH} -eq 44 ]] || fail "parent hash computed in A: '$PH'"
}

__attach_detach() { # WHAT BUSID: attached to B, the disk seen, detached
	ctl_ok "attaching the gadget to B ($1)" attach B "sys-usb:$2"
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B ($1)"
	ctl_ok "detaching from B ($1)" detach B "sys-usb:$2"
	vm_ok B 'wait_for 15 vhci_idle' "vhci port still in use in B after detach ($1)"
}

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'deny'
	ctl_daemons B
	vm_ok A 'gadget_storage 0 8' "creating the storage gadget"
	local busid=$VM_OUT ph wrong ct other
	ctl_wait 30 "storage gadget listed" ctl_listed "^sys-usb:$busid "
	__parent_hash "$busid"
	ph=$PH
	echo "parent-hash of sys-usb:$busid (computed in A): $ph" >&2
	# What sys-usb sent, for the log if the rules below disagree.
	ctl_ok "usbgate info" info B "sys-usb:$busid"
	[[ $CTL_OUT == *"$ph"* ]] || fail "usbgate info does not show the parent hash computed in A: $CTL_OUT"
	# Another hub's hash: SHA-256 of nothing.
	wrong=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=

	# parent-hash: another hub refuses, this hub attaches.
	ctl_rules "allow id 1209:0001 parent-hash \"$wrong\" to B
deny"
	ctl_expect 4 "attaching with another hub's parent-hash" attach B "sys-usb:$busid"
	[[ $CTL_OUT == *"denied by rule "*"50-test.rules:2: deny"* ]] || fail "the refusal says: $CTL_OUT"
	ctl_rules "allow id 1209:0001 parent-hash \"$ph\" to B
deny"
	__attach_detach "parent-hash" "$busid"

	# with-connect-type: the port's connect_type as A's kernel writes it.
	vm_ok A "cat /sys/bus/usb/devices/$busid/port/connect_type" "reading the port's connect_type in A"
	ct=$VM_OUT
	case $ct in
	hotplug | hardwired | "not used" | unknown) ;;
	*) fail "connect_type of $busid in A: '$ct'" ;;
	esac
	other=hardwired
	[[ $ct == hardwired ]] && other=hotplug
	ctl_rules "allow id 1209:0001 with-connect-type \"$other\" to B
deny"
	ctl_expect 4 "attaching with another connect type" attach B "sys-usb:$busid"
	[[ $CTL_OUT == *"denied by rule "*"50-test.rules:2: deny"* ]] || fail "the refusal says: $CTL_OUT"
	ctl_rules "allow id 1209:0001 parent-hash \"$ph\" with-connect-type one-of { \"$other\" \"$ct\" } to B
deny"
	__attach_detach "with-connect-type \"$ct\"" "$busid"
	ctl_gated_alive || fail "usbgated died"
}
