#!/bin/bash
# install_check.sh: proves that "make install" gives a system that starts:
# into a scratch DESTDIR, then every unit's ExecStart names an installed
# executable, systemd-analyze verify accepts the units and rates their
# exposure (security --offline) at most 4.0, dom0's configuration and
# default rules are there and "usbgated -n" accepts them, the VM daemons'
# /etc/default files give them a control channel they accept, every program
# answers --version, the man pages pass mandoc -Tlint, qvm-usb is left alone without --enable-qvm-usb-alias,
# and a second install keeps the admin's changed files.
# make check runs it with the configured directories in its environment.
set -u
: "${abs_top_builddir:?}" "${bindir:?}" "${sbindir:?}" "${sysconfdir:?}" "${mandir:?}" \
	"${systemdsystemunitdir:?}" "${udevdir:?}" "${modulesloaddir:?}"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

${MAKE:-make} -s -C "$abs_top_builddir" install DESTDIR="$root/dest" \
	>"$root/install.log" 2>&1 || { cat "$root/install.log"; bad "make install"; exit 1; }
d=$root/dest
units=("$d$systemdsystemunitdir"/*.service)
[[ ${#units[@]} == 4 && -f ${units[0]} ]] || bad "4 units in $systemdsystemunitdir: ${units[*]}"

# The units as they would run from $d: each Exec line's program exists.
mkdir "$root/units"
for u in "${units[@]}"; do
	n=$(basename "$u")
	while read -r exe; do
		exe=${exe#[-@+!:]}
		case $exe in
		"$bindir"/* | "$sbindir"/*) [[ -x $d$exe ]] || bad "$n starts $exe, not installed" ;;
		/*) [[ -x $exe ]] || bad "$n starts $exe, not on this system" ;;
		*) bad "$n: Exec of a relative path $exe" ;;
		esac
	done < <(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$u")
	sed -e "s|=$bindir/|=$d$bindir/|" -e "s|=$sbindir/|=$d$sbindir/|" "$u" >"$root/units/$n"
done
if out=$(systemd-analyze verify --man=no "$root"/units/*.service 2>&1) && [[ -z $out ]]; then
	ok "systemd-analyze verify: ${#units[@]} units"
else
	bad "systemd-analyze verify: $out"
fi
for u in "$root"/units/*.service; do
	e=$(systemd-analyze security --offline=yes "$u" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [[ -n $e ]] && awk -v e="$e" 'BEGIN { exit !(e <= 4.0) }'; then
		ok "$(basename "$u"): exposure $e"
	else
		bad "$(basename "$u"): exposure '${e:-none}' above 4.0"
	fi
done

conf=$d$sysconfdir/usbgate/usbgated.conf
rules=$d$sysconfdir/usbgate/rules.d/90-default.rules
[[ -f $conf ]] || bad "no $sysconfdir/usbgate/usbgated.conf"
[[ -f $rules ]] || bad "no $sysconfdir/usbgate/rules.d/90-default.rules"
for f in 80-usbgate.rules 80-usbgate-frontend.rules; do
	[[ -f $d$udevdir/rules.d/$f ]] || bad "no $f in $udevdir/rules.d"
done
grep -qx 'vhci-hcd' "$d$modulesloaddir/usbgate-frontend.conf" 2>/dev/null ||
	bad "no vhci-hcd in $modulesloaddir/usbgate-frontend.conf"
# The VM daemons' defaults: sourced as systemd's EnvironmentFile would be,
# the unit's arguments are a command line the daemon accepts.
for r in backend frontend; do
	f=$d$sysconfdir/default/usbgate-$r
	[[ -f $f ]] || { bad "no $sysconfdir/default/usbgate-$r"; continue; }
	grep -q "^EnvironmentFile=-$sysconfdir/default/usbgate-$r\$" \
		"$d$systemdsystemunitdir/usbgate-$r.service" ||
		bad "usbgate-$r.service does not read $sysconfdir/default/usbgate-$r"
	v=USBGATE_${r^^}_ARGS
	# shellcheck disable=SC1090
	args=$(. "$f" && echo "${!v:-}")
	[[ $args == *--control* ]] || bad "$f: no --control in $v ('$args')"
	# --check: parse the arguments and exit (no channel is opened).
	out=$("$d$sbindir/usbgate-$r" daemon $args --check 2>&1) ||
		bad "usbgate-$r daemon $args refused: $out"
done
# The installed configuration, its rules-dir seen from $d.
grep -q "^rules-dir $sysconfdir/usbgate/rules.d\$" "$conf" || bad "rules-dir in $conf"
sed "s|^rules-dir |rules-dir $d|" "$conf" >"$root/usbgated.conf"
if out=$("$d$sbindir/usbgated" -n -f "$root/usbgated.conf" 2>&1) &&
    [[ $out == *"configuration OK: 0 backend/VM channel(s), 0 data channel(s), 1 rule(s)"* ]]; then
	ok "usbgated -n: $out"
else
	bad "usbgated -n on the installed configuration: $out"
fi
for p in "$sbindir/usbgated" "$sbindir/usbgate-backend" "$sbindir/usbgate-frontend" "$bindir/usbgate"; do
	v=$("$d$p" --version 2>&1)
	[[ $v == "$(basename "$p") "[0-9]* ]] || bad "$p --version: $v"
done
# The installed man pages: no mandoc warning (style notes aside).
for m in "$d$mandir"/man[58]/*.[58]; do
	[[ -f $m ]] || continue
	mans=$((${mans:-0} + 1))
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1) || bad "mandoc -Tlint $(basename "$m"): $out"
done
[[ ${mans:-0} -ge 5 ]] || bad "${mans:-0} man pages installed, want 5"
[[ -e $d$bindir/qvm-usb || -L $d$bindir/qvm-usb ]] && [[ ${QVM_USB_ALIAS:-no} != yes ]] &&
	bad "qvm-usb installed without --enable-qvm-usb-alias"

# A second install keeps what the admin changed.
echo "# the admin was here" >>"$conf"
${MAKE:-make} -s -C "$abs_top_builddir" install DESTDIR="$d" >"$root/install2.log" 2>&1 ||
	bad "second make install"
tail -1 "$conf" | grep -q 'the admin was here' || bad "a second install replaced usbgated.conf"

[[ $fails == 0 ]] || { echo "$fails failure(s)"; exit 1; }
echo "install check: all passed"
