# tests/vm/scenarios/kmod-load.sh: usbgate_hcd (built from kmod/ against the guest kernel's headers) loads with ports=4 controllers=2: platform devices usbgate_hcd.0 and usbgate_hcd.1, each with a USB 2 (480) and a USB 3 (5000) root hub of 4 ports, and /dev/usbgate_hcd; ports=16, controllers=0 and controllers=17 are refused; it unloads
source "$VM_DIR/kmod.sh"

scenario() {
	vm_start_ok A
	vm_ok A "modprobe usbcore && for p in ports=16 controllers=0 controllers=17; do
		! insmod $KMOD_KO \$p 2>/dev/null || exit 1; done && ! test -e /dev/usbgate_hcd" \
		"ports=16, controllers=0 and controllers=17 must be refused"
	KMOD_PARAMS=controllers=2 kmod_load A 4
	vm_ok A 'for b in /sys/devices/platform/usbgate_hcd.*/usb*; do c=${b#*/usbgate_hcd.}; echo "${c%%/*} $(cat $b/speed) $(cat $b/maxchild)"; done | sort' \
		"listing the root hubs"
	assert_eq "root hubs (controller speed ports)" "$(printf '0 480 4\n0 5000 4\n1 480 4\n1 5000 4')" "$VM_OUT"
	kmod_unload A
	vm_ok A '! ls -d /sys/devices/platform/usbgate_hcd* 2>/dev/null' "the platform devices must be gone"
}
