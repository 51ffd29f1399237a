# tests/vm/scenarios/usbgate-audio.sh: QEMU usb-audio (isochronous OUT) passed A -> B by usbgate; B's snd-usb-audio binds and plays 2 s of 48 kHz stereo without error, paced by the device
scenario() {
	source "$VM_DIR/usbgate.sh"
	ug_boot --qemu -audiodev --qemu none,id=snd0 --usb usb-audio,audiodev=snd0
	vm_ok A "usb_node 46f4:0002 sound >/dev/null; basename \$(usb_devs 46f4:0002)" "finding the audio device in A"
	local busid=$VM_OUT
	ug_attach 46f4:0002
	vm_ok B 'usb_node 46f4:0002 sound' "waiting for the ALSA card in B"
	local card=$VM_OUT
	vm_ok B "usb_driver /sys/bus/usb/devices/$UG_BUSID 1" "driver of B's streaming interface"
	assert_eq "driver of interface 1 in B" snd-usb-audio "$VM_OUT"
	vm_ok_t 60 B "tb-pcm -r 48000 -c 2 -s 2 $card" "playing 2 s on card $card in B"
	echo "audio via usbgate: $VM_OUT" >&2
	local frames secs xruns
	frames=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' <<<"$VM_OUT")
	secs=$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$VM_OUT")
	xruns=$(sed -n 's/.*xruns=\([0-9]*\).*/\1/p' <<<"$VM_OUT")
	assert_eq "frames played in B" 96000 "$frames"
	assert_eq "underruns in B" 0 "$xruns"
	awk -v s="$secs" 'BEGIN { exit !(s >= 1.5) }' ||
		fail "2 s of audio took only $secs s: nothing paced the stream"
	ug_detach 0 0
	ug_check_returned "$busid" snd-usb-audio
}
