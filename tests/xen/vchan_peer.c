/*
 * tests/xen/vchan_peer.c: one end of a vchan, run by check_vchan as a
 * process of a simulated domain (XENSTORED_PATH, LD_LIBRARY_PATH to the
 * fake hypervisor) over proto/stream.c and the unmodified libxenvchan.
 *
 *   vchan_peer URI listen|connect echo        echo until end of stream
 *   vchan_peer URI listen|connect send N SEED  send N bytes in odd-sized
 *                                          pieces, check the echo: "ok N"
 *   vchan_peer URI listen|connect ready        ping, "ready", then "eof"
 *                                          once the peer is gone
 *   vchan_peer URI listen|connect push N       queue N bytes, "queued P"
 *                                          (P still pending), then "sent"
 *   vchan_peer URI listen|connect pull N       read a line from stdin, then
 *                                          check N pushed bytes: "ok N"
 *   vchan_peer raw DOMID PATH                  libxenvchan_client_init on
 *                                          PATH: "open" or the errno name
 *   vchan_peer URI ctl-serve NAME             a VM daemon's control link
 *                                          (ctl_link, listening: the vchan
 *                                          server): "up"/"down" per dom0
 *   vchan_peer URI ctl-dom0 NAME              usbgated's side: connect
 *                                          without blocking (chan_wait),
 *                                          hellos: "hello NAME" when the
 *                                          server said that name
 * "wait" instead of listen|connect: a client opened without blocking
 * (chan_wait, proto/chan.h) in a poll loop that also serves stdin: "waiting"
 * once the server is found absent, "tick" for each line read meanwhile.
 * With VCHAN_PEER_SANDBOX=1 the peer enters usbgate's own sandbox
 * (common/sandbox.c: chroot into an empty directory when root, seccomp)
 * once the channel is open, as the frontend's session process does; with
 * VCHAN_PEER_SANDBOX=usbfs the backend session's (usbfs ioctls allowed,
 * any other ioctl but the vchan's fatal).
 * With VCHAN_PEER_FORK=1 it forks first, as usbgate's daemons do: the
 * child (the session process) opens the channel, enters the sandbox if
 * asked and runs the mode; the parent never opens the channel and exits
 * with the child's status. (Opening in the parent and closing its copy
 * after the fork tore the ring down, doc/xen.md section 3.)
 * Exit status 0 when the mode's claim held.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxenvchan.h>

#include "ctl_link.h"
#include "ctl_peer.h"
#include "sandbox.h"
#include "stream.h"

static uint8_t
pattern(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 131 + (i >> 11) + seed);
}

/* One loop turn; the stream's error or 0. */
static int
turn(struct stream *s, int ms)
{
	struct pollfd p = { stream_rfd(s), POLLIN, 0 };
	ssize_t r = 0;

	stream_flush(s);
	if (poll(&p, 1, ms) > 0)
		r = stream_fill(s);
	stream_flush(s);
	return r < 0 ? (int)r : 0;
}

/* A client that keeps its loop going while its server is not there. */
static int
open_waiting(const char *uri, struct stream **s)
{
	struct chan_uri u;
	struct chan_wait *w;
	struct chan_end e;
	struct pollfd p[2];
	char line[64];
	int rc, said = 0;

	if (chan_uri_parse(uri, &u) != CHAN_OK ||
	    chan_wait_start(&u, &w) != CHAN_OK)
		return STREAM_E_SYS;
	while ((rc = chan_wait_step(w, &e)) == CHAN_E_SYS && errno == EAGAIN) {
		if (!said++)
			printf("waiting\n");
		p[0] = (struct pollfd){ chan_wait_fd(w), POLLIN, 0 };
		p[1] = (struct pollfd){ 0, POLLIN, 0 };
		if (poll(p, 2, -1) < 0)
			break;
		if ((p[1].revents & POLLIN) && fgets(line, sizeof(line), stdin))
			printf("tick\n");
	}
	chan_wait_free(w);
	if (rc != CHAN_OK)
		return rc;
	return stream_from_end(&e, 0, s);
}

