/*
 * tests/tools/v4l2cap.c: tb-v4l2cap, a V4L2 capture client (mmap streaming)
 * that checks every frame of the synthetic webcam (tests/fixtures/uvccam.c,
 * frame layout in tests/fixtures/uvcframe.h).
 *
 * Owns the capture loop and the counting: frames per second as received,
 * the source's own rate (from the timestamps inside the frames), lost
 * frames (gaps in the sequence numbers), incomplete frames (the driver
 * flagged them with V4L2_BUF_FLAG_ERROR: it saw data missing; load uvcvideo
 * with nodrop=1 so that it hands them out instead of recycling them
 * silently), corrupt frames (handed out as good, yet of the wrong size, or
 * with a bad header or CRC: undetected damage) and gaps in the driver's own
 * buffer sequence. With -c it opens, streams K frames and closes the device C
 * times in a row (start/stop), each cycle bounded by the timeout.
 *
 * -f picks the format: yuyv (the default; every frame exactly the driver's
 * image size) or mjpeg (every frame a different size: the byte count the
 * driver reports must equal the length inside the frame, so a frame cut
 * short or run together with the next one counts as corrupt). The average
 * frame size and the video payload rate are printed too.
 *
 *   tb-v4l2cap [-d /dev/videoN] [-f yuyv|mjpeg] [-s WxH]
 *              [-t SECONDS | -n FRAMES] [-c CYCLES -k FRAMES] [-b BUFFERS]
 *              [-T TIMEOUT_MS] [-v]
 *
 * Prints one line of key=value (per cycle with -v) and exits 0 when the
 * capture ran to its end, 1 on a failure (no frame in time, ioctl error),
 * 3 when the device went away (ENODEV), 2 on usage errors. Lost and corrupt
 * frames do not change the status: the caller judges the figures.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "stats.h"
#include "../fixtures/uvcframe.h"

#define MAX_BUFS	16

struct counts {
	uint64_t frames;	/* dequeued */
	uint64_t valid;
	uint64_t corrupt;	/* looked good to the driver, but is not */
	uint64_t incomplete;	/* V4L2_BUF_FLAG_ERROR: known damaged */
	uint64_t lost;
	uint64_t v4l2_gaps;	/* frames the driver numbered but never gave */
	uint64_t bytes;		/* of the valid frames */
	uint32_t first_seq, last_seq;
	uint64_t src_first_us, src_last_us;
	double t_first, t_last;	/* µs, dequeue time */
	double first_frame_ms;	/* STREAMON to first frame */
	double max_gap_ms;	/* longest wait between two frames */
	int have_seq;
	uint32_t last_v4l2_seq;
	int have_v4l2_seq;
	enum uvcframe_verdict last_bad;
};

struct cap {
	const char *dev;
	unsigned width, height;
	uint32_t pixfmt;	/* V4L2_PIX_FMT_YUYV or _MJPEG */
	const char *fourcc;	/* the same, as uvcframe writes it */
	unsigned nbufs;
	int timeout_ms;
	int verbose;
	int fd;
	struct {
		void *p;
		size_t len;
	} buf[MAX_BUFS];
	unsigned n;
	uint32_t sizeimage;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = 1;
}

static int
xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
fail_errno(const char *what)
{
	int gone = errno == ENODEV;

	fprintf(stderr, "tb-v4l2cap: %s: %s\n", what, strerror(errno));
	return gone ? 3 : 1;
}

