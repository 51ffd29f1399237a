# tests/vm/soak.sh: the control plane's endurance loop, shared by
# tests/vm/soak (hundreds of cycles, figures) and the scenario
# ctl-soak-short (CI: a short run that fails on growth). Owns one cycle
# (attach through the usbgate CLI, a small read checked in B, detach, or a
# kill -9 injected while attached, then the wait until all is idle again),
# the kill rotation, the samples (descriptor count, fd kinds and VmRSS of
# usbgated and both VM daemons, user processes in A and B, vhci ports in
# use in B), their table and summary, and the growth check.
# Topology as in usbgate-ctl.sh: the host is dom0 (usbgated), A is sys-usb
# (usbgate-backend daemon, a storage gadget with random data), B the AppVM
# (usbgate-frontend daemon). Sourced after lib.sh and usbgate-ctl.sh.
# shellcheck shell=bash

# Growth limits. Samples are taken at one point of a cycle (after its detach
# or recovery, everything idle) and compared per process lifetime (a killed
# daemon is a new process), skipping the first SOAK_WARMUP cycles of each
# lifetime; "grown" is the smaller of the last two samples minus the smaller
# of the first two (one sample caught mid-rescan does not count, a leak of
# one per cycle does).
SOAK_FD_SLACK=${SOAK_FD_SLACK:-2}	# descriptors
SOAK_RSS_PCT=${SOAK_RSS_PCT:-10}	# percent of VmRSS
SOAK_PROC_SLACK=${SOAK_PROC_SLACK:-2}	# user processes in A and in B
SOAK_WARMUP=${SOAK_WARMUP:-4}		# cycles
# The kill rotation: one kill -9 every --kill-every cycles, in this order,
# while the device is attached and has just been read in B.
SOAK_KILLS=(backend frontend backend-session frontend-session usbgated)
SOAK_KB=32	# KiB read (O_DIRECT) and checked in B each cycle

# Guest shell functions, prefixed to the commands: the children of a
# process, the daemon of a job (the direct child of its wrapper shell, as
# ctl_signal finds it), the processes running a program (by comm, 15
# characters), the user processes (not kernel threads: parent kthreadd),
# and one process's figures "PID FDS RSS-KIB KINDS".
# shellcheck disable=SC2016 # expanded in the guest
SOAK_G='__kids() { for p in /proc/[0-9]*; do read -r _a _b _c _pp _r 2>/dev/null <$p/stat && [ "$_pp" = "$1" ] && echo ${p#/proc/}; done; true; }
__dmn() { __kids "$(cat /tmp/bg/$1.pid)"; }
__comm() { for p in /proc/[0-9]*; do read -r _c 2>/dev/null <$p/comm && [ "$_c" = "$1" ] && echo ${p#/proc/}; done; true; }
__nprocs() { _n=0; for p in /proc/[0-9]*; do read -r _a _b _c _pp _r 2>/dev/null <$p/stat && [ "$_a" != 2 ] && [ "$_pp" != 2 ] && _n=$((_n + 1)); done; echo $_n; }
__fig() {
	[ -n "$1" ] && [ -d /proc/$1 ] || { echo "- - - -"; return; }
	echo "$1 $(for f in /proc/$1/fd/*; do readlink $f; done 2>/dev/null | sed -e "s/^socket:.*/socket/" -e "s/^pipe:.*/pipe/" -e "s/^anon_inode:\[*\([^]]*\)\]*$/\1/" |
		sort | uniq -c | awk "{ n += \$1; k = k (k == \"\" ? \"\" : \",\") \$2 \"=\" \$1 } END { printf \"%d \", n; print k }" | {
		read -r n k; echo "$n $(awk "/^VmRSS/ { print \$2 }" /proc/$1/status) $k"; })"
}
'

