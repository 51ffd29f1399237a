/*
 * tests/tools/ctaphid.c: tb-ctaphid, both ends of the FIDO CTAPHID transport
 * (CTAP 2.1, section 11.2) over 64-byte HID reports.
 *
 * Owns the CTAPHID framing (initialisation and continuation packets,
 * channel ids, message reassembly with sequence checks) and two roles:
 *
 *   tb-ctaphid authenticator /dev/hidgN
 *       the device side of the testbed's FIDO HID gadget: answers INIT
 *       (allocates channels), PING (echo), WINK, and anything else with
 *       the CTAPHID error a real key sends (invalid command, channel,
 *       sequence or length, busy channel, message timeout).
 *   tb-ctaphid ping [-n COUNT] [-s SIZE] [-t MS] /dev/hidrawN
 *       the host side: INIT with a random nonce on the broadcast channel,
 *       checks the nonce comes back, then COUNT PINGs of SIZE bytes on the
 *       allocated channel, each payload checked byte for byte, and a few
 *       protocol checks (an unknown command and an unallocated channel must
 *       fail with the right error). Prints p50/p99 round trips in µs.
 *
 * A PING of SIZE > 57 bytes spans continuation packets, so a passthrough
 * that drops, duplicates or reorders interrupt packets fails the sequence
 * or payload check.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"

#define HID_RPT		64
#define INIT_DATA	(HID_RPT - 7)	/* payload bytes in an init packet */
#define CONT_DATA	(HID_RPT - 5)	/* payload bytes in a continuation */
#define MAX_MSG		(INIT_DATA + 128 * CONT_DATA)	/* 7609 */

#define CID_BROADCAST	0xffffffffu

#define CMD_PING	0x81
#define CMD_MSG		0x83
#define CMD_LOCK	0x84
#define CMD_INIT	0x86
#define CMD_WINK	0x88
#define CMD_CBOR	0x90
#define CMD_CANCEL	0x91
#define CMD_KEEPALIVE	0xbb
#define CMD_ERROR	0xbf

#define ERR_INVALID_CMD		0x01
#define ERR_INVALID_PAR		0x02
#define ERR_INVALID_LEN		0x03
#define ERR_INVALID_SEQ		0x04
#define ERR_MSG_TIMEOUT		0x05
#define ERR_CHANNEL_BUSY	0x06
#define ERR_INVALID_CHANNEL	0x0b

#define CAP_WINK	0x01
#define CAP_NMSG	0x08	/* no CTAP1 MSG */

/* The transaction timeout the spec suggests between packets of a message. */
#define MSG_TIMEOUT_MS	500

struct msg {
	uint32_t cid;
	uint8_t cmd;
	uint16_t len;
	uint8_t data[MAX_MSG];
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tb-ctaphid authenticator /dev/hidgN\n"
	    "       tb-ctaphid ping [-n COUNT] [-s SIZE] [-t TIMEOUT_MS] "
	    "/dev/hidrawN\n");
	exit(2);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
write_report(int fd, const uint8_t *rpt, int report_id)
{
	uint8_t buf[HID_RPT + 1];
	size_t n = HID_RPT;
	ssize_t w;

	if (report_id) {
		/* hidraw, descriptor without report ids: a leading 0. */
		buf[0] = 0;
		memcpy(buf + 1, rpt, HID_RPT);
		n++;
	} else
		memcpy(buf, rpt, HID_RPT);
	do
		w = write(fd, buf, n);
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)n ? 0 : -1;
}

/* Send a whole message as an init packet plus continuations. */
static int
send_msg(int fd, uint32_t cid, uint8_t cmd, const uint8_t *data, size_t len,
    int report_id)
{
	uint8_t rpt[HID_RPT];
	size_t off, n;
	uint8_t seq = 0;

	memset(rpt, 0, sizeof(rpt));
	put_be32(rpt, cid);
	rpt[4] = cmd;
	rpt[5] = (uint8_t)(len >> 8);
	rpt[6] = (uint8_t)len;
	n = len < INIT_DATA ? len : INIT_DATA;
	memcpy(rpt + 7, data, n);
	if (write_report(fd, rpt, report_id) < 0)
		return -1;
	for (off = n; off < len; off += n) {
		memset(rpt, 0, sizeof(rpt));
		put_be32(rpt, cid);
		rpt[4] = seq++;
		n = len - off < CONT_DATA ? len - off : CONT_DATA;
		memcpy(rpt + 5, data + off, n);
		if (write_report(fd, rpt, report_id) < 0)
			return -1;
	}
	return 0;
}

