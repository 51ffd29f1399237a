/*
 * check_stream.c: channel URIs parse as documented (one grammar, one ops
 * row per kind that says what the kind can do); a listening unix channel
 * replaces a stale socket but never another file; dev: streams are framed
 * and rawdev: ones are not, as the kind's row says, and "framed:" frames
 * any other kind (once; never a device kind); an end knows whether
 * it is a socket and TCP (accepted TCP gets TCP_NODELAY); streams survive
 * partial reads and writes, report EOF, signal back-pressure above the
 * high-water mark, and give owned buffers back exactly once.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stream.h"
#include "unit_main.h"

/*
 * The channel layer's clock (common/clock.c's mono_ms, wrapped at link
 * time: -Wl,--wrap=mono_ms). Real time unless a test stops it; a stopped
 * clock moves only when the test says, so a test about keepalives does
 * not depend on how long the machine keeps it off the CPU.
 */
long __real_mono_ms(void);
long __wrap_mono_ms(void);
static int clock_stopped;
static long clock_now;

long
__wrap_mono_ms(void)
{
	return clock_stopped ? clock_now : __real_mono_ms();
}

static const struct {
	const char *uri;
	int ok;
	enum stream_kind kind;
} uris[] = {
	{ "stdio", 1, STREAM_KIND_STDIO },
	{ "fd:3", 1, STREAM_KIND_FD },
	{ "fd:3,4", 1, STREAM_KIND_FD },
	{ "unix:/run/x.sock", 1, STREAM_KIND_UNIX },
	{ "tcp:10.0.0.1:4000", 1, STREAM_KIND_TCP },
	{ "tcp:[::1]:4000", 1, STREAM_KIND_TCP },
	{ "tcp::4000", 1, STREAM_KIND_TCP },
	{ "dev:/dev/vport0p1", 1, STREAM_KIND_DEV },
	{ "rawdev:/dev/vport0p1", 1, STREAM_KIND_RAWDEV },
	{ "vchan:3:7", 1, STREAM_KIND_VCHAN },
	{ "", 0, 0 },
	{ "fd:", 0, 0 },
	{ "fd:-1", 0, 0 },
	{ "fd:3x", 0, 0 },
	{ "unix:", 0, 0 },
	{ "tcp:host", 0, 0 },
	{ "tcp:host:0", 0, 0 },
	{ "tcp:host:70000", 0, 0 },
	{ "vchan:x:7", 0, 0 },
	{ "vchan:3:", 0, 0 },
	{ "vchan:3:a", 0, 0 },
	{ "vchan:70000:1", 0, 0 },
	{ "vchan:3", 0, 0 },
	{ "http://x", 0, 0 },
	{ "stdio:", 0, 0 },
	{ "stdiox", 0, 0 },
	{ "unix", 0, 0 },
	{ "dev:", 0, 0 },
	{ "rawdev:", 0, 0 },
	{ "fd:3,", 0, 0 },
	{ "fd:3,4,5", 0, 0 },
	{ "tcpx:h:1", 0, 0 },
	{ "Unix:/x", 0, 0 },
	{ "dev:/dev/virtio-ports/a:b", 1, STREAM_KIND_DEV },
	{ "framed:unix:/run/x.sock", 1, STREAM_KIND_UNIX },
	{ "framed:tcp::4000", 1, STREAM_KIND_TCP },
	{ "framed:fd:3", 1, STREAM_KIND_FD },
	{ "framed:stdio", 1, STREAM_KIND_STDIO },
	{ "framed:vchan:3:7", 1, STREAM_KIND_VCHAN },
	{ "framed:dev:/dev/vport0p1", 0, 0 },
	{ "framed:rawdev:/dev/vport0p1", 0, 0 },
	{ "framed:framed:unix:/x", 0, 0 },
	{ "framed:", 0, 0 },
	{ "framed", 0, 0 },
	{ "unix:framed:/x", 1, STREAM_KIND_UNIX },
};

