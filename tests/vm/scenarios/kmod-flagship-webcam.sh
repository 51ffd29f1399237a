# tests/vm/scenarios/kmod-flagship-webcam.sh: flagship-webcam with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): the synthetic UVC webcam's isochronous IN through our own host controller, FL_CAPTURE_SECS (default 20) of capture with no corrupt frame (at most 2 per usb-redir drop in A), 20 start/stop cycles, then 10 s of the high-bandwidth mode (MJPEG 1280x720 on the 3 x 1024 B per microframe alternate setting) with frames of varying size, none corrupt (same rule); the module unloads after the session, the camera back on A's uvcvideo
# timeout: 360
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/flagship-webcam.sh
source "$SCEN_DIR/flagship-webcam.sh"

# fl_webcam_more: in the same session, MJPEG 1280x720 at 30 fps. Asserted:
# frames arrive on the high-bandwidth setting and none is corrupt (each the
# size its header says; their average inside the source's 100-250 KiB);
# the rate and the frames lost are figures (a loaded TCG host decides them).
fl_webcam_more() {
	local cap kib
	vm_ok_t 60 B 'tb-v4l2cap -d /dev/video0 -f mjpeg -s 1280x720 -t 10' "10 s of MJPEG 1280x720 capture in B"
	cap=$VM_OUT
	echo "webcam usbgate_hcd MJPEG 720p: $cap source: $(cat "$FL_CAM_STATS")" >&2
	fl_check_capture "MJPEG 720p capture in B" "$cap"
	grep 'stream started' "$VM_OUTDIR/uvccam.log" | tail -n1 | grep -q 'alt 5, 3072 B/microframe' ||
		fail "the MJPEG stream did not use the 3 x 1024 B alternate setting: $(grep 'stream started' "$VM_OUTDIR/uvccam.log" | tail -n1)"
	kib=$(fl_kv kib_per_frame "$cap")
	awk -v k="$kib" 'BEGIN { exit !(k >= 100 && k <= 250) }' ||
		fail "MJPEG frames of $kib KiB on average, the source sends 100-250 KiB: $cap"
}
