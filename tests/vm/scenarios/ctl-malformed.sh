# tests/vm/scenarios/ctl-malformed.sh: a hostile sys-usb (a script in A speaking the session framing on usbgate.ctl) sends, inside valid frames, garbage, an oversized header, messages before HELLO, bad strings, truncated and padded bodies, another role's messages, a hub, a connect type without its flag; then broken frames (bad magic, an oversized frame) and a second session nonce; before each handshake, garbage and a DATA frame the framing must drop; then well-formed lies (unknown sessions, unknown devices, a device flood) on a session kept alive: usbgated cuts each broken connection, drops what came before the handshake, ignores the lies, caps the flood, stays up and answers; the real backend then replaces the lies and an attach works, with the plug's module load held back 20 s (the backend loads usb-storage itself before the session claims the device)

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
	__u32 3; __u32 0; __b "$1"; __str sys-usb
}
# __dev BUSID CLASS FLAGS PRODUCT [CONNECT-TYPE]
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
	# version 3: parent hash (zero: no PARENT flag), connect type
	for i in $(seq 32); do __b 0; done
	__b "${5:-0}"
}

# Session framing (doc/data-plane.md): "UGF1", u8 type, 3 zero bytes, u32
# LE length, payload. __fhdr TYPE LEN; __data FILE: FILE in one DATA frame.
__fhdr() { printf UGF1 >>"$F"; __b "$1"; __b 0; __b 0; __b 0; __u32 "$2"; }
__data() { __fhdr 3 "$(stat -c %s "$1")"; cat "$1" >>"$F"; }

