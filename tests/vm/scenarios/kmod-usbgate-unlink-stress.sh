# tests/vm/scenarios/kmod-usbgate-unlink-stress.sh: usbgate-unlink-stress with B's frontend on usbgate_hcd (--hcd usbgate): 16 bulk-IN URBs cancelled every 0.2 s become UGH_K_UNLINK cancels, the session survives and still moves data, then the port empties and the module unloads (no URB left behind)
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-unlink-stress.sh
source "$SCEN_DIR/usbgate-unlink-stress.sh"
eval "vhci_$(declare -f scenario)"
scenario() {
	vhci_scenario
	vm_ok B "wait_for 10 eval '! usb_devs 1209:0002'" "the usbgate_hcd port in B still has the device"
	kmod_unload B
}
