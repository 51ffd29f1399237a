# tests/vm/lib.sh: host-side library of the QEMU testbed (sourced, bash).
# Owns starting and stopping guests, the host end of the guest agent (run a
# command, background jobs, copy files out), the inter-VM links (virtio-serial
# ports, a point-to-point network, user-mode port forwards), the QEMU monitor,
# the console oops watch, and the assertion helpers scenarios use.
#
# Layout of one scenario's state:
#   $VM_RUNDIR/NAME/   sockets and pids (short path under /tmp, UNIX socket
#                      paths are limited to 108 bytes)
#                      agent.sock  the agent port      ctl.sock  "usbgate.ctl"
#                      mon.sock    HMP monitor         qemu.pid, req, resp.log
#   $VM_RUNDIR/link-ID.K.sock      port usbgate.K of link ID between two VMs
#   $VM_OUTDIR/NAME.console.log, NAME.qemu.log, NAME.agent.log, NAME.dmesg
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_TOP=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${TESTBED_CACHE:-$VM_DIR/cache}
: "${USBGATE_BUILDDIR:=$VM_TOP}"
# Patterns that mean the guest kernel is broken; the VM is killed on sight.
VM_OOPS_RE='Oops|BUG:|general protection|Kernel panic|kernel BUG|Call Trace:'
VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-90}

# Programs and libraries of the project copied into every guest (paths
# relative to $USBGATE_BUILDDIR; globs allowed; missing ones are skipped).
VM_MANIFEST=(
	backend/usbgate-backend
	frontend/usbgate-frontend
	tools/usbgate
	tools/usbgated
	'tests/tools/*'
	tests/xen/fakexenstored
	tests/xen/fakexenctl
	'tests/xen/libxen*.so.1'
)

vm_log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# Image assembly

