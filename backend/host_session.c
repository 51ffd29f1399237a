/*
 * host_session.c: libusb + libusbredirhost + channel in one poll loop (see
 * host_session.h). Single-threaded: libusb events are handled from the same
 * loop, so usbredirhost needs no locks.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <libusb.h>
#include <usbredirhost.h>

#include "host_session.h"
#include "iface_filter.h"
#include "log.h"
#include "sandbox.h"

#define BE_MAX_POLLFDS	32

static const char *const be_errstr[BE_E__COUNT] = {
	"success",
	"the frontend closed the channel",
	"stopped",
	"device unplugged",
	"protocol violation by the frontend",
	"channel error",
	"libusb could not take the device",
	"sandbox setup failed",
	"the frontend rejected the device",
	"refused interfaces cannot be hidden",
};
_Static_assert(sizeof(be_errstr) / sizeof(be_errstr[0]) == BE_E__COUNT,
    "be_errstr matches enum be_error");

const char *
be_strerror(int err)
{
	if (err > 0 || -err >= BE_E__COUNT)
		return "unknown backend error";
	return be_errstr[-err];
}

/*
 * In a confined session (be_options.confined, confine.h) the kernel refuses
 * this process the refused interfaces and any driver (dis)connection.
 * usbredirhost claims every interface of the configuration, giving up on the
 * first refusal, and re-attaches kernel drivers when it lets the device go.
 * These definitions take libusbredirhost's calls (the dynamic linker finds
 * the executable's symbols before libusb's): auto-detach stays off, so a
 * served interface is claimed with a plain claim (the parent holds it on
 * this file already; libusb's disconnect-and-claim of an interface bound to
 * usbfs is refused to a confined file), a refused interface counts as
 * claimed without asking the kernel (it stays unclaimed: the filter hides
 * it from the AppVM and the kernel answers EACCES to any use of it), and
 * re-attaching drivers is left to serve.c (its keeper gives the device
 * back). Everything else goes to libusb's own functions.
 */
static struct {
	int (*claim)(libusb_device_handle *, int);
	int (*attach)(libusb_device_handle *, int);
	int (*auto_detach)(libusb_device_handle *, int);
	uint32_t refused;	/* interface bits */
	int confined;
} shim;

int LIBUSB_CALL
libusb_claim_interface(libusb_device_handle *h, int ifno)
{
	if (shim.confined && ifno >= 0 && ifno < 32 &&
	    (shim.refused >> ifno & 1) != 0)
		return LIBUSB_SUCCESS;
	return shim.claim != NULL ? shim.claim(h, ifno) :
	    LIBUSB_ERROR_NOT_SUPPORTED;
}

int LIBUSB_CALL
libusb_set_auto_detach_kernel_driver(libusb_device_handle *h, int enable)
{
	if (shim.auto_detach == NULL)
		return LIBUSB_ERROR_NOT_SUPPORTED;
	return shim.auto_detach(h, shim.confined ? 0 : enable);
}

int LIBUSB_CALL
libusb_attach_kernel_driver(libusb_device_handle *h, int ifno)
{
	if (shim.confined || shim.attach == NULL)
		return LIBUSB_ERROR_NOT_SUPPORTED;
	return shim.attach(h, ifno);
}

/* libusb's own functions, found before the sandbox. */
static int
shim_init(const struct be_options *opt)
{
	int i;

	*(void **)&shim.claim = dlsym(RTLD_NEXT, "libusb_claim_interface");
	*(void **)&shim.attach = dlsym(RTLD_NEXT,
	    "libusb_attach_kernel_driver");
	*(void **)&shim.auto_detach = dlsym(RTLD_NEXT,
	    "libusb_set_auto_detach_kernel_driver");
	if (shim.claim == NULL || shim.attach == NULL ||
	    shim.auto_detach == NULL)
		return -1;
	shim.confined = opt->confined;
	shim.refused = 0;
	for (i = 0; i < opt->n_refused; i++)
		if (opt->refused[i] < 32)
			shim.refused |= 1u << opt->refused[i];
	return 0;
}

