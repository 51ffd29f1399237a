# tests/vm/scenarios/kmod-usbgate-serial-acm.sh: usbgate-serial-acm with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): the CDC ACM gadget binds B's cdc_acm and 200 64-byte messages echoed by the gadget come back byte-exact; both interfaces return to A's cdc_acm, the port empties and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-serial-acm.sh
source "$SCEN_DIR/usbgate-serial-acm.sh"
