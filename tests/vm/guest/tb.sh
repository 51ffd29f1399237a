# tests/vm/guest/tb.sh: guest-side helpers, sourced by every agent command.
# Owns configfs gadget creation/removal on dummy_hcd, the lookup of USB
# devices and their nodes (block, hidraw, tty, input, sound), and small
# measurement wrappers. Busybox ash prefers its own applets over $PATH, so
# the GNU/kmod tools are wrapped by full path here.
# shellcheck shell=sh

modprobe() { /usr/sbin/modprobe "$@"; }
rmmod() { /usr/sbin/rmmod "$@"; }
lsmod() { /usr/sbin/lsmod "$@"; }
gdd() { /usr/bin/dd "$@"; }

GADGET_CFG=/sys/kernel/config/usb_gadget
GADGET_VID=0x1209
# Product ids of the gadgets (pid.codes test range).
PID_STORAGE=0x0001
PID_SOURCESINK=0x0002
PID_HID=0x0003
PID_ACM=0x0004

tb_die() { echo "tb: $*" >&2; exit 1; }

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
	_wf_n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		_wf_n=$((_wf_n - 1))
		[ $_wf_n -le 0 ] && return 1
		sleep 0.1
	done
}

# udc_init N [ss]: load dummy_hcd with N controller pairs (once per boot).
udc_init() {
	_n=${1:-1}
	_ss=0
	[ "${2:-}" = ss ] && _ss=1
	if [ -d /sys/module/dummy_hcd ]; then
		[ "$(ls -d /sys/devices/platform/dummy_udc.* | wc -l)" -ge "$_n" ] ||
			tb_die "dummy_hcd already loaded with fewer than $_n pairs"
	else
		modprobe dummy_hcd num="$_n" is_super_speed="$_ss" || tb_die "modprobe dummy_hcd failed"
	fi
	modprobe libcomposite || tb_die "modprobe libcomposite failed"
	[ -d $GADGET_CFG ] || mount -t configfs configfs /sys/kernel/config 2>/dev/null
	[ -d $GADGET_CFG ] || tb_die "no $GADGET_CFG"
}

# gadget_busid IDX: busid of the device on dummy_hcd.IDX (e.g. 3-1).
gadget_busid() {
	for _d in /sys/devices/platform/dummy_hcd."$1"/usb*/*-1; do
		[ -e "$_d/bConfigurationValue" ] || continue
		[ -n "$(cat "$_d/bConfigurationValue")" ] || continue
		echo "${_d##*/}"
		return 0
	done
	return 1
}

# gadget_sysdev IDX: sysfs directory of that device.
gadget_sysdev() {
	_b=$(gadget_busid "$1") || return 1
	echo "/sys/bus/usb/devices/$_b"
}

__gadget_new() { # IDX PID PRODUCT
	_g=$GADGET_CFG/g$1
	[ -d "$_g" ] && tb_die "gadget g$1 exists"
	mkdir "$_g" || tb_die "mkdir $_g"
	echo $GADGET_VID >"$_g/idVendor"
	echo "$2" >"$_g/idProduct"
	echo 0x0100 >"$_g/bcdDevice"
	mkdir "$_g/strings/0x409"
	echo "usbgate testbed" >"$_g/strings/0x409/manufacturer"
	echo "$3" >"$_g/strings/0x409/product"
	echo "TB000$1" >"$_g/strings/0x409/serialnumber"
	mkdir "$_g/configs/c.1"
	echo 100 >"$_g/configs/c.1/MaxPower"
}

__gadget_bind() { # IDX FUNCTION
	_g=$GADGET_CFG/g$1
	ln -s "$_g/functions/$2" "$_g/configs/c.1/" || tb_die "link $2"
	echo "dummy_udc.$1" >"$_g/UDC" || tb_die "bind g$1 to dummy_udc.$1 failed"
	wait_for 15 gadget_busid "$1" || tb_die "gadget g$1 did not enumerate"
	gadget_busid "$1"
}

