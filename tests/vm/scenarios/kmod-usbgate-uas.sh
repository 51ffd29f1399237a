# tests/vm/scenarios/kmod-usbgate-uas.sh: QEMU usb-uas passed A -> B by usbgate with B's frontend on usbgate_hcd, which has bulk streams (usbgate-uas shows vhci_hcd's refusal): B's uas driver binds (not usb-storage), the frontend has streams allocated in sys-usb, 16 MiB go bit-exact both ways, a reset of the device from B (USBDEVFS_RESET: uas's pre/post_reset, the port reset made a usbredir reset) reaches the disk in A as a port reset and the device stays bound to uas in B with the same address, and the 16 MiB still read back bit-exact (on streams again), A reads the same data after the session, A's uas driver has the device back and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
scenario() {
	source "$VM_DIR/usbgate.sh"
	local sums log ms
	ug_boot_uas
	local busid=$VM_OUT
	ug_attach 46f4:0003
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/speed" "reading the speed in B"
	assert_eq "speed in B" 5000 "$VM_OUT"
	vm_ok B "usb_node 46f4:0003 block" "waiting for the UAS disk in B"
	local dev=$VM_OUT
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver"
	assert_eq "driver in B" uas "$VM_OUT"
	# Timed in B (/proc/uptime, 10 ms): the write with fsync, then the
	# read, O_DIRECT both.
	vm_ok_t 90 B "t=\$(cut -d' ' -f1 /proc/uptime); storage_roundtrip $dev 16 &&
		awk -v t=\$t '{ printf \"%d\\n\", (\$1 - t) * 1000 }' /proc/uptime" \
		"16 MiB round trip on $dev in B"
	read -r -a sums <<<"$VM_OUT"
	ms=${VM_OUT##*$'\n'}
	assert_eq "sha256 of the data read back in B" "${sums[0]}" "${sums[1]}"
	vm_log "uas on usbgate_hcd: 16 MiB written and read back in $ms ms"
	# Eight readers at once: commands in flight on several streams
	# (usb-storage would take them one at a time). A figure, no bound.
	vm_ok_t 60 B "par_read_mbs $dev 8 2" "eight parallel readers on $dev in B"
	vm_log "uas on usbgate_hcd: 8 readers x 2 MiB in 16 KiB O_DIRECT reads at $VM_OUT MB/s"
	# A reset from B. A's kernel logs one "reset SuperSpeed USB device"
	# line for each port reset of the disk.
	local resets0 devnum0
	vm_ok A "dmesg | grep -c 'reset SuperSpeed USB device' || true" "counting A's resets"
	resets0=$VM_OUT
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/devnum" "reading the address in B"
	devnum0=$VM_OUT
	vm_ok B "usb_node 46f4:0003 usbdev" "finding the usbfs node in B"
	vm_ok_t 60 B "tb-usbreset $VM_OUT" "resetting the UAS disk from B"
	vm_ok A "dmesg | grep -c 'reset SuperSpeed USB device' || true" "counting A's resets"
	((VM_OUT > resets0)) || fail "B's reset did not reach the disk in A ($resets0 port resets before, $VM_OUT after)"
	vm_log "reset from B: the disk's port resets in A went from $resets0 to $VM_OUT"
	vm_ok B "cat /sys/bus/usb/devices/$UG_BUSID/devnum" "reading the address in B"
	assert_eq "address in B after the reset" "$devnum0" "$VM_OUT"
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID" "reading B's driver after the reset"
	assert_eq "driver in B after the reset" uas "$VM_OUT"
	vm_ok_t 60 B "gdd if=$dev bs=1M count=16 iflag=direct status=none | sha256sum | cut -d' ' -f1" \
		"reading the 16 MiB in B after the reset"
	assert_eq "sha256 of the 16 MiB read in B after the reset" "${sums[0]}" "$VM_OUT"
	ug_detach 0 0
	log=$(vm_bg_log B "$UG_FJOB")
	[[ $log =~ session\ ended:.*\;\ ([0-9]+)\ URBs,.*\ ([0-9]+)\ bulk\ streams, ]] ||
		fail "no stream count in the frontend's log: $(tail -n 2 <<<"$log" | tr '\n' ' ')"
	((BASH_REMATCH[2] > 0)) || fail "the frontend had no bulk streams allocated"
	vm_log "frontend: ${BASH_REMATCH[1]} URBs, ${BASH_REMATCH[2]} bulk streams allocated"
	ug_check_returned "$busid" uas
	# The data written in B is on the disk A's kernel sees again.
	vm_ok A "usb_node 46f4:0003 block" "A's UAS disk after the session"
	vm_ok A "gdd if=$VM_OUT bs=1M count=16 iflag=direct status=none | sha256sum | cut -d' ' -f1" "reading the disk in A"
	assert_eq "sha256 of the 16 MiB as A reads them" "${sums[0]}" "$VM_OUT"
}
