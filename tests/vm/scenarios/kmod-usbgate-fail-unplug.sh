# tests/vm/scenarios/kmod-usbgate-fail-unplug.sh: usbgate-fail-unplug with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): the disk is unplugged in A during a long read in B; both ends end with a reason (backend status 5), no usbgate_hcd port keeps a device, no oops; the replugged disk attaches on the same module and moves 8 MiB bit-exact, then the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-fail-unplug.sh
source "$SCEN_DIR/usbgate-fail-unplug.sh"
