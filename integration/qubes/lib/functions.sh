# integration/qubes/lib/functions.sh: shared by usbgate's Qubes services
# (qubes.USB, qubes.USBAttach, qubes.USBDetach) and the suspend hook; sourced
# (POSIX sh). Owns the one sanitizing step of what qrexec hands a service
# (bus ids, VM names), the state directory, and the waits.
#
# State, one directory per session, under $UGQ_STATE:
#   export-BUSID/   in sys-usb: pid (the serving backend), domain (the caller)
#   import-VM-BUSID/ in the AppVM: pid (the import), port, busid (local),
#                    log (qrexec-client-vm's and the frontend's stderr)
UGQ_STATE=${UGQ_STATE:-/run/usbgate-qubes}

# ugq_die REASON: one line on stderr (qubesd shows it), exit 1.
ugq_die() {
	printf 'usbgate: %s\n' "$*" >&2
	exit 1
}

# ugq_busid UNTRUSTED: 0 if it is a USB device bus id (2-1, 3-1.4.2).
ugq_busid() {
	case $1 in '' | *[!0-9.-]*) return 1 ;; esac
	[ ${#1} -le 31 ] && printf '%s\n' "$1" | grep -Eqx '[0-9]+-[0-9]+(\.[0-9]+)*'
}

# ugq_vm UNTRUSTED: 0 if it is a Qubes VM name (what qubesd accepts).
ugq_vm() {
	case $1 in
	'' | [!A-Za-z]* | *[!A-Za-z0-9_.-]*) return 1 ;;
	esac
	[ ${#1} -le 31 ]
}

# ugq_qdb_id BUSID: the QubesDB key of the device (dots become '_').
ugq_qdb_id() {
	printf '%s' "$1" | tr . _
}

# ugq_alive PID: 0 while the process runs.
ugq_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# ugq_wait SECONDS CMD...: retry CMD every 0.1 s; 1 if it never succeeded.
ugq_wait() {
	_n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		_n=$((_n - 1))
		[ $_n -le 0 ] && return 1
		sleep 0.1
	done
}

# ugq_udev_prop SYSDIR KEY: print the udev property of the device (udevadm
# when it is there, else udev's database as udevd writes it).
ugq_udev_prop() {
	if command -v udevadm >/dev/null 2>&1; then
		udevadm info --query=property --path="$1" 2>/dev/null |
			sed -n "s/^$2=//p"
	elif [ -r "$1/dev" ]; then
		sed -n "s/^E:$2=//p" "/run/udev/data/c$(cat "$1/dev")" 2>/dev/null
	fi
}

# ugq_by_id VVVV PPPP: print the bus id of the one device with that id
# (Qubes' 0xVVVV.0xPPPP argument); 1 if none or several.
ugq_by_id() {
	_found=
	for _d in /sys/bus/usb/devices/*; do
		[ -r "$_d/idVendor" ] || continue
		[ "$(cat "$_d/idVendor")" = "$1" ] && [ "$(cat "$_d/idProduct")" = "$2" ] || continue
		case $(readlink -f "$_d") in */vhci_hcd*) continue ;; esac
		[ -n "$_found" ] && return 1
		_found=${_d##*/}
	done
	[ -n "$_found" ] && echo "$_found"
}

# ugq_last_line FILE: the last non-empty line of FILE.
ugq_last_line() {
	grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1
}

# ugq_iface_numbers BUSID CCSSPP[,CCSSPP]...: print, comma-separated and in
# decimal, the numbers of the device's interfaces (active configuration and
# settings, as sysfs shows them and udev published them) whose type is one
# of the given ones; nothing if none.
ugq_iface_numbers() {
	_out=
	for _i in /sys/bus/usb/devices/"$1":*; do
		[ -r "$_i/bInterfaceClass" ] || continue
		_t=$(cat "$_i/bInterfaceClass" "$_i/bInterfaceSubClass" \
			"$_i/bInterfaceProtocol" 2>/dev/null | tr -d '\n' | tr A-F a-f)
		case ,$2, in *",$_t,"*) ;; *) continue ;; esac
		_n=$((0x$(cat "$_i/bInterfaceNumber")))
		case ,$_out, in *",$_n,"*) continue ;; esac
		_out=${_out:+$_out,}$_n
	done
	printf '%s' "$_out"
}
