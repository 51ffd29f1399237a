# tests/vm/kmod.sh: helpers for scenarios with usbgate's own host controller
# (kmod/usbgate_hcd.ko, built per run by lib.sh against the guest kernel's
# headers and placed under /usr/lib/modules/KVER/extra). Owns loading it and
# the check every such scenario ends with: the module unloads (no session,
# port or URB left holding it).
# Sourced by scenarios after lib.sh.

KMOD_KO='/usr/lib/modules/$(uname -r)/extra/usbgate_hcd.ko'

# kmod_load VM [PORTS]: load usbgate_hcd with PORTS ports per root hub
# (and the parameters in KMOD_PARAMS, if set).
kmod_load() {
	vm_ok "$1" "modprobe usbcore && insmod $KMOD_KO ports=${2:-8} ${KMOD_PARAMS:-} && test -c /dev/usbgate_hcd" \
		"loading usbgate_hcd in $1"
}

# kmod_unload VM: rmmod succeeds within 5 s (the last close of a session's
# descriptor disconnects its port before the file drops its module
# reference, so the device can be gone a moment before the module is free;
# a leaked reference still fails) and the character device is gone.
kmod_unload() {
	vm_ok "$1" "wait_for 5 rmmod usbgate_hcd && ! test -e /dev/usbgate_hcd" "unloading usbgate_hcd in $1"
}
