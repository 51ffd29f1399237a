# tests/vm/scenarios/flagship-webcam-detach.sh: the synthetic UVC webcam streaming A -> B through usbgate is detached mid-stream twice: by the AppVM (frontend stopped) and by the device leaving sys-usb (unplugged at the source); each time B's capture ends with an error instead of hanging, no oops, no vhci port left, and A streams again
# timeout: 360
scenario() {
	source "$VM_DIR/usbgate.sh"
	source "$VM_DIR/flagship.sh"
	local -a camopts
	mapfile -t camopts < <(fl_cam_opts)
	ug_boot "${camopts[@]}"
	fl_cam_start
	local busid=$FL_CAM_BUSID job rc

	# 1. Detach by the AppVM while streaming.
	ug_attach "$busid"
	vm_ok B 'wait_for 20 test -e /dev/video0' "no /dev/video0 in B"
	fl_uvc_nodrop B
	job=$(vm_run_bg B 'exec tb-v4l2cap -d /dev/video0 -s 320x240 -t 120 -T 20000') || fail "starting the capture in B"
	sleep 6
	vm_bg_running B "$job" || fail "the capture in B ended early: $(vm_bg_log B "$job")"
	ug_detach 0 0
	vm_bg_wait B "$job" 30
	rc=$?
	[[ $rc == 3 || $rc == 1 ]] || fail "capture in B after the detach: exit $rc, expected 3 (device gone): $(vm_bg_log B "$job" | tail -n 2 | tr '\n' ' ')"
	echo "webcam detach by B mid-stream: capture exit $rc: $(vm_bg_log B "$job" | tail -n 2 | tr '\n' ' ')" >&2
	[[ $(fl_kv frames "$(vm_bg_log B "$job")") -gt 0 ]] || fail "B captured nothing before the detach: $(vm_bg_log B "$job")"
	ug_check_returned "$busid" uvcvideo
	vm_ok B '! ls /dev/video* 2>/dev/null' "a video node is left in B after the detach"
	vm_ok_t 60 A 'wait_for 20 test -e /dev/video0 && tb-v4l2cap -d /dev/video0 -s 320x240 -n 30' "capture in A after the detach"
	fl_check_capture "capture in A after the detach" "$VM_OUT"

	# 2. The device leaves sys-usb while B streams (unplugged at the source).
	ug_attach "$busid"
	vm_ok B 'wait_for 20 test -e /dev/video0' "no /dev/video0 in B (second session)"
	job=$(vm_run_bg B 'exec tb-v4l2cap -d /dev/video0 -s 320x240 -t 120 -T 20000') || fail "starting the capture in B"
	sleep 6
	vm_bg_running B "$job" || fail "the second capture in B ended early: $(vm_bg_log B "$job")"
	fl_cam_signal USR1
	ug_expect_end 0 5
	vm_bg_wait B "$job" 30
	rc=$?
	[[ $rc == 3 || $rc == 1 ]] || fail "capture in B after the unplug: exit $rc: $(vm_bg_log B "$job" | tail -n 2 | tr '\n' ' ')"
	echo "webcam unplugged in A mid-stream: capture exit $rc: $(vm_bg_log B "$job" | tail -n 2 | tr '\n' ' ')" >&2
	vm_ok B 'wait_for 10 vhci_idle && ! ls /dev/video* 2>/dev/null' \
		"B still has a vhci port or a video node after the unplug"
	vm_ok A "wait_for 10 sh -c '! usb_devs $FL_CAM_VIDPID'" "the webcam is still in A after the unplug"
	# Plugged back, it is A's again and streams.
	fl_cam_signal USR2
	vm_ok A "wait_for 30 usb_devs $FL_CAM_VIDPID && wait_for 20 test -e /dev/video0" "the webcam did not come back in A"
	vm_ok_t 60 A 'tb-v4l2cap -d /dev/video0 -s 320x240 -n 30' "capture in A after the replug"
	fl_check_capture "capture in A after the replug" "$VM_OUT"
	vm_ok B 'true' "B is not healthy at the end"
}
