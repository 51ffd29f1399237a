# tests/vm/scenarios/kmod-usbgate-32.sh: 32 devices at once on usbgate_hcd with 4 controllers of 8 ports (one controller has at most 15): 32 mass-storage gadgets in A, one usbgate-backend each on its own virtio-serial port, one usbgate-frontend each in B; all 32 enumerate at high speed on the usbgate_hcd buses of all 4 controllers, a 33rd connect is refused with EBUSY, every disk moves 1 MiB of its own random data both ways bit-exact while the others do, and A finds in each gadget's backing file what B wrote to that gadget; all 32 detach, go back to A's usb-storage, and the module unloads
# timeout: 480
# shellcheck disable=SC2034 # read by usbgate.sh and kmod.sh
UG_HCD=usbgate
UG_LINKS=32
KMOD_PARAMS=controllers=4
UG32_N=32
UG32_WAIT=120

# ug32_jobs PREFIX: the job names PREFIX0 to PREFIX31.
ug32_jobs() {
	local i
	for ((i = 0; i < UG32_N; i++)); do printf '%s%d ' "$1" "$i"; done
}

# ug32_rcs VM PREFIX: wait for the jobs to end, print their exit statuses
# (one line; 124 for a job still running after 30 s).
ug32_rcs() {
	vm_ok_t 60 "$1" "i=0; while [ \$i -lt $UG32_N ]; do
		if wait_for 30 test -e /tmp/bg/$2\$i.rc; then cat /tmp/bg/$2\$i.rc; else echo 124; fi
		i=\$((i + 1)); done | tr '\n' ' '" "waiting for the $2 jobs in $1"
}

# ug32_logs: on failure, the end of the log of every job that ended.
ug32_logs() {
	local vm
	for vm in A B; do
		vm_run -t 20 "$vm" 'for r in /tmp/bg/u[bf]*.rc; do [ -e $r ] || continue; j=${r%.rc}
			echo "$(hostname) ${j##*/} ($(cat $r)): $(tail -n 3 $j.log | tr "\n" " ")"; done' >&2
	done
}