# gadget_storage IDX SIZE_MB [random]: mass-storage gadget backed by a
# tmpfs file (sparse, or filled with random data).
gadget_storage() {
	__gadget_new "$1" $PID_STORAGE "testbed storage"
	_img=/run/gadget$1.img
	if [ "${3:-}" = random ]; then
		gdd if=/dev/urandom of="$_img" bs=1M count="$2" status=none || tb_die "backing file"
	else
		gdd if=/dev/zero of="$_img" bs=1M count=0 seek="$2" 2>/dev/null || tb_die "backing file"
	fi
	mkdir "$_g/functions/mass_storage.0"
	echo 0 >"$_g/functions/mass_storage.0/lun.0/removable"
	echo "$_img" >"$_g/functions/mass_storage.0/lun.0/file" || tb_die "lun file"
	__gadget_bind "$1" mass_storage.0
}

# gadget_sourcesink IDX: SourceSink (bulk; pattern "mod 63" per request).
gadget_sourcesink() {
	__gadget_new "$1" $PID_SOURCESINK "testbed sourcesink"
	mkdir "$_g/functions/SourceSink.0"
	echo 1 >"$_g/functions/SourceSink.0/pattern"
	echo 4096 >"$_g/functions/SourceSink.0/bulk_buflen"
	__gadget_bind "$1" SourceSink.0
}

# The FIDO/U2F HID report descriptor: usage page 0xF1D0, usage 1, one
# 64-byte input and one 64-byte output report, no report ids.
FIDO_REPORT_DESC='\006\320\361\011\001\241\001\011\040\025\000\046\377\000\165\010\225\100\201\002\011\041\025\000\046\377\000\165\010\225\100\221\002\300'

# gadget_hid_fido IDX: HID gadget that looks like a U2F key; its device
# side is /dev/hidgN (N = order of creation).
gadget_hid_fido() {
	__gadget_new "$1" $PID_HID "testbed fido"
	_f=$_g/functions/hid.usb0
	mkdir "$_f"
	echo 0 >"$_f/protocol"
	echo 0 >"$_f/subclass"
	echo 64 >"$_f/report_length"
	# configfs takes each write() as the whole value: one printf, one write.
	# shellcheck disable=SC2059
	printf "$FIDO_REPORT_DESC" >"$_f/report_desc"
	[ "$(wc -c <"$_f/report_desc")" -eq 34 ] || tb_die "report descriptor not stored"
	__gadget_bind "$1" hid.usb0
}

# gadget_hidg IDX: the /dev/hidgN of gadget IDX.
gadget_hidg() {
	echo "/dev/hidg$(cut -d: -f2 "$GADGET_CFG/g$1/functions/hid.usb0/dev")"
}

# gadget_acm IDX: CDC ACM serial gadget; device side /dev/ttyGS<port_num>.
gadget_acm() {
	__gadget_new "$1" $PID_ACM "testbed acm"
	mkdir "$_g/functions/acm.usb0"
	__gadget_bind "$1" acm.usb0
}

gadget_ttygs() {
	echo "/dev/ttyGS$(cat "$GADGET_CFG/g$1/functions/acm.usb0/port_num")"
}

