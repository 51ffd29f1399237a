/*
 * usbip_wire.h: the USB/IP PDU format that the kernel's vhci_hcd speaks on
 * the socket it is given at attach time (Documentation/usb/usbip_protocol.rst).
 *
 * Owns: decoding of CMD_SUBMIT / CMD_UNLINK headers and ISO packet
 * descriptors from untrusted bytes, and encoding of RET_SUBMIT / RET_UNLINK.
 * All fields are big-endian on the wire; nothing here casts a buffer to a
 * struct. Pure functions, no I/O.
 */
#ifndef USBGATE_USBIP_WIRE_H
#define USBGATE_USBIP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define USBIP_CMD_SUBMIT	1
#define USBIP_CMD_UNLINK	2
#define USBIP_RET_SUBMIT	3
#define USBIP_RET_UNLINK	4

#define USBIP_DIR_OUT		0
#define USBIP_DIR_IN		1

#define USBIP_HDR_LEN		48
#define USBIP_ISO_DESC_LEN	16

/* Limits we accept from vhci (the kernel is trusted, but be exact). */
#define USBIP_MAX_XFER		(16 * 1024 * 1024)
#define USBIP_MAX_ISO_PACKETS	1024

/* URB transfer_flags bits we look at (include/linux/usb.h). */
#define USBIP_URB_SHORT_NOT_OK	0x0001
#define USBIP_URB_ZERO_PACKET	0x0040

enum usbip_wire_error {
	USBIP_OK = 0,
	USBIP_E_SHORT = -1,	/* fewer bytes than a header */
	USBIP_E_COMMAND = -2,	/* unknown command */
	USBIP_E_FIELD = -3,	/* a field out of range */
	USBIP_E__COUNT = 4
};

const char *usbip_strerror(int err);

struct usbip_iso_desc {
	uint32_t offset;
	uint32_t length;
	uint32_t actual_length;
	int32_t status;
};

/* A decoded command from vhci. */
struct usbip_cmd {
	uint32_t command;
	uint32_t seqnum;
	uint32_t devid;
	uint32_t direction;
	uint32_t ep;
	/* CMD_SUBMIT */
	uint32_t transfer_flags;
	uint32_t length;
	int32_t start_frame;
	uint32_t number_of_packets;	/* 0 when not isochronous */
	int32_t interval;
	uint8_t setup[8];
	/* CMD_UNLINK */
	uint32_t unlink_seqnum;
};

/*
 * Decode the 48-byte header at buf. On success, *payload is the number of
 * bytes that follow on the wire for this command (OUT data, then ISO
 * descriptors). Header fields are range-checked against the limits above.
 */
int usbip_decode_cmd(const uint8_t *buf, size_t len, struct usbip_cmd *cmd,
    size_t *payload);

void usbip_decode_iso_desc(const uint8_t *buf, struct usbip_iso_desc *d);
void usbip_encode_iso_desc(uint8_t *buf, const struct usbip_iso_desc *d);

/* Encode a RET_SUBMIT header into buf[USBIP_HDR_LEN]. */
void usbip_encode_ret_submit(uint8_t *buf, uint32_t seqnum, int32_t status,
    uint32_t actual_length, int32_t start_frame, uint32_t number_of_packets,
    uint32_t error_count);

/* Encode a RET_UNLINK header into buf[USBIP_HDR_LEN]. */
void usbip_encode_ret_unlink(uint8_t *buf, uint32_t seqnum, int32_t status);

/* Encode a command (used by tests that play vhci's role). */
void usbip_encode_cmd(uint8_t *buf, const struct usbip_cmd *cmd);

#endif
