# tests/vm/qubes.sh: helpers for the Qubes scenarios (qubes-*): stage A of
# the Qubes drop-in (integration/qubes/) under the testbed's doubles
# (tests/vm/qubes/). The host plays dom0 and runs the qrexec double's daemon
# (tb-qrexec dom0) with real policy directories; VM A plays sys-usb, VM B
# the AppVM "work"; each VM runs the qrexec double's agent and the QubesDB
# double, and A the stand-in of qubes-linux-utils' udev publisher. The
# service scripts are installed as one tries them on real Qubes: copied to
# /usr/local/etc/qubes-rpc, /usr/local/etc/qubes/rpc-config and
# /usr/local/lib/usbgate/qubes.
# Owns booting that topology and qd0_*: a dom0 script doing exactly what
# qubes-usb-proxy-dom0 (qubesusbproxy/core3ext.py) does for qvm-usb: QubesDB
# listing, the temporary policy line, qubes.USBAttach/qubes.USBDetach through
# qrexec-client, 127 read as "not installed", connected-to read back.
# Sourced by scenarios after lib.sh.

QB_DOM0=$VM_RUNDIR/dom0
QB_SOCK=$VM_RUNDIR/qrexec.sock
QB_QREXEC=$USBGATE_BUILDDIR/tests/tools/tb-qrexec
QB_NPORTS=3
# Qubes names of the testbed's VMs.
declare -A QB_VM=([sys-usb]=A [work]=B)

# qb_install VM: the doubles and the usbgate Qubes services in VM (one tar
# through the testbed agent); start its qrexec agent.
qb_install() {
	local v=$1 st=$VM_RUNDIR/stage-$1 j
	rm -rf "$st"
	mkdir -p "$st/usr/local/etc/qubes-rpc" "$st/usr/local/etc/qubes/rpc-config" \
		"$st/usr/local/lib/usbgate/qubes" "$st/usr/lib/testbed" "$st/usr/local/bin"
	cp "$VM_TOP"/integration/qubes/qubes-rpc/{qubes.USB*,usbgate.Options} "$st/usr/local/etc/qubes-rpc/"
	# testbed only: dom0's qubesd double reads QubesDB through it
	printf '#!/bin/sh\nexec qubesdb-multiread /qubes-usb-devices/\n' >"$st/usr/local/etc/qubes-rpc/tb.QubesDB"
	chmod +x "$st/usr/local/etc/qubes-rpc/tb.QubesDB"
	cp "$VM_TOP/integration/qubes/rpc-config/qubes.USB" "$st/usr/local/etc/qubes/rpc-config/"
	cp "$VM_TOP"/integration/qubes/lib/{functions.sh,import,detach-all} "$st/usr/local/lib/usbgate/qubes/"
	cp "$VM_DIR/qubes/qubesdb" "$VM_DIR/qubes/udev-usb" "$st/usr/lib/testbed/"
	for j in read write rm list multiread watch; do
		ln -s /usr/lib/testbed/qubesdb "$st/usr/local/bin/qubesdb-$j"
	done
	ln -s tb-qrexec "$st/usr/local/bin/qrexec-client-vm"
	vm_run -t 30 "$v" "base64 -d <<'__QB_EOF__' | tar -x -f - -C /
$(tar -c -f - -C "$st" . | base64 -w 76)
__QB_EOF__" || fail "installing the Qubes services and doubles in $v"
	# The guest's init names the ports whose names it has seen at boot;
	# names of later ports may arrive after it looked: name them here.
	vm_ok "$v" "wait_for 10 sh -c '[ \$(cat /sys/class/virtio-ports/*/name | grep -c ^qrexec\\.) -ge $((2 * QB_NPORTS)) ]' &&
		for p in /sys/class/virtio-ports/*; do
			n=\$(cat \$p/name); case \$n in qrexec.*) ln -sf /dev/\${p##*/} /dev/virtio-ports/\$n ;; esac
		done" "naming the qrexec ports in $v"
	j=$(vm_run_bg "$v" 'exec tb-qrexec agent') || fail "starting the qrexec agent in $v"
	printf -v "QB_AGENT_$v" '%s' "$j"
	vm_ok "$v" "wait_for 10 grep -q 'serving $QB_NPORTS exec ports' /tmp/bg/$j.log" \
		"the qrexec agent in $v does not serve its $QB_NPORTS exec ports"
}

