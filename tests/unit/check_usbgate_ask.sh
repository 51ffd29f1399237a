#!/bin/sh
# tests/unit/check_usbgate_ask.sh: tools/usbgate-ask shows device strings
# (which come from a hostile sys-usb) as plain text: kdialog gets them with
# every markup character escaped inside a rich-text envelope of our own,
# zenity gets --no-markup; the answer is the dialog's. The dialogs are fakes
# on PATH that record their arguments (one file each) and answer from a file.
set -u
ask=${srcdir:-.}/tools/usbgate-ask
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# PATH holds the fakes and the few tools usbgate-ask may use (no real
# dialog can be picked).
mkdir -p "$dir/bin"
for t in sed; do
	ln -s "$(command -v $t)" "$dir/bin/$t" || exit 99
done

# fake NAME: a dialog that records argument N in $dir/args/N (builtins
# only).
fake() {
	rm -f "$dir/bin/kdialog" "$dir/bin/zenity"
	mkdir -p "$dir/bin"
	cat >"$dir/bin/$1" <<-FAKE
		#!/bin/sh
		i=0
		for a in "\$@"; do
			i=\$((i + 1))
			printf '%s' "\$a" >"$dir/args/\$i"
		done
		read answer <"$dir/answer"
		exit \$answer
	FAKE
	chmod 755 "$dir/bin/$1"
}

# arg_after WORD: the argument that follows WORD; arg_is WORD: 0 if given.
arg_after() {
	i=1
	while [ -e "$dir/args/$i" ]; do
		if [ "$(cat "$dir/args/$i")" = "$1" ]; then
			cat "$dir/args/$((i + 1))" 2>/dev/null
			return
		fi
		i=$((i + 1))
	done
}
arg_is() {
	grep -qxF -- "$1" "$dir"/args/* 2>/dev/null
}

# ask ANSWER: run usbgate-ask with a hostile description; its exit status.
ask() {
	echo "$1" >"$dir/answer"
	rm -rf "$dir/args"
	mkdir "$dir/args"
	env -i PATH="$dir/bin" DISPLAY=:0 USBGATE_VM=work \
	    USBGATE_DEVICE='sys-usb:1-1' \
	    USBGATE_DESCRIPTION='<b>Keyboard</b> <a href="http://x/">ok</a> <img src="/etc/passwd"> & &amp;' \
	    USBGATE_RULE='/etc/usbgate/rules.d/50.rules:3 <i>ask</i>' \
	    /bin/sh "$ask"
}

# kdialog: the text argument (after --yesno) is our envelope around
# escaped text: no tag of the device's survives, every & is an entity.
fake kdialog
ask 0 || fail "kdialog answered yes, usbgate-ask said no"
text=$(arg_after --yesno)
[ -n "$text" ] || fail "kdialog got no --yesno text"
case $text in
"<qt>"*"</qt>") ;;
*) fail "kdialog text is not wrapped as rich text of ours: $text" ;;
esac
inner=$(printf '%s' "$text" | sed 's|^<qt>||; s|</qt>$||; s|<br>|\n|g')
case $inner in
*"<"* | *">"*) fail "a tag reaches kdialog: $inner" ;;
esac
if printf '%s' "$inner" | sed 's/&\(amp\|lt\|gt\|quot\);//g' | grep -q '&'; then
	fail "a bare & reaches kdialog: $inner"
fi
printf '%s' "$inner" | grep -qF '&lt;b&gt;Keyboard&lt;/b&gt;' ||
	fail "the description is not shown escaped: $inner"
printf '%s' "$inner" | grep -qF '&amp;amp;' ||
	fail "an entity in the description is interpreted: $inner"
ask 1 && fail "kdialog answered no, usbgate-ask said yes"

# zenity: markup off, the text as it is.
fake zenity
ask 0 || fail "zenity answered yes, usbgate-ask said no"
arg_is --no-markup || fail "zenity without --no-markup"
grep -qF -- '--text=Attach USB device sys-usb:1-1 (<b>Keyboard</b>' "$dir"/args/* ||
	fail "zenity does not get the text as it is"
ask 1 && fail "zenity answered no, usbgate-ask said yes"

# No dialog: no.
rm -f "$dir/bin/zenity"
ask 0 2>/dev/null && fail "no dialog, yet usbgate-ask said yes"

[ $fails -eq 0 ] && echo "PASS: usbgate-ask passes device strings as plain text"
exit $((fails != 0))
