/* tests/tools/evwait.c: tb-evwait, wait for a key press on an evdev node (proves an input device delivers events). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

int
main(int argc, char **argv)
{
	struct input_event ev;
	double deadline;
	int fd, code;

	if (argc != 4) {
		fprintf(stderr, "usage: tb-evwait DEVICE KEYCODE TIMEOUT_S\n"
		    "  exits 0 when KEYCODE (linux/input-event-codes.h) is pressed\n");
		return 2;
	}
	code = atoi(argv[2]);
	deadline = tb_now_us() + atof(argv[3]) * 1e6;
	if ((fd = open(argv[1], O_RDONLY)) < 0) {
		fprintf(stderr, "tb-evwait: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = deadline - tb_now_us();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) == 0) {
			fprintf(stderr, "tb-evwait: no press of key %d within %s s\n", code, argv[3]);
			return 1;
		}
		r = read(fd, &ev, sizeof(ev));
		if (r != (ssize_t)sizeof(ev)) {
			if (r < 0 && errno == EINTR)
				continue;
			fprintf(stderr, "tb-evwait: read: %s\n", r < 0 ? strerror(errno) : "short");
			return 1;
		}
		printf("event type=%u code=%u value=%d\n", ev.type, ev.code, ev.value);
		if (ev.type == EV_KEY && ev.code == code && ev.value == 1)
			return 0;
	}
}