START_TEST(uri_parses_as_documented)
{
	struct stream_uri u;
	int rc = stream_uri_parse(uris[_i].uri, &u);

	if (uris[_i].ok) {
		ck_assert_msg(rc == STREAM_OK, "%s refused", uris[_i].uri);
		ck_assert_int_eq(u.kind, uris[_i].kind);
	} else
		ck_assert_msg(rc == STREAM_E_URI, "%s accepted", uris[_i].uri);
}
END_TEST

START_TEST(uri_fields_are_split)
{
	struct stream_uri u;

	ck_assert_int_eq(stream_uri_parse("tcp:[::1]:4000", &u), STREAM_OK);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_str_eq(u.port, "4000");
	ck_assert_int_eq(stream_uri_parse("fd:5,6", &u), STREAM_OK);
	ck_assert_int_eq(u.rfd, 5);
	ck_assert_int_eq(u.wfd, 6);
	ck_assert_int_eq(stream_uri_parse("vchan:12:3", &u), STREAM_OK);
	ck_assert_int_eq(u.domid, 12);
	ck_assert_str_eq(u.port, "3");
}
END_TEST

/* What each kind's row says it can do. */
static const struct {
	enum chan_kind kind;
	unsigned flags;
} kind_flags[] = {
	{ CHAN_STDIO, CHAN_K_INHERIT | CHAN_K_CONTROL },
	{ CHAN_FD, CHAN_K_INHERIT | CHAN_K_CONTROL },
	{ CHAN_UNIX, CHAN_K_LISTEN | CHAN_K_SOCKET | CHAN_K_CONTROL },
	{ CHAN_TCP, CHAN_K_LISTEN | CHAN_K_SOCKET | CHAN_K_CONTROL },
	{ CHAN_DEV, CHAN_K_NOEOS | CHAN_K_FRAMED | CHAN_K_CONTROL },
	{ CHAN_RAWDEV, CHAN_K_NOEOS },
	{ CHAN_VCHAN, CHAN_K_LISTEN | CHAN_K_CONTROL },
};

START_TEST(kinds_say_what_they_can)
{
	struct chan_uri u;
	char uri[64];

	ck_assert_uint_eq(chan_kind_flags(kind_flags[_i].kind),
	    kind_flags[_i].flags);
	/* The row's scheme names the kind in the grammar. */
	if (kind_flags[_i].kind == CHAN_STDIO)
		snprintf(uri, sizeof(uri), "stdio");
	else if (kind_flags[_i].kind == CHAN_FD)
		snprintf(uri, sizeof(uri), "fd:7");
	else
		snprintf(uri, sizeof(uri), "%s:%s",
		    chan_kind_name(kind_flags[_i].kind),
		    kind_flags[_i].kind == CHAN_TCP ||
		    kind_flags[_i].kind == CHAN_VCHAN ? "1:2" : "/p");
	ck_assert_int_eq(chan_uri_parse(uri, &u), CHAN_OK);
	ck_assert_int_eq(u.kind, kind_flags[_i].kind);
	ck_assert_uint_eq(chan_kind_flags(CHAN_KIND__COUNT), 0);
}
END_TEST

