/*
 * fe_fuzz.h: what the frontend session targets (fuzz_frontend.c for vhci,
 * fuzz_frontend_kmod.c for usbgate_hcd) share: the input's chunks played
 * as the backend on a socketpair channel and as the AppVM's kernel on the
 * port the session attached, and writing out what the session queued.
 */
#ifndef USBGATE_FE_FUZZ_H
#define USBGATE_FE_FUZZ_H

#include <unistd.h>

#include "fuzz.h"
#include "session.h"

/* Write out what the session queued, to the backend and the kernel. */
static inline void
fuzz_fe_flush(struct fe_session *s)
{
	if (usbredirparser_has_data_to_write(s->parser))
		usbredirparser_do_write(s->parser);
	(void)stream_flush(s->chan);
	if (s->vhci != NULL)
		(void)stream_flush(s->vhci);
}

/*
 * Input: chunks {tag, n, n bytes}: an even tag sends the bytes as the
 * backend, an odd one hands them to kernel() once a port is attached
 * (-1 from it ends the run); each chunk is handled before the next, as
 * the session's event loop would, and check() looks at what it wrote.
 * classes: dom0's class set for the session, or NULL for none.
 */
static inline void
fuzz_fe_run(const uint8_t *data, size_t size, const struct fe_hooks *hooks,
    const struct fe_classes *classes,
    int (*kernel)(struct fe_session *, const uint8_t *, size_t),
    void (*check)(void))
{
	struct fz in = { data, size };
	struct fe_session *s;
	struct stream *chan;
	int fd[2];

	fuzz_socketpair(fd);
	if (stream_from_fds(fd[0], fd[0], &chan) != STREAM_OK ||
	    fe_session_new(chan, hooks, &s) != FE_OK)
		abort();
	if (classes != NULL)
		s->classes = *classes;
	fuzz_fe_flush(s);
	while (in.left > 0 && s->error == FE_OK) {
		uint8_t tag = fz_u8(&in);
		size_t n;
		const uint8_t *p = fz_bytes(&in, fz_u8(&in), &n);

		if (!(tag & 1)) {
			fuzz_write(fd[1], p, n);
			if (usbredirparser_do_read(s->parser) ==
			    usbredirparser_read_parse_error)
				break;	/* the session ends here (FE_E_PROTO) */
		} else if (s->vhci != NULL && kernel(s, p, n) < 0)
			break;
		fuzz_fe_flush(s);
		fuzz_drain(fd[1]);
		check();
	}
	fe_session_free(s);
	close(fd[1]);
}

#endif
