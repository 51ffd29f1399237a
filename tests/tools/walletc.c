/*
 * tests/tools/walletc.c: tb-walletc, a libusb client for the testbed wallet
 * (tests/fixtures/wallet.c; wire format in tests/fixtures/walletproto.h), as
 * a wallet bridge (trezord) or a firmware updater drives a Trezor.
 *
 * Owns the client side of three workloads:
 *   ping   N request/response round trips: Pings of SIZE random bytes (every
 *          K-th request a SignMessage instead), every answer's type and
 *          payload (or signature) checked; p50/p99 of the Ping round trips.
 *          With -a the client selects alternate setting 0 of the interface
 *          (SET_INTERFACE, as many libusb programs do after claiming it)
 *          halfway through.
 *   reboot RebootToBootloader, wait for the bootloader (1209:0007) to
 *          appear, Initialize (mode=bootloader), FirmwareErase, a 16 KiB
 *          FirmwareUpload whose SHA-256 the device returns, wait for the
 *          firmware (1209:0006) to come back, Initialize (mode=firmware);
 *          C times. Between the two identities the device is gone: whoever
 *          passes it to this VM (usbgate) must bring the new one.
 *   to-bootloader / to-firmware
 *          one half of a reboot cycle, for a caller that checks something
 *          between the two (e.g. who has the device): from the firmware,
 *          RebootToBootloader and wait for the bootloader; from the
 *          bootloader, FirmwareErase, FirmwareUpload (hash checked) and
 *          wait for the firmware, then a Ping. Each new identity must
 *          answer Initialize with its mode. Prints reattach_s, the
 *          seconds from the device's last answer under the old identity
 *          to the new identity's Features. With -w 0 it does not wait:
 *          the device leaves and nothing more is checked.
 *   reset  the trezord pattern: a request whose answer is never read, then
 *          a host-side bus reset (USBDEVFS_RESET), then N round trips that
 *          must each get their own answer (not the stale one) from a device
 *          that is still there.
 * Prints key=value lines; exit 0 when every check passed, 1 otherwise.
 *
 *   tb-walletc [-t TIMEOUT_MS] ping [-n N] [-s SIZE] [-k K] [-a]
 *   tb-walletc [-t TIMEOUT_MS] reboot [-c CYCLES] [-w WAIT_S]
 *   tb-walletc [-t TIMEOUT_MS] to-bootloader|to-firmware [-w WAIT_S]
 *   tb-walletc [-t TIMEOUT_MS] reset [-n N]
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libusb.h>

#include "sha256.h"
#include "stats.h"
#include "../fixtures/walletproto.h"

static libusb_context *ctx;
static uint8_t ep_in = 0x81, ep_out = 0x01;	/* learnt from descriptors */
static libusb_device_handle *dev;
static int timeout_ms = 5000;
static uint32_t rng = 0x12345678;

static uint8_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return (uint8_t)rng;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: tb-walletc [-t TIMEOUT_MS] ping [-n N] [-s SIZE] [-k K] [-a]\n"
	    "       tb-walletc [-t TIMEOUT_MS] reboot [-c CYCLES] [-w WAIT_S]\n"
	    "       tb-walletc [-t TIMEOUT_MS] to-bootloader|to-firmware "
	    "[-w WAIT_S]\n"
	    "       tb-walletc [-t TIMEOUT_MS] reset [-n N]\n");
	exit(2);
}

static void
close_dev(void)
{
	if (dev != NULL) {
		libusb_release_interface(dev, 0);
		libusb_close(dev);
		dev = NULL;
	}
}

/*
 * The interrupt endpoints of interface 0 (the device's UDC chooses their
 * numbers, so read them rather than assume Trezor's 0x81/0x01).
 */