START_TEST(unix_listen_replaces_a_stale_socket_never_a_file)
{
	char path[] = "/tmp/usbgate-check-XXXXXX";
	struct chan_uri u;
	struct sockaddr_un sun;
	struct stat st;
	int fd = mkstemp(path), lfd;

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_lt((int)strlen(path) + 5, (int)sizeof(u.path));
	u = (struct chan_uri){ .kind = CHAN_UNIX };
	strcpy(u.path, path);
	/* A regular file is not ours to remove. */
	errno = 0;
	ck_assert_int_eq(chan_listen(&u, 0600), CHAN_E_SYS);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(path);
	/* A socket file left by a dead listener is replaced. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	lfd = chan_listen(&u, 0600);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_ne(fcntl(lfd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(lfd, F_GETFD) & FD_CLOEXEC, 0);
	close(lfd);
	unlink(path);
}
END_TEST

START_TEST(a_wait_on_a_kind_without_one_is_the_open_at_once)
{
	char path[] = "/tmp/usbgate-check-XXXXXX";
	struct chan_uri u;
	struct chan_wait *w;
	struct chan_end e;
	int fd = mkstemp(path), lfd, cfd;

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	u = (struct chan_uri){ .kind = CHAN_UNIX };
	strcpy(u.path, path);
	/* nobody listens: the first step is the connect's own error */
	ck_assert_int_eq(chan_wait_start(&u, &w), CHAN_OK);
	ck_assert_int_eq(chan_wait_fd(w), -1);
	errno = 0;
	ck_assert_int_eq(chan_wait_step(w, &e), CHAN_E_SYS);
	ck_assert_int_eq(errno, ENOENT);
	chan_wait_free(w);
	/* a listener: connected in start, the end handed over once */
	lfd = chan_listen(&u, 0600);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(chan_wait_start(&u, &w), CHAN_OK);
	ck_assert_int_eq(chan_wait_step(w, &e), CHAN_OK);
	cfd = e.rfd;
	ck_assert_int_ge(cfd, 0);
	ck_assert_int_eq(e.rfd, e.wfd);
	ck_assert_int_eq(chan_wait_step(w, &e), CHAN_E_SYS);
	ck_assert_int_ne(errno, EAGAIN);
	chan_wait_free(w);
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(cfd);
	close(lfd);
	unlink(path);
}
END_TEST

