# tests/vm/scenarios/kmod-usbgate-audio.sh: usbgate-audio with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): a full-speed isochronous OUT device behind the root hub's transaction translator; snd-usb-audio plays 2 s of 48 kHz stereo without an underrun, paced by the device, the port empties and the module unloads
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-audio.sh
source "$SCEN_DIR/usbgate-audio.sh"
