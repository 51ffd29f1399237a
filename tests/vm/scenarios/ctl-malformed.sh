# tests/vm/scenarios/ctl-malformed.sh: a hostile sys-usb (a script in A writing on usbgate.ctl) sends garbage, an oversized header, messages before HELLO, bad strings, truncated and padded bodies, another role's messages, a hub, then well-formed lies (unknown sessions, unknown devices, a device flood): usbgated cuts each broken connection, ignores the lies, caps the flood, stays up and answers; the real backend then replaces the lies and an attach works

# Frame builders (little-endian), appending to the file $F.
__b() { printf "\\$(printf %03o "$1")" >>"$F"; }
__u16() { __b $(($1 & 255)); __b $(($1 >> 8 & 255)); }
__u32() { __u16 $(($1 & 65535)); __u16 $(($1 >> 16 & 65535)); }
__u64() { __u32 $(($1 & 0xffffffff)); __u32 $(($1 >> 32 & 0xffffffff)); }
__str() { __u16 ${#1}; printf '%s' "$1" >>"$F"; }
# __frame TYPE BODYFILE [LEN]: header (with LEN instead of the real length).
__frame() {
	__u32 "$1"
	__u32 "${3:-$(stat -c %s "$2")}"
	cat "$2" >>"$F"
}
__body() { # name: start a body file
	B=$VM_RUNDIR/body.$1
	: >"$B"
}
__hello() { # ROLE
	local F=$B
	__u32 2; __u32 0; __b "$1"; __str sys-usb
}
# __dev BUSID CLASS FLAGS PRODUCT
__dev() {
	local F=$B i
	__str "$1"; __u16 0x1209; __u16 0x00ff; __u16 0x0100; __u16 0x0200
	__b 3; __b "$2"; __b 0; __b 0
	__str ""; __str "lying sys-usb"; printf '\000\000' >/dev/null
	__u16 ${#4}; printf '%b' "$4" >>"$F"
	__b 1; __b 0; __b 8; __b 6; __b 0x50
	# active configuration 1; one interface descriptor: config 1,
	# interface 0, setting 0, 08:06:50
	__b 1; __b 1; __b 1; __b 0; __b 0; __b 8; __b 6; __b 0x50
	for i in $(seq 32); do __b 0; done
	__u32 "$3"; __str ""
}

# ctl_make_frames DIR: one file per hostile connection.
ctl_make_frames() {
	local d=$1 F i
	mkdir -p "$d"
	__body hello; __hello 2
	__body hello_fe; __hello 3
	__body dev_ok; __dev 9-255 0 1 'evil twin'
	__body dev_hidden; __dev 9-254 0 0 'not exported'
	__body dev_hub; __dev 9-253 9 1 'a hub'
	__body dev_ctrl; __dev 9-252 0 1 'bad\001string'
	__body status; F=$B; __u64 0x1234; __str 9-255; __b 1; __b 0; __str ""
	__body remove; F=$B; __str 9-251
	__body remove_pad; F=$B; __str 9-251; __b 0
	__body import_result; F=$B; __u64 0x1234; __b 1; __b 0; __u16 0; __str ""; __str ""

	F=$d/00-random; : >"$F"; head -c 64 /dev/urandom >>"$F"
	F=$d/01-unknown-type; : >"$F"; __u32 0x0999; __u32 4; __u32 0
	F=$d/02-oversized; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __u32 0x101; __u32 0x7fffffff
	F=$d/03-before-hello; : >"$F"; __frame 0x101 "$VM_RUNDIR/body.dev_ok"
	F=$d/04-bad-string; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x101 "$VM_RUNDIR/body.dev_ctrl"
	F=$d/05-truncated; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"
	__u32 0x101; __u32 20; head -c 20 "$VM_RUNDIR/body.dev_ok" >>"$F"
	F=$d/06-trailing; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x102 "$VM_RUNDIR/body.remove_pad"
	F=$d/07-wrong-direction; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x301 "$VM_RUNDIR/body.import_result"
	F=$d/08-wrong-role; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello_fe"
	F=$d/09-hub; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x101 "$VM_RUNDIR/body.dev_hub"
	# Well-formed lies on a connection that stays up.
	F=$d/10-lies; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"
	__frame 0x101 "$VM_RUNDIR/body.dev_ok"
	__frame 0x101 "$VM_RUNDIR/body.dev_hidden"
	__frame 0x104 "$VM_RUNDIR/body.status"
	__frame 0x102 "$VM_RUNDIR/body.remove"
	for i in $(seq 100 229); do
		__body flood; __dev "9-$i" 0 1 "flood $i"
		__frame 0x101 "$VM_RUNDIR/body.flood"
	done
}

# ctl_copy_in NAME HOST-FILE GUEST-FILE: in chunks the agent takes.
ctl_copy_in() {
	local b64 i
	b64=$(base64 -w0 "$2")
	vm_ok "$1" ": >'$3.b64'" "copying $2 into $1"
	for ((i = 0; i < ${#b64}; i += 32768)); do
		vm_ok "$1" "printf %s '${b64:i:32768}' >>'$3.b64'" "copying $2 into $1"
	done
	vm_ok "$1" "base64 -d '$3.b64' >'$3' && rm '$3.b64'" "decoding $2 in $1"
}

__errors() { grep -c "backend sys-usb: disconnected: protocol error" "$VM_OUTDIR/usbgated.log"; }
__reconnected() { ctl_ug status 2>/dev/null | grep -Eq '^backend +sys-usb +(hello|connected) '; }

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'allow id 1209:0001 to B
deny'
	ctl_frontend B
	ctl_wait 30 "B connected to dom0" ctl_connected B
	ctl_make_frames "$VM_RUNDIR/frames"
	local f n=0 want
	tar -C "$VM_RUNDIR/frames" -cf "$VM_RUNDIR/frames.tar" .
	ctl_copy_in A "$VM_RUNDIR/frames.tar" /tmp/frames.tar
	vm_ok A 'mkdir -p /tmp/bad && tar -C /tmp/bad -xf /tmp/frames.tar' "unpacking the frames in A"

	# Each broken connection is cut; usbgated comes back for the next.
	for f in "$VM_RUNDIR"/frames/0*; do
		n=$((n + 1))
		ctl_wait 20 "usbgated reconnecting to A before ${f##*/}" __reconnected
		vm_ok A "cat /tmp/bad/${f##*/} >/dev/virtio-ports/usbgate.ctl" "writing ${f##*/} on usbgate.ctl"
		ctl_wait 20 "usbgated cutting the connection after ${f##*/} ($(__errors) errors so far)" \
			eval "[ \$(__errors) -ge $n ]"
		ctl_gated_alive || fail "usbgated died after ${f##*/}"
		ctl_ok "usbgate list after ${f##*/}" list
	done
	grep "protocol error" "$VM_OUTDIR/usbgated.log" >"$VM_OUTDIR/protocol-errors"
	for want in "unknown message type" "announces" "before HELLO" "DEV_ADD" "IMPORT_RESULT is not allowed" \
		"expected 2" "DEV_REMOVE"; do
		grep -q "$want" "$VM_OUTDIR/protocol-errors" || fail "no protocol error mentions '$want': $(cat "$VM_OUTDIR/protocol-errors")"
	done

	# Lies that are well-formed: ignored, the flood capped at 128 devices.
	ctl_wait 20 "usbgated reconnecting to A before the lies" __reconnected
	vm_ok A "exec 3<>/dev/virtio-ports/usbgate.ctl; cat /tmp/bad/10-lies >&3; sleep 1" "writing the lies on usbgate.ctl"
	ctl_wait 20 "the lying device listed" ctl_listed '^sys-usb:9-255 '
	ctl_wait 20 "the flood listed" eval '[ $(ctl_ug list | grep -c "^sys-usb:9-") -ge 128 ]'
	ctl_ok "listing after the lies" list
	assert_eq "devices listed after a flood of 132" 128 "$(grep -c '^sys-usb:9-' <<<"$CTL_OUT")"
	grep -q '^sys-usb:9-254 ' <<<"$CTL_OUT" && fail "a device without the EXPORT flag is listed"
	ctl_gated_alive || fail "usbgated died after the lies"
	grep -q "status for unknown session 1234 ignored" "$VM_OUTDIR/usbgated.log" || fail "no trace of the unknown session being ignored"

	# The real backend says hello: the lies are forgotten, devices work.
	ctl_backend
	ctl_wait 30 "the lies forgotten after the real backend's hello" eval "! ctl_listed '^sys-usb:9-'"
	vm_ok A 'udc_init 4 && gadget_storage 0 8' "creating the storage gadget"
	local st=$VM_OUT
	ctl_wait 10 "storage listed" ctl_listed "^sys-usb:$st "
	ctl_ok "attaching after the hostile phase" attach B "sys-usb:$st"
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B"
	ctl_gated_alive || fail "usbgated died"
}