START_TEST(dev_is_framed_rawdev_is_not)
{
	/* A FIFO opened read-write stands in for a character device. */
	char dir[] = "/tmp/usbgate-check-XXXXXX", path[64], uri[80];
	struct stream *dev, *raw;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/port", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	snprintf(uri, sizeof(uri), "dev:%s", path);
	ck_assert_int_eq(stream_open(uri, 0, &dev), STREAM_OK);
	snprintf(uri, sizeof(uri), "rawdev:%s", path);
	ck_assert_int_eq(stream_open(uri, 0, &raw), STREAM_OK);
	ck_assert(!stream_ready(dev));		/* HELLO/READY first */
	ck_assert_int_ge(stream_timeout(dev), 0);
	ck_assert(stream_ready(raw));
	ck_assert_int_eq(stream_timeout(raw), -1);
	stream_close(raw);
	stream_close(dev);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(framed_prefix_frames_any_kind)
{
	struct stream *framed, *plain;
	char uri[32];
	int sv[2];

	/* dom0's end of a virtio-serial port is a socket: framed:fd:N. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(uri, sizeof(uri), "framed:fd:%d", sv[0]);
	ck_assert_int_eq(stream_open(uri, 0, &framed), STREAM_OK);
	snprintf(uri, sizeof(uri), "fd:%d", sv[1]);
	ck_assert_int_eq(stream_open(uri, 0, &plain), STREAM_OK);
	ck_assert(!stream_ready(framed));	/* HELLO/READY first */
	ck_assert_int_ge(stream_timeout(framed), 0);
	ck_assert(stream_ready(plain));
	ck_assert_int_eq(stream_timeout(plain), -1);
	stream_close(framed);
	stream_close(plain);
}
END_TEST

START_TEST(ends_know_sockets_and_tcp)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct chan_uri u = { .kind = CHAN_FD };
	struct chan_end e;
	int lfd, cfd, sv[2], pv[2], v = 0;
	socklen_t vl = sizeof(v);

	/* A TCP connection on the loopback, port chosen by the kernel. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(cfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* Accepted: TCP, with TCP_NODELAY. */
	ck_assert_int_eq(chan_accept(lfd, &e), CHAN_OK);
	ck_assert(e.is_socket && e.is_tcp);
	ck_assert_int_eq(getsockopt(e.rfd, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
	ck_assert_int_ne(v, 0);
	chan_end_close(&e);
	/* Inherited (fd:): still known as TCP. */
	u.rfd = u.wfd = cfd;
	ck_assert_int_eq(chan_open(&u, 0, &e), CHAN_OK);
	ck_assert(e.is_socket && e.is_tcp);
	ck_assert_int_ne(fcntl(cfd, F_GETFL) & O_NONBLOCK, 0);
	chan_end_close(&e);
	close(lfd);
	/* A unix socket is a socket, not TCP; a pipe is neither. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	u.rfd = u.wfd = sv[0];
	ck_assert_int_eq(chan_open(&u, 0, &e), CHAN_OK);
	ck_assert(e.is_socket && !e.is_tcp);
	chan_end_close(&e);
	close(sv[1]);
	ck_assert_int_eq(pipe(pv), 0);
	u.rfd = pv[0];
	u.wfd = pv[1];
	ck_assert_int_eq(chan_open(&u, 0, &e), CHAN_OK);
	ck_assert(!e.is_socket && !e.is_tcp);
	chan_end_close(&e);
}
END_TEST

static void
pair(struct stream **a, int *peer)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], a), STREAM_OK);
	*peer = sv[1];
}

START_TEST(partial_reads_accumulate)
{
	struct stream *s;
	int peer;
	char buf[16];

	pair(&s, &peer);
	ck_assert_int_eq(stream_fill(s), 0);	/* nothing yet, no block */
	ck_assert_int_eq(write(peer, "he", 2), 2);
	ck_assert_int_eq(stream_fill(s), 2);
	ck_assert_int_eq(write(peer, "llo", 3), 3);
	ck_assert_int_eq(stream_fill(s), 3);
	ck_assert_uint_eq(stream_available(s), 5);
	ck_assert_uint_eq(stream_read(s, buf, 2), 2);
	ck_assert_int_eq(memcmp(buf, "he", 2), 0);
	ck_assert_int_eq(memcmp(stream_peek(s), "llo", 3), 0);
	stream_consume(s, 3);
	ck_assert_uint_eq(stream_available(s), 0);
	stream_close(s);
	close(peer);
}
END_TEST

START_TEST(eof_is_reported_after_data)
{
	struct stream *s;
	int peer;
	char buf[4];

	pair(&s, &peer);
	ck_assert_int_eq(write(peer, "abc", 3), 3);
	close(peer);
	ck_assert_int_eq(stream_fill(s), 3);
	ck_assert_int_eq(stream_fill(s), STREAM_E_EOF);
	ck_assert_uint_eq(stream_read(s, buf, 4), 3);
	stream_close(s);
}
END_TEST

static int frees;

static void
count_free(void *ctx, void *buf)
{
	frees++;
	free(buf);
}

START_TEST(backpressure_and_partial_writes)
{
	struct stream *s;
	int peer, i, sz = 4096;
	size_t total = 0, got = 0;
	char *buf = malloc(1 << 20);

	pair(&s, &peer);
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	stream_set_highwater(s, 256 * 1024);
	frees = 0;
	for (i = 0; i < 16; i++) {
		void *b = malloc(32 * 1024);

		memset(b, i, 32 * 1024);
		ck_assert_int_eq(stream_write_owned(s, b, 32 * 1024, count_free,
		    NULL), STREAM_OK);
		ck_assert_int_eq(stream_write(s, "x", 1), STREAM_OK);
		total += 32 * 1024 + 1;
	}
	ck_assert(stream_congested(s));
	/* The peer does not read: only part goes out, the rest waits. */
	ck_assert_int_gt(stream_flush(s), 0);
	ck_assert(stream_pending(s) > 0 && stream_pending(s) < total);
	/* Now drain while the peer reads. */
	while (got < total) {
		ssize_t n;

		stream_flush(s);
		n = read(peer, buf, 1 << 20);
		ck_assert_int_gt(n, 0);
		/* byte order across segments: 32 KiB of i then 'x' */
		got += (size_t)n;
	}
	ck_assert_int_eq(stream_flush(s), 0);
	ck_assert(!stream_congested(s));
	ck_assert_int_eq(frees, 16);
	stream_close(s);
	close(peer);
	free(buf);
}
END_TEST

START_TEST(write_order_is_kept_across_copies_and_owned)
{
	struct stream *s;
	int peer;
	char out[8];
	char *owned = malloc(3);

	pair(&s, &peer);
	memcpy(owned, "BCD", 3);
	frees = 0;
	stream_write(s, "A", 1);
	stream_write_owned(s, owned, 3, count_free, NULL);
	stream_write(s, "EF", 2);
	ck_assert_int_eq(stream_flush(s), 0);
	ck_assert_int_eq(read(peer, out, sizeof(out)), 6);
	ck_assert_int_eq(memcmp(out, "ABCDEF", 6), 0);
	ck_assert_int_eq(frees, 1);
	stream_close(s);
	close(peer);
}
END_TEST

START_TEST(close_frees_unwritten_owned_buffers)
{
	struct stream *s;
	int peer;

	pair(&s, &peer);
	frees = 0;
	stream_write_owned(s, malloc(10), 10, count_free, NULL);
	stream_write_owned(s, malloc(10), 10, count_free, NULL);
	stream_close(s);
	ck_assert_int_eq(frees, 2);
	close(peer);
}
END_TEST

START_TEST(write_to_closed_peer_fails_once_then_stays_failed)
{
	struct stream *s;
	int peer;

	pair(&s, &peer);
	close(peer);
	stream_write(s, "abc", 3);
	ck_assert_int_lt(stream_flush(s), 0);
	ck_assert_int_eq(stream_write(s, "x", 1), STREAM_E_CLOSED);
	frees = 0;
	ck_assert_int_eq(stream_write_owned(s, malloc(4), 4, count_free, NULL),
	    STREAM_E_CLOSED);
	ck_assert_int_eq(frees, 1);
	stream_close(s);
}
END_TEST

START_TEST(reserve_holds_a_large_pdu_in_one_piece)
{
	struct stream *s;
	int peer;
	size_t want = 2 * 1024 * 1024, have = 0;
	char *chunk = calloc(1, 65536);

	pair(&s, &peer);
	ck_assert_int_eq(stream_reserve(s, want), STREAM_OK);
	while (have < want) {
		ck_assert_int_eq(write(peer, chunk, 65536), 65536);
		while (stream_available(s) < have + 65536)
			ck_assert_int_ge(stream_fill(s), 0);
		have += 65536;
	}
	ck_assert_uint_eq(stream_available(s), want);
	ck_assert_int_eq(stream_reserve(s, STREAM_IN_MAX + 1), STREAM_E_NOMEM);
	stream_close(s);
	close(peer);
	free(chunk);
}
END_TEST

START_TEST(unix_listen_and_connect)
{
	char path[] = "/tmp/usbgate-check-XXXXXX";
	char uri[64];
	struct stream *srv, *cli;
	int fd = mkstemp(path);
	pid_t pid;
	char b[2];

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	snprintf(uri, sizeof(uri), "unix:%s", path);
	pid = fork();
	if (pid == 0) {
		int i;

		for (i = 0; i < 100; i++) {
			if (stream_open(uri, 0, &cli) == STREAM_OK) {
				stream_write(cli, "hi", 2);
				stream_drain(cli, 1000);
				_exit(0);
			}
			usleep(10000);
		}
		_exit(1);
	}
	ck_assert_int_eq(stream_open(uri, STREAM_F_LISTEN, &srv), STREAM_OK);
	while (stream_available(srv) < 2) {
		struct pollfd p = { stream_rfd(srv), POLLIN, 0 };

		poll(&p, 1, 1000);
		ck_assert_int_ge(stream_fill(srv), 0);
	}
	ck_assert_uint_eq(stream_read(srv, b, 2), 2);
	ck_assert_int_eq(memcmp(b, "hi", 2), 0);
	stream_close(srv);
}
END_TEST


START_TEST(pipe_writes_are_gathered_in_order)
{
	/* A pipe is a character-device-like fd: small pieces are gathered. */
	struct stream *w;
	int pf[2], i;
	uint8_t expect[40000], got[40000];
	size_t n = 0, k = 0;

	ck_assert_int_eq(pipe(pf), 0);
	ck_assert_int_eq(stream_from_fds(pf[0], pf[1], &w), STREAM_OK);
	for (i = 0; i < 1000; i++) {
		uint8_t piece[40];
		size_t len = (size_t)(i % 37) + 1, j;

		for (j = 0; j < len; j++)
			piece[j] = (uint8_t)(i + j);
		if (i % 100 == 0) {
			void *b = malloc(len);

			memcpy(b, piece, len);
			stream_write_owned(w, b, len, count_free, NULL);
		} else
			stream_write(w, piece, len);
		memcpy(expect + n, piece, len);
		n += len;
	}
	while (k < n) {
		ssize_t r;

		ck_assert_int_ge(stream_flush(w), 0);
		r = read(pf[0], got + k, n - k);
		ck_assert_int_gt(r, 0);
		k += (size_t)r;
	}
	ck_assert_int_eq(memcmp(expect, got, n), 0);
	ck_assert_uint_eq(stream_pending(w), 0);
	stream_close(w);
}
END_TEST

/* ---------------------------------------------------------------- framing */

static void
framed_pair(struct stream **a, struct stream **b)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], a), STREAM_OK);
	ck_assert_int_eq(stream_from_fds(sv[1], sv[1], b), STREAM_OK);
	ck_assert_int_eq(stream_set_framed(*a), STREAM_OK);
	ck_assert_int_eq(stream_set_framed(*b), STREAM_OK);
}

