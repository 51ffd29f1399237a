# tests/vm/flagship.sh: helpers for the flagship-device scenarios (issue 5):
# the synthetic UVC webcam that reaches VM A through QEMU's usb-redir (a
# host program, tests/fixtures/tb-uvccam), the wallet gadget, and reading
# the key=value lines the probe tools print. Sourced after lib.sh (and
# usbgate.sh where a scenario passes devices through usbgate).

FL_CAM_BIN=$USBGATE_BUILDDIR/tests/fixtures/tb-uvccam
FL_CAM_VIDPID=1209:0005
# The source runs at 30 fps. How close a capture comes to that depends on
# how much CPU two TCG guests get on the machine, so the scenarios print
# the rate and the frames lost (into $VM_OUTDIR/figures too) and assert only
# what does not depend on load; the rate is tests/vm/bench-flagship's job.

# fl_kv KEY TEXT: the value of KEY=value in TEXT (the last one wins).
fl_kv() {
	local v
	v=$(tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | tail -n1)
	printf '%s\n' "$v"
}

# fl_cam_opts: vm_start options for A that plug a usb-redir device whose
# chardev is the UNIX socket the webcam program connects to. Its log level
# 4 (QEMU's default is 2) logs each time it drops buffered iso packets
# into A's qemu log (fl_redir_drops).
fl_cam_opts() {
	printf '%s\n' --qemu -chardev --qemu "socket,id=cam,path=$VM_RUNDIR/cam.sock,server=on,wait=off" \
		--usb "usb-redir,chardev=cam,id=cam0,debug=4"
}

# fl_redir_drops: how often A's usb-redir, the emulated controller's side
# of the webcam, has dropped buffered iso packets so far: each time more
# than 120 ms of them waited for A's xHCI, down to 60 ms ("bufpq
# overflow"; a loaded TCG host that does not run A in time). A stage of
# the testbed, not of usbgate: a real sys-usb has no such buffer.
fl_redir_drops() {
	grep -c 'bufpq overflow' "$VM_OUTDIR/A.qemu.log"
}

# fl_cam_start [ARGS...]: start the webcam program on the host (it lives
# as long as the scenario); FL_CAM_PID is its pid. Waits until A's uvcvideo
# has bound both interfaces and /dev/video0 exists; FL_CAM_BUSID is the
# device's bus id in A.
fl_cam_start() {
	[[ -x $FL_CAM_BIN ]] || fail "no $FL_CAM_BIN (run make)"
	FL_CAM_STATS=$VM_RUNDIR/cam.stats
	FL_CAM_PID=$(vm_host_bg "exec '$FL_CAM_BIN' --connect '$VM_RUNDIR/cam.sock' --stats '$FL_CAM_STATS' -v $* 2>>'$VM_OUTDIR/uvccam.log'")
	vm_ok A "wait_for 30 usb_devs $FL_CAM_VIDPID && basename \$(usb_devs $FL_CAM_VIDPID)" \
		"the webcam did not enumerate in A"
	FL_CAM_BUSID=$VM_OUT
	vm_ok A "wait_for 20 sh -c '[ \"\$(usb_driver /sys/bus/usb/devices/$FL_CAM_BUSID 1)\" = uvcvideo ] && test -e /dev/video0'; usb_driver /sys/bus/usb/devices/$FL_CAM_BUSID 0; usb_driver /sys/bus/usb/devices/$FL_CAM_BUSID 1" \
		"uvcvideo did not bind the webcam in A"
	assert_eq "drivers of the webcam's interfaces in A" "uvcvideo uvcvideo" "$(tr '\n' ' ' <<<"$VM_OUT" | sed 's/ $//')"
}

# fl_cam_stat KEY: one field of the webcam's statistics (rewritten twice a
# second by the program).
fl_cam_stat() {
	fl_kv "$1" "$(cat "$FL_CAM_STATS" 2>/dev/null)"
}

# fl_cam_signal SIGNAL: USR1 unplugs the webcam, USR2 plugs it back.
fl_cam_signal() {
	kill "-$1" "$FL_CAM_PID" 2>/dev/null || fail "the webcam program is gone"
}

# fl_uvc_nodrop NAME: make uvcvideo in NAME hand out frames it knows are
# damaged (flagged V4L2_BUF_FLAG_ERROR) instead of recycling them, so the
# capture tool can tell incomplete frames from lost ones.
fl_uvc_nodrop() {
	vm_ok "$1" 'wait_for 10 test -e /sys/module/uvcvideo/parameters/nodrop && echo 1 >/sys/module/uvcvideo/parameters/nodrop' \
		"setting uvcvideo nodrop in $1"
}

