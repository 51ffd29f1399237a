# tests/vm/scenarios/usb-audio.sh: QEMU usb-audio (isochronous OUT); snd-usb-audio binds, 2 s of 48 kHz stereo play through the PCM ioctls without error, paced by the device
scenario() {
	vm_start_ok A --qemu -audiodev --qemu none,id=snd0 --usb usb-audio,audiodev=snd0
	vm_ok A 'usb_node 46f4:0002 sound' "waiting for the ALSA card"
	local card=$VM_OUT
	vm_ok A "usb_driver \$(usb_devs 46f4:0002) 1" "reading the driver of the streaming interface"
	assert_eq "driver of interface 1" snd-usb-audio "$VM_OUT"
	vm_ok A "tb-pcm -r 48000 -c 2 -s 2 $card" "playing 2 s on card $card"
	echo "audio: $VM_OUT" >&2
	local frames secs
	frames=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' <<<"$VM_OUT")
	secs=$(sed -n 's/.*secs=\([0-9.]*\).*/\1/p' <<<"$VM_OUT")
	assert_eq "frames played" 96000 "$frames"
	# An 80 ms buffer cannot swallow 2 s: the device must have consumed it.
	awk -v s="$secs" 'BEGIN { exit !(s >= 1.5) }' ||
		fail "2 s of audio took only $secs s: the device did not pace the stream"
}
