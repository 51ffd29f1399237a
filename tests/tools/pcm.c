/* tests/tools/pcm.c: tb-pcm, play a generated tone on an ALSA card through the kernel PCM ioctls (no alsa-lib). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <sound/asound.h>

#include "stats.h"

static struct snd_mask *
hw_mask(struct snd_pcm_hw_params *p, int n)
{
	return &p->masks[n - SNDRV_PCM_HW_PARAM_FIRST_MASK];
}

static struct snd_interval *
hw_interval(struct snd_pcm_hw_params *p, int n)
{
	return &p->intervals[n - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL];
}

/* Everything allowed; the driver narrows it down (what alsa-lib does). */
static void
hw_any(struct snd_pcm_hw_params *p)
{
	memset(p, 0, sizeof(*p));
	for (int n = SNDRV_PCM_HW_PARAM_FIRST_MASK; n <= SNDRV_PCM_HW_PARAM_LAST_MASK; n++)
		memset(hw_mask(p, n)->bits, 0xff, sizeof(hw_mask(p, n)->bits));
	for (int n = SNDRV_PCM_HW_PARAM_FIRST_INTERVAL; n <= SNDRV_PCM_HW_PARAM_LAST_INTERVAL; n++) {
		hw_interval(p, n)->min = 0;
		hw_interval(p, n)->max = ~0U;
	}
	p->rmask = ~0U;
	p->info = ~0U;
}

static void
hw_set_mask(struct snd_pcm_hw_params *p, int n, unsigned bit)
{
	struct snd_mask *m = hw_mask(p, n);

	memset(m->bits, 0, sizeof(m->bits));
	m->bits[bit >> 5] |= 1U << (bit & 31);
}

static void
hw_set_int(struct snd_pcm_hw_params *p, int n, unsigned v)
{
	struct snd_interval *i = hw_interval(p, n);

	i->min = i->max = v;
	i->integer = 1;
}

int
main(int argc, char **argv)
{
	unsigned rate = 48000, channels = 2, period = 960, periods = 4;
	double secs = 2, t0, took;
	struct snd_pcm_hw_params hw;
	struct snd_xferi x;
	char path[64];
	int16_t *buf;
	long total, frames_done = 0;
	int fd, xruns = 0, c;

	while ((c = getopt(argc, argv, "r:c:s:")) != -1) {
		switch (c) {
		case 'r': rate = (unsigned)atoi(optarg); break;
		case 'c': channels = (unsigned)atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || channels == 0 || channels > 8) {
usage:
		fprintf(stderr, "usage: tb-pcm [-r RATE] [-c CHANNELS] [-s SECONDS] CARD\n"
		    "  plays a 440 Hz S16_LE tone on /dev/snd/pcmC<CARD>D0p, prints frames,\n"
		    "  wall time and underruns\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/dev/snd/pcmC%sD0p", argv[optind]);
	if ((fd = open(path, O_RDWR)) < 0) {
		fprintf(stderr, "tb-pcm: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	hw_any(&hw);
	hw_set_mask(&hw, SNDRV_PCM_HW_PARAM_ACCESS, SNDRV_PCM_ACCESS_RW_INTERLEAVED);
	hw_set_mask(&hw, SNDRV_PCM_HW_PARAM_FORMAT, SNDRV_PCM_FORMAT_S16_LE);
	hw_set_mask(&hw, SNDRV_PCM_HW_PARAM_SUBFORMAT, SNDRV_PCM_SUBFORMAT_STD);
	hw_set_int(&hw, SNDRV_PCM_HW_PARAM_SAMPLE_BITS, 16);
	hw_set_int(&hw, SNDRV_PCM_HW_PARAM_FRAME_BITS, 16 * channels);
	hw_set_int(&hw, SNDRV_PCM_HW_PARAM_CHANNELS, channels);
	hw_set_int(&hw, SNDRV_PCM_HW_PARAM_RATE, rate);
	hw_set_int(&hw, SNDRV_PCM_HW_PARAM_PERIOD_SIZE, period);
	hw_set_int(&hw, SNDRV_PCM_HW_PARAM_PERIODS, periods);
	if (ioctl(fd, SNDRV_PCM_IOCTL_HW_PARAMS, &hw) < 0) {
		fprintf(stderr, "tb-pcm: HW_PARAMS (S16_LE, %u ch, %u Hz, %u x %u frames): %s\n",
		    channels, rate, periods, period, strerror(errno));
		return 1;
	}
	if (ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0) {
		fprintf(stderr, "tb-pcm: PREPARE: %s\n", strerror(errno));
		return 1;
	}
	if ((buf = calloc((size_t)period * channels, sizeof(*buf))) == NULL)
		return 1;
	total = (long)(secs * rate);
	t0 = tb_now_us();
	while (frames_done < total) {
		for (unsigned f = 0; f < period; f++) {
			int16_t v = (int16_t)(8000 * sin(2 * M_PI * 440 * (double)(frames_done + f) / rate));

			for (unsigned ch = 0; ch < channels; ch++)
				buf[f * channels + ch] = v;
		}
		memset(&x, 0, sizeof(x));
		x.buf = buf;
		x.frames = period;
		if (ioctl(fd, SNDRV_PCM_IOCTL_WRITEI_FRAMES, &x) < 0) {
			if (errno == EPIPE) {
				xruns++;
				if (ioctl(fd, SNDRV_PCM_IOCTL_PREPARE) < 0) {
					fprintf(stderr, "tb-pcm: PREPARE after underrun: %s\n", strerror(errno));
					return 1;
				}
				continue;
			}
			fprintf(stderr, "tb-pcm: WRITEI_FRAMES after %ld frames: %s\n", frames_done,
			    strerror(errno));
			return 1;
		}
		frames_done += x.result;
	}
	if (ioctl(fd, SNDRV_PCM_IOCTL_DRAIN) < 0) {
		fprintf(stderr, "tb-pcm: DRAIN: %s\n", strerror(errno));
		return 1;
	}
	took = (tb_now_us() - t0) / 1e6;
	printf("frames=%ld secs=%.2f xruns=%d rate=%u channels=%u\n", frames_done, took, xruns,
	    rate, channels);
	free(buf);
	close(fd);
	return 0;
}