# qb_boot: boot A (sys-usb, dummy_hcd with 4 controllers, the udev
# publisher) and B (work, vhci-hcd), each with the qrexec ports; start the
# qrexec daemon in dom0 with the static policy.
qb_boot() {
	local v k opts
	for v in A B; do
		opts=()
		for ((k = 0; k < QB_NPORTS; k++)); do
			opts+=(--vport "qrexec.exec.$k:server:qx-$v-exec.$k" --vport "qrexec.call.$k:server:qx-$v-call.$k")
		done
		vm_launch_ok "$v" "${opts[@]}"
	done
	vm_up_ok A B
	vm_ok B 'modprobe vhci-hcd' "loading vhci-hcd in B"
	vm_ok A 'udc_init 4' "loading dummy_hcd in A"
	qb_install A
	qb_install B
	vm_run_bg A 'exec uevent /usr/lib/testbed/udev-usb' >/dev/null || fail "starting the udev publisher in A"
	vm_ok A '/usr/lib/testbed/udev-usb coldplug' "publishing A's devices"
	mkdir -p "$QB_DOM0/etc/qubes/policy.d" "$QB_DOM0/run/qubes/policy.d"
	# What Qubes ships for qubes.USB: nothing is allowed unless dom0's
	# extension adds a line for one attach.
	printf '%s\n' '# usbgate testbed: the static part of the qubes.USB policy' \
		'qubes.USB * @anyvm @anyvm deny' >"$QB_DOM0/etc/qubes/policy.d/90-default-usb.policy"
	QB_D0_PID=$(vm_host_bg "exec '$QB_QREXEC' dom0 --socket '$QB_SOCK' \
		--policy-dir '$QB_DOM0/etc/qubes/policy.d' --policy-dir '$QB_DOM0/run/qubes/policy.d' \
		--log '$VM_OUTDIR/qrexec-dom0.log' \
		--vm sys-usb:$VM_RUNDIR/qx-A:$QB_NPORTS:$QB_NPORTS --vm work:$VM_RUNDIR/qx-B:$QB_NPORTS:$QB_NPORTS")
	for k in $(seq 100); do
		[[ -S $QB_SOCK ]] && return 0
		sleep 0.1
	done
	fail "the qrexec double's daemon did not start: $(tail -n 2 "$VM_OUTDIR/qrexec-dom0.log" 2>/dev/null)"
}

# qb_save_logs: for a post-mortem, per VM: the qrexec agent's log (calls,
# exits, VM-to-VM services' stderr), the services' state and logs, the
# processes, QubesDB.
qb_save_logs() {
	local v j
	for v in A B; do
		j=QB_AGENT_$v
		[[ -n ${!j:-} ]] && vm_bg_log "$v" "${!j}" >"$VM_OUTDIR/qrexec-agent-$v.log" 2>/dev/null
		vm_run -t 20 "$v" 'for f in $(find /run/usbgate-qubes -type f 2>/dev/null); do echo "== $f"; cat "$f"; done
			echo "== ps"; ps; echo "== qubesdb"; qubesdb-multiread / 2>&1' >"$VM_OUTDIR/qubes-state-$v.log" 2>&1
	done
	return 0
}
vm_on_fail qb_save_logs

# ---------------------------------------------------------------------------
# dom0: what qubes-usb-proxy-dom0 does

# qd0_client VM 'USER:QUBESRPC SERVICE SOURCE' INPUT: qrexec-client -d VM;
# sets QD0_RC, QD0_STDOUT, QD0_STDERR.
qd0_client() {
	local e
	e=$(mktemp "$VM_RUNDIR/qd0err.XXXXXX")
	QD0_RC=0
	# qubesd waits as long as it takes; the scenario does not.
	QD0_STDOUT=$(printf '%s' "$3" | timeout -k 5 90 "$QB_QREXEC" client --socket "$QB_SOCK" -d "$1" "$2" 2>"$e") || QD0_RC=$?
	((QD0_RC != 124)) || fail "qrexec-client -d $1 '$2' did not return within 90 s"
	QD0_STDERR=$(cat "$e")
	rm -f "$e"
}

