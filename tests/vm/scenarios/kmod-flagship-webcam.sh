# tests/vm/scenarios/kmod-flagship-webcam.sh: flagship-webcam with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): the synthetic UVC webcam's isochronous IN through our own host controller, FL_CAPTURE_SECS (default 20) of capture with no corrupt frame, 20 start/stop cycles, the module unloads after the session, the camera back on A's uvcvideo
# timeout: 360
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/flagship-webcam.sh
source "$SCEN_DIR/flagship-webcam.sh"