static int
cap_open(struct cap *c)
{
	struct v4l2_capability qc;
	struct v4l2_format f;
	struct v4l2_streamparm sp;
	struct v4l2_requestbuffers rb;
	unsigned i;

	c->fd = open(c->dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0)
		return fail_errno(c->dev);
	if (xioctl(c->fd, VIDIOC_QUERYCAP, &qc) < 0)
		return fail_errno("VIDIOC_QUERYCAP");
	if (!(qc.device_caps & V4L2_CAP_VIDEO_CAPTURE) ||
	    !(qc.device_caps & V4L2_CAP_STREAMING)) {
		fprintf(stderr, "tb-v4l2cap: %s cannot stream video capture\n",
		    c->dev);
		return 1;
	}
	memset(&f, 0, sizeof(f));
	f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	f.fmt.pix.width = c->width;
	f.fmt.pix.height = c->height;
	f.fmt.pix.pixelformat = c->pixfmt;
	f.fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(c->fd, VIDIOC_S_FMT, &f) < 0)
		return fail_errno("VIDIOC_S_FMT");
	if (f.fmt.pix.width != c->width || f.fmt.pix.height != c->height ||
	    f.fmt.pix.pixelformat != c->pixfmt) {
		fprintf(stderr, "tb-v4l2cap: driver chose %ux%u %.4s\n",
		    f.fmt.pix.width, f.fmt.pix.height,
		    (char *)&f.fmt.pix.pixelformat);
		return 1;
	}
	c->sizeimage = f.fmt.pix.sizeimage;
	memset(&sp, 0, sizeof(sp));
	sp.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	sp.parm.capture.timeperframe.numerator = 1;
	sp.parm.capture.timeperframe.denominator = 30;
	if (xioctl(c->fd, VIDIOC_S_PARM, &sp) < 0)
		return fail_errno("VIDIOC_S_PARM");
	memset(&rb, 0, sizeof(rb));
	rb.count = c->nbufs;
	rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	rb.memory = V4L2_MEMORY_MMAP;
	if (xioctl(c->fd, VIDIOC_REQBUFS, &rb) < 0)
		return fail_errno("VIDIOC_REQBUFS");
	if (rb.count < 2 || rb.count > MAX_BUFS) {
		fprintf(stderr, "tb-v4l2cap: %u buffers\n", rb.count);
		return 1;
	}
	c->n = rb.count;
	for (i = 0; i < c->n; i++) {
		struct v4l2_buffer b;

		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_MMAP;
		b.index = i;
		if (xioctl(c->fd, VIDIOC_QUERYBUF, &b) < 0)
			return fail_errno("VIDIOC_QUERYBUF");
		c->buf[i].len = b.length;
		c->buf[i].p = mmap(NULL, b.length, PROT_READ | PROT_WRITE,
		    MAP_SHARED, c->fd, b.m.offset);
		if (c->buf[i].p == MAP_FAILED)
			return fail_errno("mmap");
		if (xioctl(c->fd, VIDIOC_QBUF, &b) < 0)
			return fail_errno("VIDIOC_QBUF");
	}
	return 0;
}

