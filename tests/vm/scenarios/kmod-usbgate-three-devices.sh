# tests/vm/scenarios/kmod-usbgate-three-devices.sh: usbgate-three-devices with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): storage, FIDO HID and ACM serial on three ports of one module at once, bulk and interrupt traffic together (32 MiB bit-exact beside 300 HID and 300 serial round trips); all three return to A's drivers, no port keeps a device and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-three-devices.sh
source "$SCEN_DIR/usbgate-three-devices.sh"
