# tests/vm/scenarios/kmod-flagship-wallet.sh: flagship-wallet with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): 1000 checked round trips, three reboots into the bootloader and back each passed to B again, SET_INTERFACE mid-stream, and a host-side reset in B (UGH_K_RESET, made a usbredir reset: the gadget in A must see a bus reset) after which the right answers come
# timeout: 360
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/flagship-wallet.sh
source "$SCEN_DIR/flagship-wallet.sh"