static int
find_endpoints(void)
{
	struct libusb_config_descriptor *cd;
	const struct libusb_interface_descriptor *id;
	int i, found = 0, vendor;

	if (libusb_get_active_config_descriptor(libusb_get_device(dev), &cd) != 0)
		return -1;
	if (cd->bNumInterfaces < 1 || cd->interface[0].num_altsetting < 1) {
		libusb_free_config_descriptor(cd);
		return -1;
	}
	id = &cd->interface[0].altsetting[0];
	vendor = id->bInterfaceClass == LIBUSB_CLASS_VENDOR_SPEC;
	for (i = 0; i < id->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *e = &id->endpoint[i];

		if ((e->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_INTERRUPT)
			continue;
		if (e->bEndpointAddress & 0x80)
			ep_in = e->bEndpointAddress;
		else
			ep_out = e->bEndpointAddress;
		found++;
	}
	libusb_free_config_descriptor(cd);
	return found == 2 && vendor ? 0 : -1;
}

/* Open the wallet with this product id, waiting up to wait_s seconds. */
static int
open_dev(uint16_t pid, double wait_s)
{
	double t0 = tb_now_us();
	const char *why = "not present";

	close_dev();
	for (;;) {
		libusb_device **list;
		ssize_t n, i;

		n = libusb_get_device_list(ctx, &list);
		for (i = 0; i < n && dev == NULL; i++) {
			struct libusb_device_descriptor d;

			if (libusb_get_device_descriptor(list[i], &d) == 0 &&
			    d.idVendor == WP_VID && d.idProduct == pid) {
				int r = libusb_open(list[i], &dev);

				if (r != 0) {
					why = libusb_error_name(r);
					dev = NULL;
				}
			}
		}
		if (n >= 0)
			libusb_free_device_list(list, 1);
		if (dev != NULL) {
			int r;

			libusb_set_auto_detach_kernel_driver(dev, 1);
			r = libusb_claim_interface(dev, 0);
			if (r == 0 && find_endpoints() == 0)
				return 0;
			why = r != 0 ? libusb_error_name(r) :
			    "no vendor interface with two interrupt endpoints";
			libusb_close(dev);
			dev = NULL;
		}
		/*
		 * libusb learns of new devices from udev events; the guests
		 * have no udevd, so rescan with a fresh context.
		 */
		libusb_exit(ctx);
		if (libusb_init(&ctx) < 0) {
			fprintf(stderr, "tb-walletc: libusb_init failed\n");
			return -1;
		}
		if ((tb_now_us() - t0) / 1e6 > wait_s) {
			fprintf(stderr, "tb-walletc: no wallet 1209:%04x after %.0f s "
			    "(%s)\n", pid, wait_s, why);
			return -1;
		}
		usleep(100 * 1000);
	}
}

static int
emit(void *c, const uint8_t *report)
{
	int n = 0, r;

	(void)c;
	r = libusb_interrupt_transfer(dev, ep_out, (uint8_t *)report,
	    WP_REPORT, &n, (unsigned)timeout_ms);
	if (r != 0 || n != WP_REPORT) {
		fprintf(stderr, "tb-walletc: write: %s\n", libusb_error_name(r));
		return -1;
	}
	return 0;
}

static int
send_msg(uint16_t type, const uint8_t *data, uint32_t len)
{
	return wp_frame(type, data, len, emit, NULL);
}

static int
recv_msg(struct wp_msg *m, const char *what)
{
	struct wp_rx rx;
	uint8_t r[WP_REPORT];

	wp_rx_init(&rx, m);
	for (;;) {
		int n = 0, rc;

		rc = libusb_interrupt_transfer(dev, ep_in, r, sizeof(r), &n,
		    (unsigned)timeout_ms);
		if (rc != 0) {
			fprintf(stderr, "tb-walletc: %s: read: %s\n", what,
			    libusb_error_name(rc));
			return -1;
		}
		if (n == 0)
			continue;	/* a zero-length packet */
		if (n != WP_REPORT)
			memset(r + n, 0, sizeof(r) - (size_t)n);
		switch (wp_rx_feed(&rx, r)) {
		case WP_RX_DONE:
			return 0;
		case WP_RX_MORE:
			break;
		default:
			fprintf(stderr, "tb-walletc: %s: a report that is not "
			    "part of a message (%02x %02x %02x)\n", what, r[0],
			    r[1], r[2]);
			return -1;
		}
	}
}

static int
call(uint16_t type, const uint8_t *data, uint32_t len, struct wp_msg *ans,
    uint16_t want, const char *what)
{
	if (send_msg(type, data, len) < 0 || recv_msg(ans, what) < 0)
		return -1;
	if (ans->type != want) {
		fprintf(stderr, "tb-walletc: %s: answer type %u, expected %u%s%.*s\n",
		    what, ans->type, want, ans->type == WP_FAILURE ? ": " : "",
		    ans->type == WP_FAILURE ? (int)ans->len - 1 : 0,
		    (const char *)ans->data + 1);
		return -1;
	}
	return 0;
}

static int
features(const char *mode)
{
	static struct wp_msg m;
	char want[64];

	if (call(WP_INITIALIZE, NULL, 0, &m, WP_FEATURES, "Initialize") < 0)
		return -1;
	snprintf(want, sizeof(want), "mode=%s ", mode);
	if (m.len >= sizeof(m.data) || memmem(m.data, m.len, want,
	    strlen(want)) == NULL) {
		fprintf(stderr, "tb-walletc: Features without %s: %.*s\n", want,
		    (int)m.len, (const char *)m.data);
		return -1;
	}
	return 0;
}

/* One checked Ping; its round trip in µs in *rtt. */
static int
ping_once(size_t size, unsigned long i, double *rtt)
{
	static struct wp_msg m;
	uint8_t p[WP_MAX_MSG];
	double t0;
	size_t k;

	for (k = 0; k < size; k++)
		p[k] = rnd();
	t0 = tb_now_us();
	if (call(WP_PING, p, (uint32_t)size, &m, WP_SUCCESS, "Ping") < 0)
		return -1;
	*rtt = tb_now_us() - t0;
	if (m.len != size || memcmp(m.data, p, size) != 0) {
		fprintf(stderr, "tb-walletc: Ping #%lu: answer of %u bytes does "
		    "not echo the %zu sent\n", i, m.len, size);
		return -1;
	}
	return 0;
}

static int
sign_once(unsigned long i)
{
	static struct wp_msg m;
	uint8_t msg[40], want[32];
	size_t k;

	for (k = 0; k < sizeof(msg); k++)
		msg[k] = rnd();
	wp_sign(msg, sizeof(msg), want);
	if (call(WP_SIGN_MESSAGE, msg, sizeof(msg), &m, WP_MESSAGE_SIGNATURE,
	    "SignMessage") < 0)
		return -1;
	if (m.len != 32 || memcmp(m.data, want, 32) != 0) {
		fprintf(stderr, "tb-walletc: SignMessage #%lu: wrong signature\n",
		    i);
		return -1;
	}
	return 0;
}

static int
cmd_ping(unsigned long n, size_t size, unsigned long every, int set_alt)
{
	double *lat = calloc(n, sizeof(*lat));
	unsigned long i, pings = 0, signs = 0;

	if (lat == NULL || open_dev(WP_PID_FW, 10) < 0 || features("firmware") < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (set_alt && i == n / 2) {
			int r = libusb_set_interface_alt_setting(dev, 0, 0);

			if (r != 0) {
				fprintf(stderr, "tb-walletc: SET_INTERFACE: %s\n",
				    libusb_error_name(r));
				goto fail;
			}
		}
		if (every > 0 && i % every == every - 1) {
			if (sign_once(i) < 0)
				goto fail;
			signs++;
			continue;
		}
		if (ping_once(size, i, &lat[pings]) < 0)
			goto fail;
		pings++;
	}
	printf("round_trips=%lu pings=%lu signatures=%lu size=%zu p50_us=%.0f "
	    "p99_us=%.0f\n", n, pings, signs, size,
	    tb_percentile(lat, pings, 50), tb_percentile(lat, pings, 99));
	free(lat);
	return 0;
fail:
	fprintf(stderr, "tb-walletc: round trip %lu of %lu failed\n", i + 1, n);
	return 1;
}

/*
 * Firmware (open) -> bootloader: RebootToBootloader, then, unless wait_s is
 * 0, open 1209:0007 and check its mode. *reattach_s: seconds from the
 * answer (the device leaves right after it) to the bootloader's Features.
 */
static int
step_to_bootloader(double wait_s, double *reattach_s)
{
	static struct wp_msg m;
	double t0;

	*reattach_s = 0;
	if (call(WP_REBOOT_TO_BOOTLOADER, NULL, 0, &m, WP_SUCCESS,
	    "RebootToBootloader") < 0)
		return -1;
	t0 = tb_now_us();
	close_dev();
	if (wait_s <= 0)
		return 0;
	if (open_dev(WP_PID_BL, wait_s) < 0 || features("bootloader") < 0)
		return -1;
	*reattach_s = (tb_now_us() - t0) / 1e6;
	return 0;
}

/*
 * Bootloader (open) -> firmware: FirmwareErase, a 16 KiB FirmwareUpload
 * whose SHA-256 the device must return, then, unless wait_s is 0, open
 * 1209:0006, check its mode and Ping it. *reattach_s as above.
 */
static int
step_to_firmware(double wait_s, unsigned long c, double *reattach_s)
{
	static struct wp_msg m;
	static uint8_t img[16384];
	uint8_t want[32];
	double t0, rtt;
	size_t k;

	*reattach_s = 0;
	if (call(WP_FIRMWARE_ERASE, NULL, 0, &m, WP_SUCCESS,
	    "FirmwareErase") < 0)
		return -1;
	for (k = 0; k < sizeof(img); k++)
		img[k] = rnd();
	sha256(img, sizeof(img), want);
	if (call(WP_FIRMWARE_UPLOAD, img, sizeof(img), &m, WP_SUCCESS,
	    "FirmwareUpload") < 0)
		return -1;
	t0 = tb_now_us();
	if (m.len != 32 || memcmp(m.data, want, 32) != 0) {
		fprintf(stderr, "tb-walletc: the bootloader got another "
		    "image than the one sent\n");
		return -1;
	}
	close_dev();
	if (wait_s <= 0)
		return 0;
	if (open_dev(WP_PID_FW, wait_s) < 0 || features("firmware") < 0)
		return -1;
	*reattach_s = (tb_now_us() - t0) / 1e6;
	return ping_once(32, c, &rtt);
}

static int
cmd_reboot(unsigned long cycles, double wait_s)
{
	unsigned long c;
	double t_bl = 0, t_fw = 0, t;

	if (open_dev(WP_PID_FW, 10) < 0 || features("firmware") < 0)
		return 1;
	for (c = 0; c < cycles; c++) {
		if (step_to_bootloader(wait_s, &t) < 0)
			goto fail;
		t_bl += t;
		if (step_to_firmware(wait_s, c, &t) < 0)
			goto fail;
		t_fw += t;
		printf("cycle=%lu ok\n", c + 1);
		fflush(stdout);
	}
	printf("reboot_cycles=%lu to_bootloader_s=%.1f back_to_firmware_s=%.1f\n",
	    cycles, t_bl / (double)cycles, t_fw / (double)cycles);
	return 0;
fail:
	fprintf(stderr, "tb-walletc: reboot cycle %lu of %lu failed\n", c + 1,
	    cycles);
	return 1;
}

/* One half of a cycle: to_bl selects the direction. */
static int
cmd_step(int to_bl, double wait_s)
{
	double t;
	int r;

	if (open_dev(to_bl ? WP_PID_FW : WP_PID_BL, 10) < 0 ||
	    features(to_bl ? "firmware" : "bootloader") < 0)
		return 1;
	r = to_bl ? step_to_bootloader(wait_s, &t) :
	    step_to_firmware(wait_s, 0, &t);
	if (r < 0) {
		fprintf(stderr, "tb-walletc: %s failed\n", to_bl ?
		    "to-bootloader" : "to-firmware");
		return 1;
	}
	if (wait_s > 0)
		printf("mode=%s reattach_s=%.2f\n", to_bl ? "bootloader" :
		    "firmware", t);
	else
		printf("mode=%s left\n", to_bl ? "firmware" : "bootloader");
	return 0;
}

static int
cmd_reset(unsigned long n)
{
	static const uint8_t stale[] = "STALE: answer to the request before the reset";
	static struct wp_msg m;
	double rtt;
	unsigned long i;
	int r;

	if (open_dev(WP_PID_FW, 10) < 0 || features("firmware") < 0)
		return 1;
	/* A request whose answer nobody reads, as a client killed mid-call. */
	if (send_msg(WP_PING, stale, sizeof(stale)) < 0)
		return 1;
	usleep(300 * 1000);
	r = libusb_reset_device(dev);
	if (r == LIBUSB_ERROR_NOT_FOUND) {
		/* It re-enumerated differently: open it afresh. */
		if (open_dev(WP_PID_FW, 10) < 0)
			return 1;
	} else if (r != 0) {
		fprintf(stderr, "tb-walletc: reset: %s\n", libusb_error_name(r));
		return 1;
	} else {
		libusb_release_interface(dev, 0);
		if ((r = libusb_claim_interface(dev, 0)) != 0) {
			fprintf(stderr, "tb-walletc: claim after reset: %s\n",
			    libusb_error_name(r));
			return 1;
		}
	}
	/* The first answer after the reset must be the one to this request. */
	if (send_msg(WP_INITIALIZE, NULL, 0) < 0 || recv_msg(&m, "Initialize") < 0)
		return 1;
	if (m.type == WP_SUCCESS && m.len == sizeof(stale) &&
	    memcmp(m.data, stale, sizeof(stale)) == 0) {
		fprintf(stderr, "tb-walletc: after the reset the device answered "
		    "with the stale answer to the request sent before it\n");
		printf("reset=stale\n");
		return 1;
	}
	if (m.type != WP_FEATURES) {
		fprintf(stderr, "tb-walletc: after the reset: answer type %u to "
		    "Initialize\n", m.type);
		return 1;
	}
	for (i = 0; i < n; i++)
		if (ping_once(1 + i % 200, i, &rtt) < 0) {
			fprintf(stderr, "tb-walletc: round trip %lu after the reset "
			    "failed\n", i + 1);
			return 1;
		}
	printf("reset=clean round_trips_after=%lu\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long n = 1000, every = 10, cycles = 1;
	size_t size = 32;
	double wait_s = 30;
	const char *cmd;
	int c, rc, set_alt = 0;

	while ((c = getopt(argc, argv, "+t:")) != -1) {
		if (c == 't')
			timeout_ms = atoi(optarg);
		else
			usage();
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind];
	optind++;
	while ((c = getopt(argc, argv, "n:s:k:c:w:a")) != -1) {
		switch (c) {
		case 'a': set_alt = 1; break;
		case 'n': n = strtoul(optarg, NULL, 0); break;
		case 's': size = strtoul(optarg, NULL, 0); break;
		case 'k': every = strtoul(optarg, NULL, 0); break;
		case 'c': cycles = strtoul(optarg, NULL, 0); break;
		case 'w': wait_s = atof(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || n == 0 || size > WP_MAX_MSG || cycles == 0)
		usage();
	rng ^= (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	if (libusb_init(&ctx) < 0) {
		fprintf(stderr, "tb-walletc: libusb_init failed\n");
		return 1;
	}
	if (strcmp(cmd, "ping") == 0)
		rc = cmd_ping(n, size, every, set_alt);
	else if (strcmp(cmd, "reboot") == 0 && wait_s > 0)
		rc = cmd_reboot(cycles, wait_s);
	else if (strcmp(cmd, "to-bootloader") == 0)
		rc = cmd_step(1, wait_s);
	else if (strcmp(cmd, "to-firmware") == 0)
		rc = cmd_step(0, wait_s);
	else if (strcmp(cmd, "reset") == 0)
		rc = cmd_reset(n);
	else
		usage();
	close_dev();
	libusb_exit(ctx);
	return rc;
}
