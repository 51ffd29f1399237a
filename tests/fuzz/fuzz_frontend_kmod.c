/*
 * fuzz_frontend_kmod.c: the frontend session on usbgate_hcd (frontend/
 * kmod_rx.c, kmod_tx.c) fed by a hostile backend through its real
 * libusbredirparser and by arbitrary records where the kernel module's
 * would come (ours, but the parser must stay robust), while this harness
 * plays usbgate_hcd on the SOCK_SEQPACKET pair the session gets at attach.
 *
 * Input: chunks {tag, n, n bytes}: an even tag sends the bytes as the
 * backend on the channel, an odd one appends them to the kernel's records;
 * each whole record (by its len field) goes in a message of its own and is
 * handled before the next, as the character device's reads keep records
 * whole; a len that cannot be a record sends what is pending at once.
 * Oracle on what the session writes: whole records, each a completion of
 * a URB submitted, not unlinked and not answered before (the kernel gave
 * an unlinked URB back: a late answer must not come), with no more data
 * than asked, the submitted packet count, the packets' sum as actual and
 * a status the kernel takes; a RESET_DONE of a reset asked for; or a
 * STREAMS_DONE answering a streams request once, granting no more ids than
 * asked (none for a free or a failure).
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fe_fuzz.h"
#include "usbgate_hcd_uapi.h"

#define MAX_OPEN	4096

struct asked {
	uint64_t id;
	uint32_t length;
	uint32_t in;
	uint32_t npackets;
};

static struct {
	int kfd;			/* our end of the port's descriptor */
	struct asked open[MAX_OPEN];	/* URBs submitted, not given back */
	int n_open;
	uint64_t resets;		/* reset numbers asked for */
	struct asked sreq[64];		/* streams requests (length: ids
					 * asked), not answered */
	int n_sreq;
	size_t pend_len;		/* record bytes not yet sent */
	uint8_t pend[UGH_ALIGN(sizeof(struct ugh_submit) + 64 * 1024)];
	uint8_t out[1 << 20];		/* what the session wrote */
} K;

static int
attach(void *ctx, int speed, uint16_t vid, uint16_t pid)
{
	int fd[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, fd) < 0)
		abort();
	K.kfd = fd[1];
	return fd[0];
}

static int
find(uint64_t id)
{
	int i;

	for (i = 0; i < K.n_open && K.open[i].id != id; i++)
		;
	return i < K.n_open ? i : -1;
}

/* Follow one record as the kernel would mean it. */
static void
track(const uint8_t *rec, size_t len)
{
	struct ugh_submit h;
	int i;

	memset(&h, 0, sizeof(h));
	memcpy(&h, rec, len < sizeof(h) ? len : sizeof(h));
	if (h.hdr.type == UGH_K_SUBMIT && len >= sizeof(h) &&
	    K.n_open < MAX_OPEN && find(h.hdr.id) < 0)
		K.open[K.n_open++] = (struct asked){ h.hdr.id, h.length,
		    (h.ep & 0x80) != 0, h.packets };
	else if (h.hdr.type == UGH_K_UNLINK && (i = find(h.hdr.id)) >= 0)
		K.open[i] = K.open[--K.n_open];
	else if (h.hdr.type == UGH_K_RESET && h.hdr.id > K.resets)
		K.resets = h.hdr.id;
	else if ((h.hdr.type == UGH_K_ALLOC_STREAMS ||
	    h.hdr.type == UGH_K_FREE_STREAMS) &&
	    len >= sizeof(struct ugh_streams) && K.n_sreq < 64) {
		struct ugh_streams r;

		memcpy(&r, rec, sizeof(r));
		K.sreq[K.n_sreq++] = (struct asked){ r.hdr.id, r.streams, 0, 0 };
	}
}

/* An answer to a streams request: asked, once, within what was asked. */
static void
check_streams_done(const uint8_t *rec, size_t len)
{
	struct ugh_streams_done d;
	int i;

	FUZZ_ASSERT(len == sizeof(d));
	memcpy(&d, rec, sizeof(d));
	for (i = 0; i < K.n_sreq && K.sreq[i].id != d.hdr.id; i++)
		;
	FUZZ_ASSERT(i < K.n_sreq);
	FUZZ_ASSERT(d.status <= 0 && d.status >= -4095);
	FUZZ_ASSERT(d.streams <= K.sreq[i].length);
	FUZZ_ASSERT(d.status == 0 || d.streams == 0);
	K.sreq[i] = K.sreq[--K.n_sreq];
}