/* Run both ends' I/O a few times (what each event loop does). */
static void
spin(struct stream *a, struct stream *b, int rounds)
{
	int i;

	for (i = 0; i < rounds; i++) {
		stream_tick(a);
		stream_tick(b);
		stream_flush(a);
		stream_flush(b);
		usleep(1000);
		stream_fill(a);
		stream_fill(b);
	}
}

START_TEST(framed_data_waits_for_the_handshake_then_flows)
{
	struct stream *a, *b;
	char buf[8];

	framed_pair(&a, &b);
	ck_assert(!stream_ready(a));
	stream_write(a, "ping", 4);
	spin(a, b, 5);
	ck_assert(stream_ready(a) && stream_ready(b));
	ck_assert_uint_eq(stream_available(b), 4);
	ck_assert_uint_eq(stream_read(b, buf, 8), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	stream_close(a);
	stream_close(b);
}
END_TEST

START_TEST(framed_large_data_crosses_intact)
{
	struct stream *a, *b;
	size_t len = 3 * 1024 * 1024 + 17, got = 0, i;
	uint8_t *src = malloc(len), *dst = malloc(len);

	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 31 + (i >> 11));
	framed_pair(&a, &b);
	stream_write(a, src, len);
	while (got < len) {
		stream_flush(a);
		stream_flush(b);
		ck_assert_int_ge(stream_fill(b), 0);
		stream_fill(a);
		got += stream_read(b, dst + got, len - got);
	}
	ck_assert_int_eq(memcmp(src, dst, len), 0);
	stream_close(a);
	stream_close(b);
	free(src);
	free(dst);
}
END_TEST

