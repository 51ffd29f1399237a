# tests/vm/scenarios/xen-ctl-vchan-attach.sh: one VM runs the fake hypervisor with usbgated as dom0, usbgate-backend daemon as sys-usb (domain 1) and usbgate-frontend daemon as the AppVM work (domain 2), every channel a vchan with the unmodified Debian libxenvchan and libxenstore: both daemons serve their control links to dom0, usbgated connects to both without blocking, lists a storage gadget, attaches it to work over a vchan data channel whose port usbgated chose (32 MiB round trip bit-exact), detaches it (back on usb-storage); usbgated follows the domains by xenstore: work's domain released mid-transfer ends the session (reported, the device back on usb-storage, the backend daemon still serving), and work coming back as domain 3 is connected and attached to again
# the daemons' logs and the xenstore trace, for a post-mortem
__XV_JOBS=()
__xv_logs() {
	local j
	for j in "${__XV_JOBS[@]}"; do
		echo "--- job $j:"
		vm_bg_log A "$j"
	done >"$VM_OUTDIR/daemons.log" 2>&1
	vm_run -t 10 A 'cat /tmp/xen/trace' >"$VM_OUTDIR/xenstore.trace" 2>&1
}

__ug() {
	vm_run -t 30 A "LD_LIBRARY_PATH=/usr/local/bin usbgate --socket /tmp/d0/gated.sock $*"
}

# __xv_attach BUSID DOMID MIB: attach the gadget to work, now domain DOMID;
# sys-usb's session reads that domain's keys of the data port usbgated
# chose (21760, the pair's first), MIB MiB round trip bit-exact. The
# gadget itself is the backend's meanwhile: the one disk is the imported one.
__xv_attach() {
	local busid=$1 dom=$2 mib=$3 out dev sums
	out=$(__ug attach work "sys-usb:$busid") || fail "attaching sys-usb:$busid to work (domain $dom): $out"
	[[ $out == *"Attached sys-usb:$busid to work"* ]] || fail "attach said: $out"
	vm_ok A "grep -c '^d1 READ /local/domain/$dom/data/vchan/1/21760/ring-ref' /tmp/xen/trace" \
		"the backend's session reading domain $dom's data keys"
	vm_ok A "usb_node 1209:0001 block 30" "waiting for the imported disk"
	dev=$VM_OUT
	vm_ok_t 150 A "storage_roundtrip $dev $mib" "$mib MiB round trip on $dev over vchan"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back over vchan" "${sums[0]}" "${sums[1]}"
}

# __xv_native BUSID WHEN: the device is back on sys-usb's usb-storage.
__xv_native() {
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$1:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$1:1.0/driver)" \
		"device $1 has no driver $2"
	assert_eq "driver of $1 $2" usb-storage "$VM_OUT"
}

