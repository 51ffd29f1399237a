# tests/vm/scenarios/flagship-webcam.sh: synthetic UVC webcam (isochronous IN, 320x240 YUYV at 30 fps) on A's xHCI through QEMU usb-redir; uvcvideo binds in A, then in B through usbgate: FL_CAPTURE_SECS (default 20; the long runs are bench-flagship's) of capture with no corrupt frame unless A's usb-redir dropped packets meanwhile (at most 2 per drop; rate, losses and drops printed), 20 start/stop cycles, the camera back on A's uvcvideo
# timeout: 360
scenario() {
	source "$VM_DIR/usbgate.sh"
	source "$VM_DIR/flagship.sh"
	local -a camopts
	mapfile -t camopts < <(fl_cam_opts)
	ug_boot "${camopts[@]}"
	fl_cam_start
	local busid=$FL_CAM_BUSID
	fl_uvc_nodrop A
	vm_ok_t 60 A 'tb-v4l2cap -d /dev/video0 -s 320x240 -t 5' "5 s of native capture in A"
	echo "webcam native: $VM_OUT" >&2
	fl_check_capture "native capture in A" "$VM_OUT"

	ug_attach "$busid"
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID 1" "reading B's driver"
	assert_eq "driver of the streaming interface in B" uvcvideo "$VM_OUT"
	vm_ok B 'wait_for 20 test -e /dev/video0' "no /dev/video0 in B"
	fl_uvc_nodrop B
	local cpu0 cpu1 cap secs=${FL_CAPTURE_SECS:-20}
	cpu0=$(fl_backend_cpu)
	vm_ok_t $((secs + 40)) B "tb-v4l2cap -d /dev/video0 -s 320x240 -t $secs" "$secs s of capture in B"
	cap=$VM_OUT
	cpu1=$(fl_backend_cpu)
	echo "webcam usbgate: $cap backend_cpu_s=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }') source: $(cat "$FL_CAM_STATS")" >&2
	fl_check_capture "$secs s capture in B" "$cap"
	awk -v s="$(fl_kv seconds "$cap")" -v want="$secs" 'BEGIN { exit !(s >= want * 0.9) }' ||
		fail "the capture in B covered less than 90 % of $secs s: $cap"

	# Start/stop: open, stream 10 frames, close; 20 times in a row.
	vm_ok_t 120 B 'tb-v4l2cap -d /dev/video0 -s 320x240 -c 20 -k 10 -T 8000' "20 start/stop cycles in B"
	echo "webcam usbgate start/stop: $VM_OUT" >&2
	assert_eq "start/stop cycles that delivered 10 frames" 20 "$(fl_kv cycles_ok "$VM_OUT")"
	fl_check_capture "start/stop cycles in B" "$VM_OUT"
	# A scenario that repeats this one may stream more through the session.
	if declare -F fl_webcam_more >/dev/null; then fl_webcam_more; fi

	ug_detach 0 0
	ug_check_returned "$busid" uvcvideo
	vm_ok_t 60 A 'wait_for 20 test -e /dev/video0 && tb-v4l2cap -d /dev/video0 -s 320x240 -n 30' "capture in A after the session"
	fl_check_capture "capture in A after the session" "$VM_OUT"
}