struct be_session {
	struct stream *chan;
	int chan_err;		/* the channel's read error (stream_error) */
	int pollfds_dirty;	/* libusb changed its descriptor set */
	struct usbredirhost *host;
	struct iff *iff;		/* refused interfaces, or NULL */
	int error;
	char *reason;
	size_t reason_len;
};

static void
be_fail(struct be_session *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->error != BE_OK)
		return;
	s->error = err;
	va_start(ap, fmt);
	vsnprintf(s->reason, s->reason_len, fmt, ap);
	va_end(ap);
}

static int
host_read(void *priv, uint8_t *data, int count)
{
	struct be_session *s = priv;

	int r;

	if (s->chan == NULL)
		return 0;
	if (s->iff == NULL) {
		/* Payloads go from the channel straight into the parser. */
		ssize_t n = stream_read_direct(s->chan, data, (size_t)count);

		if (n < 0) {
			s->chan_err = (int)n;
			return -1;
		}
		return (int)n;
	}
	r = iff_guest_read(s->iff, s->chan, data, (size_t)count);
	if (r < 0) {
		be_fail(s, BE_E_PROTO, "interface filter: %s", iff_strerror(r));
		return -1;
	}
	return r;
}

static void
free_write_buffer(void *ctx, void *buf)
{
	struct be_session *s = ctx;

	usbredirhost_free_write_buffer(s->host, buf);
}

static int
host_write(void *priv, uint8_t *data, int count)
{
	struct be_session *s = priv;

	if (s->chan == NULL ||
	    (s->iff != NULL && !iff_host_packet(s->iff, data, (size_t)count))) {
		/* Closing down, or about a refused interface: drop it. */
		usbredirhost_free_write_buffer(s->host, data);
		return count;
	}
	stream_write_owned(s->chan, data, (size_t)count, free_write_buffer, s);
	return count;
}

static void
host_flush(void *priv)
{
	/* The loop writes after every event; nothing to do here. */
}

static uint64_t
host_buffered(void *priv)
{
	struct be_session *s = priv;

	return stream_pending(s->chan);
}

static void
host_log(void *priv, int level, const char *msg)
{
	if (level <= usbredirparser_warning)
		log_warnx("usbredirhost: %s", msg);
	else if (level == usbredirparser_info)
		log_info("usbredirhost: %s", msg);
	else
		log_debug("usbredirhost: %s", msg);
}

static void
pollfd_added(int fd, short events, void *priv)
{
	((struct be_session *)priv)->pollfds_dirty = 1;
}

static void
pollfd_removed(int fd, void *priv)
{
	((struct be_session *)priv)->pollfds_dirty = 1;
}

static void
flush_all(struct be_session *s)
{
	ssize_t r;

	if (s->chan == NULL)
		return;
	if (s->host != NULL && usbredirhost_has_data_to_write(s->host))
		usbredirhost_write_guest_data(s->host);
	r = stream_flush(s->chan);
	if (r < 0)
		be_fail(s, r == STREAM_E_EOF ? BE_E_EOF : BE_E_CHANNEL,
		    "channel write: %s", stream_strerror((int)r));
}

/*
 * The descriptors the kernel read at enumeration (read() on the usbfs
 * node), as raw bytes: read while privileged, parsed only in the sandbox.
 */
#define BE_DESC_MAX	(18 + IFF_MAX_CONFIGS * IFF_CONFIG_MAX)

static uint8_t *
raw_descriptors(struct be_session *s, int devfd, size_t *len)
{
	uint8_t *untrusted_desc;
	ssize_t n;

	*len = 0;
	if ((untrusted_desc = calloc(1, BE_DESC_MAX)) == NULL) {
		be_fail(s, BE_E_FILTER, "out of memory");
		return NULL;
	}
	while (*len < BE_DESC_MAX && (n = pread(devfd, untrusted_desc + *len,
	    BE_DESC_MAX - *len, (off_t)*len)) > 0)
		*len += (size_t)n;
	return untrusted_desc;
}