scenario() {
	local x='LD_LIBRARY_PATH=/usr/local/bin XENSTORED_PATH=/tmp/xen/d'
	local busid xjob gjob bjob fjob rjob dev out
	vm_on_fail __xv_logs
	vm_start_ok A
	vm_ok A 'modprobe vhci-hcd' "loading vhci-hcd"
	vm_ok A 'udc_init 1' "loading dummy_hcd"
	xjob=$(vm_run_bg A "mkdir -p /tmp/xen && exec fakexenstored -T /tmp/xen/trace /tmp/xen 1:sys-usb 2:work") ||
		fail "starting fakexenstored"
	vm_ok A 'wait_for 10 test -S /tmp/xen/d2.sock' "the fake xenstore's sockets"
	vm_ok A "mkdir -p /tmp/d0/rules.d /tmp/d0/state &&
		echo 'allow id 1209:0001' >/tmp/d0/rules.d/50-test.rules &&
		printf '%s\n' 'socket /tmp/d0/gated.sock' 'state-dir /tmp/d0/state' \
		    'rules-dir /tmp/d0/rules.d' 'attach-timeout 30' \
		    'backend sys-usb xen:21759' 'vm work xen:21759' \
		    >/tmp/d0/usbgated.conf && usbgated -n -f /tmp/d0/usbgated.conf" \
		"usbgated's configuration"
	# dom0 comes first: it waits for the daemons' servers on xenstore
	gjob=$(vm_run_bg A "${x}0.sock exec usbgated -d -vv -f /tmp/d0/usbgated.conf") ||
		fail "starting usbgated as dom0"
	__XV_JOBS+=("$gjob")
	vm_ok A 'wait_for 10 test -S /tmp/d0/gated.sock' "usbgated's CLI socket"
	vm_ok A 'wait_for 10 grep -q "^d0 WATCH /local/domain/2/data/vchan/0/21759" /tmp/xen/trace' \
		"usbgated watching for work's control server"
	out=$(__ug status) || fail "usbgated does not answer while it waits for its peers: $out"
	bjob=$(vm_run_bg A "${x}1.sock exec usbgate-backend daemon --control vchan:0:21759 --listen -v") ||
		fail "starting usbgate-backend daemon as domain 1"
	__XV_JOBS+=("$bjob")
	fjob=$(vm_run_bg A "${x}2.sock exec usbgate-frontend daemon --control vchan:0:21759 --listen -v") ||
		fail "starting usbgate-frontend daemon as domain 2"
	__XV_JOBS+=("$fjob")
	vm_ok A "wait_for 30 sh -c 'LD_LIBRARY_PATH=/usr/local/bin usbgate --socket /tmp/d0/gated.sock status | grep -E \"^backend +sys-usb \" | grep -q connected'" \
		"sys-usb connected to dom0 over vchan"
	vm_ok A "wait_for 30 sh -c 'LD_LIBRARY_PATH=/usr/local/bin usbgate --socket /tmp/d0/gated.sock status | grep -E \"^vm +work \" | grep -q connected'" \
		"work connected to dom0 over vchan"
	vm_ok A 'gadget_storage 0 32' "creating the storage gadget"
	busid=$VM_OUT
	vm_ok A "wait_for 30 sh -c 'LD_LIBRARY_PATH=/usr/local/bin usbgate --socket /tmp/d0/gated.sock list | grep -q \"^sys-usb:$busid \"'" \
		"the storage gadget listed by dom0"
	__xv_attach "$busid" 2 32
	out=$(__ug detach work "sys-usb:$busid") || fail "detaching sys-usb:$busid from work: $out"
	vm_ok A 'wait_for 15 vhci_idle' "vhci ports still in use after detach"
	__xv_native "$busid" "after the session"
	vm_bg_running A "$fjob" || fail "the frontend daemon died: $(vm_bg_log A "$fjob" | tail -n 3 | tr '\n' ' ')"
	# work's domain released mid-transfer: the toolstack's RELEASE, then
	# the domain's processes die with it
	out=$(__ug attach work "sys-usb:$busid") || fail "attaching sys-usb:$busid to work again: $out"
	vm_ok A "usb_node 1209:0001 block 30" "waiting for the imported disk again"
	dev=$VM_OUT
	rjob=$(vm_run_bg A "while gdd if=$dev of=/dev/null bs=64k iflag=direct status=none; do :; done") ||
		fail "starting a read of $dev"
	vm_ok A "wait_for 10 sh -c 'grep -c \"SERVE sys-usb:$busid for work on vchan:2:21760\" /tmp/bg/$gjob.log | grep -qx 2'" \
		"the second session not on port 21760 again (the first one's port not given back)"
	vm_bg_running A "$rjob" || fail "the read of $dev ended before the release"
	vm_ok A "LD_LIBRARY_PATH=/usr/local/bin XENSTORED_PATH=/tmp/xen/d0.sock fakexenctl release 2" "releasing work's domain 2"
	vm_bg_kill A "$fjob" KILL
	vm_ok A "wait_for 15 grep -q 'vm work: domain 2 went' /tmp/bg/$gjob.log" \
		"usbgated not following work's domain away"
	vm_ok A "wait_for 15 sh -c \"grep -c 'session [0-9a-f]*: $busid detached from work' /tmp/bg/$gjob.log | grep -qx 2\"" \
		"the session of work's old domain not reported ended"
	vm_ok A "wait_for 15 test -e /tmp/bg/$rjob.rc" "the read of $dev still running after the release"
	__xv_native "$busid" "after the release"
	vm_ok A 'wait_for 15 vhci_idle' "a vhci port left in use after the release"
	vm_bg_running A "$bjob" || fail "the backend daemon died with work's domain: $(vm_bg_log A "$bjob" | tail -n 3 | tr '\n' ' ')"
	# work comes back as domain 3: usbgated connects to it by its name
	vm_ok A "LD_LIBRARY_PATH=/usr/local/bin XENSTORED_PATH=/tmp/xen/d0.sock fakexenctl introduce 3 work" "introducing work as domain 3"
	fjob=$(vm_run_bg A "${x}3.sock exec usbgate-frontend daemon --control vchan:0:21759 --listen -v") ||
		fail "starting usbgate-frontend daemon as domain 3"
	__XV_JOBS+=("$fjob")
	vm_ok A "wait_for 30 sh -c 'LD_LIBRARY_PATH=/usr/local/bin usbgate --socket /tmp/d0/gated.sock status | grep -qE \"^vm +work +connected +vchan:3:21759\"'" \
		"work connected to dom0 again as domain 3"
	__xv_attach "$busid" 3 4
	out=$(__ug detach work "sys-usb:$busid") || fail "detaching sys-usb:$busid from domain 3: $out"
	__xv_native "$busid" "after the last session"
	vm_bg_running A "$gjob" || fail "usbgated died: $(vm_bg_log A "$gjob" | tail -n 3 | tr '\n' ' ')"
	vm_bg_running A "$bjob" || fail "the backend daemon died: $(vm_bg_log A "$bjob" | tail -n 3 | tr '\n' ' ')"
	vm_bg_running A "$fjob" || fail "the frontend daemon of domain 3 died: $(vm_bg_log A "$fjob" | tail -n 3 | tr '\n' ' ')"
	__xv_logs
	: "$xjob"	# ends with the VM
}