# vm_copy_with_libs STAGE FILE...: copy programs (same path) and the shared
# libraries ldd names for them into STAGE (a merged-/usr tree).
vm_copy_with_libs() {
	local stage=$1 f lib dst
	shift
	for f in "$@"; do
		mkdir -p "$stage$(dirname "$f")"
		cp -L "$f" "$stage$f"
		while read -r lib; do
			case $lib in
			/lib/* | /lib64/*) dst=/usr$lib ;;
			*) dst=$lib ;;
			esac
			if [[ ! -e $stage$dst ]]; then
				mkdir -p "$stage$(dirname "$dst")"
				cp -L "$lib" "$stage$dst"
			fi
		done < <(ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/lib64\//{print $1}')
	done
}

# vm_session_init: create the per-run session directory (shared by the
# scenarios of one run) and the initramfs of this run: the cached base
# cpio plus a small cpio with the agent and the project's binaries.
vm_session_init() {
	if [[ -z ${TESTBED_SESSION:-} ]]; then
		TESTBED_SESSION=$(mktemp -d /tmp/ugvm.XXXXXX)
		export TESTBED_SESSION
	fi
	[[ -s $TESTBED_SESSION/initrd.cpio ]] || vm_build_initrd
}

__vm_is_elf() {
	[[ -f $1 && $(head -c 4 "$1" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]
}

# vm_build_kmod STAGE: build kmod/usbgate_hcd.ko against the cached headers
# of the guest kernel, in a copy under the session (the tree stays clean),
# warnings as errors, and put it at /usr/lib/modules/KVER/extra in STAGE
# (guests load it with insmod: tests/vm/kmod.sh).
vm_build_kmod() {
	local stage=$1 kver b=$TESTBED_SESSION/kmod kbuild
	kver=$(basename "$(readlink -f "$VM_CACHE/current")")
	kbuild=$VM_CACHE/current/headers/usr/src/linux-headers-$kver
	rm -rf "$b"
	mkdir -p "$b" "$stage/usr/lib/modules/$kver/extra"
	cp "$VM_TOP"/kmod/Kbuild "$VM_TOP"/kmod/*.h "$b/"
	for f in "$VM_TOP"/kmod/*.c; do
		[[ $f == *.mod.c ]] || cp "$f" "$b/"	# not an earlier build's
	done
	if ! make -s -C "$kbuild" M="$b" KCFLAGS=-Werror modules >"$b/build.log" 2>&1; then
		cat "$b/build.log" >&2
		vm_log "kmod: build against $kbuild failed"
		return 1
	fi
	cp "$b/usbgate_hcd.ko" "$stage/usr/lib/modules/$kver/extra/"
}

vm_build_initrd() {
	local kdir=$VM_CACHE/current stage=$TESTBED_SESSION/stage f n=0 pat
	[[ -s $kdir/base.cpio && -s $kdir/vmlinux && -f $kdir/headers/.unpacked ]] ||
		"$VM_DIR/setup" || { vm_log "testbed setup failed"; return 1; }
	rm -rf "$stage"
	mkdir -p "$stage/usr/lib/testbed" "$stage/usr/local/bin"
	cp "$VM_DIR/guest/init" "$stage/init"
	cp "$VM_DIR/guest/tb.sh" "$VM_DIR/guest/hotplug" "$VM_DIR/guest/agent" "$stage/usr/lib/testbed/"
	chmod 755 "$stage/init" "$stage/usr/lib/testbed/hotplug" "$stage/usr/lib/testbed/agent"
	local names=""
	for pat in "${VM_MANIFEST[@]}"; do
		for f in "$USBGATE_BUILDDIR"/$pat; do
			[[ -f $f && -x $f ]] || continue
			# A libtool wrapper script: take the real program.
			if ! __vm_is_elf "$f" && __vm_is_elf "$(dirname "$f")/.libs/$(basename "$f")"; then
				f=$(dirname "$f")/.libs/$(basename "$f")
			fi
			__vm_is_elf "$f" || continue
			vm_copy_with_libs "$stage" "$f"
			mkdir -p "$stage/usr/local/bin"
			mv "$stage$f" "$stage/usr/local/bin/"
			n=$((n + 1))
			names+=" ${f##*/}"
		done
	done
	rm -rf "${stage:?}${USBGATE_BUILDDIR%%/*}/${USBGATE_BUILDDIR#/}" 2>/dev/null
	# glibc dlopens libgcc_s.so.1 for pthread_cancel (libxenstore's xs_close
	# cancels its watch thread) and aborts without it; ldd does not name it,
	# Debian's libc6 depends on it.
	vm_copy_with_libs "$stage" /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
	vm_build_kmod "$stage" || return 1
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$TESTBED_SESSION/extra.cpio" ||
		return 1
	cat "$kdir/base.cpio" "$TESTBED_SESSION/extra.cpio" >"$TESTBED_SESSION/initrd.cpio"
	rm -rf "$stage"
	vm_log "initramfs: base + $n project programs from $USBGATE_BUILDDIR:$names + usbgate_hcd.ko"
}

# vm_scenario_init NAME: fresh $VM_OUTDIR (logs) and $VM_RUNDIR (sockets).
vm_scenario_init() {
	vm_session_init || return 1
	VM_SCENARIO=$1
	VM_OUTDIR=${VM_OUTBASE:-$VM_DIR/out}/$1
	VM_RUNDIR=$TESTBED_SESSION/$1
	rm -rf "$VM_OUTDIR" "$VM_RUNDIR"
	mkdir -p "$VM_OUTDIR" "$VM_RUNDIR"
	VM_PORTBASE=$((20000 + (RANDOM % 400) * 100))
	echo 0 >"$VM_RUNDIR/ports"
	export VM_SCENARIO VM_OUTDIR VM_RUNDIR VM_PORTBASE
}

# vm_port KEY: a TCP/UDP port number for KEY, the same for every caller of
# this scenario (used to pair the two ends of a link).
vm_port() {
	local f=$VM_RUNDIR/port.$1 n
	(
		flock 9
		if [[ ! -s $f ]]; then
			n=$(($(cat "$VM_RUNDIR/ports") + 1))
			echo "$n" >"$VM_RUNDIR/ports"
			echo $((VM_PORTBASE + n)) >"$f"
		fi
	) 9>"$VM_RUNDIR/ports.lock"
	cat "$f"
}

# ---------------------------------------------------------------------------
# Starting and stopping