START_TEST(framed_stale_session_bytes_are_dropped)
{
	/*
	 * Before B starts, the pipe holds garbage and a whole earlier session
	 * of the peer: its HELLO, a READY for a nonce B never had, DATA and
	 * CLOSE. B must deliver only the new session's bytes.
	 */
	static const uint8_t stale[] = {
		'x', 'y', 'U', 'G',
		'U', 'G', 'F', '1', 1, 0, 0, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
		'U', 'G', 'F', '1', 2, 0, 0, 0, 8, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9,
		'U', 'G', 'F', '1', 3, 0, 0, 0, 5, 0, 0, 0, 'S', 'T', 'A', 'L', 'E',
		'U', 'G', 'F', '1', 5, 0, 0, 0, 0, 0, 0, 0,
	};
	struct stream *a, *b;
	int sv[2];
	char buf[16];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], stale, sizeof(stale)), (ssize_t)sizeof(stale));
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], &a), STREAM_OK);
	ck_assert_int_eq(stream_from_fds(sv[1], sv[1], &b), STREAM_OK);
	ck_assert_int_eq(stream_set_framed(a), STREAM_OK);
	ck_assert_int_eq(stream_set_framed(b), STREAM_OK);
	stream_write(a, "fresh", 5);
	spin(a, b, 10);
	ck_assert(stream_ready(b));
	ck_assert_uint_eq(stream_available(b), 5);
	ck_assert_uint_eq(stream_read(b, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "fresh", 5), 0);
	stream_close(a);
	stream_close(b);
}
END_TEST