# qd0_qdb VM 'qubesdb command': untrusted_qdb of a VM (read through the
# testbed agent); output on stdout.
qd0_qdb() {
	vm_run -t 20 "${QB_VM[$1]}" "$2"
}

# qd0_list BACKEND: the devices dom0 lists, one "PORTID DESC -> FRONTEND"
# line each, from QubesDB as the extension reads it (ids matching
# ^[0-9]+-[0-9]+(_[0-9]+)*$, '_' back to '.').
qd0_list() {
	local id desc to
	for id in $(qd0_qdb "$1" 'qubesdb-list /qubes-usb-devices/' | cut -d/ -f1 | sort -u); do
		[[ $id =~ ^[0-9]+-[0-9]+(_[0-9]+)*$ ]] || continue
		desc=$(qd0_qdb "$1" "qubesdb-read -q /qubes-usb-devices/$id/desc")
		to=$(qd0_qdb "$1" "qubesdb-read -q /qubes-usb-devices/$id/connected-to")
		echo "${id//_/.} $desc -> ${to:-}"
	done
}

# qd0_connected BACKEND PORTID: print connected-to (empty if none).
qd0_connected() {
	qd0_qdb "$1" "qubesdb-read -q /qubes-usb-devices/${2//./_}/connected-to" 2>/dev/null
	return 0
}

# qd0_attach FRONTEND BACKEND PORTID [--no-policy]: qvm-usb attach. Sets
# QD0_ERROR ("" on success, else what qubesd would raise) and QD0_RC.
qd0_attach() {
	local front=$1 back=$2 port=$3 pol
	QD0_ERROR=""
	if [[ -n $(qd0_connected "$back" "$port") ]]; then
		QD0_ERROR="DeviceAlreadyAttached"
		return 1
	fi
	pol=$QB_DOM0/run/qubes/policy.d/45-usb-attach-$front-$port.policy
	[[ ${4:-} == --no-policy ]] ||
		echo "qubes.USB +$port $front $back allow user=root" >"$pol"
	qd0_client "$front" "root:QUBESRPC qubes.USBAttach dom0" "$back $port
"
	rm -f "$pol"
	if ((QD0_RC == 127)); then
		QD0_ERROR="USBProxyNotInstalled"
	elif ((QD0_RC != 0)); then
		QD0_ERROR="Device attach failed: $QD0_STDOUT $QD0_STDERR"
	fi
	[[ -z $QD0_ERROR ]]
}

# qd0_detach FRONTEND BACKEND PORTID: qvm-usb detach (the backend form of
# qubes.USBDetach, as the extension calls it).
qd0_detach() {
	local front=$1 back=$2 port=$3
	QD0_ERROR=""
	if [[ $(qd0_connected "$back" "$port") != "$front" ]]; then
		QD0_ERROR="DeviceNotAttached"
		return 1
	fi
	qd0_client "$back" "root:QUBESRPC qubes.USBDetach dom0" "$port
"
	((QD0_RC == 0)) || QD0_ERROR="Device detach failed: $QD0_STDOUT $QD0_STDERR"
	[[ -z $QD0_ERROR ]]
}

# qd0_wait_connected BACKEND PORTID WANT SECONDS: wait until connected-to
# reads WANT ("" = removed), as qubesd follows it through its watch.
qd0_wait_connected() {
	local end=$((SECONDS + $4)) got
	while :; do
		got=$(qd0_connected "$1" "$2")
		[[ $got == "$3" ]] && return 0
		((SECONDS < end)) || fail "connected-to of $1:$2: expected '$3', got '$got'"
		sleep 0.3
	done
}

# qb_vhci_busids VM: the local bus ids of the devices on vhci in VM.
qb_vhci_busids() {
	vm_run -t 10 "$1" 'usbgate-frontend list | sed -n "s/^port [0-9]*: .* busid \([0-9.-]*\),.*/\1/p" | grep -v "^0-0$"'
}