/* The refused interfaces' filter, from the raw descriptors and the active
 * configuration. */
static int
filter_new(struct be_session *s, const uint8_t *untrusted_desc, size_t len,
    libusb_device_handle *h, const struct be_options *opt)
{
	int cfg = 0, rc;

	rc = libusb_get_configuration(h, &cfg);
	if (rc < 0) {
		be_fail(s, BE_E_FILTER, "active configuration: %s",
		    libusb_error_name(rc));
		return -1;
	}
	rc = iff_new_alts(untrusted_desc, len, opt->refused, opt->n_refused,
	    opt->refused_alts, opt->n_refused_alts, cfg, &s->iff);
	if (rc < 0) {
		be_fail(s, BE_E_FILTER, "descriptors: %s", iff_strerror(rc));
		return -1;
	}
	log_info("hiding %d interface(s) from the frontend, and %d alternate "
	    "setting(s); configuration %d pinned", opt->n_refused,
	    opt->n_refused_alts, cfg);
	return 0;
}

/*
 * The poll set of one turn: the channel (at *ci, -1 once it ended), its
 * write side where that is another descriptor, libusb's descriptors
 * (usb_pfd, *n_usb: refreshed when libusb changed them) and the device
 * descriptor, last. Returns how many.
 */
static int
poll_set(struct be_session *s, libusb_context *ctx, int devfd, int chan_eof,
    struct pollfd *pfd, struct pollfd *usb_pfd, int *n_usb, int *ci)
{
	int n = 0, i;

	*ci = -1;
	if (!chan_eof) {
		pfd[n].fd = stream_rfd(s->chan);
		pfd[n].events = stream_congested(s->chan) ? 0 : POLLIN;
		if (stream_pending(s->chan) > 0 &&
		    stream_wfd(s->chan) == pfd[n].fd)
			pfd[n].events |= POLLOUT;
		*ci = n++;
	}
	if (stream_pending(s->chan) > 0 &&
	    (*ci < 0 || stream_wfd(s->chan) != pfd[*ci].fd)) {
		pfd[n].fd = stream_wfd(s->chan);
		pfd[n].events = POLLOUT;
		n++;
	}
	if (s->pollfds_dirty) {
		const struct libusb_pollfd **lfds = libusb_get_pollfds(ctx);

		for (*n_usb = 0; lfds != NULL && lfds[*n_usb] != NULL &&
		    *n_usb < BE_MAX_POLLFDS - 3; (*n_usb)++) {
			usb_pfd[*n_usb].fd = lfds[*n_usb]->fd;
			usb_pfd[*n_usb].events = lfds[*n_usb]->events;
		}
		libusb_free_pollfds(lfds);
		s->pollfds_dirty = 0;
	}
	for (i = 0; i < *n_usb; i++)
		pfd[n++] = usb_pfd[i];
	/* The device descriptor reports unplug as POLLHUP/POLLERR. */
	pfd[n].fd = devfd;
	pfd[n].events = 0;
	n++;
	return n;
}