static int
run_ctl_serve(const char *uri, const char *name)
{
	struct ctl_link *l;
	struct pollfd p[2];
	struct ctl_msg m;
	int n, t, ev;

	if (ctl_link_new(uri, 1, CTL_ROLE_BACKEND, name, 0, &l) != CTL_OK)
		return 2;
	while (!ctl_link_is_dead(l)) {
		t = -1;
		n = ctl_link_pollfds(l, p, &t);
		if (poll(p, (nfds_t)n, t) < 0)
			break;
		ctl_link_io(l, p, n);
		while ((ev = ctl_link_next(l, &m)) != CTL_LINK_NONE)
			printf("%s\n", ev == CTL_LINK_UP ? "up" :
			    ev == CTL_LINK_DOWN ? "down" : "msg");
	}
	ctl_link_free(l);
	return 1;
}

static int
run_ctl_dom0(const char *uri, const char *want)
{
	struct ctl_conn *c;
	struct chan_uri u;
	struct chan_wait *w;
	struct chan_end e;
	struct pollfd p;
	struct ctl_msg m;
	int rc;

	if (chan_uri_parse(uri, &u) != CHAN_OK ||
	    chan_wait_start(&u, &w) != CHAN_OK)
		return 1;
	while ((rc = chan_wait_step(w, &e)) == CHAN_E_SYS && errno == EAGAIN) {
		p = (struct pollfd){ chan_wait_fd(w), POLLIN, 0 };
		poll(&p, 1, -1);
	}
	chan_wait_free(w);
	if (rc != CHAN_OK || ctl_conn_open(uri, &e, CTL_ROLE_DOM0,
	    CTL_ROLE_BACKEND, &c) != CTL_OK ||
	    ctl_conn_send_hello(c, "dom0", CTL_CAP__ALL) != CTL_OK)
		return 1;
	for (;;) {
		p = (struct pollfd){ ctl_conn_fd(c), POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0 || ctl_conn_read(c) < 0)
			return 1;
		if ((rc = ctl_conn_next(c, &m)) < 0)
			return 1;
		if (rc > 0 && m.type == CTL_MSG_HELLO)
			break;
	}
	printf("hello %s\n", strcmp(m.u.hello.name, want) == 0 ?
	    m.u.hello.name : "(another name)");
	ctl_conn_free(c);
	return 0;
}

static int
run_echo(struct stream *s)
{
	uint8_t buf[65536];
	size_t n;
	int rc;

	for (;;) {
		rc = turn(s, -1);
		while ((n = stream_read(s, buf, sizeof(buf))) > 0)
			stream_write(s, buf, n);
		if (rc < 0)
			return rc == STREAM_E_EOF ? 0 : 1;
	}
}

static int
run_send(struct stream *s, size_t total, unsigned int seed)
{
	static const size_t piece[] = { 1, 7, 4093, 65536, 100003, 3, 262144 };
	uint8_t *out = malloc(262144), in[9973];
	size_t sent = 0, got = 0, k = 0, n, i;
	int rc;

	while (got < total) {
		if (sent < total && stream_pending(s) < 512 * 1024) {
			n = piece[k++ % 7];
			if (n > total - sent)
				n = total - sent;
			for (i = 0; i < n; i++)
				out[i] = pattern(sent + i, seed);
			stream_write(s, out, n);
			sent += n;
		}
		rc = turn(s, sent < total && stream_pending(s) < 512 * 1024 ?
		    0 : 1000);
		/* read in pieces of another size than the writes */
		while ((n = stream_read(s, in, sizeof(in))) > 0)
			for (i = 0; i < n; i++, got++)
				if (in[i] != pattern(got, seed)) {
					printf("mismatch at %zu\n", got);
					return 1;
				}
		if (rc < 0 && got < total) {
			printf("%s after %zu\n", stream_strerror(rc), got);
			return 1;
		}
	}
	printf("ok %zu\n", got);
	free(out);
	return 0;
}