# qb_driver_in_a BUSID: the driver of interface 0 of BUSID in A, once it
# has one (waits up to 15 s).
qb_driver_in_a() {
	vm_ok A "wait_for 15 test -e /sys/bus/usb/devices/$1:1.0/driver && basename \$(readlink /sys/bus/usb/devices/$1:1.0/driver)" \
		"the device $1 has no driver in A"
}

# qd0_listed BACKEND ERE: 0 if a qd0_list line matches. (The whole listing
# first: "grep -q" in a pipeline ends it early, which pipefail reports.)
qd0_listed() {
	local out
	out=$(qd0_list "$1")
	grep -Eq -- "$2" <<<"$out"
}

# qd0_wait_listed BACKEND ERE SECONDS: wait until a qd0_list line matches.
qd0_wait_listed() {
	local end=$((SECONDS + $3))
	until qd0_listed "$1" "$2"; do
		((SECONDS < end)) || fail "no device matching '$2' listed by $1 within $3 s: $(qd0_list "$1")"
		sleep 0.3
	done
}

# qd0_wait_unlisted BACKEND ERE SECONDS: wait until no qd0_list line matches.
qd0_wait_unlisted() {
	local end=$((SECONDS + $3))
	while qd0_listed "$1" "$2"; do
		((SECONDS < end)) || fail "a device matching '$2' still listed by $1 after $3 s"
		sleep 0.3
	done
}

# ---------------------------------------------------------------------------
# dom0 with usbgate's qubesd extension (stage B): the real extension in the
# qubesd double, on the host (tests/vm/qubes/qubesd-host), as a coprocess.

# qx_start RULES: write RULES as dom0's usbgate rules, install the static
# qrexec policy of usbgate-qubes-dom0, start the qubesd double.
qx_start() {
	QX_RULES=$QB_DOM0/etc/usbgate/rules.d
	mkdir -p "$QX_RULES"
	printf '%s\n' "$1" >"$QX_RULES/50-scenario.rules"
	cp "$VM_TOP/integration/qubes/dom0/policy.d/45-usbgate.policy" "$QB_DOM0/etc/qubes/policy.d/"
	coproc QX { QB_QREXEC=$QB_QREXEC QB_SOCK=$QB_SOCK QB_SOCKETS=$QB_DOM0/run/qubes USBGATE_TOP=$VM_TOP \
		USBGATE_CLI=$USBGATE_BUILDDIR/tools/usbgate USBGATE_RULES_DIR=$QX_RULES \
		USBGATE_QUBES_POLICY=$QB_DOM0/run/qubes/policy.d/40-usbgate.policy \
		exec python3 "$VM_DIR/qubes/qubesd-host" 2>>"$VM_OUTDIR/qubesd-host.log"; }
}

# qx CMD...: one command to the qubesd double (qubesd-host's list); the
# reply in QX_OUT; 0 if it starts with OK.
qx() {
	printf '%s\n' "$*" >&"${QX[1]}" || fail "the qubesd double is gone: $(tail -n 5 "$VM_OUTDIR/qubesd-host.log")"
	IFS= read -r -t 240 QX_OUT <&"${QX[0]}" || fail "no answer from the qubesd double to '$*': $(tail -n 5 "$VM_OUTDIR/qubesd-host.log")"
	echo "qubesd: $* -> $QX_OUT" >>"$VM_OUTDIR/qubesd-host.log"
	[[ $QX_OUT == OK* ]]
}

# qx_wait_unlisted BACKEND BUSID SECONDS: wait until qubesd no longer
# lists BUSID.
qx_wait_unlisted() {
	local end=$((SECONDS + $3))
	while qx list "$1"; [[ " ${QX_OUT#OK }" == *" $2="* ]]; do
		((SECONDS < end)) || fail "$1:$2 is still listed after $3 s: $QX_OUT"
		sleep 0.3
	done
}

# qx_wait_list BACKEND ERE SECONDS: wait until qubesd's listing matches.
qx_wait_list() {
	local end=$((SECONDS + $3))
	while qx list "$1"; [[ ! $QX_OUT =~ $2 ]]; do
		((SECONDS < end)) || fail "qubesd's listing of $1 does not match '$2' after $3 s: $QX_OUT"
		sleep 0.3
	done
}