# gadget_remove IDX: unbind and delete gadget IDX.
gadget_remove() {
	_g=$GADGET_CFG/g$1
	[ -d "$_g" ] || return 0
	echo "" >"$_g/UDC" 2>/dev/null
	for _l in "$_g"/configs/c.1/*.*; do [ -L "$_l" ] && rm "$_l"; done
	rmdir "$_g"/configs/c.1/strings/* 2>/dev/null
	rmdir "$_g/configs/c.1" "$_g"/functions/* "$_g/strings/0x409" "$_g"
	rm -f "/run/gadget$1.img"
}

# usb_devs VID:PID: sysfs directories of every device with that id.
usb_devs() {
	_v=${1%%:*}; _p=${1##*:}; _found=1
	for _d in /sys/bus/usb/devices/*; do
		[ -e "$_d/idVendor" ] || continue
		if [ "$(cat "$_d/idVendor")" = "${_v#0x}" ] && [ "$(cat "$_d/idProduct")" = "${_p#0x}" ]; then
			readlink -f "$_d"
			_found=0
		fi
	done
	return $_found
}

__node_in() { # SYSDEV KIND
	if [ "$2" = usbdev ]; then
		# The device itself, unless USB/IP's stub holds it (exported).
		[ "$(basename "$(readlink "$1/driver")")" = usbip-host ] && return 0
		printf 'bus/usb/%03d/%03d\n' "$(cat "$1/busnum")" "$(cat "$1/devnum")"
		return 0
	fi
	case $2 in
	block) ls -d "$1"/*/host*/target*/*/block/sd* ;;
	hidraw) ls -d "$1"/*/*/hidraw/hidraw* ;;
	tty) ls -d "$1"/*/ttyUSB* "$1"/*/tty/tty* ;;
	input) ls -d "$1"/*/*/input/input*/event* ;;
	sound) ls -d "$1"/*/sound/card* ;;
	*) return 1 ;;
	esac 2>/dev/null | sed 's|.*/||; s|^card||'
}

__node_find() { # VID:PID|SYSDEV KIND
	case $1 in /sys/*) _sds=$1 ;; *) _sds=$(usb_devs "$1") ;; esac
	for _sd in $_sds; do
		_nn=$(__node_in "$_sd" "$2" | head -n1)
		if [ -n "$_nn" ]; then
			case $2 in
			sound) echo "$_nn" ;;
			input) echo "/dev/input/$_nn" ;;
			*) echo "/dev/$_nn" ;;
			esac
			return 0
		fi
	done
	return 1
}

# usb_node VID:PID|SYSDEV KIND [SECONDS]: wait for the device node of a
# device (the one at SYSDEV when several have its id):
# KIND block -> /dev/sdX, hidraw -> /dev/hidrawN, tty -> /dev/ttyACMn or
# /dev/ttyUSBn, input -> /dev/input/eventN, sound -> ALSA card number,
# usbdev -> /dev/bus/usb/BBB/DDD (not the copy exported by usbip-host).
usb_node() {
	_un_n=$((${3:-20} * 10))
	while ! __node_find "$1" "$2"; do
		_un_n=$((_un_n - 1))
		[ $_un_n -le 0 ] && { echo "tb: no $2 node for $1" >&2; return 1; }
		sleep 0.1
	done
	_un_node=$(__node_find "$1" "$2")
	case $2 in sound) return 0 ;; esac
	wait_for 5 test -e "$_un_node" || { echo "tb: $_un_node missing" >&2; return 1; }
}

# dd_rate_mbs DD-ARGS...: run GNU dd and print the rate in MB/s (10^6).
dd_rate_mbs() {
	_out=$(gdd "$@" 2>&1) || { echo "$_out" >&2; return 1; }
	echo "$_out" | awk '/bytes/ && /copied/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^copied,/) s = $(i + 1)
		if (s > 0) printf "%.1f\n", $1 / s / 1e6; else print "0"
	}'
}

# par_read_mbs DEV N MIB: N readers at once, each reading MIB MiB of its
# own region of DEV in 16 KiB O_DIRECT reads (commands a UAS device can
# keep in flight together, BOT one at a time); prints the total MB/s
# (10^6; timed with /proc/uptime, 10 ms).
par_read_mbs() {
	_pr_t=$(cut -d' ' -f1 /proc/uptime)
	_pr_p=''
	_pr_i=0
	while [ $_pr_i -lt "$2" ]; do
		gdd if="$1" of=/dev/null bs=16k count=$(($3 * 64)) skip=$((_pr_i * $3 * 64)) \
			iflag=direct status=none &
		_pr_p="$_pr_p $!"
		_pr_i=$((_pr_i + 1))
	done
	for _pr_i in $_pr_p; do wait "$_pr_i" || return 1; done
	awk -v t="$_pr_t" -v b=$(($2 * $3 * 1048576)) \
		'{ d = $1 - t; if (d < 0.01) d = 0.01; printf "%.1f\n", b / d / 1e6 }' /proc/uptime
}

# drop_caches: make the next buffered read come from the device.
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# storage_roundtrip DEV MB: write MB MiB of random data to DEV with
# O_DIRECT, drop the caches, read it back with O_DIRECT; prints
# "<sha256 written> <sha256 read>". Several disks may run it at once.
storage_roundtrip() {
	_rt=/run/rt.${1##*/}.data
	gdd if=/dev/urandom of="$_rt" bs=1M count="$2" status=none || return 1
	_src=$(sha256sum "$_rt" | cut -d' ' -f1)
	gdd if="$_rt" of="$1" bs=1M oflag=direct conv=fsync status=none || return 1
	rm -f "$_rt"
	drop_caches
	_dst=$(gdd if="$1" bs=1M count="$2" iflag=direct status=none | sha256sum | cut -d' ' -f1)
	echo "$_src $_dst"
}

