# tests/vm/scenarios/kmod-usbgate-hid-fido.sh: usbgate-hid-fido with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): usbhid binds, the FIDO report descriptor reads 06 d0 f1 and 500 x 64-byte interrupt reports come back byte-exact, the port empties and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-hid-fido.sh
source "$SCEN_DIR/usbgate-hid-fido.sh"
