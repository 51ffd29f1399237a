# tests/vm/scenarios/xen-ctl-vchan-attach.sh: one VM runs the fake hypervisor with usbgated as dom0, usbgate-backend daemon as sys-usb (domain 1) and usbgate-frontend daemon as the AppVM work (domain 2), every channel a vchan with the unmodified Debian libxenvchan and libxenstore: both daemons serve their control links to dom0, usbgated connects to both without blocking, lists a storage gadget, attaches it to work over a vchan data channel (32 MiB round trip bit-exact), detaches it (back on usb-storage)
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

scenario() {
	local x='LD_LIBRARY_PATH=/usr/local/bin XENSTORED_PATH=/tmp/xen/d'
	local busid xjob gjob bjob fjob dev sums out
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
		    'backend sys-usb vchan:1:21759' 'vm work vchan:2:21759' \
		    'data sys-usb work vchan:2:21760 vchan:1:21760 frontend-listens' \
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
	out=$(__ug attach work "sys-usb:$busid") || fail "attaching sys-usb:$busid to work: $out"
	[[ $out == *"Attached sys-usb:$busid to work"* ]] || fail "attach said: $out"
	vm_ok A 'grep -c "^d1 READ /local/domain/2/data/vchan/1/21760/ring-ref" /tmp/xen/trace' \
		"the backend's session reading the frontend's data keys"
	# the gadget itself is the backend's now: the one disk is the imported one
	vm_ok A "usb_node 1209:0001 block 30" "waiting for the imported disk"
	dev=$VM_OUT
	vm_ok_t 150 A "storage_roundtrip $dev 32" "32 MiB round trip on $dev over vchan"
	read -r -a sums <<<"$VM_OUT"
	assert_eq "sha256 of the data read back over vchan" "${sums[0]}" "${sums[1]}"
	out=$(__ug detach work "sys-usb:$busid") || fail "detaching sys-usb:$busid from work: $out"
	vm_ok A 'wait_for 15 sh -c "! usbgate-frontend list | grep -q ^port"' "vhci ports still in use after detach"
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$busid:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$busid:1.0/driver)" \
		"device $busid has no driver after the session"
	assert_eq "driver of $busid after the session" usb-storage "$VM_OUT"
	vm_bg_running A "$gjob" || fail "usbgated died: $(vm_bg_log A "$gjob" | tail -n 3 | tr '\n' ' ')"
	vm_bg_running A "$bjob" || fail "the backend daemon died: $(vm_bg_log A "$bjob" | tail -n 3 | tr '\n' ' ')"
	vm_bg_running A "$fjob" || fail "the frontend daemon died: $(vm_bg_log A "$fjob" | tail -n 3 | tr '\n' ' ')"
	__xv_logs
	: "$xjob"	# ends with the VM
}
