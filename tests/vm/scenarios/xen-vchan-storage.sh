# tests/vm/scenarios/xen-vchan-storage.sh: one VM runs the fake hypervisor (tests/xen: fakexenstored, drop-in libxenevtchn/libxengnttab) with sys-usb as domain 1 and the AppVM as domain 2; usbgate-backend serves a mass-storage gadget over vchan to usbgate-frontend (the vchan server), each session process opening the vchan itself before its sandbox, with the unmodified Debian libxenvchan and libxenstore: the client found the server's keys under /local/domain/2/data/vchan/1/PORT, 32 MiB round trip bit-exact through vhci, detach, the device back on usb-storage
scenario() {
	local x='LD_LIBRARY_PATH=/usr/local/bin XENSTORED_PATH=/tmp/xen/d'
	local busid xjob fjob bjob log i rc dev sums port vbus
	vm_start_ok A
	vm_ok A 'modprobe vhci-hcd' "loading vhci-hcd"
	vm_ok A 'udc_init 1 && gadget_storage 0 80' "creating the mass-storage gadget"
	busid=$VM_OUT
	xjob=$(vm_run_bg A "mkdir -p /tmp/xen && exec fakexenstored -T /tmp/xen/trace /tmp/xen 1:sys-usb 2:work") ||
		fail "starting fakexenstored"
	vm_ok A 'wait_for 10 test -S /tmp/xen/d2.sock' "the fake xenstore's sockets"
	# the AppVM's frontend is the vchan server, sys-usb's backend the client
	fjob=$(vm_run_bg A "${x}2.sock exec usbgate-frontend attach --listen --channel vchan:1:21760") ||
		fail "starting usbgate-frontend as domain 2"
	vm_ok A 'wait_for 10 grep -q "^d2 SET_PERMS /local/domain/2/data/vchan/1/21760/event-channel" /tmp/xen/trace' \
		"the frontend publishing its vchan"
	bjob=$(vm_run_bg A "${x}1.sock exec usbgate-backend serve --device $busid --channel vchan:2:21760") ||
		fail "starting usbgate-backend as domain 1"
	for i in $(seq 60); do
		log=$(vm_bg_log A "$fjob")
		if [[ $log =~ attached:\ vhci\ port\ ([0-9]+)\ busid\ ([0-9.-]+) ]]; then
			port=${BASH_REMATCH[1]}
			vbus=${BASH_REMATCH[2]}
			break
		fi
		vm_bg_running A "$fjob" || fail "usbgate-frontend ended: $(tail -n 3 <<<"$log" | tr '\n' ' '); backend: $(vm_bg_log A "$bjob" | tail -n 4 | tr '\n' ' ')"
		sleep 0.5
	done
	[[ -n ${vbus:-} ]] || fail "the device did not enumerate through vchan within 30 s"
	vm_ok A 'grep -c "^d1 READ /local/domain/2/data/vchan/1/21760/ring-ref" /tmp/xen/trace' \
		"the backend reading the frontend's keys"
	vm_ok A "usb_driver /sys/bus/usb/devices/$vbus" "reading the imported device's driver"
	assert_eq "driver of the imported device (vhci port $port)" usb-storage "$VM_OUT"
	# the gadget itself is the backend's now: the one disk is the imported one
	vm_ok A "usb_node 1209:0001 block" "waiting for the imported disk"
	dev=$VM_OUT
	vm_ok_t 150 A "storage_roundtrip $dev 32" "32 MiB round trip on $dev over vchan"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back over vchan" "${sums[0]}" "${sums[1]}"
	# detach: the frontend ends, the backend sees the end of the vchan
	vm_run -t 10 A "w=\$(cat /tmp/bg/$fjob.pid); for p in /proc/[0-9]*; do
		[ \"\$(cut -d' ' -f4 \$p/stat 2>/dev/null)\" = \"\$w\" ] && kill -TERM \${p#/proc/}; done; true"
	vm_bg_wait A "$fjob" 30
	rc=$?
	{ echo "--- frontend (status $rc):"; vm_bg_log A "$fjob"; } >&2
	assert_eq "frontend status after detach" 0 "$rc"
	vm_bg_wait A "$bjob" 30
	rc=$?
	{ echo "--- backend (status $rc):"; vm_bg_log A "$bjob"; } >&2
	assert_eq "backend status after detach" 0 "$rc"
	vm_ok A "wait_for 10 test -e /sys/bus/usb/devices/$busid:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$busid:1.0/driver)" \
		"device $busid has no driver after the session"
	assert_eq "driver of $busid after the session" usb-storage "$VM_OUT"
	vm_ok A 'wait_for 10 vhci_idle' "vhci ports still in use"
	: "$xjob"	# ends with the VM
}
