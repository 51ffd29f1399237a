# tests/vm/scenarios/kmod-usbgate-serial-ftdi.sh: usbgate-serial-ftdi with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): QEMU's FTDI FT232 binds B's ftdi_sio and 100 64-byte messages looped back by the host come back byte-exact; the device returns to A's ftdi_sio, the port empties and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-serial-ftdi.sh
source "$SCEN_DIR/usbgate-serial-ftdi.sh"