# soak_fig_host PID: the same figures for a host process.
soak_fig_host() {
	local n=0 k kinds="" f l
	declare -A cnt=()
	if [[ ! -d /proc/$1 ]]; then
		echo "- - - -"
		return
	fi
	for f in /proc/"$1"/fd/*; do
		l=$(readlink "$f") || continue
		case $l in
		socket:*) l=socket ;;
		pipe:*) l=pipe ;;
		anon_inode:*) l=${l#anon_inode:}; l=${l#[}; l=${l%]} ;;
		esac
		cnt[$l]=$((${cnt[$l]:-0} + 1))
		n=$((n + 1))
	done
	for k in $(printf '%s\n' "${!cnt[@]}" | sort); do
		kinds+=${kinds:+,}$k=${cnt[$k]}
	done
	echo "$1 $n $(awk '/^VmRSS/ { print $2 }' "/proc/$1/status") $kinds"
}

slog() { printf 'soak: %s\n' "$*" >&2; }

# soak_ms: milliseconds since the epoch.
soak_ms() { echo $(($(date +%s%N) / 1000000)); }

# soak_setup: boot A and B, start dom0 and both daemons, plug the storage
# gadget; sets SOAK_BUSID and SOAK_SUM (sha256 of the first SOAK_KB KiB).
soak_setup() {
	ctl_boot
	# follow-window 0: after a kill the end state is always the same (the
	# device listed, no session). With a window, whether usbgated follows
	# the device back to B races the restarted daemon's re-publication
	# against the window, which made the soak fail by chance; following is
	# proven by ctl-assign and flagship-wallet-assigned.
	ctl_dom0 'allow id 1209:0001 to B
deny' 'follow-window 0'
	ctl_backend
	ctl_frontend B
	ctl_wait 60 "sys-usb connected to dom0" ctl_connected sys-usb
	ctl_wait 60 "B connected to dom0" ctl_connected B
	vm_ok A 'gadget_storage 0 8 random' "creating the storage gadget"
	SOAK_BUSID=$VM_OUT
	vm_ok A "gdd if=/run/gadget0.img bs=1k count=$SOAK_KB status=none | sha256sum | cut -c1-64" "checksum of the gadget's data"
	SOAK_SUM=$VM_OUT
	ctl_wait 30 "storage gadget listed" ctl_listed "^sys-usb:$SOAK_BUSID "
	SOAK_T0=$(soak_ms)
	SOAK_CYCLE=0
	SOAK_KILLED=0
	SOAK_LAST_KILL=none
	SOAK_SAMPLES=()
	SOAK_DUR=()
	SOAK_REC=()
	SOAK_FOLLOWED=()
	declare -gA SOAK_BORN=([g:$CTL_GATED_PID]=0)
	soak_born b A "$CTL_BJOB"
	soak_born f B "$CTL_FJOB_B"
	: >"$VM_OUTDIR/soak.fds"
	printf 'cycle\tseconds\tkills\tgated_pid\tgated_fds\tgated_rss_kib\tbackend_pid\tbackend_fds\tbackend_rss_kib\tfrontend_pid\tfrontend_fds\tfrontend_rss_kib\tprocs_a\tprocs_b\tvhci_b\n' \
		>"$VM_OUTDIR/soak.tsv"
}

# soak_born ROLE VM JOB: note the cycle the daemon of JOB started in.
soak_born() {
	local pid
	pid=$(vm_run -t 20 "$2" "$SOAK_G"$'\n'"__dmn $3") || fail "finding the daemon of job $3 in $2"
	SOAK_BORN[$1:$pid]=$SOAK_CYCLE
}

# soak_where: the cycle and the last kill, for failure messages.
soak_where() {
	echo "cycle $SOAK_CYCLE, after $SOAK_KILLED kill(s), last: $SOAK_LAST_KILL"
}

# soak_wait_idle SECONDS: wait until dom0 lists the device and has no
# session left, the device is back in A on usb-storage, B has no vhci port
# in use, both daemons are connected to dom0 and have no session child, and
# no other usbgate process is left in either VM.
soak_wait_idle() {
	local t=$1
	ctl_wait "$t" "sys-usb connected to dom0 ($(soak_where))" ctl_connected sys-usb
	ctl_wait "$t" "B connected to dom0 ($(soak_where))" ctl_connected B
	ctl_wait "$t" "device listed, no session in dom0 ($(soak_where))" eval \
		"ctl_listed '^sys-usb:$SOAK_BUSID ' && ! ctl_ug status | grep -q '^session'"
	vm_ok_t $((t + 10)) A "$SOAK_G
__idle() {
	d=\$(__dmn $CTL_BJOB)
	[ -n \"\$d\" ] && [ -z \"\$(__kids \$d)\" ] && [ \"\$(__comm usbgate-backend)\" = \"\$d\" ] &&
		[ \"\$(basename \"\$(readlink /sys/bus/usb/devices/$SOAK_BUSID:1.0/driver)\")\" = usb-storage ]
}
wait_for $t __idle && exit 0
for p in \$(__comm usbgate-backend); do echo \"\$p: \$(tr '\\0' ' ' </proc/\$p/cmdline) parent \$(cut -d' ' -f4 /proc/\$p/stat)\"; done >&2
echo \"driver: \$(readlink /sys/bus/usb/devices/$SOAK_BUSID:1.0/driver)\" >&2
exit 1" "A not idle within $t s ($(soak_where))"
	vm_ok_t $((t + 10)) B "$SOAK_G
__idle() {
	d=\$(__dmn $CTL_FJOB_B)
	[ -n \"\$d\" ] && [ -z \"\$(__kids \$d)\" ] && [ \"\$(__comm usbgate-fronten)\" = \"\$d\" ] &&
		vhci_idle
}
wait_for $t __idle && exit 0
for p in \$(__comm usbgate-fronten); do echo \"\$p: \$(tr '\\0' ' ' </proc/\$p/cmdline) parent \$(cut -d' ' -f4 /proc/\$p/stat)\"; done >&2
usbgate-frontend list >&2
exit 1" "B not idle within $t s ($(soak_where))"
}

# soak_settle SECONDS: after a kill, wait until dom0 has no session left
# or has attached the device to B again: when the device comes back within
# usbgated's follow-window (a restarted backend publishes it again, a reset
# re-enumerates it) usbgated follows it to B; then detach it.
soak_settle() {
	ctl_wait "$1" "no session, or attached again, in dom0 ($(soak_where))" eval \
		"! ctl_ug status | grep -q '^session' || ctl_attached '$SOAK_BUSID' B"
	ctl_attached "$SOAK_BUSID" B || return 0
	SOAK_FOLLOWED+=("$SOAK_LAST_KILL")
	ctl_ok "detach after the device followed to B ($(soak_where))" detach B "sys-usb:$SOAK_BUSID"
}

# soak_kill KIND: kill -9 one process of the rotation, restart a daemon
# that died; sets SOAK_LAST_KILL.
soak_kill() {
	local what=$1 vm job pids
	SOAK_KILLED=$((SOAK_KILLED + 1))
	case $what in
	usbgated)
		SOAK_LAST_KILL="usbgated pid $CTL_GATED_PID at cycle $SOAK_CYCLE"
		kill -9 "$CTL_GATED_PID" || fail "kill -9 usbgated ($(soak_where))"
		ctl_wait 10 "usbgated gone after kill -9" eval "! ctl_gated_alive"
		ctl_gated_start
		SOAK_BORN[g:$CTL_GATED_PID]=$SOAK_CYCLE
		return ;;
	backend | backend-session) vm=A job=$CTL_BJOB ;;
	frontend | frontend-session) vm=B job=$CTL_FJOB_B ;;
	esac
	case $what in
	*-session) pids=$(vm_run -t 20 $vm "$SOAK_G"$'\n'"__kids \$(__dmn $job)") ;;
	*) pids=$(vm_run -t 20 $vm "$SOAK_G"$'\n'"__dmn $job") ;;
	esac
	pids=${pids//$'\n'/ }
	[[ -n $pids ]] || fail "no $what process to kill in $vm ($(soak_where))"
	SOAK_LAST_KILL="$what pid $pids in $vm at cycle $SOAK_CYCLE"
	vm_ok $vm "kill -9 $pids" "kill -9 of the $what ($(soak_where))"
	case $what in
	backend)
		vm_bg_wait A "$job" 20 >/dev/null
		(($? == 137)) || fail "the backend daemon did not end by SIGKILL ($(soak_where))"
		ctl_backend
		soak_born b A "$CTL_BJOB" ;;
	frontend)
		vm_bg_wait B "$job" 20 >/dev/null
		(($? == 137)) || fail "the frontend daemon did not end by SIGKILL ($(soak_where))"
		ctl_frontend B
		soak_born f B "$CTL_FJOB_B" ;;
	esac
}

# soak_cycle [KILL]: one cycle: attach, check the data in B, then detach,
# or the kill -9 of KILL (see SOAK_KILLS); wait until all is idle. Durations
# (ms) appended to SOAK_DUR ("attach check end").
soak_cycle() {
	local t0 t1 t2 t3
	SOAK_CYCLE=$((SOAK_CYCLE + 1))
	t0=$(soak_ms)
	ctl_ok "attach ($(soak_where))" attach B "sys-usb:$SOAK_BUSID"
	t1=$(soak_ms)
	vm_ok_t 60 B "d=\$(usb_node 1209:0001 block 40) && gdd if=\$d bs=1k count=$SOAK_KB iflag=direct status=none | sha256sum | cut -c1-64" \
		"reading the disk in B ($(soak_where))"
	[[ $VM_OUT == "$SOAK_SUM" ]] || fail "data read in B differs: $VM_OUT, expected $SOAK_SUM ($(soak_where))"
	t2=$(soak_ms)
	if [[ -n ${1:-} ]]; then
		soak_kill "$1"
		soak_settle 90
		soak_wait_idle 90
		t3=$(soak_ms)
		SOAK_REC+=("$1 $((t3 - t2))")
	else
		ctl_ok "detach ($(soak_where))" detach B "sys-usb:$SOAK_BUSID"
		soak_wait_idle 60
		t3=$(soak_ms)
	fi
	SOAK_DUR+=("$((t1 - t0)) $((t2 - t1)) $((t3 - t2))")
	ctl_gated_alive || fail "usbgated died ($(soak_where))"
}

# soak_sample: one sample (all idle); appended to SOAK_SAMPLES, the TSV and
# the fd kinds to soak.fds; prints the table row.
soak_sample() {
	local a b g secs row
	g=$(soak_fig_host "$CTL_GATED_PID")
	a=$(vm_run -t 30 A "$SOAK_G"$'\n'"__fig \$(__dmn $CTL_BJOB); __nprocs") ||
		fail "sampling A ($(soak_where))"
	b=$(vm_run -t 30 B "$SOAK_G"$'\n'"__fig \$(__dmn $CTL_FJOB_B); __nprocs; { usbgate-frontend list | grep -c ^port || true; }") ||
		fail "sampling B ($(soak_where))"
	local -a ga ba bb
	read -r -a ga <<<"$g"
	read -r -a ba <<<"$(sed -n 1p <<<"$a")"
	read -r -a bb <<<"$(sed -n 1p <<<"$b")"
	secs=$((($(soak_ms) - SOAK_T0) / 1000))
	row="$SOAK_CYCLE $secs $SOAK_KILLED ${ga[*]:0:3} ${ba[*]:0:3} ${bb[*]:0:3} $(sed -n 2p <<<"$a") $(sed -n 2p <<<"$b") $(sed -n 3p <<<"$b")"
	SOAK_SAMPLES+=("$row")
	tr ' ' '\t' <<<"$row" >>"$VM_OUTDIR/soak.tsv"
	printf 'cycle %s usbgated %s | backend %s | frontend %s\n' "$SOAK_CYCLE" "$g" "$(sed -n 1p <<<"$a")" \
		"$(sed -n 1p <<<"$b")" >>"$VM_OUTDIR/soak.fds"
	((${#SOAK_SAMPLES[@]} % 20 == 1)) && soak_row_head
	# shellcheck disable=SC2086 # a row is words
	soak_row $row
}

soak_row_head() {
	printf '%6s %6s %5s | %-22s | %-22s | %-22s | %6s %6s %4s\n' cycle secs kills \
		"usbgated pid fds rss" "backend pid fds rss" "frontend pid fds rss" "procA" "procB" vhci
}

# soak_row CYCLE SECS KILLS GPID GFDS GRSS BPID BFDS BRSS FPID FFDS FRSS PA PB VB
soak_row() {
	printf '%6s %6s %5s | %7s %4s %7s KiB | %7s %4s %7s KiB | %7s %4s %7s KiB | %6s %6s %4s\n' "$@"
}

# soak_run CYCLES KILL-EVERY SAMPLE-EVERY: the loop (0: no kills). A sample
# after the cycles' end too.
soak_run() {
	local n=$1 k=$2 m=$3 c kill
	slog "$n cycles, a kill -9 every $k cycles (${SOAK_KILLS[*]}), a sample every $m cycles"
	soak_sample
	for ((c = 1; c <= n; c++)); do
		kill=""
		if ((k > 0 && c % k == 0)); then
			kill=${SOAK_KILLS[$(((c / k - 1) % ${#SOAK_KILLS[@]}))]}
		fi
		soak_cycle "$kill"
		if ((c % m == 0 || c == n)); then
			soak_sample
		fi
	done
	SOAK_SECS=$((($(soak_ms) - SOAK_T0) / 1000))
}

# __soak_lives COL-PID COL-VALUE ROLE: for each lifetime (samples with one
# pid, column numbers from 0 in a sample row), one line "PID N BASE TAIL
# MAX": N samples after the warm-up, BASE the smaller of the first two,
# TAIL the smaller of the last two, MAX the largest of the lifetime. ROLE
# "-" for the VM-wide columns (one lifetime from cycle 0).
__soak_lives() {
	local s pid born
	local -a f
	for s in "${SOAK_SAMPLES[@]}"; do
		read -r -a f <<<"$s"
		if [[ $3 == - ]]; then
			pid=vm born=0
		else
			pid=${f[$1]} born=${SOAK_BORN[$3:$pid]:-0}
		fi
		[[ $pid == - ]] && continue
		echo "$pid ${f[0]} $born ${f[$2]}"
	done | awk -v w="$SOAK_WARMUP" '
		!($1 in seen) { seen[$1] = 1; order[++np] = $1 }
		{ if ($4 > mx[$1] || !($1 in mx)) mx[$1] = $4 }
		$2 >= $3 + w { v[$1, ++n[$1]] = $4 }
		END {
			for (i = 1; i <= np; i++) {
				p = order[i]; c = n[p] + 0
				if (c < 2) { print p, c, "-", "-", mx[p]; continue }
				b = v[p, 1] < v[p, 2] ? v[p, 1] : v[p, 2]
				t = v[p, c - 1] < v[p, c] ? v[p, c - 1] : v[p, c]
				print p, c, b, t, mx[p]
			}
		}'
}

# soak_summary: first, last and max per figure, the largest growth within
# a lifetime, kills, durations.
soak_summary() {
	local -a first last f lf
	local spec name cp cv role l g s worst lives checked
	((${#SOAK_SAMPLES[@]})) || { echo "no samples"; return; }
	read -r -a first <<<"${SOAK_SAMPLES[0]}"
	read -r -a last <<<"${SOAK_SAMPLES[-1]}"
	echo "summary: $SOAK_CYCLE cycles, $SOAK_KILLED kills, ${SOAK_SECS:-$((($(soak_ms) - SOAK_T0) / 1000))} s, ${#SOAK_SAMPLES[@]} samples (warm-up $SOAK_WARMUP cycles per lifetime)"
	printf '%-16s %8s %8s %8s %6s %11s  %s\n' figure first last max lives "max growth" "(within one process lifetime, after warm-up)"
	for spec in "usbgated-fds 3 4 g" "usbgated-rss 3 5 g" "backend-fds 6 7 b" "backend-rss 6 8 b" \
		"frontend-fds 9 10 f" "frontend-rss 9 11 f" "procs-A 0 12 -" "procs-B 0 13 -" "vhci-B 0 14 -"; do
		read -r name cp cv role <<<"$spec"
		worst="" lives=0 checked=0
		while read -r l; do
			read -r -a lf <<<"$l"
			lives=$((lives + 1))
			[[ ${lf[2]} == - ]] && continue
			checked=$((checked + 1))
			if [[ $name == *-rss ]]; then
				g=$(awk -v b="${lf[2]}" -v t="${lf[3]}" 'BEGIN { printf "%+.1f%%", (t - b) * 100 / b }')
			else
				g=$(printf '%+d' $((lf[3] - lf[2])))
			fi
			if [[ -z $worst ]] || awk -v a="${g%\%}" -v b="${worst%\%}" 'BEGIN { exit !(a > b) }'; then
				worst=$g
			fi
		done < <(__soak_lives "$cp" "$cv" "$role")
		printf '%-16s %8s %8s %8s %6s %11s\n' "$name" "${first[$cv]}" "${last[$cv]}" \
			"$(for s in "${SOAK_SAMPLES[@]}"; do read -r -a f <<<"$s"; echo "${f[$cv]}"; done | sort -n | tail -n1)" \
			"$checked/$lives" "${worst:--}"
	done
	echo "(rss in KiB; lives: lifetimes with at least 2 samples after the warm-up / all)"
	printf '%s\n' "${SOAK_DUR[@]}" | awk '
		{ a[NR] = $1; c[NR] = $2; e[NR] = $3 }
		function med(x, n,   i, j, t, s) { for (i = 1; i <= n; i++) s[i] = x[i]; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }; return s[int((n + 1) / 2)] }
		function max(x, n,   i, m) { m = x[1]; for (i = 2; i <= n; i++) if (x[i] > m) m = x[i]; return m }
		END { if (NR) printf "cycle phases (ms, median/max): attach %d/%d, read in B %d/%d, detach or kill+recovery %d/%d\n", med(a, NR), max(a, NR), med(c, NR), max(c, NR), med(e, NR), max(e, NR) }'
	((${#SOAK_REC[@]})) && printf '%s\n' "${SOAK_REC[@]}" | awk '
		{ n[$1]++; s[$1] += $2; if ($2 > m[$1]) m[$1] = $2 }
		END { printf "kills (count, recovery ms mean/max):"; for (k in n) printf " %s %d, %d/%d;", k, n[k], s[k] / n[k], m[k]; printf "\n" }'
	((${#SOAK_FOLLOWED[@]})) && printf 'followed to B again by usbgated (then detached): %s\n' "${SOAK_FOLLOWED[@]}"
	return 0
}

# soak_check: fail on growth within a lifetime beyond the limits, or on a
# vhci port left in use in an idle sample.
soak_check() {
	local spec name cp cv role l why=""
	local -a lf
	for spec in "usbgated-fds 3 4 g" "usbgated-rss 3 5 g" "backend-fds 6 7 b" "backend-rss 6 8 b" \
		"frontend-fds 9 10 f" "frontend-rss 9 11 f" "procs-A 0 12 -" "procs-B 0 13 -"; do
		read -r name cp cv role <<<"$spec"
		while read -r l; do
			read -r -a lf <<<"$l"
			[[ ${lf[2]} == - ]] && continue
			case $name in
			*-fds) ((lf[3] - lf[2] > SOAK_FD_SLACK)) &&
				why+="$name of pid ${lf[0]} grew from ${lf[2]} to ${lf[3]} (slack $SOAK_FD_SLACK); " ;;
			*-rss) ((lf[3] * 100 > lf[2] * (100 + SOAK_RSS_PCT))) &&
				why+="$name of pid ${lf[0]} grew from ${lf[2]} to ${lf[3]} KiB (limit +$SOAK_RSS_PCT%); " ;;
			procs-*) ((lf[3] - lf[2] > SOAK_PROC_SLACK)) &&
				why+="$name grew from ${lf[2]} to ${lf[3]} (slack $SOAK_PROC_SLACK); " ;;
			esac
		done < <(__soak_lives "$cp" "$cv" "$role")
	done
	for l in "${SOAK_SAMPLES[@]}"; do
		read -r -a lf <<<"$l"
		((lf[14] == 0)) || why+="cycle ${lf[0]}: ${lf[14]} vhci port(s) in use in B while idle; "
	done
	[[ -z $why ]] || fail "growth: ${why%; } (fd kinds per sample in soak.fds)"
}