static int
run_ready(struct stream *s)
{
	char buf[4];
	int rc = 0;

	stream_write(s, "ping", 4);
	while (rc == 0 && stream_available(s) < 4)
		rc = turn(s, 1000);
	if (stream_read(s, buf, 4) != 4 || memcmp(buf, "ping", 4) != 0) {
		printf("no echo: %s\n", stream_strerror(rc));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (rc == 0)
		rc = turn(s, -1);
	printf("%s\n", rc == STREAM_E_EOF ? "eof" : stream_strerror(rc));
	return rc == STREAM_E_EOF ? 0 : 1;
}

static int
run_push(struct stream *s, size_t total)
{
	uint8_t *buf = malloc(total);
	size_t i;
	int rc = 0;

	for (i = 0; i < total; i++)
		buf[i] = pattern(i, 7);
	stream_write(s, buf, total);
	stream_flush(s);
	/* the ring is full and the reader reads nothing yet: all waits here */
	printf("queued %zu\n", stream_pending(s));
	fflush(stdout);
	while (rc == 0 && stream_pending(s) > 0)
		rc = turn(s, 1000);
	printf("sent\n");
	fflush(stdout);
	while (rc == 0)
		rc = turn(s, -1);
	free(buf);
	return rc == STREAM_E_EOF ? 0 : 1;
}

static int
run_pull(struct stream *s, size_t total)
{
	uint8_t in[1000];
	char line[16];
	size_t got = 0, n, i;
	int rc = 0;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	while (got < total && rc == 0) {
		rc = turn(s, 1000);
		while ((n = stream_read(s, in, sizeof(in))) > 0)
			for (i = 0; i < n; i++, got++)
				if (in[i] != pattern(got, 7))
					return 1;
	}
	printf("ok %zu\n", got);
	return got == total ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct libxenvchan *vc;
	struct stream *s;
	const char *sb;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "raw") == 0) {
		vc = libxenvchan_client_init(NULL, atoi(argv[2]), argv[3]);
		if (vc != NULL) {
			printf("open\n");
			libxenvchan_close(vc);
			return 0;
		}
		printf("%s\n", errno == EACCES ? "EACCES" : strerror(errno));
		return 1;
	}
	if (argc == 4 && strcmp(argv[2], "ctl-serve") == 0)
		return run_ctl_serve(argv[1], argv[3]);
	if (argc == 4 && strcmp(argv[2], "ctl-dom0") == 0)
		return run_ctl_dom0(argv[1], argv[3]);
	if (argc < 4)
		return 2;
	if (getenv("VCHAN_PEER_FORK") != NULL) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			return 1;
		if (pid > 0) {
			/* the daemons' parent: never holds the channel */
			if (waitpid(pid, &st, 0) < 0)
				return 1;
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
		}
	}
	if (strcmp(argv[2], "wait") == 0)
		rc = open_waiting(argv[1], &s);
	else
		rc = stream_open(argv[1], strcmp(argv[2], "listen") == 0 ?
		    STREAM_F_LISTEN : 0, &s);
	if (rc < 0) {
		printf("open: %s\n", stream_strerror(rc));
		return 1;
	}
	printf("opened\n");
	sb = getenv("VCHAN_PEER_SANDBOX");
	if (sb != NULL && (rc = sandbox_enter(NULL, SANDBOX_ALLOW_SOCKETS |
	    (strcmp(sb, "usbfs") == 0 ? SANDBOX_ALLOW_IOCTL : 0))) !=
	    SANDBOX_OK) {
		printf("sandbox: %s\n", sandbox_strerror(rc));
		return 1;
	}
	if (strcmp(argv[3], "echo") == 0)
		rc = run_echo(s);
	else if (strcmp(argv[3], "send") == 0 && argc == 6)
		rc = run_send(s, strtoul(argv[4], NULL, 10),
		    (unsigned int)atoi(argv[5]));
	else if (strcmp(argv[3], "ready") == 0)
		rc = run_ready(s);
	else if (strcmp(argv[3], "push") == 0 && argc == 5)
		rc = run_push(s, strtoul(argv[4], NULL, 10));
	else if (strcmp(argv[3], "pull") == 0 && argc == 5)
		rc = run_pull(s, strtoul(argv[4], NULL, 10));
	else
		rc = 2;
	stream_close(s);
	return rc;
}