# vm_start NAME [options]: boot a guest and wait until its agent answers
# (vm_launch, then vm_wait_up).
#   --mem MB               guest memory (default 768)
#   --link ID:server[:N[:PFX]]  N virtio-serial ports PFX.0..N-1 (default 4,
#                          PFX usbgate; give A a second link to C another PFX)
#   --link ID:client[:N]   joined to the VM that serves link ID; the server's
#                          QEMU listens (wait=off), the client reconnects
#   --link ID:loop[:N]     single-VM loopback: ports usbgate.K joined to ports
#                          usbgate-peer.K of the same guest
#   --vport NAME:server|client:SOCK  one more virtio-serial port NAME on the
#                          host socket $VM_RUNDIR/SOCK.sock
#   --net ID:N             point-to-point network ID (N = 1 or 2); the guest
#                          gets 192.168.77.N; the peer uses ID:3-N
#   --hostfwd HP:GP        user-mode NIC (10.0.2.15) with host
#                          127.0.0.1:$(vm_port HP) forwarded to guest port GP
#   --user-net             user-mode NIC without forwards (reach the host
#                          as 10.0.2.2)
#   --xhci                 a qemu-xhci controller (implied by --usb)
#   --usb DEVSPEC          -device DEVSPEC on the xhci bus (repeatable)
#   --drive SPEC           -drive SPEC (repeatable)
#   --qemu ARG             one more raw QEMU argument (repeatable)
#   --append ARGS          more kernel arguments
#   --initrd-add CPIO      a newc archive unpacked after the run's initramfs
#                          (e.g. packages installed into this guest only)
# Returns 0 when the agent answered, 1 otherwise (the console log tells).
vm_start() {
	vm_launch "$@" && vm_wait_up "$1"
}