# fl_backend_cpu: CPU seconds (user + system) used so far by every
# usbgate-backend process in A (the privileged parent and the session).
fl_backend_cpu() {
	vm_run -t 10 A 'for p in /proc/[0-9]*; do
		[ "$(cat $p/comm 2>/dev/null)" = usbgate-backend ] && cut -d" " -f14,15 $p/stat
	done | awk "{ t += \$1 + \$2 } END { printf \"%.2f\n\", t / 100 }"'
}

# fl_check_capture WHAT LINE: the checks every capture must pass: frames
# arrived, and no frame was handed out damaged without the driver knowing
# (corrupt=0) unless A's usb-redir dropped packets meanwhile (since the
# previous check). A drop can cut two frames the driver cannot tell from
# whole ones (an MJPEG frame has no fixed size): the one it starts in and
# the one it ends in. So at most 2 corrupt frames per drop, and none
# without a drop. The rate and the frames lost are printed, not asserted.
fl_check_capture() {
	local corrupt frames drops now
	frames=$(fl_kv frames "$2")
	corrupt=$(fl_kv corrupt "$2")
	now=$(fl_redir_drops)
	drops=$((${now:-0} - ${FL_REDIR_SEEN:-0}))
	FL_REDIR_SEEN=$now
	printf '%s: fps=%s lost=%s frames=%s corrupt=%s usb-redir drops in A=%s\n' "$1" "$(fl_kv fps "$2")" \
		"$(fl_kv lost "$2")" "$frames" "$corrupt" "$drops" | tee -a "$VM_OUTDIR/figures" >&2
	[[ -n $frames && $frames -gt 0 ]] || fail "$1: no frames: $2"
	[[ -n $corrupt ]] || fail "$1: no corrupt count: $2"
	((corrupt <= 2 * drops)) ||
		fail "$1: $corrupt corrupt frames, with $drops usb-redir drops in A (at most 2 each): $2"
}

# On failure keep what the guests' background jobs printed (the usbgate
# backend and frontend logs, with their end-of-session statistics) and the
# webcam's statistics next to the consoles.
fl_save_job_logs() {
	[[ -n ${UG_BJOB:-} ]] && vm_bg_log A "$UG_BJOB" >"$VM_OUTDIR/backend.log" 2>/dev/null
	[[ -n ${UG_FJOB:-} ]] && vm_bg_log B "$UG_FJOB" >"$VM_OUTDIR/frontend.log" 2>/dev/null
	[[ -n ${FL_CAM_STATS:-} ]] && cp "$FL_CAM_STATS" "$VM_OUTDIR/uvccam.stats" 2>/dev/null
	return 0
}
vm_on_fail fl_save_job_logs

# fl_wallet_start: the wallet gadget (tests/fixtures/wallet.c) on
# dummy_hcd.0 in A; FL_WALLET_JOB is its job, FL_WALLET_BUSID its bus id.
fl_wallet_start() {
	vm_ok A 'udc_init 1' "loading dummy_hcd in A"
	FL_WALLET_JOB=$(vm_run_bg A 'exec tb-wallet 0') || fail "starting the wallet in A"
	vm_ok A 'wait_for 20 usb_devs 1209:0006 && gadget_busid 0' "the wallet did not enumerate in A"
	FL_WALLET_BUSID=$VM_OUT
}

# fl_wallet_follow PID SELECTOR: the wallet re-enumerates in A (reboot into
# the bootloader or back): the usbgate session must end because the device
# left sys-usb (backend exit 5, frontend exit 0); then, as dom0's identity
# assignment would, wait for 1209:PID in A and pass it to B again by
# SELECTOR (a bus id: by port; 1209:PID: by identity).
fl_wallet_follow() {
	vm_bg_wait A "$UG_BJOB" 30
	local rc=$?
	[[ $rc == 5 ]] || fail "backend after the wallet left: exit $rc, expected 5 (unplugged): $(vm_bg_log A "$UG_BJOB" | tail -n 2 | tr '\n' ' ')"
	vm_bg_wait B "$UG_FJOB" 30
	rc=$?
	[[ $rc == 0 ]] || fail "frontend after the wallet left: exit $rc, expected 0: $(vm_bg_log B "$UG_FJOB" | tail -n 2 | tr '\n' ' ')"
	vm_ok A "wait_for 30 usb_devs 1209:$1" "the wallet did not come back in A as 1209:$1"
	ug_attach "$2"
}