/* The channel is readable: feed usbredirhost; *chan_eof once it ended. */
static void
chan_input(struct be_session *s, int *chan_eof)
{
	ssize_t r = 0;
	int rc;

	/* The interface filter works on buffered bytes. */
	if (s->iff != NULL)
		r = stream_fill(s->chan);
	if (r == STREAM_E_EOF || r == STREAM_E_SILENT)
		*chan_eof = 1;
	else if (r < 0)
		be_fail(s, BE_E_CHANNEL, "channel read: %s",
		    stream_strerror((int)r));
	if (s->iff == NULL || stream_available(s->chan) > 0) {
		rc = usbredirhost_read_guest_data(s->host);
		if (rc == usbredirhost_read_io_error &&
		    (s->chan_err == STREAM_E_EOF ||
		    s->chan_err == STREAM_E_SILENT))
			*chan_eof = 1;
		else switch (rc) {
		case 0:
			break;
		case usbredirhost_read_parse_error:
			be_fail(s, BE_E_PROTO, "malformed usbredir packet "
			    "from the frontend");
			break;
		case usbredirhost_read_device_rejected:
			be_fail(s, BE_E_REJECTED,
			    "the frontend rejected the device");
			break;
		case usbredirhost_read_device_lost:
			be_fail(s, BE_E_UNPLUG, "device lost (unplugged or "
			    "reset into another identity)");
			break;
		default:
			be_fail(s, BE_E_CHANNEL, "usbredir read error %d", rc);
		}
	}
	if (*chan_eof)
		be_fail(s, BE_E_EOF, "the frontend closed the channel");
}

