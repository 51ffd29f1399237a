/* tests/tools/randread.c: tb-randread, O_DIRECT 4 KiB random-read latency (p50/p99) of a block device. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "stats.h"

static void
usage(void)
{
	fprintf(stderr, "usage: tb-randread [-n COUNT] [-b BLOCKSIZE] [-s SEED] DEVICE\n"
	    "  O_DIRECT pread()s at random aligned offsets; prints p50/p99 in microseconds\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	unsigned long count = 2000, bs = 4096, seed = 1;
	uint64_t size, blocks;
	double *lat, t0, t1;
	void *buf;
	int c, fd;

	while ((c = getopt(argc, argv, "n:b:s:")) != -1) {
		switch (c) {
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'b': bs = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (optind != argc - 1 || count == 0 || bs == 0 || bs % 512 != 0)
		usage();
	fd = open(argv[optind], O_RDONLY | O_DIRECT);
	if (fd < 0) {
		fprintf(stderr, "tb-randread: open %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
		off_t end = lseek(fd, 0, SEEK_END);

		if (end < 0) {
			fprintf(stderr, "tb-randread: size of %s: %s\n", argv[optind], strerror(errno));
			return 1;
		}
		size = (uint64_t)end;
	}
	blocks = size / bs;
	if (blocks == 0) {
		fprintf(stderr, "tb-randread: %s is smaller than one block\n", argv[optind]);
		return 1;
	}
	if (posix_memalign(&buf, 4096, bs) != 0 || (lat = calloc(count, sizeof(*lat))) == NULL) {
		fprintf(stderr, "tb-randread: out of memory\n");
		return 1;
	}
	srandom((unsigned)seed);
	for (unsigned long i = 0; i < count; i++) {
		uint64_t blk = ((uint64_t)random() << 31 | (uint64_t)random()) % blocks;
		ssize_t r;

		t0 = tb_now_us();
		r = pread(fd, buf, bs, (off_t)(blk * bs));
		t1 = tb_now_us();
		if (r != (ssize_t)bs) {
			fprintf(stderr, "tb-randread: pread at %" PRIu64 ": %s\n", blk * bs,
			    r < 0 ? strerror(errno) : "short read");
			return 1;
		}
		lat[i] = t1 - t0;
	}
	printf("p50_us=%.0f p99_us=%.0f n=%lu bs=%lu\n", tb_percentile(lat, count, 50),
	    tb_percentile(lat, count, 99), count, bs);
	free(lat);
	free(buf);
	close(fd);
	return 0;
}
