/*
 * fuzz_backend.c: the backend's guest-facing side fed by a hostile AppVM:
 * usbredirhost (with its parser in the host role) reading the channel
 * through the interface filter, as backend/host_session.c joins them.
 *
 * There is no device: usbredirhost is opened without one, which is also
 * the state a session is in before usbredirhost_set_device() and after
 * an unplug; it parses and answers every guest packet in that state.
 * Input: struct fuzz_dev (fuzz.h), as fuzz_iface_filter; the filter is
 * built from its descriptors, and left out (as the backend does when no
 * interface is refused) when there are none or they do not parse. What
 * this target proves is that no guest byte sequence crashes the filter or
 * usbredirhost's guest-facing code; fuzz_iface_filter checks what passes.
 *
 * Without a device usbredirhost 0.13 passes bulk stream requests to
 * libusb with a NULL handle, which libusb dereferences; our backend never
 * reads guest data without a device (it stops at unplug), so the harness
 * answers those two calls as libusb does for a device that is gone.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libusb.h>
#include <usbredirhost.h>

#include "fuzz.h"
#include "iface_filter.h"

static struct {
	struct iff *f;
	struct stream *chan;
	int failed;
} B;

int
libusb_alloc_streams(libusb_device_handle *h, uint32_t n, unsigned char *eps,
    int neps)
{
	return LIBUSB_ERROR_NO_DEVICE;
}

int
libusb_free_streams(libusb_device_handle *h, unsigned char *eps, int neps)
{
	return LIBUSB_ERROR_NO_DEVICE;
}

static int
b_read(void *priv, uint8_t *data, int count)
{
	ssize_t n;
	int r;

	if (B.f == NULL) {
		n = stream_read_direct(B.chan, data, (size_t)count);
		return n < 0 ? -1 : (int)n;
	}
	if ((r = iff_guest_read(B.f, B.chan, data, (size_t)count)) < 0)
		B.failed = 1;
	return r < 0 ? -1 : r;
}

static int
b_write(void *priv, uint8_t *data, int count)
{
	if (B.f != NULL)
		(void)iff_host_packet(B.f, data, (size_t)count);
	return count;
}

static void
b_log(void *priv, int level, const char *msg)
{
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static libusb_context *ctx;
	struct usbredirhost *host;
	struct fuzz_dev d;
	int fd[2], round, rc = 0;

	if (ctx == NULL &&
	    (libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY) < 0 ||
	    libusb_init(&ctx) < 0))
		abort();
	memset(&B, 0, sizeof(B));
	if (fuzz_dev_parse(data, size, &d) < 0)
		return 0;
	if (d.n_refused > 0 && iff_new(d.desc, d.desc_len, d.refused,
	    d.n_refused, d.active, &B.f) != IFF_OK)
		B.f = NULL;
	fuzz_socketpair(fd);
	if (stream_from_fds(fd[0], fd[0], &B.chan) != STREAM_OK)
		abort();
	host = usbredirhost_open_full(ctx, NULL, b_log, b_read, b_write, NULL,
	    NULL, NULL, NULL, NULL, NULL, "fuzz-backend", usbredirparser_none,
	    0);
	if (host == NULL)
		abort();
	fuzz_write(fd[1], d.guest, d.guest_len);
	shutdown(fd[1], SHUT_WR);
	for (round = 0; round < 64 && rc == 0 && !B.failed; round++) {
		ssize_t got = stream_fill(B.chan);

		rc = usbredirhost_read_guest_data(host);
		if (usbredirhost_has_data_to_write(host))
			usbredirhost_write_guest_data(host);
		stream_flush(B.chan);
		fuzz_drain(fd[1]);
		if (got <= 0 && stream_available(B.chan) == 0)
			break;
	}
	usbredirhost_close(host);
	stream_close(B.chan);
	close(fd[1]);
	iff_free(B.f);
	return 0;
}