START_TEST(framed_close_is_end_of_stream)
{
	struct stream *a, *b;
	char buf[4];
	ssize_t r = 0;
	int i;

	framed_pair(&a, &b);
	stream_write(a, "bye", 3);
	spin(a, b, 5);
	stream_close(a);
	for (i = 0; i < 10 && r >= 0; i++)
		r = stream_fill(b);
	ck_assert_int_eq(r, STREAM_E_EOF);
	ck_assert_uint_eq(stream_read(b, buf, 4), 3);
	stream_close(b);
}
END_TEST

START_TEST(framed_silent_peer_is_detected)
{
	struct stream *a, *b;
	int i, r = STREAM_OK;

	framed_pair(&a, &b);
	spin(a, b, 5);
	ck_assert(stream_ready(b));
	stream_set_keepalive(b, 20, 150);
	/* a stops running its loop (a killed process that keeps the fd) */
	for (i = 0; i < 100 && r == STREAM_OK; i++) {
		usleep(5000);
		r = stream_tick(b);
		stream_flush(b);
		stream_fill(b);
	}
	ck_assert_int_eq(r, STREAM_E_SILENT);
	stream_close(a);
	stream_close(b);
}
END_TEST

START_TEST(framed_keepalives_keep_an_idle_session)
{
	struct stream *a, *b;
	int i;

	framed_pair(&a, &b);
	stream_set_keepalive(a, 20, 150);
	stream_set_keepalive(b, 20, 150);
	/* 0.5 s idle on the stopped clock, three silence limits: only the
	 * PINGs can keep the session up, whatever the scheduler does. */
	clock_now = __real_mono_ms();
	clock_stopped = 1;
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(stream_tick(a), STREAM_OK);
		ck_assert_int_eq(stream_tick(b), STREAM_OK);
		stream_flush(a);
		stream_flush(b);
		clock_now += 5;
		ck_assert_int_ge(stream_fill(a), 0);
		ck_assert_int_ge(stream_fill(b), 0);
	}
	clock_stopped = 0;
	stream_close(a);
	stream_close(b);
}
END_TEST

START_TEST(framed_restarted_peer_ends_the_session)
{
	/* A new HELLO (another nonce) after the handshake: the peer restarted. */
	static const uint8_t hello[] = {
		'U', 'G', 'F', '1', 1, 0, 0, 0, 8, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 7,
	};
	struct stream *a, *b;
	int sv[2], i;
	ssize_t r = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], &a), STREAM_OK);
	ck_assert_int_eq(stream_from_fds(dup(sv[1]), dup(sv[1]), &b), STREAM_OK);
	stream_set_framed(a);
	stream_set_framed(b);
	spin(a, b, 5);
	ck_assert(stream_ready(a));
	ck_assert_int_eq(write(sv[1], hello, sizeof(hello)), (ssize_t)sizeof(hello));
	for (i = 0; i < 10 && r >= 0; i++)
		r = stream_fill(a);
	ck_assert_int_eq(r, STREAM_E_EOF);
	stream_close(a);
	stream_close(b);
	close(sv[1]);
}
END_TEST

