/* tests/tools/relay.c: tb-relay, splice a virtio-serial port (or any file) onto one TCP connection, latency-tuned. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tb-relay FILE connect IP:PORT\n"
	    "       tb-relay FILE listen IP:PORT\n"
	    "  copies bytes both ways between FILE (opened once, kept open: a\n"
	    "  virtio-serial port drops data on close) and one TCP connection with\n"
	    "  TCP_NODELAY and TCP_QUICKACK, so that a peer that does not disable\n"
	    "  Nagle is not held up by delayed ACKs; exits when the TCP side closes\n");
	exit(2);
}

static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void
tune(int s)
{
	int one = 1;

	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	static char buf[BUF_SIZE];
	int fd, s, one = 1;

	if (argc != 4 || parse_addr(argv[3], &sa) < 0)
		usage();
	if ((fd = open(argv[1], O_RDWR | O_NOCTTY)) < 0) {
		fprintf(stderr, "tb-relay: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 1;
	if (strcmp(argv[2], "connect") == 0) {
		for (int i = 0; connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0; i++) {
			if (i == 100) {
				fprintf(stderr, "tb-relay: connect %s: %s\n", argv[3], strerror(errno));
				return 1;
			}
			close(s);
			usleep(100000);
			if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
				return 1;
		}
	} else if (strcmp(argv[2], "listen") == 0) {
		int l = s;

		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0) {
			fprintf(stderr, "tb-relay: listen %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
		if ((s = accept(l, NULL, NULL)) < 0) {
			fprintf(stderr, "tb-relay: accept: %s\n", strerror(errno));
			return 1;
		}
		close(l);
	} else {
		usage();
	}
	tune(s);
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = s, .events = POLLIN } };
		ssize_t r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(s, buf, sizeof(buf));
			if (r <= 0)
				return 0;
			/* Delayed ACKs come back after every read; switch them off again. */
			setsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
			if (write_all(fd, buf, (size_t)r) < 0) {
				fprintf(stderr, "tb-relay: write %s: %s\n", argv[1], strerror(errno));
				return 1;
			}
		}
		if (p[0].revents & POLLIN) {
			r = read(fd, buf, sizeof(buf));
			if (r > 0 && write_all(s, buf, (size_t)r) < 0)
				return 0;
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "tb-relay: read %s: %s\n", argv[1], strerror(errno));
				return 1;
			}
		} else if (p[0].revents & (POLLHUP | POLLERR)) {
			/* The port's host end is not connected (yet): wait for it. */
			usleep(10000);
		}
	}
}