int
be_session_run(int devfd, struct stream *chan, const struct be_options *opt,
    volatile sig_atomic_t *stop, char *reason, size_t reason_len)
{
	struct be_session s = { .chan = chan, .reason = reason,
	    .reason_len = reason_len };
	libusb_context *ctx = NULL;
	libusb_device_handle *h = NULL;
	struct pollfd pfd[BE_MAX_POLLFDS], usb_pfd[BE_MAX_POLLFDS];
	uint8_t *untrusted_desc = NULL;
	size_t desc_len = 0;
	int rc, chan_eof = 0, n_usb = 0;

	reason[0] = '\0';
	/*
	 * Acquire: libusb (no device yet) and, for the filter, the raw
	 * descriptor bytes. Nothing the device wrote is parsed here.
	 */
	rc = libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	if (rc < 0 || libusb_init(&ctx) < 0) {
		be_fail(&s, BE_E_LIBUSB, "libusb_init failed");
		goto out;
	}
	if (shim_init(opt) < 0) {
		be_fail(&s, BE_E_LIBUSB, "libusb's claim, attach or auto-detach function not found");
		goto out;
	}
	if ((opt->n_refused > 0 || opt->n_refused_alts > 0 ||
	    opt->pin_config) &&
	    (untrusted_desc = raw_descriptors(&s, devfd, &desc_len)) == NULL)
		goto out;
	/* Drop, then parse untrusted bytes (the device's, then the AppVM's). */
	rc = opt->uid != 0 ?
	    sandbox_enter_ids(opt->uid, (gid_t)opt->uid, SANDBOX_ALLOW_IOCTL |
	    SANDBOX_ALLOW_SOCKETS) :
	    sandbox_enter(opt->user, SANDBOX_ALLOW_IOCTL | SANDBOX_ALLOW_SOCKETS);
	if (rc < 0) {
		be_fail(&s, BE_E_SANDBOX, "sandbox: %s", sandbox_strerror(rc));
		goto out;
	}
	if (opt->parent != 0)
		sandbox_parent_death_signal(SIGTERM, opt->parent);
	rc = libusb_wrap_sys_device(ctx, (intptr_t)devfd, &h);
	if (rc < 0) {
		be_fail(&s, BE_E_LIBUSB, "libusb_wrap_sys_device: %s",
		    libusb_error_name(rc));
		goto out;
	}
	if (untrusted_desc != NULL &&
	    filter_new(&s, untrusted_desc, desc_len, h, opt) < 0)
		goto out;
	s.host = usbredirhost_open_full(ctx, NULL, host_log, host_read,
	    host_write, host_flush, NULL, NULL, NULL, NULL, &s,
	    "usbgate-backend " PACKAGE_VERSION,
	    opt->verbose > 1 ? usbredirparser_debug : usbredirparser_warning,
	    usbredirhost_fl_write_cb_owns_buffer);
	if (s.host == NULL) {
		be_fail(&s, BE_E_LIBUSB, "usbredirhost_open failed");
		goto out;
	}
	usbredirhost_set_buffered_output_size_cb(s.host, host_buffered);
	/*
	 * set_device claims every interface (kernel drivers detached; in a
	 * confined session the parent detached them and refused interfaces
	 * are left alone: see shim above) and resets the device.
	 */
	rc = usbredirhost_set_device(s.host, h);
	h = NULL;		/* owned by usbredirhost now, even on failure */
	if (rc != usb_redir_success) {
		be_fail(&s, BE_E_LIBUSB, "could not claim the device (status %d)",
		    rc);
		goto out;
	}

	libusb_set_pollfd_notifiers(ctx, pollfd_added, pollfd_removed, &s);
	s.pollfds_dirty = 1;
	while (s.error == BE_OK) {
		struct timeval tv;
		int n, i, ci, timeout = -1, to, usb_to = -1;
		int dev_gone = 0, usb_ev = 0;

		if (stop != NULL && *stop) {
			/* Tell the frontend the device is going away. */
			usbredirhost_set_device(s.host, NULL);
			flush_all(&s);
			stream_drain(s.chan, 1000);
			be_fail(&s, BE_E_STOPPED, "stopped by signal");
			break;
		}
		flush_all(&s);
		if (s.error != BE_OK)
			break;
		n = poll_set(&s, ctx, devfd, chan_eof, pfd, usb_pfd, &n_usb,
		    &ci);
		if (libusb_get_next_timeout(ctx, &tv) == 1)
			usb_to = timeout = (int)(tv.tv_sec * 1000 +
			    (tv.tv_usec + 999) / 1000);
		rc = stream_tick(s.chan);
		if (rc < 0) {
			be_fail(&s, rc == STREAM_E_SILENT ? BE_E_EOF : BE_E_CHANNEL,
			    "channel: %s", stream_strerror(rc));
			break;
		}
		to = stream_timeout(s.chan);
		if (to >= 0 && (timeout < 0 || to < timeout))
			timeout = to;

		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			be_fail(&s, BE_E_CHANNEL, "poll: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			if (i == ci || pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == devfd && i == n - 1) {
				if (pfd[i].revents & (POLLHUP | POLLERR))
					dev_gone = 1;
				continue;
			}
			if (pfd[i].fd != stream_wfd(s.chan))
				usb_ev = 1;
		}
		if (usb_ev || usb_to >= 0) {
			struct timeval zero = { 0, 0 };

			libusb_handle_events_timeout_completed(ctx, &zero, NULL);
		}
		if (dev_gone) {
			usbredirhost_set_device(s.host, NULL);
			flush_all(&s);
			stream_drain(s.chan, 1000);
			be_fail(&s, BE_E_UNPLUG, "device unplugged");
			break;
		}
		if (ci >= 0 && (pfd[ci].revents & (POLLIN | POLLHUP | POLLERR)))
			chan_input(&s, &chan_eof);
	}
out:
	/*
	 * Close releases the interfaces and resets the device; it re-attaches
	 * the kernel drivers unless confined. serve.c's keeper gives the
	 * device back either way.
	 */
	free(untrusted_desc);
	flush_all(&s);
	stream_close(chan);	/* its queued buffers go back to usbredirhost */
	s.chan = NULL;
	if (s.host != NULL)
		usbredirhost_close(s.host);
	if (h != NULL)
		libusb_close(h);
	if (ctx != NULL)
		libusb_set_pollfd_notifiers(ctx, NULL, NULL, NULL);
	if (ctx != NULL)
		libusb_exit(ctx);
	if (s.iff != NULL) {
		log_info("interface filter: %llu request(s) refused, %llu "
		    "configuration request(s) answered with the rewritten "
		    "descriptor", (unsigned long long)iff_refused_count(s.iff),
		    (unsigned long long)iff_answered_count(s.iff));
		iff_free(s.iff);
	}
	return s.error;
}
