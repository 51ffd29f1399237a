# tests/vm/scenarios/ctl-backend-restart.sh: a storage gadget attached to B by hand; sys-usb's backend daemon is killed with SIGKILL and started again (as systemd's Restart= does): its session ends with it, B's port goes, and the device, published again by the new daemon within follow-window, is attached to B again by dom0 (sys-usb does not choose: the follow is dom0's record of B's attach), and a round trip on it works
scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'allow id 1209:0001 to B
deny'
	ctl_daemons B

	vm_ok A 'gadget_storage 0 16' "creating the storage gadget"
	local busid=$VM_OUT pid
	ctl_wait 30 "storage gadget listed" ctl_listed "^sys-usb:$busid "
	ctl_ok "attaching the storage gadget to B" attach B "sys-usb:$busid"
	ctl_wait 30 "the gadget attached to B" ctl_attached "$busid" B
	vm_ok B "usb_node 1209:0001 block 30" "waiting for the disk in B"

	# The daemon is the job's only child (its shell exec'd it).
	vm_ok A "j=\$(cat /tmp/bg/$CTL_BJOB.pid); for p in /proc/[0-9]*; do
		[ \"\$(cut -d' ' -f4 \$p/stat 2>/dev/null)\" = \"\$j\" ] && echo \${p#/proc/}; done; true" \
		"finding the backend daemon in A"
	pid=$VM_OUT
	[[ $pid =~ ^[0-9]+$ ]] || fail "not one backend daemon in A: '$pid'"
	vm_ok A "kill -KILL $pid" "killing the backend daemon"
	vm_bg_wait A "$CTL_BJOB" 20 >/dev/null
	(($? == 137)) || fail "the backend daemon did not end by SIGKILL"
	vm_ok B 'wait_for 30 vhci_idle' "B's port still in use after the backend's kill"
	ctl_wait 30 "dom0 ends the session" eval "! ctl_attached '$busid' B"

	ctl_backend
	ctl_wait 30 "sys-usb connected to dom0 again" ctl_connected sys-usb
	ctl_wait 40 "the gadget attached to B again" ctl_attached "$busid" B
	grep -q -- "sys-usb:$busid came back.*following it to B" "$VM_OUTDIR/usbgated.log" ||
		fail "usbgated did not say it followed the device back to B"
	ctl_disk_roundtrip_detach "$busid" 8
	ctl_gated_alive || fail "usbgated died"
	ctl_save_logs
}
