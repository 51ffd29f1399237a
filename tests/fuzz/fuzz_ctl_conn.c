/*
 * fuzz_ctl_conn.c: a control connection (ctl_peer.h) read from a hostile
 * peer: framing, hello, version and direction checks.
 *
 * Input: a byte choosing our role and the peer role we expect, then the
 * bytes the peer sends. Oracle: every message handed to the caller is one
 * that passes ctl_msg_verify() and that the peer's role may send.
 */
#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include "ctl_peer.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_msg msg;
	struct ctl_conn *c;
	enum ctl_role self, peer;
	int fd[2], r, n;

	if (size < 1)
		return 0;
	self = (enum ctl_role)(data[0] & 1 ? CTL_ROLE_DOM0 :
	    CTL_ROLE_BACKEND + (data[0] >> 1 & 1));
	peer = self == CTL_ROLE_DOM0 ?
	    (enum ctl_role)(data[0] >> 1 & 3) + 1 : CTL_ROLE_DOM0;
	fuzz_socketpair(fd);
	if (ctl_conn_new(fd[0], fd[0], self, peer, &c) != CTL_OK)
		abort();
	if (data[0] & 0x80)
		ctl_conn_allow_rehello(c);
	(void)ctl_conn_send_hello(c, "fuzz", CTL_CAP__ALL);
	fuzz_write(fd[1], data + 1, size - 1);
	shutdown(fd[1], SHUT_WR);
	for (;;) {
		r = ctl_conn_read(c);
		for (n = 0; (n = ctl_conn_next(c, &msg)) > 0;) {
			FUZZ_ASSERT(ctl_msg_verify(&msg) == CTL_OK);
			FUZZ_ASSERT(ctl_msg_allowed(msg.type,
			    ctl_conn_peer_role(c)));
		}
		fuzz_drain(fd[1]);
		if (r <= 0 || n < 0)
			break;	/* the end, or a protocol error (final) */
	}
	ctl_conn_free(c);
	close(fd[1]);
	return 0;
}
