# tests/vm/scenarios/pkg-install-attach.sh: the built Debian packages, installed and nothing else: usbgate-backend's files in sys-usb (A), usbgate-frontend's in B, usbgate-dom0's on the host; each daemon started as its packaged unit says (EnvironmentFile, ExecStart, RuntimeDirectory) with the shipped /etc/default and modules-load.d files, usbgated with the shipped configuration and default rules (only the deployment's VMs and data links added); a storage gadget is listed, attached to B by the packaged CLI (16 MiB round trip), detached, back on A's usb-storage
# timeout: 420
#
# The packages come from tests/packages (build-packages/, rebuilt here when
# TREE-ID says they are not from this tree). "Installed" is dpkg's unpack
# (dpkg-deb -x, what dpkg -i writes; the packages have no maintainer
# scripts of their own) into the guest's root through a per-VM initramfs
# archive; the guests have no systemd, so the unit's lines are carried out
# as systemd would, and no udevd, so 80-usbgate.rules is installed but not
# run (the daemon reads the udev database and uevents itself).

# __pkg_stage DEB... OUT: unpack the packages into one root (lib/ moved
# under usr/ as on a merged-/usr system) and write it as a newc archive.
__pkg_stage() {
	local out=${!#} st deb
	st=$(mktemp -d "$VM_RUNDIR/stage.XXXXXX")
	for deb in "${@:1:$#-1}"; do
		dpkg-deb -x "$deb" "$st" || fail "dpkg-deb -x $deb"
	done
	if [[ -d $st/lib && ! -L $st/lib ]]; then
		mkdir -p "$st/usr/lib"
		cp -a "$st/lib/." "$st/usr/lib/" && rm -rf "$st/lib"
	fi
	(cd "$st" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out" ||
		fail "cpio of $*"
}

# The guest side of "systemctl start": RuntimeDirectory, EnvironmentFile
# (optional with "-", variables exported), then ExecStart with $VAR
# expanded and split as systemd does.
__UNIT_START='unit_start() {
	u=$1
	[ -f "$u" ] || { echo "no unit $u"; return 1; }
	for x in $(sed -n "s/^RuntimeDirectory=//p" "$u"); do
		mkdir -p "/run/$x"
		m=$(sed -n "s/^RuntimeDirectoryMode=//p" "$u")
		[ -n "$m" ] && chmod "$m" "/run/$x"
	done
	for ef in $(sed -n "s/^EnvironmentFile=//p" "$u"); do
		case $ef in
		-*) ef=${ef#-}; [ -f "$ef" ] || continue ;;
		esac
		set -a; . "$ef"; set +a
	done
	ex=$(sed -n "s/^ExecStart=//p" "$u")
	eval "exec $ex"
}'

scenario() {
	source "$VM_DIR/usbgate-ctl.sh"
	local pk=$VM_TOP/build-packages id
	id=$("$VM_TOP/tests/packages" --tree-id)
	if [[ $(cat "$pk/TREE-ID" 2>/dev/null) != "$id" ]]; then
		vm_log "building the packages of this tree (tests/packages)"
		"$VM_TOP/tests/packages" >"$VM_OUTDIR/packages.log" 2>&1 ||
			fail "tests/packages: $(tail -n 3 "$VM_OUTDIR/packages.log")"
	fi
	local deb_b deb_f deb_d
	deb_b=$(ls "$pk"/usbgate-backend_*.deb) && deb_f=$(ls "$pk"/usbgate-frontend_*.deb) &&
		deb_d=$(ls "$pk"/usbgate-dom0_*.deb) || fail "packages missing in $pk"
	__pkg_stage "$deb_b" "$VM_RUNDIR/pkg-A.cpio"
	__pkg_stage "$deb_f" "$VM_RUNDIR/pkg-B.cpio"
	vm_launch_ok A --link ab:server --initrd-add "$VM_RUNDIR/pkg-A.cpio"
	vm_launch_ok B --link ab:client --initrd-add "$VM_RUNDIR/pkg-B.cpio"
	vm_up_ok A B

	# dom0: the packaged usbgated and CLI, the shipped configuration with
	# its paths under the unpacked root, plus this deployment's channels.
	local root=$VM_RUNDIR/dom0pkg k
	dpkg-deb -x "$deb_d" "$root" || fail "dpkg-deb -x $deb_d"
	mkdir -p "$CTL_DOM0" "$root/run/usbgate" "$root/var/lib/usbgate" "$VM_RUNDIR/dom0bin"
	ln -s "$root/usr/sbin/usbgated" "$VM_RUNDIR/dom0bin/usbgated"
	ln -s "$root/usr/bin/usbgate" "$VM_RUNDIR/dom0bin/usbgate"
	CTL_BIN=$VM_RUNDIR/dom0bin
	CTL_SOCK=$root/run/usbgate/usbgated.sock
	{
		sed -e "s|^socket /|socket $root/|" -e "s|^state-dir /|state-dir $root/|" \
			-e "s|^rules-dir /|rules-dir $root/|" "$root/etc/usbgate/usbgated.conf"
		echo "# added for this deployment: its VMs and data links"
		echo "backend sys-usb framed:unix:$VM_RUNDIR/A/ctl.sock"
		echo "vm B framed:unix:$VM_RUNDIR/B/ctl.sock"
		for k in 0 1 2 3; do
			echo "data sys-usb B dev:/dev/virtio-ports/usbgate.$k dev:/dev/virtio-ports/usbgate.$k"
		done
	} >"$CTL_DOM0/usbgated.conf"
	grep -q "^socket $CTL_SOCK\$" "$CTL_DOM0/usbgated.conf" ||
		fail "the shipped configuration has no 'socket /run/usbgate/usbgated.sock'"
	[[ $(ls "$root/etc/usbgate/rules.d") == 90-default.rules ]] ||
		fail "rules shipped: $(ls "$root/etc/usbgate/rules.d")"
	"$CTL_BIN/usbgated" -n -f "$CTL_DOM0/usbgated.conf" >"$VM_OUTDIR/usbgated-n.log" 2>&1 ||
		fail "usbgated -n: $(cat "$VM_OUTDIR/usbgated-n.log")"
	ctl_gated_start
	vm_ok A 'udc_init 4' "loading dummy_hcd in A"
	# B: what systemd-modules-load does with the package's file.
	vm_ok B 'for m in $(grep -v "^#" /usr/lib/modules-load.d/usbgate-frontend.conf); do modprobe $m || exit 1; done; lsmod | grep -c "^vhci_hcd"' \
		"loading the modules of usbgate-frontend's modules-load.d in B"
	assert_eq "vhci_hcd loaded in B" 1 "$VM_OUT"
	vm_ok A 'test -x /usr/sbin/usbgate-backend && test -f /etc/default/usbgate-backend' "the package's files in A"
	vm_ok B 'test -x /usr/sbin/usbgate-frontend && test -f /etc/default/usbgate-frontend' "the package's files in B"

	CTL_BJOB=$(vm_run_bg A "$__UNIT_START
unit_start /usr/lib/systemd/system/usbgate-backend.service") ||
		fail "starting usbgate-backend.service in A"
	CTL_FJOB_B=$(vm_run_bg B "$__UNIT_START
unit_start /usr/lib/systemd/system/usbgate-frontend.service") ||
		fail "starting usbgate-frontend.service in B"
	ctl_wait 30 "sys-usb connected to dom0" ctl_connected sys-usb
	ctl_wait 30 "B connected to dom0" ctl_connected B
	# The daemons that answered are the packaged programs, not the
	# testbed's own copies in /usr/local/bin.
	__exes='for p in /proc/[0-9]*; do readlink $p/exe; done 2>/dev/null | grep usbgate- | sort | uniq -c | tr -s " " | tr "\n" ";"'
	vm_ok A "$__exes" "the programs running in A"
	[[ $VM_OUT =~ ^\ [0-9]+\ /usr/sbin/usbgate-backend\;$ ]] ||
		fail "usbgate programs running in A: '$VM_OUT', want /usr/sbin/usbgate-backend only"
	vm_ok B "$__exes" "the programs running in B"
	[[ $VM_OUT =~ ^\ [0-9]+\ /usr/sbin/usbgate-frontend\;$ ]] ||
		fail "usbgate programs running in B: '$VM_OUT', want /usr/sbin/usbgate-frontend only"

	vm_ok A 'gadget_storage 0 32' "creating the storage gadget"
	local busid=$VM_OUT
	ctl_wait 30 "storage gadget listed" ctl_listed "^sys-usb:$busid "
	ctl_ok "attaching the storage gadget to B" attach B "sys-usb:$busid"
	[[ $CTL_OUT == *"Attached sys-usb:$busid to B"* ]] || fail "attach said: $CTL_OUT"
	ctl_disk_roundtrip_detach "$busid" 16
	ctl_gated_alive || fail "usbgated died"
	ctl_save_logs
}
