# tests/vm/scenarios/kmod-load.sh: usbgate_hcd (built from kmod/ against the guest kernel's headers) loads with ports=4: a USB 2 (480) and a USB 3 (5000) root hub of 4 ports each and /dev/usbgate_hcd; ports=16 is refused; it unloads
source "$VM_DIR/kmod.sh"

scenario() {
	vm_start_ok A
	vm_ok A "modprobe usbcore && ! insmod $KMOD_KO ports=16 2>/dev/null && ! test -e /dev/usbgate_hcd" \
		"ports=16 must be refused"
	kmod_load A 4
	vm_ok A 'for b in /sys/devices/platform/usbgate_hcd/usb*; do echo "$(cat $b/speed) $(cat $b/maxchild)"; done | sort -n' \
		"listing the root hubs"
	assert_eq "root hubs (speed ports)" "$(printf '480 4\n5000 4')" "$VM_OUT"
	kmod_unload A
	vm_ok A '! ls -d /sys/devices/platform/usbgate_hcd 2>/dev/null' "the platform device must be gone"
}