# vm_launch NAME [options]: start the guest's QEMU (vm_start's options) and
# its agent relay, without waiting for the boot: guests launched one after
# the other boot at the same time, and vm_wait_up waits for them. Returns
# once the sockets this QEMU serves exist, so the client of a --link (or
# --vport) it serves can be launched next, never before.
vm_launch() {
	local name=$1
	shift
	local d=$VM_RUNDIR/$name mem=768 append="" xhci=0 nics=0 i id role n p pfx
	local initrd=$TESTBED_SESSION/initrd.cpio
	local -a qa=() hostfwd=() socks=()
	local kdir=$VM_CACHE/current
	if [[ -d $d ]]; then
		vm_alive "$name" && { vm_log "vm_launch: $name is running"; return 1; }
		rm -rf "$d" # stopped before: start afresh under the same name
	fi
	mkdir -p "$d"
	while (($#)); do
		case $1 in
		--mem) mem=$2; shift ;;
		--link)
			IFS=: read -r id role n pfx <<<"$2"
			n=${n:-4}
			pfx=${pfx:-usbgate}
			for ((i = 0; i < n; i++)); do
				p=$VM_RUNDIR/link-$id.$i.sock
				case $role in
				server | loop)
					socks+=("$p")
					qa+=(-chardev "socket,id=lnk$id$i,path=$p,server=on,wait=off")
					qa+=(-device "virtserialport,bus=vs0.0,chardev=lnk$id$i,name=$pfx.$i") ;;
				client)
					qa+=(-chardev "socket,id=lnk$id$i,path=$p,reconnect=1")
					qa+=(-device "virtserialport,bus=vs0.0,chardev=lnk$id$i,name=$pfx.$i") ;;
				*) vm_log "vm_launch $name: --link $2: role must be server, client or loop"; return 1 ;;
				esac
				if [[ $role == loop ]]; then
					qa+=(-chardev "socket,id=lnp$id$i,path=$p,reconnect=1")
					qa+=(-device "virtserialport,bus=vs0.0,chardev=lnp$id$i,name=$pfx-peer.$i")
				fi
			done
			shift ;;
		--vport)
			IFS=: read -r id role n <<<"$2"
			if [[ $role == server ]]; then
				socks+=("$VM_RUNDIR/$n.sock")
				qa+=(-chardev "socket,id=vp$id,path=$VM_RUNDIR/$n.sock,server=on,wait=off")
			else
				qa+=(-chardev "socket,id=vp$id,path=$VM_RUNDIR/$n.sock,reconnect=1")
			fi
			qa+=(-device "virtserialport,bus=vs0.0,chardev=vp$id,name=$id")
			shift ;;
		--net)
			IFS=: read -r id n <<<"$2"
			qa+=(-netdev "socket,id=p2p$id,udp=127.0.0.1:$(vm_port "net-$id-$((3 - n))"),localaddr=127.0.0.1:$(vm_port "net-$id-$n")")
			qa+=(-device "virtio-net-pci,netdev=p2p$id,mac=52:54:00:77:00:0$n,romfile=")
			shift ;;
		--hostfwd) hostfwd+=("$2"); shift ;;
		--user-net) hostfwd+=(none) ;;
		--xhci)
			((xhci++)) || qa+=(-device "qemu-xhci,id=xhci") ;;
		--usb)
			((xhci++)) || qa+=(-device "qemu-xhci,id=xhci")
			qa+=(-device "$2")
			shift ;;
		--drive) qa+=(-drive "$2"); shift ;;
		--qemu) qa+=("$2"); shift ;;
		--append) append+=" $2"; shift ;;
		--initrd-add)
			# One more newc archive after the run's initramfs (the
			# kernel unpacks them in turn): files of this VM only.
			cat "$initrd" "$2" >"$d/initrd.cpio" || return 1
			initrd=$d/initrd.cpio
			shift ;;
		*) vm_log "vm_launch $name: unknown option $1"; return 1 ;;
		esac
		shift
	done
	if ((${#hostfwd[@]})); then
		local net="user,id=un0"
		for p in "${hostfwd[@]}"; do
			[[ $p == none ]] && continue
			net+=",hostfwd=tcp:127.0.0.1:$(vm_port "${p%%:*}")-:${p##*:}"
		done
		nics=$((nics + 1))
		qa+=(-netdev "$net" -device "virtio-net-pci,netdev=un0,mac=52:54:00:10:00:01,romfile=")
	fi

	# A virtio-serial device tells the guest of its ports (added, name,
	# host end open) through 32 buffers and drops what does not fit: with
	# max_ports raised past its 31, ports came without their names; with
	# 24 a device, B's ports past the 8th never heard that their host end
	# was open (reads gave end-of-file). So 12 ports a device (the agent's
	# and the ctl port first), more devices for more. The guest's init
	# waits for all tb_vports of them.
	local -a vs=(-device virtio-serial-pci,id=vs0)
	local nvp=2 b
	for ((i = 0; i < ${#qa[@]}; i++)); do
		[[ ${qa[i]} == virtserialport,bus=vs0.0,* ]] || continue
		b=$((nvp / 12))
		nvp=$((nvp + 1))
		((b)) || continue
		((nvp % 12 == 1)) && vs+=(-device "virtio-serial-pci,id=vs$b")
		qa[i]=${qa[i]/bus=vs0.0/bus=vs$b.0}
	done

	mkfifo "$d/req"
	: >"$d/resp.log"
	: >"$VM_OUTDIR/$name.console.log"
	rm -f "${socks[@]}" # a link's sockets from a run of this VM before
	date +%s.%N >"$d/boot.t0"
	qemu-system-x86_64 -name "$name" -accel tcg -M q35 -m "$mem" -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$kdir/vmlinux" -initrd "$initrd" \
		-append "console=ttyS0 loglevel=5 panic=-1 tb_name=$name tb_vports=$nvp$append" \
		-chardev "file,id=con,path=$VM_OUTDIR/$name.console.log" -serial chardev:con \
		-monitor "unix:$d/mon.sock,server=on,wait=off" \
		"${vs[@]}" \
		-chardev "socket,id=agent,path=$d/agent.sock,server=on,wait=off" \
		-device virtserialport,bus=vs0.0,chardev=agent,name=tb.agent \
		-chardev "socket,id=ctl,path=$d/ctl.sock,server=on,wait=off" \
		-device virtserialport,bus=vs0.0,chardev=ctl,name=usbgate.ctl \
		"${qa[@]}" </dev/null >"$VM_OUTDIR/$name.qemu.log" 2>&1 &
	echo $! >"$d/qemu.pid"
	socks+=("$d/agent.sock" "$d/mon.sock" "$d/ctl.sock")
	for ((i = 0; i < 100; i++)); do
		__vm_sockets "${socks[@]}" && break
		vm_alive "$name" || break
		sleep 0.1
	done
	if ! __vm_sockets "${socks[@]}"; then
		vm_log "vm_launch $name: QEMU did not start: $(tail -n 3 "$VM_OUTDIR/$name.qemu.log")"
		return 1
	fi
	# The relay keeps one connection to the agent port for the VM's life:
	# requests go in through the FIFO, answers are appended to resp.log.
	socat -b 65536 STDIO "UNIX-CONNECT:$d/agent.sock" <>"$d/req" >>"$d/resp.log" 2>"$d/relay.err" &
	echo $! >"$d/relay.pid"
	__vm_watch "$name" &
	echo $! >"$d/watch.pid"
	disown -a 2>/dev/null
}

# __vm_sockets PATH...: 0 when every PATH is a socket.
__vm_sockets() {
	local p
	for p; do
		[[ -S $p ]] || return 1
	done
}

# vm_wait_up NAME...: wait until the agent of each launched guest answers
# (VM_BOOT_TIMEOUT seconds in all) and note how long each took to boot
# ($VM_RUNDIR/NAME/boot.secs, "vm NAME up in S s"). Returns 1 at the first
# guest that died or did not answer, with its name in VM_BOOT_FAILED.
vm_wait_up() {
	local name d i deadline=$((SECONDS + VM_BOOT_TIMEOUT))
	local -a left=("$@") still
	VM_BOOT_FAILED=""
	# A PING every 0.5 s (they queue until the agent reads its port), the
	# answers looked for every 0.1 s.
	for ((i = 0; ${#left[@]}; i++)); do
		still=()
		for name in "${left[@]}"; do
			d=$VM_RUNDIR/$name
			if grep -q '^PONG ' "$d/resp.log"; then
				awk -v a="$(cat "$d/boot.t0")" -v b="$(date +%s.%N)" \
					'BEGIN { printf "%.1f\n", b - a }' >"$d/boot.secs"
				vm_log "vm $name up in $(cat "$d/boot.secs") s"
				continue
			fi
			if ! vm_alive "$name"; then
				vm_log "vm_wait_up $name: the VM died during boot"
				VM_BOOT_FAILED=$name
				return 1
			fi
			if ((SECONDS >= deadline)); then
				vm_log "vm_wait_up $name: no agent after ${VM_BOOT_TIMEOUT}s"
				VM_BOOT_FAILED=$name
				return 1
			fi
			((i % 5)) || printf 'PING %s\n' "$i" >"$d/req"
			still+=("$name")
		done
		left=("${still[@]}")
		((${#left[@]})) && sleep 0.1
	done
	return 0
}

# Kill the VM when its console shows an oops; leave a note for the runner.
__vm_watch() {
	local name=$1 d=$VM_RUNDIR/$1 qpid
	qpid=$(cat "$d/qemu.pid")
	while kill -0 "$qpid" 2>/dev/null; do
		if grep -qE "$VM_OOPS_RE" "$VM_OUTDIR/$name.console.log" 2>/dev/null; then
			grep -m1 -E "$VM_OOPS_RE" "$VM_OUTDIR/$name.console.log" >"$d/oops"
			sleep 1 # let the trace reach the console log
			kill "$qpid" 2>/dev/null
			break
		fi
		sleep 0.5
	done
}

# vm_alive NAME: 0 while the QEMU process of NAME runs.
vm_alive() {
	local f=$VM_RUNDIR/$1/qemu.pid
	[[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# vm_oops NAME: print the first oops line seen on NAME's console; 1 if none.
# (A panic can end QEMU before the watcher looks: read the console too.)
vm_oops() {
	if [[ -s $VM_RUNDIR/$1/oops ]]; then
		cat "$VM_RUNDIR/$1/oops"
	else
		grep -m1 -E "$VM_OOPS_RE" "$VM_OUTDIR/$1.console.log" 2>/dev/null
	fi
}

# vm_stop NAME...: kill the guests (no clean shutdown is needed: nothing
# persists) and their helper processes, all at once; SIGKILL for what still
# runs after 3 s.
vm_stop() {
	local n f i
	local -a pids=()
	for n; do
		for f in qemu relay watch; do
			[[ -s $VM_RUNDIR/$n/$f.pid ]] && pids+=("$(cat "$VM_RUNDIR/$n/$f.pid")")
		done
	done
	((${#pids[@]})) || return 0
	kill "${pids[@]}" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "${pids[@]}" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "${pids[@]}" 2>/dev/null
	for n; do
		rm -f "$VM_RUNDIR/$n"/{qemu,relay,watch}.pid
	done
}

# vm_stop_all: stop every guest of the current scenario (and its helper
# processes started with vm_host_bg).
vm_stop_all() {
	local d pid
	local -a names=()
	[[ -n ${VM_RUNDIR:-} && -d $VM_RUNDIR ]] || return 0
	for d in "$VM_RUNDIR"/*/; do
		[[ -e $d/req ]] && names+=("$(basename "$d")")
	done
	vm_stop "${names[@]}"
	while read -r pid; do
		kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null
	done < <(cat "$VM_RUNDIR/hostbg.pids" 2>/dev/null)
	rm -f "$VM_RUNDIR/hostbg.pids"
}

# vm_names: the guests of this scenario that are still running.
vm_names() {
	local d
	for d in "$VM_RUNDIR"/*/; do
		[[ -e $d/req ]] && vm_alive "$(basename "$d")" && basename "$d"
	done
}

# ---------------------------------------------------------------------------
# Running commands

# vm_run [-t SECONDS] NAME 'shell command': run the command in the guest
# (busybox sh, /usr/lib/testbed/tb.sh sourced, cwd /root) and wait for it.
# Calls may overlap: the agent runs requests concurrently.
# Its stdout and stderr come out on ours. Returns its exit status; 124 if
# it ran out of time (default 60 s) in the guest; 125 if the guest died,
# oopsed or the agent did not answer.
vm_run() {
	local tmo=60
	if [[ $1 == -t ]]; then tmo=$2; shift 2; fi
	local name=$1 cmd=$2 d=$VM_RUNDIR/$1 id b64 rc deadline
	if ! vm_alive "$name"; then
		vm_log "vm_run: $name is not running${VM_RUNDIR:+ $(vm_oops "$name")}"
		return 125
	fi
	id=$(date +%s%N)$RANDOM
	b64=$(printf '%s\n' "$cmd" | base64 -w0)
	deadline=$((SECONDS + tmo + 15))
	# Requests from several host processes may overlap (the agent runs
	# them concurrently); the lock only keeps each request line whole.
	{
		if ! flock -w 10 9; then
			vm_log "vm_run $name: could not send the request"
			return 125
		fi
		printf '%s %s $ %s\n' "$(date +%T)" "$name" "$cmd" >>"$VM_OUTDIR/$name.agent.log"
		printf 'RUN %s %s %s\n' "$id" "$tmo" "$b64" >"$d/req"
	} 9>"$d/lock"
	while ! grep -q "^END $id " "$d/resp.log"; do
		if ! vm_alive "$name" || ((SECONDS > deadline)); then
			rc=125
			break
		fi
		sleep 0.05
	done
	if [[ ${rc:-} == 125 ]]; then
		if vm_oops "$name" >/dev/null; then
			vm_log "vm_run $name: kernel oops: $(vm_oops "$name")"
		elif ! vm_alive "$name"; then
			vm_log "vm_run $name: the VM died"
		else
			vm_log "vm_run $name: no answer from the agent within $((tmo + 15)) s"
		fi
		echo "  -> 125 (no answer)" >>"$VM_OUTDIR/$name.agent.log"
		return 125
	fi
	rc=$(awk -v id="$id" -v o="$d/$id.o" -v e="$d/$id.e" '
		$0 == "BEGIN " id { m = 1; next }
		$0 == "ERR " id { m = 2; next }
		$1 == "END" && $2 == id { print $3; exit }
		m == 1 { print > o }
		m == 2 { print > e }' "$d/resp.log")
	if [[ -e $d/$id.o ]]; then base64 -d "$d/$id.o"; fi
	if [[ -e $d/$id.e ]]; then base64 -d "$d/$id.e" | tee -a "$VM_OUTDIR/$name.agent.log" >&2; fi
	rm -f "$d/$id.o" "$d/$id.e"
	echo "  -> $rc" >>"$VM_OUTDIR/$name.agent.log"
	return "$rc"
}

# vm_run_bg NAME 'shell command': start the command in the background in
# the guest (own session; stdout+stderr to a log: tb_bg in tb.sh) and print
# a job id.
vm_run_bg() {
	local name=$1 cmd=$2 job
	job=j$(date +%s%N | tail -c 8)$RANDOM
	printf '%s\n' "$cmd" >"$VM_RUNDIR/$name.$job.cmd"
	vm_run -t 10 "$name" "
cat >/tmp/bg/$job.sh <<'__TB_EOF__'
$cmd
__TB_EOF__
tb_bg $job" >/dev/null || return 1
	echo "$job"
}

# vm_run_bg_each NAME JOB COUNT 'shell command': start COUNT background jobs
# in one request, named JOB0 to JOB<COUNT-1>, each running the command with
# $i set to its number (the vm_bg_* helpers take these names).
vm_run_bg_each() {
	local name=$1 job=$2 n=$3 cmd=$4
	printf '%s\n' "$cmd" >"$VM_RUNDIR/$name.$job.cmd"
	vm_run -t 30 "$name" "
cat >/tmp/bg/$job.each <<'__TB_EOF__'
$cmd
__TB_EOF__
i=0
while [ \$i -lt $n ]; do
	{ echo i=\$i; cat /tmp/bg/$job.each; } >/tmp/bg/$job\$i.sh
	tb_bg $job\$i
	i=\$((i + 1))
done" >/dev/null
}

# vm_bg_pid NAME JOB: the guest pid of the job (also its process group).
vm_bg_pid() { vm_run -t 10 "$1" "cat /tmp/bg/$2.pid"; }

# vm_bg_log NAME JOB: the job's output so far.
vm_bg_log() { vm_run -t 20 "$1" "cat /tmp/bg/$2.log"; }

# vm_bg_running NAME JOB: 0 while the job runs.
vm_bg_running() { vm_run -t 10 "$1" "[ ! -e /tmp/bg/$2.rc ] && kill -0 \$(cat /tmp/bg/$2.pid)"; }

# vm_bg_wait NAME JOB [SECONDS]: wait for the job to end (default 60 s) and
# return its exit status; 124 if it still runs.
vm_bg_wait() {
	local t=${3:-60}
	vm_run -t $((t + 5)) "$1" "wait_for $t test -e /tmp/bg/$2.rc || exit 124; exit \$(cat /tmp/bg/$2.rc)"
}

# vm_bg_kill NAME JOB [SIGNAL]: signal the job's whole process group.
vm_bg_kill() {
	vm_run -t 10 "$1" "kill -${3:-TERM} -- -\$(cat /tmp/bg/$2.pid) 2>/dev/null; true"
}

# vm_copy_out NAME GUEST-PATH HOST-PATH: copy a guest file to the host.
vm_copy_out() {
	local tmp
	tmp=$(mktemp "$VM_RUNDIR/copy.XXXXXX")
	vm_run -t 120 "$1" "base64 '$2'" >"$tmp" || { rm -f "$tmp"; return 1; }
	base64 -d "$tmp" >"$3"
	rm -f "$tmp"
}

# vm_monitor NAME 'HMP command': run a QEMU monitor command, print the reply.
vm_monitor() {
	printf '%s\n' "$2" | socat -t 1 - "UNIX-CONNECT:$VM_RUNDIR/$1/mon.sock" |
		tr -d '\r' | grep -v -e '^QEMU .* monitor' -e '^(qemu)'
}

# vm_host_bg 'command': a host process (own process group) that lives as
# long as the scenario (vm_stop_all kills the group); prints its pid.
vm_host_bg() {
	setsid bash -c "$1" </dev/null >>"$VM_OUTDIR/host-bg.log" 2>&1 &
	echo $! >>"$VM_RUNDIR/hostbg.pids"
	disown $! 2>/dev/null
	echo $!
}

# vm_save_logs: keep each running guest's dmesg under $VM_OUTDIR.
vm_save_logs() {
	local n
	for n in $(vm_names); do
		vm_run -t 5 "$n" dmesg >"$VM_OUTDIR/$n.dmesg" 2>/dev/null
	done
}

# ---------------------------------------------------------------------------
# Assertions for scenarios (call them at the top level of scenario(), not
# inside $(...): they end the scenario's process).

# vm_on_fail FUNCTION: run FUNCTION (no arguments) when the scenario fails,
# before it ends; helper files register what they keep for a post-mortem
# (daemon logs, fixture statistics). Hooks run in the order registered, and
# a failing hook does not stop the others.
VM_FAIL_HOOKS=()
vm_on_fail() {
	VM_FAIL_HOOKS+=("$1")
}

# fail REASON: end the scenario as failed, after the vm_on_fail hooks. The
# first reason is the one reported: inside a hook, fail() only returns 1.
VM_FAILING=0
fail() {
	local hook
	((VM_FAILING)) && return 1
	VM_FAILING=1
	printf '%s\n' "$*" >"$VM_OUTDIR/.reason"
	for hook in "${VM_FAIL_HOOKS[@]}"; do
		"$hook" || true
	done
	exit 1
}

# skip REASON: end the scenario as skipped (never counted as passed).
skip() {
	printf '%s\n' "$*" >"$VM_OUTDIR/.reason"
	exit 77
}

# vm_ok NAME 'command' WHAT: run the command; on failure end the scenario
# with "WHAT: exit N: <last stderr line>". Its stdout (without the last
# newline) is left in $VM_OUT: no $(...) needed, so the failure ends the
# scenario itself.
vm_ok() {
	local err out rc=0
	err=$(mktemp "$VM_RUNDIR/err.XXXXXX")
	out=$(mktemp "$VM_RUNDIR/out.XXXXXX")
	vm_run "${VM_OK_TIMEOUT[@]}" "$1" "$2" >"$out" 2>"$err" || rc=$?
	VM_OUT=$(cat "$out")
	if ((rc)); then
		local why
		why=$(grep -v '^$' "$err" | tail -n 1)
		vm_oops "$1" >/dev/null && why="kernel oops: $(vm_oops "$1")"
		fail "$3: exit $rc${why:+: $why}"
	fi
	rm -f "$err" "$out"
}

# vm_ok_t SECONDS NAME 'command' WHAT: vm_ok with a timeout.
vm_ok_t() {
	local VM_OK_TIMEOUT=(-t "$1")
	shift
	vm_ok "$@"
}
VM_OK_TIMEOUT=()
# shellcheck disable=SC2034 # VM_OUT is the result for the scenario's use.
VM_OUT=""

# vm_start_ok NAME [options]: vm_start or fail.
vm_start_ok() {
	vm_launch_ok "$@"
	vm_up_ok "$1"
}

# vm_launch_ok NAME [options]: vm_launch or fail.
vm_launch_ok() {
	vm_launch "$@" || fail "VM $1 did not start: $(tail -n 1 "$VM_OUTDIR/$1.qemu.log" 2>/dev/null)"
}

# vm_up_ok NAME...: vm_wait_up or fail, naming the guest that did not boot.
# Typical use, two guests booting at the same time (the server of a link
# launched first):
#	vm_launch_ok A --link ab:server
#	vm_launch_ok B --link ab:client
#	vm_up_ok A B
vm_up_ok() {
	local c
	vm_wait_up "$@" && return 0
	c=$VM_OUTDIR/$VM_BOOT_FAILED.console.log
	fail "VM $VM_BOOT_FAILED did not boot: $(grep -m1 -E "$VM_OOPS_RE|Kernel panic" "$c" 2>/dev/null || tail -n1 "$c")"
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	[[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
}
