# tests/vm/scenarios/kmod-usbgate-storage-hs.sh: usbgate-storage-hs with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): B's usb-storage writes and reads back 64 MiB bit-exact through our own host controller, A reads the same data after the session, the port empties and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-storage-hs.sh
source "$SCEN_DIR/usbgate-storage-hs.sh"
