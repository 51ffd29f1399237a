/* tests/tools/rtt.c: tb-rtt, byte-exact echo and round-trip latency over a tty, hidraw or hidg node. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "stats.h"

#define MAX_SIZE 4096

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tb-rtt echo [-s SIZE] DEVICE\n"
	    "       tb-rtt ping [-n COUNT] [-s SIZE] [-r] [-t TIMEOUT_MS] DEVICE\n"
	    "  echo: write back everything read (a tty, or a HID gadget /dev/hidgN)\n"
	    "  ping: send COUNT messages of SIZE bytes, read each echo back, compare it\n"
	    "        byte for byte and print p50/p99 round trips in microseconds;\n"
	    "        -r prefixes each write with report id 0 (hidraw without ids)\n");
	exit(2);
}

/* Put a tty into raw mode; other nodes are left alone. */
static int
make_raw(int fd, const char *path)
{
	struct termios t;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &t) < 0) {
		fprintf(stderr, "tb-rtt: tcgetattr %s: %s\n", path, strerror(errno));
		return -1;
	}
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	t.c_cflag &= ~CRTSCTS;
	cfsetispeed(&t, B115200);
	cfsetospeed(&t, B115200);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		fprintf(stderr, "tb-rtt: tcsetattr %s: %s\n", path, strerror(errno));
		return -1;
	}
	tcflush(fd, TCIOFLUSH);
	return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Echo until killed. A gadget's node goes dead when the host side resets
 * or re-enumerates the device (the tty is hung up: read() returns 0, I/O
 * fails), so reopen the node whenever that happens.
 */
static _Noreturn void
do_echo(const char *path, size_t size)
{
	unsigned char buf[MAX_SIZE];
	int fd = -1;

	for (;;) {
		ssize_t r;

		if (fd < 0) {
			fd = open(path, O_RDWR | O_NOCTTY);
			if (fd < 0 || make_raw(fd, path) < 0) {
				if (fd >= 0)
					close(fd);
				fd = -1;
				usleep(20000);
				continue;
			}
		}
		r = read(fd, buf, size);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0 || write_all(fd, buf, (size_t)r) < 0) {
			close(fd);
			fd = -1;
			usleep(20000);
		}
	}
}

static int
do_ping(int fd, unsigned long count, size_t size, int report_id, int timeout_ms)
{
	unsigned char out[MAX_SIZE + 1], in[MAX_SIZE];
	double *lat;

	if ((lat = calloc(count, sizeof(*lat))) == NULL)
		return 1;
	for (unsigned long i = 0; i < count; i++) {
		unsigned char *msg = out + (report_id ? 1 : 0);
		size_t got = 0;
		double t0;

		out[0] = 0;
		for (size_t k = 0; k < size; k++)
			msg[k] = (unsigned char)(i * 7 + k * 13 + 1);
		t0 = tb_now_us();
		if (write_all(fd, out, size + (report_id ? 1 : 0)) < 0) {
			fprintf(stderr, "tb-rtt ping: write #%lu: %s\n", i, strerror(errno));
			return 1;
		}
		while (got < size) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int pr = poll(&pfd, 1, timeout_ms);
			ssize_t r;

			if (pr == 0) {
				fprintf(stderr, "tb-rtt ping: no echo for message #%lu within %d ms "
				    "(%zu of %zu bytes)\n", i, timeout_ms, got, size);
				return 1;
			}
			if (pr < 0 && errno != EINTR) {
				fprintf(stderr, "tb-rtt ping: poll: %s\n", strerror(errno));
				return 1;
			}
			r = read(fd, in + got, size - got);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				fprintf(stderr, "tb-rtt ping: read #%lu: %s\n", i,
				    r < 0 ? strerror(errno) : "end of file");
				return 1;
			}
			got += (size_t)r;
		}
		lat[i] = tb_now_us() - t0;
		for (size_t k = 0; k < size; k++) {
			if (in[k] != msg[k]) {
				fprintf(stderr, "tb-rtt ping: message #%lu differs at byte %zu: "
				    "sent 0x%02x, got 0x%02x\n", i, k, msg[k], in[k]);
				return 1;
			}
		}
	}
	printf("p50_us=%.0f p99_us=%.0f n=%lu size=%zu\n", tb_percentile(lat, count, 50),
	    tb_percentile(lat, count, 99), count, size);
	free(lat);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long count = 200;
	size_t size = 64;
	int c, fd, report_id = 0, timeout_ms = 5000;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "n:s:rt:")) != -1) {
		switch (c) {
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'r': report_id = 1; break;
		case 't': timeout_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || size == 0 || size > MAX_SIZE || count == 0)
		usage();
	if (strcmp(mode, "echo") == 0)
		do_echo(argv[optind], size);
	fd = open(argv[optind], O_RDWR | O_NOCTTY);
	if (fd < 0) {
		fprintf(stderr, "tb-rtt: open %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (make_raw(fd, argv[optind]) < 0)
		return 1;
	if (strcmp(mode, "ping") == 0)
		return do_ping(fd, count, size, report_id, timeout_ms);
	usage();
	return 2;
}