# usb_driver SYSDEV [IFNUM]: the driver bound to interface IFNUM (default 0).
usb_driver() {
	# Up to 10 s: the interface appears once the device is configured,
	# the driver once its module is loaded (the hotplug helper runs
	# modprobe in the background). CI saw a check between the two.
	_ud_n=100
	while :; do
		_l=$(ls -d "$1"/*:*."${2:-0}" 2>/dev/null | head -n1)
		[ -n "$_l" ] && [ -e "$_l/driver" ] && break
		_ud_n=$((_ud_n - 1))
		[ $_ud_n -le 0 ] && return 1
		sleep 0.1
	done
	basename "$(readlink "$_l/driver")"
}

# vhci_idle: vhci_hcd is loaded and none of its ports is in use (a check
# that "usbgate-frontend list" shows no port would also pass with vhci_hcd
# absent: the list fails).
vhci_idle() {
	usbgate-frontend list | grep -qx 'no vhci port in use'
}

# port_recv PORT BYTES: read BYTES from a virtio-serial port and print their
# sha256 (run it before the sender: an unopened port applies back-pressure).
port_recv() {
	gdd if="/dev/virtio-ports/$1" bs=64k iflag=fullblock count=$(($2 / 65536)) status=none |
		sha256sum | cut -d' ' -f1
}

# port_send PORT BYTES: send BYTES of random data, print their sha256.
port_send() {
	gdd if=/dev/urandom of=/run/port.tx bs=64k count=$(($2 / 65536)) status=none
	gdd if=/run/port.tx of="/dev/virtio-ports/$1" bs=64k status=none || return 1
	sha256sum /run/port.tx | cut -d' ' -f1
	rm -f /run/port.tx
}

# tb_bg JOB: run /tmp/bg/JOB.sh in the background in its own session (the
# process group the host's vm_bg_kill signals): output in /tmp/bg/JOB.log,
# its pid in JOB.pid, its exit status in JOB.rc once it ends (vm_run_bg).
tb_bg() {
	setsid sh -c ". /usr/lib/testbed/tb.sh; (. /tmp/bg/$1.sh); echo \$? >/tmp/bg/$1.rc.tmp; mv /tmp/bg/$1.rc.tmp /tmp/bg/$1.rc" \
		>"/tmp/bg/$1.log" 2>&1 </dev/null &
	echo $! >"/tmp/bg/$1.pid"
}

# tb_pkill GLOB [SIGNAL]: signal every process whose command line matches
# GLOB (busybox has no pkill).
tb_pkill() {
	for _p in /proc/[0-9]*; do
		_pid=${_p#/proc/}
		[ "$_pid" = $$ ] && continue
		_c=$({ tr '\0' ' ' <"$_p/cmdline"; } 2>/dev/null) || continue
		case $_c in
		*$1*) kill "-${2:-TERM}" "$_pid" 2>/dev/null ;;
		esac
	done
	return 0
}

# usbip_detach_all: detach every device imported through vhci_hcd here.
usbip_detach_all() {
	for _port in $(usbip port 2>/dev/null | sed -n 's/^Port \([0-9]*\):.*/\1/p'); do
		usbip detach -p "$_port" >/dev/null || return 1
	done
	return 0
}