/* Read one 64-byte report; 0 ok, 1 timeout, -1 error (errno set). */
static int
read_report(int fd, uint8_t *rpt, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;
	int pr;

	for (;;) {
		pr = poll(&pfd, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -1;
		if (pr == 0)
			return 1;
		r = read(fd, rpt, HID_RPT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		if (r != HID_RPT) {
			/* Short reports are padded by the spec; pad them. */
			memset(rpt + r, 0, (size_t)(HID_RPT - r));
		}
		return 0;
	}
}

/* ------------------------------------------------------------ authenticator */

struct auth {
	int fd;
	uint32_t next_cid;
	uint32_t cids[64];	/* allocated channels, a small ring */
	unsigned ncids;
	struct msg m;		/* the message being reassembled */
	int busy;		/* m holds an incomplete message */
	uint16_t got;
	uint8_t seq;
	double last_us;
	unsigned long answered;
};

static int
cid_known(const struct auth *a, uint32_t cid)
{
	unsigned i;

	for (i = 0; i < a->ncids && i < 64; i++)
		if (a->cids[i] == cid)
			return 1;
	return 0;
}

static void
send_error(struct auth *a, uint32_t cid, uint8_t code)
{
	if (send_msg(a->fd, cid, CMD_ERROR, &code, 1, 0) < 0)
		fprintf(stderr, "tb-ctaphid: write error reply: %s\n",
		    strerror(errno));
}

static void
handle_msg(struct auth *a, const struct msg *m)
{
	uint8_t r[17];

	switch (m->cmd) {
	case CMD_INIT:
		if (m->len != 8) {
			send_error(a, m->cid, ERR_INVALID_LEN);
			return;
		}
		memcpy(r, m->data, 8);
		if (m->cid == CID_BROADCAST) {
			uint32_t c = a->next_cid++;

			if (a->next_cid == CID_BROADCAST)
				a->next_cid = 1;
			a->cids[a->ncids++ % 64] = c;
			put_be32(r + 8, c);
		} else
			put_be32(r + 8, m->cid);	/* resync */
		r[12] = 2;		/* CTAPHID protocol version */
		r[13] = 1;		/* device version 1.0.0 */
		r[14] = 0;
		r[15] = 0;
		r[16] = CAP_WINK | CAP_NMSG;
		send_msg(a->fd, m->cid, CMD_INIT, r, sizeof(r), 0);
		break;
	case CMD_PING:
		send_msg(a->fd, m->cid, CMD_PING, m->data, m->len, 0);
		break;
	case CMD_WINK:
		send_msg(a->fd, m->cid, CMD_WINK, NULL, 0, 0);
		break;
	case CMD_CANCEL:
		/* Nothing is pending; CANCEL gets no answer of its own. */
		return;
	default:
		send_error(a, m->cid, ERR_INVALID_CMD);
		return;
	}
	a->answered++;
}

/* One report from the host. */
static void
auth_report(struct auth *a, const uint8_t *untrusted)
{
	uint32_t cid = get_be32(untrusted);
	uint8_t b4 = untrusted[4];

	if (b4 & 0x80) {
		/* An initialisation packet. */
		uint16_t len = (uint16_t)(untrusted[5] << 8 | untrusted[6]);

		if (cid == 0 || (cid != CID_BROADCAST && !cid_known(a, cid))) {
			send_error(a, cid, ERR_INVALID_CHANNEL);
			return;
		}
		if (cid == CID_BROADCAST && b4 != CMD_INIT) {
			send_error(a, cid, ERR_INVALID_CHANNEL);
			return;
		}
		if (a->busy && cid != a->m.cid) {
			/* INIT may interrupt anything; others wait. */
			if (b4 != CMD_INIT) {
				send_error(a, cid, ERR_CHANNEL_BUSY);
				return;
			}
		}
		if (len > MAX_MSG) {
			send_error(a, cid, ERR_INVALID_LEN);
			return;
		}
		a->m.cid = cid;
		a->m.cmd = b4;
		a->m.len = len;
		a->got = len < INIT_DATA ? len : INIT_DATA;
		memcpy(a->m.data, untrusted + 7, a->got);
		a->seq = 0;
		a->busy = a->got < len;
		a->last_us = tb_now_us();
		if (!a->busy)
			handle_msg(a, &a->m);
		return;
	}
	/* A continuation packet. */
	if (!a->busy || cid != a->m.cid) {
		/* Spurious continuations are ignored (spec 11.2.4). */
		if (a->busy && cid != a->m.cid)
			send_error(a, cid, ERR_CHANNEL_BUSY);
		return;
	}
	if (b4 != a->seq) {
		a->busy = 0;
		send_error(a, cid, ERR_INVALID_SEQ);
		return;
	}
	{
		uint16_t n = (uint16_t)(a->m.len - a->got < CONT_DATA ?
		    a->m.len - a->got : CONT_DATA);

		memcpy(a->m.data + a->got, untrusted + 5, n);
		a->got = (uint16_t)(a->got + n);
	}
	a->seq++;
	a->last_us = tb_now_us();
	if (a->got == a->m.len) {
		a->busy = 0;
		handle_msg(a, &a->m);
	}
}

/*
 * Serve until killed. The gadget node goes dead when the host resets or
 * re-enumerates the device (I/O fails with ESHUTDOWN): reopen it, as a
 * key's firmware starts over after a bus reset.
 */
static _Noreturn void
do_authenticator(const char *path)
{
	struct auth *a = calloc(1, sizeof(*a));
	uint8_t rpt[HID_RPT];

	if (a == NULL)
		exit(1);
	srand((unsigned)time(NULL));
	a->next_cid = 0x01000000u | ((unsigned)rand() & 0xffff) << 4;
	a->fd = -1;
	for (;;) {
		int rc;

		if (a->fd < 0) {
			a->fd = open(path, O_RDWR);
			if (a->fd < 0) {
				usleep(20000);
				continue;
			}
			a->busy = 0;
		}
		rc = read_report(a->fd, rpt, a->busy ? MSG_TIMEOUT_MS : -1);
		if (rc == 1) {
			if (a->busy && tb_now_us() - a->last_us >=
			    MSG_TIMEOUT_MS * 1000.0) {
				a->busy = 0;
				send_error(a, a->m.cid, ERR_MSG_TIMEOUT);
			}
			continue;
		}
		if (rc < 0) {
			close(a->fd);
			a->fd = -1;
			usleep(20000);
			continue;
		}
		auth_report(a, rpt);
	}
}

/* ------------------------------------------------------------ host side */

/*
 * Read one whole message on channel cid (answers on other channels are
 * skipped, KEEPALIVEs too). Returns 0, or -1 with a reason on stderr.
 */
static int
recv_msg(int fd, uint32_t cid, struct msg *m, int timeout_ms,
    const char *what)
{
	uint8_t rpt[HID_RPT];
	uint16_t got = 0;
	uint8_t seq = 0;
	int rc;

	for (;;) {
		rc = read_report(fd, rpt, timeout_ms);
		if (rc != 0) {
			fprintf(stderr, "tb-ctaphid: %s: %s\n", what,
			    rc > 0 ? "no answer in time" : strerror(errno));
			return -1;
		}
		if (get_be32(rpt) != cid)
			continue;
		if (rpt[4] & 0x80) {
			if (rpt[4] == CMD_KEEPALIVE)
				continue;
			if (got != 0 || seq != 0) {
				fprintf(stderr, "tb-ctaphid: %s: init packet "
				    "in the middle of a message\n", what);
				return -1;
			}
			m->cid = cid;
			m->cmd = rpt[4];
			m->len = (uint16_t)(rpt[5] << 8 | rpt[6]);
			if (m->len > MAX_MSG) {
				fprintf(stderr, "tb-ctaphid: %s: length %u\n",
				    what, m->len);
				return -1;
			}
			got = m->len < INIT_DATA ? m->len : INIT_DATA;
			memcpy(m->data, rpt + 7, got);
		} else {
			uint16_t n;

			if (m->len == 0 || got == 0) {
				fprintf(stderr, "tb-ctaphid: %s: continuation "
				    "before an init packet\n", what);
				return -1;
			}
			if (rpt[4] != seq) {
				fprintf(stderr, "tb-ctaphid: %s: continuation "
				    "seq %u, expected %u (a lost or repeated "
				    "report)\n", what, rpt[4], seq);
				return -1;
			}
			seq++;
			n = (uint16_t)(m->len - got < CONT_DATA ?
			    m->len - got : CONT_DATA);
			memcpy(m->data + got, rpt + 5, n);
			got = (uint16_t)(got + n);
		}
		if (got == m->len)
			return 0;
	}
}

static int
expect_error(int fd, uint32_t cid, uint8_t cmd, uint8_t want, int timeout_ms,
    const char *what)
{
	static struct msg m;
	uint8_t zero[8] = { 0 };

	if (send_msg(fd, cid, cmd, zero, sizeof(zero), 1) < 0) {
		fprintf(stderr, "tb-ctaphid: %s: write: %s\n", what,
		    strerror(errno));
		return -1;
	}
	if (recv_msg(fd, cid, &m, timeout_ms, what) < 0)
		return -1;
	if (m.cmd != CMD_ERROR || m.len != 1 || m.data[0] != want) {
		fprintf(stderr, "tb-ctaphid: %s: expected ERROR 0x%02x, got "
		    "cmd 0x%02x len %u code 0x%02x\n", what, want, m.cmd, m.len,
		    m.data[0]);
		return -1;
	}
	return 0;
}

static int
do_ping(int fd, unsigned long count, size_t size, int timeout_ms)
{
	static struct msg m;
	uint8_t nonce[8], *payload;
	uint32_t cid;
	double *lat, t0;
	unsigned long i;
	size_t k;

	lat = calloc(count, sizeof(*lat));
	payload = malloc(size ? size : 1);
	if (lat == NULL || payload == NULL)
		return 1;
	srand((unsigned)(tb_now_us()));
	for (k = 0; k < sizeof(nonce); k++)
		nonce[k] = (uint8_t)rand();
	t0 = tb_now_us();
	if (send_msg(fd, CID_BROADCAST, CMD_INIT, nonce, sizeof(nonce), 1) < 0) {
		fprintf(stderr, "tb-ctaphid: INIT: write: %s\n", strerror(errno));
		return 1;
	}
	if (recv_msg(fd, CID_BROADCAST, &m, timeout_ms, "INIT") < 0)
		return 1;
	if (m.cmd != CMD_INIT || m.len < 17 || memcmp(m.data, nonce, 8) != 0) {
		fprintf(stderr, "tb-ctaphid: INIT: bad answer (cmd 0x%02x len "
		    "%u, nonce %s)\n", m.cmd, m.len,
		    memcmp(m.data, nonce, 8) ? "differs" : "ok");
		return 1;
	}
	cid = get_be32(m.data + 8);
	if (cid == 0 || cid == CID_BROADCAST || m.data[12] != 2) {
		fprintf(stderr, "tb-ctaphid: INIT: channel %08x version %u\n",
		    cid, m.data[12]);
		return 1;
	}
	printf("init_us=%.0f cid=%08x version=%u caps=0x%02x\n",
	    tb_now_us() - t0, cid, m.data[12], m.data[16]);
	/* Errors a real key gives: these must come back, not hang. */
	if (expect_error(fd, cid, 0xc0, ERR_INVALID_CMD, timeout_ms,
	    "unknown command") < 0 ||
	    expect_error(fd, cid ^ 0x00ff0000u, CMD_PING, ERR_INVALID_CHANNEL,
	    timeout_ms, "unallocated channel") < 0)
		return 1;
	for (i = 0; i < count; i++) {
		for (k = 0; k < size; k++)
			payload[k] = (uint8_t)(i * 31 + k * 7 + (k >> 8) + 3);
		t0 = tb_now_us();
		if (send_msg(fd, cid, CMD_PING, payload, size, 1) < 0) {
			fprintf(stderr, "tb-ctaphid: PING #%lu: write: %s\n", i,
			    strerror(errno));
			return 1;
		}
		if (recv_msg(fd, cid, &m, timeout_ms, "PING") < 0) {
			fprintf(stderr, "tb-ctaphid: PING #%lu of %lu failed\n",
			    i, count);
			return 1;
		}
		lat[i] = tb_now_us() - t0;
		if (m.cmd != CMD_PING || m.len != size) {
			fprintf(stderr, "tb-ctaphid: PING #%lu: answer cmd 0x%02x "
			    "len %u (sent %zu)\n", i, m.cmd, m.len, size);
			return 1;
		}
		for (k = 0; k < size; k++) {
			if (m.data[k] != payload[k]) {
				fprintf(stderr, "tb-ctaphid: PING #%lu differs at "
				    "byte %zu: sent 0x%02x, got 0x%02x\n", i, k,
				    payload[k], m.data[k]);
				return 1;
			}
		}
	}
	printf("pings=%lu size=%zu packets=%zu p50_us=%.0f p99_us=%.0f\n",
	    count, size, size <= INIT_DATA ? 1 :
	    1 + (size - INIT_DATA + CONT_DATA - 1) / CONT_DATA,
	    tb_percentile(lat, count, 50), tb_percentile(lat, count, 99));
	free(lat);
	free(payload);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long count = 1000;
	size_t size = INIT_DATA;
	int c, fd, timeout_ms = 5000;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "n:s:t:")) != -1) {
		switch (c) {
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 't': timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || size > MAX_MSG || count == 0)
		usage();
	if (strcmp(mode, "authenticator") == 0)
		do_authenticator(argv[optind]);
	if (strcmp(mode, "ping") != 0)
		usage();
	fd = open(argv[optind], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "tb-ctaphid: open %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	}
	return do_ping(fd, count, size, timeout_ms);
}
