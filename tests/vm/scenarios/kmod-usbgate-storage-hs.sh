# tests/vm/scenarios/kmod-usbgate-storage-hs.sh: usbgate-storage-hs with B's frontend on usbgate_hcd (--hcd usbgate; B has no vhci_hcd): B's usb-storage writes and reads back 64 MiB bit-exact through our own host controller, A reads the same data after the session, the port empties and the module unloads; usb-storage's sg lists reach the controller whole (at most 5000 URBs for the session, where one URB per sg segment made 20282)
# shellcheck disable=SC2034 # read by usbgate.sh
UG_HCD=usbgate
# shellcheck source=tests/vm/scenarios/usbgate-storage-hs.sh
source "$SCEN_DIR/usbgate-storage-hs.sh"
eval "vhci_$(declare -f scenario)"
scenario() {
	local log
	vhci_scenario
	# vhci_hcd takes about 3500 URBs for this session: a command's data
	# is one URB. Without scatter-gather usb_sg_init() made one per
	# segment (20282 URBs).
	log=$(vm_bg_log B "$UG_FJOB")
	[[ $log =~ session\ ended:.*\;\ ([0-9]+)\ URBs, ]] ||
		fail "no URB count in the frontend's log: $(tail -n 2 <<<"$log" | tr '\n' ' ')"
	((BASH_REMATCH[1] <= 5000)) ||
		fail "${BASH_REMATCH[1]} URBs for 64 MiB each way: usb-storage's sg lists were split"
	vm_log "frontend: ${BASH_REMATCH[1]} URBs for the session"
}
