#!/bin/sh
# tests/qubes-dom0/run.sh (make check): the unit tests of usbgate's qubesd
# extension, under Python's unittest, against the qubesd double in
# tests/qubes-dom0/double, deciding with the built usbgate command line.
# No network, nothing installed: the extension and the double are imported
# from the source tree.
set -u
here=$(cd "$(dirname "$0")" && pwd)
USBGATE_CLI=${abs_top_builddir:-$(pwd)}/tools/usbgate
export USBGATE_CLI
if ! [ -x "$USBGATE_CLI" ]; then
	echo "no built usbgate at $USBGATE_CLI" >&2
	exit 99
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 99; }
export PYTHONDONTWRITEBYTECODE=1
cd "$here" && exec python3 -m unittest -v test_ext 2>&1