static void
cap_close(struct cap *c)
{
	unsigned i;

	for (i = 0; i < c->n; i++)
		if (c->buf[i].p != NULL && c->buf[i].p != MAP_FAILED)
			munmap(c->buf[i].p, c->buf[i].len);
	memset(c->buf, 0, sizeof(c->buf));
	c->n = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
account(struct counts *k, const struct cap *c, const struct v4l2_buffer *b,
    double now)
{
	const uint8_t *p = c->buf[b->index].p;
	enum uvcframe_verdict v;
	uint32_t seq;
	uint64_t ts;

	if (k->frames == 0)
		k->t_first = now;
	else if ((now - k->t_last) / 1000 > k->max_gap_ms)
		k->max_gap_ms = (now - k->t_last) / 1000;
	k->t_last = now;
	k->frames++;
	if (k->have_v4l2_seq && b->sequence > k->last_v4l2_seq + 1)
		k->v4l2_gaps += b->sequence - k->last_v4l2_seq - 1;
	k->last_v4l2_seq = b->sequence;
	k->have_v4l2_seq = 1;

	if (b->flags & V4L2_BUF_FLAG_ERROR) {
		k->incomplete++;
		return;
	}
	/* uncompressed: the image size; compressed: the frame's own length */
	if (c->pixfmt == V4L2_PIX_FMT_YUYV ? b->bytesused != c->sizeimage :
	    b->bytesused > c->sizeimage) {
		k->corrupt++;
		k->last_bad = UVCFRAME_LENGTH;
		return;
	}
	v = uvcframe_check(p, b->bytesused, c->fourcc, &seq, &ts);
	if (v != UVCFRAME_OK) {
		k->corrupt++;
		k->last_bad = v;
		return;
	}
	k->valid++;
	if (!k->have_seq) {
		k->first_seq = seq;
		k->src_first_us = ts;
		k->have_seq = 1;
	} else if (seq <= k->last_seq) {
		/* A repeated or reordered frame is as wrong as a bad one. */
		k->corrupt++;
		k->valid--;
		return;
	}
	k->last_seq = seq;
	k->src_last_us = ts;
	k->bytes += b->bytesused;
}

static void
finish(struct counts *k)
{
	uint64_t span;

	if (!k->have_seq)
		return;
	span = (uint64_t)k->last_seq - k->first_seq + 1;
	/* Every number in the span was either received (valid or not) or lost. */
	k->lost = span > k->frames ? span - k->frames : 0;
}

static void
print_counts(const char *prefix, const struct counts *k)
{
	double secs = (k->t_last - k->t_first) / 1e6;
	double src_secs = (double)(k->src_last_us - k->src_first_us) / 1e6;

	printf("%sframes=%llu valid=%llu seconds=%.2f fps=%.2f src_fps=%.2f "
	    "lost=%llu incomplete=%llu corrupt=%llu v4l2_gaps=%llu "
	    "first_seq=%u last_seq=%u first_frame_ms=%.0f max_gap_ms=%.0f "
	    "kib_per_frame=%.1f mb_per_s=%.2f%s%s\n",
	    prefix, (unsigned long long)k->frames,
	    (unsigned long long)k->valid, secs,
	    secs > 0 ? (double)(k->frames - 1) / secs : 0,
	    src_secs > 0 ? (double)(k->last_seq - k->first_seq) / src_secs : 0,
	    (unsigned long long)k->lost, (unsigned long long)k->incomplete,
	    (unsigned long long)k->corrupt, (unsigned long long)k->v4l2_gaps,
	    k->first_seq, k->last_seq, k->first_frame_ms, k->max_gap_ms,
	    k->valid ? (double)k->bytes / k->valid / 1024 : 0,
	    secs > 0 ? (double)k->bytes / secs / 1e6 : 0,
	    k->corrupt ? " last_bad=" : "",
	    k->corrupt ? uvcframe_verdict_name(k->last_bad) : "");
}

/*
 * Stream until `frames` frames (0: no limit) or `seconds` (0: no limit)
 * have passed; returns 0, 1 or 3 as documented above.
 */
static int
capture(struct cap *c, struct counts *k, uint64_t frames, double seconds)
{
	enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	double t0, t_on;
	int rc = 0;

	if (xioctl(c->fd, VIDIOC_STREAMON, &type) < 0)
		return fail_errno("VIDIOC_STREAMON");
	t0 = t_on = tb_now_us();
	while (!stop) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		struct v4l2_buffer b;
		int pr;
		double now;

		if (frames > 0 && k->frames >= frames)
			break;
		if (seconds > 0 && k->frames > 0 &&
		    (tb_now_us() - k->t_first) / 1e6 >= seconds)
			break;
		pr = poll(&pfd, 1, c->timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			rc = fail_errno("poll");
			break;
		}
		if (pr == 0) {
			fprintf(stderr, "tb-v4l2cap: no frame within %d ms (after "
			    "%llu frames)\n", c->timeout_ms,
			    (unsigned long long)k->frames);
			rc = 1;
			break;
		}
		if (pfd.revents & (POLLERR | POLLHUP) && !(pfd.revents & POLLIN)) {
			errno = ENODEV;
			rc = fail_errno("device");
			break;
		}
		memset(&b, 0, sizeof(b));
		b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		b.memory = V4L2_MEMORY_MMAP;
		if (xioctl(c->fd, VIDIOC_DQBUF, &b) < 0) {
			if (errno == EAGAIN)
				continue;
			rc = fail_errno("VIDIOC_DQBUF");
			break;
		}
		now = tb_now_us();
		if (k->frames == 0)
			k->first_frame_ms = (now - t_on) / 1000;
		account(k, c, &b, now);
		if (xioctl(c->fd, VIDIOC_QBUF, &b) < 0) {
			rc = fail_errno("VIDIOC_QBUF");
			break;
		}
	}
	(void)t0;
	if (xioctl(c->fd, VIDIOC_STREAMOFF, &type) < 0 && rc == 0)
		rc = fail_errno("VIDIOC_STREAMOFF");
	finish(k);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tb-v4l2cap [-d DEV] [-f yuyv|mjpeg] [-s WxH] "
	    "[-t SECONDS | -n FRAMES] [-c CYCLES -k FRAMES] [-b BUFFERS] "
	    "[-T TIMEOUT_MS] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct cap c = { .dev = "/dev/video0", .width = 320, .height = 240,
	    .pixfmt = V4L2_PIX_FMT_YUYV, .fourcc = "YUYV", .nbufs = 6,
	    .timeout_ms = 5000, .fd = -1 };
	struct counts total;
	double seconds = 0;
	unsigned long frames = 0, cycles = 0, per_cycle = 10, i;
	int ch, rc = 0;
	struct sigaction sa;

	while ((ch = getopt(argc, argv, "d:f:s:t:n:c:k:b:T:v")) != -1) {
		switch (ch) {
		case 'd': c.dev = optarg; break;
		case 'f':
			if (strcmp(optarg, "yuyv") == 0) {
				c.pixfmt = V4L2_PIX_FMT_YUYV;
				c.fourcc = "YUYV";
			} else if (strcmp(optarg, "mjpeg") == 0) {
				c.pixfmt = V4L2_PIX_FMT_MJPEG;
				c.fourcc = "MJPG";
			} else {
				usage();
			}
			break;
		case 's':
			if (sscanf(optarg, "%ux%u", &c.width, &c.height) != 2)
				usage();
			break;
		case 't': seconds = atof(optarg); break;
		case 'n': frames = strtoul(optarg, NULL, 0); break;
		case 'c': cycles = strtoul(optarg, NULL, 0); break;
		case 'k': per_cycle = strtoul(optarg, NULL, 0); break;
		case 'b': c.nbufs = (unsigned)atoi(optarg); break;
		case 'T': c.timeout_ms = atoi(optarg); break;
		case 'v': c.verbose++; break;
		default: usage();
		}
	}
	if (optind != argc || c.nbufs < 2 || c.nbufs > MAX_BUFS ||
	    (cycles == 0 && seconds <= 0 && frames == 0))
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(&total, 0, sizeof(total));

	if (cycles == 0) {
		rc = cap_open(&c);
		if (rc == 0)
			rc = capture(&c, &total, frames, seconds);
		cap_close(&c);
		print_counts("", &total);
		return rc;
	}
	/* Start/stop: open, stream per_cycle frames, close; cycles times. */
	{
		unsigned long ok = 0;
		double worst_first = 0;

		for (i = 0; i < cycles && !stop; i++) {
			struct counts k;
			char pfx[32];

			memset(&k, 0, sizeof(k));
			rc = cap_open(&c);
			if (rc == 0)
				rc = capture(&c, &k, per_cycle, 0);
			cap_close(&c);
			snprintf(pfx, sizeof(pfx), "cycle=%lu ", i + 1);
			if (c.verbose)
				print_counts(pfx, &k);
			total.frames += k.frames;
			total.valid += k.valid;
			total.corrupt += k.corrupt;
			total.incomplete += k.incomplete;
			total.lost += k.lost;
			total.v4l2_gaps += k.v4l2_gaps;
			if (k.first_frame_ms > worst_first)
				worst_first = k.first_frame_ms;
			if (rc != 0) {
				fprintf(stderr, "tb-v4l2cap: cycle %lu of %lu "
				    "failed after %llu frames\n", i + 1, cycles,
				    (unsigned long long)k.frames);
				break;
			}
			if (k.frames == per_cycle)
				ok++;
		}
		printf("cycles=%lu cycles_ok=%lu frames=%llu valid=%llu lost=%llu "
		    "incomplete=%llu corrupt=%llu v4l2_gaps=%llu "
		    "worst_first_frame_ms=%.0f\n", cycles, ok,
		    (unsigned long long)total.frames,
		    (unsigned long long)total.valid,
		    (unsigned long long)total.lost,
		    (unsigned long long)total.incomplete,
		    (unsigned long long)total.corrupt,
		    (unsigned long long)total.v4l2_gaps, worst_first);
	}
	return rc;
}