scenario() {
	source "$VM_DIR/usbgate.sh"
	vm_on_fail ug32_logs
	local t0=$SECONDS t ids bus line want i fields sums=() phases=""
	ug_boot
	phases+=" boot $((SECONDS - t0))s"

	# A: 32 dummy_hcd controllers, a 2 MiB disk gadget on each, made at
	# once; A's usb-storage has each before its backend takes it over.
	t=$SECONDS
	vm_ok_t 120 A "udc_init $UG32_N || exit 1
		i=0; while [ \$i -lt $UG32_N ]; do gadget_storage \$i 2 >/run/busid.\$i & i=\$((i + 1)); done; wait
		i=0; while [ \$i -lt $UG32_N ]; do read -r b </run/busid.\$i || exit 1
			wait_for 30 test -e /sys/bus/usb/devices/\$b:1.0/driver || exit 1; echo \$b; i=\$((i + 1)); done" \
		"creating $UG32_N mass-storage gadgets in A"
	read -r -a ids <<<"$(echo $VM_OUT)"
	((${#ids[@]} == UG32_N)) || fail "$UG32_N gadgets in A, got ${#ids[@]}: ${ids[*]}"
	phases+=" gadgets $((SECONDS - t))s"

	# Gadget i on usbgate.i, all at once; the frontends pick the ports.
	# Each frontend waits for its device as long as this step does (32
	# backends starting at once on A's one vCPU: see kmod/README.md); the
	# backends say how far they got (-v).
	t=$SECONDS
	vm_run_bg_each A ub "$UG32_N" 'read -r b </run/busid.$i
exec usbgate-backend serve -v --device $b --channel dev:/dev/virtio-ports/usbgate.$i' ||
		fail "starting the backends in A"
	vm_run_bg_each B uf "$UG32_N" "exec usbgate-frontend attach -t $UG32_WAIT --hcd usbgate --channel dev:/dev/virtio-ports/usbgate.\$i" ||
		fail "starting the frontends in B"
	vm_ok_t $((UG32_WAIT + 30)) B "k=0
		while [ \$(grep -l '^attached: usbgate_hcd ' /tmp/bg/uf*.log | wc -l) -lt $UG32_N ]; do
			for r in /tmp/bg/uf*.rc; do
				[ -e \$r ] || continue
				j=\${r%.rc}; echo \"frontend \${j##*/} ended: \$(tail -n 2 \$j.log | tr '\n' ' ')\" >&2; exit 1
			done
			k=\$((k + 1)); [ \$k -le $((UG32_WAIT * 2)) ] || { echo 'not all attached within $UG32_WAIT s' >&2; exit 1; }
			sleep 0.5
		done
		i=0; while [ \$i -lt $UG32_N ]; do
			sed -n 's/^attached: usbgate_hcd port [0-9]* busid \\([0-9.-]*\\) .*/\\1/p' /tmp/bg/uf\$i.log
			i=\$((i + 1)); done" "attaching $UG32_N devices in B"
	read -r -a bus <<<"$(echo $VM_OUT)"
	((${#bus[@]} == UG32_N)) || fail "bus ids of the $UG32_N devices in B: ${bus[*]}"
	phases+=" attach $((SECONDS - t))s"

	# Each on a high-speed port of usbgate_hcd, 32 ports, all 4 controllers.
	vm_ok B "for b in ${bus[*]}; do p=\$(readlink -f /sys/bus/usb/devices/\$b)
		c=\${p#*/platform/usbgate_hcd.}; echo \${c%%/*} \$(cat \$p/speed) \$b; done" \
		"finding the controllers of the devices in B"
	[[ $(awk '$2 == 480' <<<"$VM_OUT" | wc -l) == "$UG32_N" ]] ||
		fail "not all $UG32_N devices at 480 Mb/s on usbgate_hcd: $(tr '\n' ' ' <<<"$VM_OUT")"
	assert_eq "distinct ports in B" "$UG32_N" "$(awk '{print $3}' <<<"$VM_OUT" | sort -u | wc -l)"
	assert_eq "controllers used in B" "0 1 2 3" "$(awk '{print $1}' <<<"$VM_OUT" | sort -u | tr '\n' ' ' | sed 's/ $//')"

	# Every high-speed port taken: the kernel refuses a 33rd device.
	vm_ok B "timeout 10 tb-ughdev 2>&1; echo rc=\$?" "connecting a 33rd device"
	[[ $VM_OUT == *"connect: Device or resource busy"*"rc=1" ]] ||
		fail "a 33rd high-speed device with every port taken: $(tr '\n' ' ' <<<"$VM_OUT"), expected EBUSY"

	# All 32 disks at once, each its own random data; the serial says
	# which gadget of A it is (gadget i was served on usbgate.i).
	t=$SECONDS
	vm_ok_t 300 B "i=0; for b in ${bus[*]}; do
		( d=/sys/bus/usb/devices/\$b; n=\$(usb_node \$d block 60) &&
		  echo \$i \$(cat \$d/serial) \$(storage_roundtrip \$n 1) ) >/run/rt.\$i &
		i=\$((i + 1)); done; wait
		i=0; while [ \$i -lt $UG32_N ]; do cat /run/rt.\$i; i=\$((i + 1)); done" \
		"1 MiB round trips on $UG32_N disks at once in B"
	phases+=" data $((SECONDS - t))s"
	for ((i = 0; i < UG32_N; i++)); do
		line=$(awk -v i="$i" '$1 == i' <<<"$VM_OUT")
		read -r -a fields <<<"$line"
		assert_eq "serial of the disk on usbgate.$i" "TB000$i" "${fields[1]:-}"
		[[ -n ${fields[2]:-} && ${fields[2]} == "${fields[3]:-}" ]] ||
			fail "disk $i (${bus[$i]}): sha256 written '${fields[2]:-}', read back '${fields[3]:-}'"
		sums+=("${fields[2]}")
	done

	# Detach all: the frontends end, then their backends, all with 0.
	t=$SECONDS
	ug_signal B "$(ug32_jobs uf)" TERM
	ug32_rcs B uf
	want=$(printf '0 %.0s' $(seq "$UG32_N"))
	assert_eq "exit statuses of the frontends" "$want" "$VM_OUT"
	ug32_rcs A ub
	assert_eq "exit statuses of the backends" "$want" "$VM_OUT"
	phases+=" detach $((SECONDS - t))s"

	# A: each device on usb-storage again, each backing file with what B
	# wrote to that gadget's disk.
	vm_ok_t 60 A "for b in ${ids[*]}; do wait_for 20 test -e /sys/bus/usb/devices/\$b:1.0/driver &&
		basename \$(readlink /sys/bus/usb/devices/\$b:1.0/driver) || echo none; done | sort | uniq -c" \
		"drivers of the gadgets in A after the sessions"
	assert_eq "drivers in A after the sessions" "$UG32_N usb-storage" "$(echo $VM_OUT)"
	vm_ok_t 60 A "i=0; while [ \$i -lt $UG32_N ]; do
		gdd if=/run/gadget\$i.img bs=1M count=1 status=none | sha256sum | cut -d' ' -f1
		i=\$((i + 1)); done" "reading the gadgets' backing files in A"
	assert_eq "what A's gadgets hold" "${sums[*]}" "$(echo $VM_OUT)"

	# B: no device left on any usbgate_hcd bus, no warning; the module
	# unloads (no session holds a port).
	ug_port_freed
	vm_ok B "! dmesg | grep -E 'WARNING: CPU|BUG:|Oops'" "warnings in B"
	kmod_unload B
	vm_log "$UG32_N devices:$phases, total $((SECONDS - t0))s"
}