START_TEST(framed_restart_behind_data_is_seen_by_tick)
{
	/* DATA and the restarted peer's HELLO in one read, nothing after:
	 * the data comes out, then the timer (not a read) ends the session. */
	static const uint8_t in[] = {
		'U', 'G', 'F', '1', 3, 0, 0, 0, 2, 0, 0, 0, 'h', 'i',
		'U', 'G', 'F', '1', 1, 0, 0, 0, 8, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 7,
	};
	struct stream *a, *b;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], &a), STREAM_OK);
	ck_assert_int_eq(stream_from_fds(dup(sv[1]), dup(sv[1]), &b), STREAM_OK);
	stream_set_framed(a);
	stream_set_framed(b);
	spin(a, b, 5);
	ck_assert(stream_ready(a));
	ck_assert_int_eq(stream_tick(a), STREAM_OK);
	ck_assert_int_eq(write(sv[1], in, sizeof(in)), (ssize_t)sizeof(in));
	ck_assert_int_eq(stream_fill(a), 2);
	ck_assert_int_eq(stream_timeout(a), 0);
	ck_assert_int_eq(stream_tick(a), STREAM_E_EOF);
	stream_close(a);
	stream_close(b);
	close(sv[1]);
}
END_TEST

START_TEST(framed_garbage_after_handshake_is_a_framing_error)
{
	struct stream *a, *b;
	int sv[2], i;
	ssize_t r = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(stream_from_fds(sv[0], sv[0], &a), STREAM_OK);
	ck_assert_int_eq(stream_from_fds(dup(sv[1]), dup(sv[1]), &b), STREAM_OK);
	stream_set_framed(a);
	stream_set_framed(b);
	spin(a, b, 5);
	ck_assert_int_eq(write(sv[1], "garbage-garbage", 15), 15);
	for (i = 0; i < 10 && r >= 0; i++)
		r = stream_fill(a);
	ck_assert_int_eq(r, STREAM_E_FRAMING);
	stream_close(a);
	stream_close(b);
	close(sv[1]);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("stream");

	tcase_add_loop_test(tc, uri_parses_as_documented, 0,
	    sizeof(uris) / sizeof(uris[0]));
	tcase_add_test(tc, uri_fields_are_split);
	tcase_add_loop_test(tc, kinds_say_what_they_can, 0,
	    sizeof(kind_flags) / sizeof(kind_flags[0]));
	tcase_add_test(tc, unix_listen_replaces_a_stale_socket_never_a_file);
	tcase_add_test(tc, a_wait_on_a_kind_without_one_is_the_open_at_once);
	tcase_add_test(tc, dev_is_framed_rawdev_is_not);
	tcase_add_test(tc, framed_prefix_frames_any_kind);
	tcase_add_test(tc, ends_know_sockets_and_tcp);
	tcase_add_test(tc, partial_reads_accumulate);
	tcase_add_test(tc, eof_is_reported_after_data);
	tcase_add_test(tc, backpressure_and_partial_writes);
	tcase_add_test(tc, write_order_is_kept_across_copies_and_owned);
	tcase_add_test(tc, close_frees_unwritten_owned_buffers);
	tcase_add_test(tc, write_to_closed_peer_fails_once_then_stays_failed);
	tcase_add_test(tc, reserve_holds_a_large_pdu_in_one_piece);
	tcase_add_test(tc, unix_listen_and_connect);
	tcase_add_test(tc, pipe_writes_are_gathered_in_order);
	tcase_add_test(tc, framed_data_waits_for_the_handshake_then_flows);
	tcase_add_test(tc, framed_large_data_crosses_intact);
	tcase_add_test(tc, framed_stale_session_bytes_are_dropped);
	tcase_add_test(tc, framed_close_is_end_of_stream);
	tcase_add_test(tc, framed_silent_peer_is_detected);
	tcase_add_test(tc, framed_keepalives_keep_an_idle_session);
	tcase_add_test(tc, framed_restarted_peer_ends_the_session);
	tcase_add_test(tc, framed_restart_behind_data_is_seen_by_tick);
	tcase_add_test(tc, framed_garbage_after_handshake_is_a_framing_error);
	suite_add_tcase(s, tc);
	return s;
}