# ctl_make_frames DIR: one file per hostile connection (control messages
# in DATA frames, or broken frames), and what speak.sh sends around them.
ctl_make_frames() {
	local d=$1 r=$1/raw F i
	mkdir -p "$d" "$r"
	__body hello; __hello 2
	__body hello_fe; __hello 3
	__body dev_ok; __dev 9-255 0 1 'evil twin'
	__body dev_hidden; __dev 9-254 0 0 'not exported'
	__body dev_hub; __dev 9-253 9 1 'a hub'
	__body dev_ctrl; __dev 9-252 0 1 'bad\001string'
	__body dev_connect; __dev 9-249 0 1 'connect type without its flag' 4
	__body dev_early; __dev 9-250 0 1 'before the handshake'
	__body status; F=$B; __u64 0x1234; __str 9-255; __b 1; __b 0; __str ""
	__body remove; F=$B; __str 9-251
	__body remove_pad; F=$B; __str 9-251; __b 0
	__body import_result; F=$B; __u64 0x1234; __b 1; __b 0; __u16 0; __str ""; __str ""

	# The control bytes of each connection, as before the framing.
	F=$r/00-random; : >"$F"; head -c 64 /dev/urandom >>"$F"
	F=$r/01-unknown-type; : >"$F"; __u32 0x0999; __u32 4; __u32 0
	F=$r/02-oversized; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __u32 0x101; __u32 0x7fffffff
	F=$r/03-before-hello; : >"$F"; __frame 0x101 "$VM_RUNDIR/body.dev_ok"
	F=$r/04-bad-string; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x101 "$VM_RUNDIR/body.dev_ctrl"
	F=$r/05-truncated; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"
	__u32 0x101; __u32 20; head -c 20 "$VM_RUNDIR/body.dev_ok" >>"$F"
	F=$r/06-trailing; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x102 "$VM_RUNDIR/body.remove_pad"
	F=$r/07-wrong-direction; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x301 "$VM_RUNDIR/body.import_result"
	F=$r/08-wrong-role; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello_fe"
	F=$r/09-hub; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x101 "$VM_RUNDIR/body.dev_hub"
	F=$r/0a-connect-no-flag; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x101 "$VM_RUNDIR/body.dev_connect"
	F=$r/hello; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"
	F=$r/early; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"; __frame 0x101 "$VM_RUNDIR/body.dev_early"
	# Well-formed lies on a connection that stays up.
	F=$r/10-lies; : >"$F"; __frame 1 "$VM_RUNDIR/body.hello"
	__frame 0x101 "$VM_RUNDIR/body.dev_ok"
	__frame 0x101 "$VM_RUNDIR/body.dev_hidden"
	__frame 0x104 "$VM_RUNDIR/body.status"
	__frame 0x102 "$VM_RUNDIR/body.remove"
	for i in $(seq 100 229); do
		__body flood; __dev "9-$i" 0 1 "flood $i"
		__frame 0x101 "$VM_RUNDIR/body.flood"
	done
	for i in "$r"/[01]*; do F=$d/${i##*/}; : >"$F"; __data "$i"; done

	# Broken frames after a valid HELLO: bad magic, an oversized DATA
	# frame, a HELLO with another nonce (a restart: end of the session).
	F=$d/11-bad-magic; : >"$F"; __data "$r/hello"; printf UGF2 >>"$F"; __b 3; __b 0; __b 0; __b 0; __u32 4; __u32 0
	F=$d/12-oversized-frame; : >"$F"; __data "$r/hello"; __fhdr 3 0x7fffffff; __u32 0
	F=$d/13-new-nonce; : >"$F"; __data "$r/hello"; __fhdr 1 8; __u64 0x5eed2
	# speak.sh's pieces: our HELLO (nonce 0x5eed1), READY's header, PING,
	# and before each handshake garbage plus a DATA frame to be dropped.
	F=$d/hello; : >"$F"; __fhdr 1 8; __u64 0x5eed1
	F=$d/ready; : >"$F"; __fhdr 2 8
	F=$d/ping; : >"$F"; __fhdr 4 0
	F=$d/pre; : >"$F"; head -c 64 /dev/urandom >>"$F"; __data "$r/early"
	rm -r "$r"
	# speak.sh FILE [hold]: one framed session of a hostile sys-usb.
	cat >"$d/speak.sh" <<-'EOF'
		d=/tmp/bad
		exec 3<>/dev/virtio-ports/usbgate.ctl
		cat $d/pre >&3
		# usbgated repeats its 20-byte HELLO: 40 bytes hold a whole one.
		dd bs=1 count=40 of=/tmp/hs <&3 2>/dev/null
		h=$(od -An -tx1 /tmp/hs | tr -d ' \n')
		pre=${h%%554746310100000008000000*}
		if [ "$pre" = "$h" ] || [ $((${#pre} % 2)) -ne 0 ]; then
			echo "no HELLO frame from usbgated: $h" >&2
			exit 1
		fi
		# Our HELLO, READY with usbgated's nonce, then the file.
		{ cat $d/hello $d/ready
		  dd if=/tmp/hs bs=1 skip=$((${#pre} / 2 + 12)) count=8 2>/dev/null
		  cat "$d/$1"; } >&3
		[ "${2:-}" = hold ] || exit 0
		while cat $d/ping >&3; do sleep 1; done
	EOF
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

__drops() { grep -c "backend sys-usb: disconnected: $1" "$VM_OUTDIR/usbgated.log"; }
__reconnected() { ctl_ug status 2>/dev/null | grep -Eq '^backend +sys-usb +(hello|connected) '; }

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	ctl_boot
	ctl_dom0 'allow id 1209:0001 to B
deny'
	ctl_frontend B
	ctl_wait 30 "B connected to dom0" ctl_connected B
	ctl_make_frames "$VM_RUNDIR/frames"
	local f why n job want
	tar -C "$VM_RUNDIR/frames" -cf "$VM_RUNDIR/frames.tar" .
	ctl_copy_in A "$VM_RUNDIR/frames.tar" /tmp/frames.tar
	vm_ok A 'mkdir -p /tmp/bad && tar -C /tmp/bad -xf /tmp/frames.tar' "unpacking the frames in A"

	# Each broken connection is cut; usbgated comes back for the next.
	for f in "$VM_RUNDIR"/frames/0* "$VM_RUNDIR"/frames/1[1-9]*; do
		case ${f##*/} in
		0*) why="protocol error" ;;
		11-* | 12-*) why="broke the session framing" ;;
		13-*) why="closed the channel (or restarted)" ;;
		esac
		n=$(__drops "$why")
		ctl_wait 20 "usbgated reconnecting to A before ${f##*/}" __reconnected
		vm_ok A "sh /tmp/bad/speak.sh ${f##*/}" "speaking ${f##*/} on usbgate.ctl"
		ctl_wait 20 "usbgated cutting the connection after ${f##*/} ($why)" \
			eval "[ \$(__drops '$why') -gt $n ]"
		ctl_gated_alive || fail "usbgated died after ${f##*/}"
		ctl_ok "usbgate list after ${f##*/}" list
	done
	grep "protocol error" "$VM_OUTDIR/usbgated.log" >"$VM_OUTDIR/protocol-errors"
	for want in "unknown message type" "announces" "before HELLO" "DEV_ADD" "IMPORT_RESULT is not allowed" \
		"expected 2" "DEV_REMOVE"; do
		grep -q "$want" "$VM_OUTDIR/protocol-errors" || fail "no protocol error mentions '$want': $(cat "$VM_OUTDIR/protocol-errors")"
	done

	# Lies that are well-formed: ignored, the flood capped at 128 devices.
	# The liar keeps its session alive (PING) until the real backend.
	ctl_wait 20 "usbgated reconnecting to A before the lies" __reconnected
	job=$(vm_run_bg A "exec sh /tmp/bad/speak.sh 10-lies hold") || fail "starting the lying sys-usb in A"
	ctl_wait 20 "the lying device listed" ctl_listed '^sys-usb:9-255 '
	ctl_wait 20 "the flood listed" eval '[ $(ctl_ug list | grep -c "^sys-usb:9-") -ge 128 ]'
	ctl_ok "listing after the lies" list
	assert_eq "devices listed after a flood of 132" 128 "$(grep -c '^sys-usb:9-' <<<"$CTL_OUT")"
	grep -q '^sys-usb:9-254 ' <<<"$CTL_OUT" && fail "a device without the EXPORT flag is listed"
	grep -q '^sys-usb:9-250 ' <<<"$CTL_OUT" && fail "a DEV_ADD sent before the framing handshake is listed"
	ctl_gated_alive || fail "usbgated died after the lies"
	grep -q "status for unknown session 1234 ignored" "$VM_OUTDIR/usbgated.log" || fail "no trace of the unknown session being ignored"
	vm_bg_running A "$job" || fail "the lying sys-usb stopped: $(vm_bg_log A "$job")"

	# The real backend starts (a new session on the port): the lies are
	# forgotten, devices work.
	vm_bg_kill A "$job"
	ctl_backend
	ctl_wait 30 "the lies forgotten after the real backend's hello" eval "! ctl_listed '^sys-usb:9-'"
	# The plug's own module load comes late (a loaded sys-usb): the
	# backend loads usb-storage itself, live before the session claims
	# the device, so that it cannot bind while usbredirhost's first reset
	# has the interface released (seen: "could not claim the device").
	vm_ok A '! grep -q "^usb_storage " /proc/modules && echo 20 >/run/tb-hotplug-delay' \
		"usb-storage not loaded in A yet, its hotplug load delayed"
	vm_ok A 'udc_init 4 && gadget_storage 0 8' "creating the storage gadget"
	local st=$VM_OUT
	ctl_wait 10 "storage listed" ctl_listed "^sys-usb:$st "
	ctl_ok "attaching after the hostile phase" attach B "sys-usb:$st"
	vm_ok B "usb_node 1209:0001 block 30" "the disk in B"
	vm_ok A 'rm /run/tb-hotplug-delay' "ending the hotplug delay in A"
	ctl_save_logs
	grep -Eq "$st: module\(s\) ([a-z_]+ )*usb_storage( [a-z_]+)* loaded and live after [0-9]+ ms" "$VM_OUTDIR/backend.log" ||
		fail "the backend did not load usb-storage before the session: $(grep -i module "$VM_OUTDIR/backend.log")"
	ctl_gated_alive || fail "usbgated died"
}
