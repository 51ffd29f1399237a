/*
 * fuzz_usbip.c: USB/IP commands (usbip_wire.h) from vhci's socket.
 *
 * Oracle: a command that decodes encodes back to a header that decodes to
 * the same command, its payload size follows from its fields, and ISO
 * packet descriptors survive decode and encode byte for byte.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "usbip_wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usbip_cmd cmd, again;
	struct usbip_iso_desc d;
	uint8_t hdr[USBIP_HDR_LEN], iso[USBIP_ISO_DESC_LEN];
	size_t payload, payload2, off;

	if (usbip_decode_cmd(data, size, &cmd, &payload) != USBIP_OK)
		return 0;
	FUZZ_ASSERT(cmd.command == USBIP_CMD_SUBMIT ||
	    cmd.command == USBIP_CMD_UNLINK);
	if (cmd.command == USBIP_CMD_SUBMIT) {
		FUZZ_ASSERT(cmd.number_of_packets <= USBIP_MAX_ISO_PACKETS);
		FUZZ_ASSERT(payload == (cmd.direction == USBIP_DIR_OUT ?
		    cmd.length : 0) + (size_t)cmd.number_of_packets *
		    USBIP_ISO_DESC_LEN);
	}
	usbip_encode_cmd(hdr, &cmd);
	FUZZ_ASSERT(usbip_decode_cmd(hdr, sizeof(hdr), &again, &payload2) ==
	    USBIP_OK);
	FUZZ_ASSERT(payload == payload2);
	FUZZ_ASSERT(memcmp(&cmd, &again, sizeof(cmd)) == 0);
	for (off = USBIP_HDR_LEN; size - off >= USBIP_ISO_DESC_LEN;
	    off += USBIP_ISO_DESC_LEN) {
		usbip_decode_iso_desc(data + off, &d);
		usbip_encode_iso_desc(iso, &d);
		FUZZ_ASSERT(memcmp(iso, data + off, sizeof(iso)) == 0);
	}
	return 0;
}
