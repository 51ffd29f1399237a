/*
 * fuzz_ctl_msg.c: one control message body from a hostile peer through
 * ctl_msg_decode() and ctl_msg_sanitize().
 *
 * Input: a byte choosing the message type, then the body. Oracle: what
 * the sanitize step accepts encodes again, and its encoding parses back to
 * the same bytes (the receiver never holds a message it could not send).
 */
#include "config.h"

#include <string.h>

#include "ctl_msg.h"
#include "fuzz.h"

static const uint32_t types[] = {
	CTL_MSG_HELLO, CTL_MSG_ERROR, CTL_MSG_DEV_ADD, CTL_MSG_DEV_REMOVE,
	CTL_MSG_DEV_CHANGE, CTL_MSG_SESSION_STATUS, CTL_MSG_SERVE,
	CTL_MSG_STOP, CTL_MSG_IMPORT_RESULT, CTL_MSG_IMPORT,
	CTL_MSG_UNIMPORT, CTL_MSG_CLI_REQUEST, CTL_MSG_CLI_ROW,
	CTL_MSG_CLI_DONE, 0x0700,
};

static uint8_t wbuf[2][CTL_MSG_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_msg untrusted, msg, again;
	struct ctl_wbuf w[2];
	uint32_t type;
	int role;

	if (size < 1)
		return 0;
	type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	if (ctl_msg_decode(type, data + 1, size - 1, &untrusted) != CTL_OK)
		return 0;
	for (role = CTL_ROLE_NONE; role <= CTL_ROLE__MAX; role++)
		(void)ctl_msg_allowed(type, (enum ctl_role)role);
	(void)ctl_msg_name(type);
	if (ctl_msg_sanitize(&untrusted, &msg) != CTL_OK)
		return 0;
	ctl_wbuf_init(&w[0], wbuf[0], sizeof(wbuf[0]));
	FUZZ_ASSERT(ctl_msg_encode(&msg, &w[0]) == CTL_OK);
	FUZZ_ASSERT(w[0].len >= CTL_HDR_LEN);
	FUZZ_ASSERT(ctl_msg_parse(type, wbuf[0] + CTL_HDR_LEN,
	    w[0].len - CTL_HDR_LEN, &again) == CTL_OK);
	ctl_wbuf_init(&w[1], wbuf[1], sizeof(wbuf[1]));
	FUZZ_ASSERT(ctl_msg_encode(&again, &w[1]) == CTL_OK);
	FUZZ_ASSERT(w[0].len == w[1].len &&
	    memcmp(wbuf[0], wbuf[1], w[0].len) == 0);
	return 0;
}