static int
status_ok(int32_t st)
{
	switch (st) {
	case 0: case -EPIPE: case -EPROTO: case -EILSEQ: case -ETIME:
	case -ETIMEDOUT: case -EOVERFLOW: case -EREMOTEIO: case -ECONNRESET:
	case -ENOENT: case -ESHUTDOWN: case -ENODEV: case -ENOSR: case -ECOMM:
	case -EXDEV: case -EINVAL:
		return 1;
	default:
		return 0;
	}
}

/* Check the records the session wrote. */
static void
check_answers(void)
{
	struct ugh_complete c;
	struct ugh_iso_result r;
	ssize_t n;
	size_t off, want;
	uint32_t p, sum;
	int i;

	if (K.kfd < 0)
		return;		/* not attached yet */
	while ((n = read(K.kfd, K.out, sizeof(K.out))) > 0) {
		for (off = 0; off < (size_t)n; off += c.hdr.len) {
			FUZZ_ASSERT((size_t)n - off >= sizeof(c.hdr));
			memcpy(&c.hdr, K.out + off, sizeof(c.hdr));
			FUZZ_ASSERT(c.hdr.len >= sizeof(c.hdr) &&
			    c.hdr.len % 8 == 0 && c.hdr.len <= (size_t)n - off);
			if (c.hdr.type == UGH_F_RESET_DONE) {
				FUZZ_ASSERT(c.hdr.len == sizeof(c.hdr));
				FUZZ_ASSERT(c.hdr.id != 0 && c.hdr.id <= K.resets);
				continue;
			}
			if (c.hdr.type == UGH_F_STREAMS_DONE) {
				check_streams_done(K.out + off, c.hdr.len);
				continue;
			}
			FUZZ_ASSERT(c.hdr.type == UGH_F_COMPLETE);
			FUZZ_ASSERT(c.hdr.len >= sizeof(c));
			memcpy(&c, K.out + off, sizeof(c));
			i = find(c.hdr.id);
			FUZZ_ASSERT(i >= 0);	/* asked, not given back */
			FUZZ_ASSERT(status_ok(c.status) && c.reserved == 0);
			FUZZ_ASSERT(c.actual <= K.open[i].length);
			FUZZ_ASSERT(c.packets == K.open[i].npackets);
			want = sizeof(c) + (size_t)c.packets * sizeof(r);
			FUZZ_ASSERT(c.hdr.len >= want);
			for (p = 0, sum = 0; p < c.packets; p++) {
				memcpy(&r, K.out + off + sizeof(c) + p * sizeof(r),
				    sizeof(r));
				FUZZ_ASSERT(status_ok(r.status));
				sum += r.actual;
			}
			FUZZ_ASSERT(c.packets == 0 || sum == c.actual);
			FUZZ_ASSERT(c.error_count <= c.packets);
			want += K.open[i].in ? c.actual : 0;
			FUZZ_ASSERT(c.hdr.len == UGH_ALIGN(want));
			K.open[i] = K.open[--K.n_open];
		}
	}
}

/*
 * The kernel's bytes: each whole record pending goes in a message of its
 * own and is handled before the next.
 */
static int
to_kernel(struct fe_session *s, const uint8_t *p, size_t n)
{
	struct ugh_rec h;
	size_t len;

	if (n > sizeof(K.pend) - K.pend_len)
		return -1;
	memcpy(K.pend + K.pend_len, p, n);
	K.pend_len += n;

	while (K.pend_len >= sizeof(h) && s->error == FE_OK) {
		memcpy(&h, K.pend, sizeof(h));
		len = h.len;
		if (len < sizeof(h) || len % 8 != 0 || len > sizeof(K.pend))
			len = K.pend_len;	/* no record: as it is */
		else if (len > K.pend_len)
			return 0;
		track(K.pend, len);
		if (send(K.kfd, K.pend, len, 0) != (ssize_t)len)
			abort();
		memmove(K.pend, K.pend + len, K.pend_len - len);
		K.pend_len -= len;
		(void)fe_kmod_rx(s, 1);
		fuzz_fe_flush(s);
		check_answers();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fe_hooks hooks = { .attach = attach, .kmod = 1 };

	memset(&K, 0, offsetof(typeof(K), pend));
	K.kfd = -1;
	fuzz_fe_run(data, size, &hooks, NULL, to_kernel, check_answers);
	if (K.kfd >= 0)
		close(K.kfd);
	return 0;
}
