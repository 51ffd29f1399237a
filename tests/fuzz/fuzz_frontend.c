/*
 * fuzz_frontend.c: the frontend session (frontend/session.h) fed by a
 * hostile backend, through its real libusbredirparser (guest role), while
 * this harness plays vhci_hcd on the socket the session gets at attach.
 *
 * Input: chunks {tag, n, n bytes}: an even tag sends the bytes as the
 * backend on the channel, an odd one as vhci (USB/IP commands) on the
 * port's socket once attached; the session handles each chunk before the
 * next, as its event loop would. Oracle on what the session writes to
 * vhci: whole RET_SUBMIT/RET_UNLINK PDUs, each answering a command vhci
 * sent and not yet answered, with no more data than the URB asked for.
 * dom0's class set is fixed (a storage device's, and the classes of the
 * keyboard receiver in the seeds): a configuration descriptor with any
 * other class ends the session (FE_E_IDENTITY) instead of reaching vhci,
 * which the oracle checks on every answer to GET_DESCRIPTOR of one.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "fe_fuzz.h"
#include "usbip_wire.h"

#define MAX_OPEN	4096

struct asked {
	uint32_t seqnum;
	uint32_t length;	/* transfer_buffer_length */
	uint32_t in;		/* data comes back with the answer */
	uint32_t npackets;
	uint32_t config;	/* GET_DESCRIPTOR of a configuration */
};

/* dom0's class set for every run. */
static const struct fe_classes approved = {
	.check = 1, .n = 4,
	.c = { { 0x08, 0x06, 0x50 }, { 0x03, 0x01, 0x01 },
	    { 0x03, 0x01, 0x02 }, { 0xff, 0x00, 0x00 } },
};

static struct {
	int vfd;			/* our end of the vhci socket */
	struct asked open[MAX_OPEN];	/* commands not yet answered */
	int n_open;
	int ambiguous;			/* a seqnum reused while open */
	uint8_t in[1 << 16];		/* what vhci sent, not yet parsed */
	size_t in_len;
	uint8_t out[1 << 20];		/* what the session sent to vhci */
	size_t out_len;
} V;

static int
attach(void *ctx, int speed, uint16_t vid, uint16_t pid)
{
	int fd[2];

	fuzz_socketpair(fd);
	V.vfd = fd[1];
	return fd[0];
}

/* Follow the commands vhci sent, as the session will read them. */
static void
track_sent(void)
{
	struct usbip_cmd c;
	size_t payload, off = 0;
	int k;

	while (V.in_len - off >= USBIP_HDR_LEN) {
		if (usbip_decode_cmd(V.in + off, V.in_len - off, &c,
		    &payload) != USBIP_OK) {
			V.in_len = off;		/* the session stops here */
			return;
		}
		if (V.in_len - off < USBIP_HDR_LEN + payload)
			break;
		/*
		 * vhci_hcd never reuses a seqnum in flight; with two open,
		 * an answer cannot be told to be whose (nor how long), so
		 * the answers of such an input are no longer checked.
		 */
		for (k = 0; k < V.n_open; k++)
			V.ambiguous |= V.open[k].seqnum == c.seqnum;
		if (V.n_open < MAX_OPEN)
			V.open[V.n_open++] = (struct asked){ c.seqnum,
			    c.command == USBIP_CMD_SUBMIT ? c.length : 0,
			    c.direction == USBIP_DIR_IN,
			    c.command == USBIP_CMD_SUBMIT ?
			    c.number_of_packets : 0,
			    c.command == USBIP_CMD_SUBMIT && c.ep == 0 &&
			    (c.setup[0] & 0xe0) == 0x80 && c.setup[1] == 6 &&
			    (c.setup[3] == 2 || c.setup[3] == 7) };
		off += USBIP_HDR_LEN + payload;
	}
	memmove(V.in, V.in + off, V.in_len - off);
	V.in_len -= off;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Check the answers the session wrote to vhci. */
static void
check_answers(void)
{
	ssize_t n;
	size_t off = 0, need;
	uint32_t cmd, seq, actual, npk;
	int i;

	if (V.vfd < 0)
		return;		/* not attached yet */
	while ((n = read(V.vfd, V.out + V.out_len,
	    sizeof(V.out) - V.out_len)) > 0)
		V.out_len += (size_t)n;
	if (V.ambiguous) {
		V.out_len = 0;
		return;
	}
	while (V.out_len - off >= USBIP_HDR_LEN) {
		const uint8_t *h = V.out + off;

		cmd = be32(h);
		seq = be32(h + 4);
		FUZZ_ASSERT(cmd == USBIP_RET_SUBMIT || cmd == USBIP_RET_UNLINK);
		for (i = 0; i < V.n_open && V.open[i].seqnum != seq; i++)
			;
		FUZZ_ASSERT(i < V.n_open);	/* asked and not answered */
		need = USBIP_HDR_LEN;
		if (cmd == USBIP_RET_SUBMIT) {
			actual = be32(h + 24);
			npk = be32(h + 32);
			FUZZ_ASSERT(actual <= V.open[i].length);
			FUZZ_ASSERT(npk == 0 || npk == 0xffffffffu ||
			    npk == V.open[i].npackets);
			need += (V.open[i].in ? actual : 0) + (npk == 0xffffffffu ? 0 :
			    (size_t)npk * USBIP_ISO_DESC_LEN);
		}
		if (V.out_len - off < need)
			break;
		if (cmd == USBIP_RET_SUBMIT && V.open[i].config &&
		    V.open[i].in) {
			char why[96];

			/* No configuration the check refuses reached vhci. */
			FUZZ_ASSERT(fe_classes_check_config(&approved,
			    h + USBIP_HDR_LEN, actual, why, sizeof(why)) == 0);
		}
		V.open[i] = V.open[--V.n_open];
		off += need;
	}
	memmove(V.out, V.out + off, V.out_len - off);
	V.out_len -= off;
	FUZZ_ASSERT(V.out_len < sizeof(V.out));
}

/* USB/IP commands as vhci sends them. */
static int
to_vhci(struct fe_session *s, const uint8_t *p, size_t n)
{
	if (n > sizeof(V.in) - V.in_len)
		return -1;
	memcpy(V.in + V.in_len, p, n);
	V.in_len += n;
	track_sent();
	fuzz_write(V.vfd, p, n);
	if (stream_fill(s->vhci) < 0)
		return -1;
	(void)fe_vhci_rx(s);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fe_hooks hooks = { .attach = attach };

	memset(&V, 0, sizeof(V));
	V.vfd = -1;
	fuzz_fe_run(data, size, &hooks, &approved, to_vhci, check_answers);
	if (V.vfd >= 0)
		close(V.vfd);
	return 0;
}
