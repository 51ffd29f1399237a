/*
 * usbip_wire.c: USB/IP PDU codec (see usbip_wire.h). Field by field, big
 * endian, with every length checked before it is used to size anything.
 */
#include "config.h"

#include <string.h>

#include "usbip_wire.h"

static const char *const usbip_errstr[USBIP_E__COUNT] = {
	"success",
	"short USB/IP header",
	"unknown USB/IP command",
	"USB/IP header field out of range",
};
_Static_assert(sizeof(usbip_errstr) / sizeof(usbip_errstr[0]) ==
    USBIP_E__COUNT, "usbip_errstr matches enum usbip_wire_error");

const char *
usbip_strerror(int err)
{
	if (err > 0 || -err >= USBIP_E__COUNT)
		return "unknown USB/IP error";
	return usbip_errstr[-err];
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
usbip_decode_cmd(const uint8_t *buf, size_t len, struct usbip_cmd *cmd,
    size_t *payload)
{
	memset(cmd, 0, sizeof(*cmd));
	*payload = 0;
	if (len < USBIP_HDR_LEN)
		return USBIP_E_SHORT;
	cmd->command = get_be32(buf + 0);
	cmd->seqnum = get_be32(buf + 4);
	cmd->devid = get_be32(buf + 8);
	cmd->direction = get_be32(buf + 12);
	cmd->ep = get_be32(buf + 16);
	switch (cmd->command) {
	case USBIP_CMD_SUBMIT:
		cmd->transfer_flags = get_be32(buf + 20);
		cmd->length = get_be32(buf + 24);
		cmd->start_frame = (int32_t)get_be32(buf + 28);
		cmd->number_of_packets = get_be32(buf + 32);
		cmd->interval = (int32_t)get_be32(buf + 36);
		memcpy(cmd->setup, buf + 40, 8);
		if (cmd->direction > USBIP_DIR_IN || cmd->ep > 15 ||
		    cmd->length > USBIP_MAX_XFER)
			return USBIP_E_FIELD;
		/* vhci sends -1 (0xffffffff) or 0 for non-isochronous URBs. */
		if (cmd->number_of_packets == 0xffffffffu)
			cmd->number_of_packets = 0;
		if (cmd->number_of_packets > USBIP_MAX_ISO_PACKETS)
			return USBIP_E_FIELD;
		if (cmd->direction == USBIP_DIR_OUT)
			*payload += cmd->length;
		*payload += (size_t)cmd->number_of_packets * USBIP_ISO_DESC_LEN;
		return USBIP_OK;
	case USBIP_CMD_UNLINK:
		cmd->unlink_seqnum = get_be32(buf + 20);
		return USBIP_OK;
	default:
		return USBIP_E_COMMAND;
	}
}

void
usbip_decode_iso_desc(const uint8_t *buf, struct usbip_iso_desc *d)
{
	d->offset = get_be32(buf + 0);
	d->length = get_be32(buf + 4);
	d->actual_length = get_be32(buf + 8);
	d->status = (int32_t)get_be32(buf + 12);
}

void
usbip_encode_iso_desc(uint8_t *buf, const struct usbip_iso_desc *d)
{
	put_be32(buf + 0, d->offset);
	put_be32(buf + 4, d->length);
	put_be32(buf + 8, d->actual_length);
	put_be32(buf + 12, (uint32_t)d->status);
}

void
usbip_encode_ret_submit(uint8_t *buf, uint32_t seqnum, int32_t status,
    uint32_t actual_length, int32_t start_frame, uint32_t number_of_packets,
    uint32_t error_count)
{
	memset(buf, 0, USBIP_HDR_LEN);
	put_be32(buf + 0, USBIP_RET_SUBMIT);
	put_be32(buf + 4, seqnum);
	put_be32(buf + 20, (uint32_t)status);
	put_be32(buf + 24, actual_length);
	put_be32(buf + 28, (uint32_t)start_frame);
	put_be32(buf + 32, number_of_packets);
	put_be32(buf + 36, error_count);
}

void
usbip_encode_ret_unlink(uint8_t *buf, uint32_t seqnum, int32_t status)
{
	memset(buf, 0, USBIP_HDR_LEN);
	put_be32(buf + 0, USBIP_RET_UNLINK);
	put_be32(buf + 4, seqnum);
	put_be32(buf + 20, (uint32_t)status);
}

void
usbip_encode_cmd(uint8_t *buf, const struct usbip_cmd *cmd)
{
	memset(buf, 0, USBIP_HDR_LEN);
	put_be32(buf + 0, cmd->command);
	put_be32(buf + 4, cmd->seqnum);
	put_be32(buf + 8, cmd->devid);
	put_be32(buf + 12, cmd->direction);
	put_be32(buf + 16, cmd->ep);
	if (cmd->command == USBIP_CMD_UNLINK) {
		put_be32(buf + 20, cmd->unlink_seqnum);
		return;
	}
	put_be32(buf + 20, cmd->transfer_flags);
	put_be32(buf + 24, cmd->length);
	put_be32(buf + 28, (uint32_t)cmd->start_frame);
	put_be32(buf + 32, cmd->number_of_packets);
	put_be32(buf + 36, (uint32_t)cmd->interval);
	memcpy(buf + 40, cmd->setup, 8);
}
