/*
 * fuzz_stream_frame.c: session framing (stream.h, STREAM_F_FRAMED) read
 * from a hostile peer on a character device.
 *
 * Input: chunks {n, n bytes} written to the stream's channel, each followed
 * by stream_fill() and reads; n == 255 stands for a READY frame echoing
 * our HELLO's nonce (a random number the input cannot know). Oracle: no
 * byte is delivered before that handshake.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "stream.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	uint8_t hello[20], ready[20];
	struct fz in = { data, size };
	struct stream *s;
	int fd[2], ready_sent = 0;
	ssize_t r = 0;
	size_t n;

	fuzz_socketpair(fd);
	if (stream_from_fds(fd[0], fd[0], &s) != STREAM_OK ||
	    stream_set_framed(s) != STREAM_OK)
		abort();
	stream_flush(s);
	/* Our HELLO: "UGF1", type 1, 0, 0, 0, length 8, nonce. */
	FUZZ_ASSERT(read(fd[1], hello, sizeof(hello)) == sizeof(hello));
	FUZZ_ASSERT(memcmp(hello, "UGF1\1\0\0\0\10\0\0\0", 12) == 0);
	memcpy(ready, hello, sizeof(ready));
	ready[4] = 2;
	while (in.left > 0 && r >= 0) {
		uint8_t c = fz_u8(&in);

		if (c == 255) {
			fuzz_write(fd[1], ready, sizeof(ready));
			ready_sent = 1;
		} else {
			const uint8_t *p = fz_bytes(&in, c, &n);

			fuzz_write(fd[1], p, n);
		}
		r = stream_fill(s);
		n = stream_read(s, buf, sizeof(buf));
		FUZZ_ASSERT(n == 0 || ready_sent);
		FUZZ_ASSERT(!stream_ready(s) || ready_sent);
		if (stream_flush(s) < 0)
			break;
		fuzz_drain(fd[1]);
	}
	stream_close(s);
	close(fd[1]);
	return 0;
}
