/*
 * iface_filter.h: hide the interfaces dom0 refused (SERVE's refused list)
 * from the AppVM, in sys-usb, between the data channel and usbredirhost.
 *
 * Owns the rewritten configuration descriptors (the refused interfaces,
 * all their alternate settings, their endpoints and class descriptors,
 * and any interface association covering them removed; refused alternate
 * settings of kept interfaces removed the same way; wTotalLength and
 * bNumInterfaces fixed), the set of endpoints that belong to refused
 * interfaces or only to refused alternate settings, and the usbredir
 * packet boundaries in both directions:
 *
 *  - from the AppVM: GET_DESCRIPTOR(CONFIGURATION) is answered here from
 *    the rewritten descriptor (any configuration but the active one
 *    without interfaces: it can never be selected); any request naming a refused interface or
 *    one of its endpoints (control requests to that interface or endpoint,
 *    set/get_alt_setting, data packets, start/stop of interrupt, iso and
 *    bulk receiving, bulk streams) is answered here with a stall (or
 *    inval) and never reaches the device; so is SET_INTERFACE to a refused
 *    alternate setting, SET_CONFIGURATION to another configuration (the
 *    configuration is pinned whenever a filter is installed, even with
 *    nothing refused), OTHER_SPEED_CONFIGURATION, and
 *    GET_DESCRIPTOR(CONFIGURATION) with a recipient other than the device;
 *    both the usbredir packets and the standard control requests;
 *  - to the AppVM: interface_info loses the refused interfaces, ep_info
 *    marks their endpoints invalid, and data from those endpoints is
 *    dropped.
 *
 * Limits: a vendor- or class-specific request addressed to the device as
 * a whole is passed on (it names no interface); so is everything a device
 * answers to it.
 *
 * The filter runs in the sandboxed session, beside the parser it guards.
 * Whole refused interfaces are also out of that process's reach in the
 * kernel (confine.h: no claim, no transfer, no setting, no driver rebind);
 * refused alternate settings, the pinned configuration and vendor-type
 * requests are the filter's alone (doc/data-plane.md, "Refused interfaces
 * and the kernel").
 *
 * Descriptors come from the device (through the kernel's cache), usbredir
 * packets from the AppVM: both are parsed with bounds checks, and anything
 * that does not parse is refused (the session is not served), never
 * repaired.
 */
#ifndef USBGATE_IFACE_FILTER_H
#define USBGATE_IFACE_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define IFF_MAX_CONFIGS	8
#define IFF_CONFIG_MAX	65535	/* wTotalLength is 16 bits */

enum iff_error {
	IFF_OK = 0,
	IFF_E_TRUNC = -1,	/* shorter than it says (or than a header) */
	IFF_E_LENGTH = -2,	/* a bLength too small for its type, or 0 */
	IFF_E_TYPE = -3,	/* not a configuration descriptor */
	IFF_E_NOSPACE = -4,	/* output buffer too small */
	IFF_E_CONFIG = -5,	/* no usable configuration */
	IFF_E_NOMEM = -6,
	IFF_E_PROTO = -7,	/* the AppVM sent an impossible packet */
	IFF_E__COUNT = 8
};

const char *iff_strerror(int err);

/* A set of interface numbers (0..255). */
struct iff_set {
	uint8_t bit[256 / 8];
};

static inline void
iff_set_add(struct iff_set *s, uint8_t n)
{
	s->bit[n >> 3] |= (uint8_t)(1u << (n & 7));
}

static inline int
iff_set_has(const struct iff_set *s, uint8_t n)
{
	return (s->bit[n >> 3] >> (n & 7)) & 1;
}

/*
 * A set of (interface, alternate setting) pairs. Refusing alternate
 * setting 0 refuses the whole interface: it is the setting every
 * SET_CONFIGURATION selects.
 */
#define IFF_ALTS_MAX	255

struct iff_alts {
	int n;
	uint8_t pair[IFF_ALTS_MAX][2];	/* interface, alternate setting */
};

/* Add a pair (once); 0, or -1 if the set is full. */
int iff_alts_add(struct iff_alts *s, uint8_t iface, uint8_t alt);
int iff_alts_has(const struct iff_alts *s, uint8_t iface, uint8_t alt);

/* usbredir's endpoint index: IN endpoints 16..31, OUT 0..15. */
#define IFF_EP2I(ep)	((((ep) & 0x80) >> 3) | ((ep) & 0x0f))

/*
 * Rewrite one configuration descriptor (untrusted_in, len bytes: the
 * configuration descriptor followed by everything up to its wTotalLength)
 * without the interfaces in refused. Writes at most outsize bytes to out,
 * *outlen the new wTotalLength; *ep_mask gets the endpoints of refused
 * interfaces (bit IFF_EP2I(address)). Returns IFF_OK or a negative
 * iff_error; on error out is unspecified.
 */
int iff_rewrite_config(const uint8_t *untrusted_in, size_t len,
    const struct iff_set *refused, uint8_t *out, size_t outsize,
    size_t *outlen, uint32_t *ep_mask);

/*
 * The same, also without the alternate settings in refused_alts (may be
 * NULL). *ep_mask also gets the endpoints that appear only in refused
 * alternate settings of an interface.
 */
int iff_rewrite_config_alts(const uint8_t *untrusted_in, size_t len,
    const struct iff_set *refused, const struct iff_alts *refused_alts,
    uint8_t *out, size_t outsize, size_t *outlen, uint32_t *ep_mask);

struct iff;

/*
 * Build a filter from the raw descriptors the kernel caches for the
 * device (what read() on its usbfs node returns: the device descriptor
 * followed by every configuration), the refused interface numbers and the
 * active configuration value. Returns IFF_OK and *out, or an iff_error.
 */
int iff_new(const uint8_t *untrusted_desc, size_t len, const uint8_t *refused,
    int n_refused, int active_config, struct iff **out);

/*
 * The same, also hiding the (interface, alternate setting) pairs in
 * refused_alts (n_refused_alts of them). With nothing refused at all the
 * filter still pins the active configuration.
 */
int iff_new_alts(const uint8_t *untrusted_desc, size_t len,
    const uint8_t *refused, int n_refused,
    const uint8_t (*refused_alts)[2], int n_refused_alts, int active_config,
    struct iff **out);
void iff_free(struct iff *f);

/*
 * Guest to host: copy up to count bytes of whole, allowed packets from
 * chan's input buffer into buf (what usbredirhost's read callback returns);
 * refused packets are consumed and answered on chan. Returns the bytes
 * copied (0: nothing allowed is buffered), or IFF_E_PROTO.
 */
int iff_guest_read(struct iff *f, struct stream *chan, uint8_t *buf,
    size_t count);

/*
 * Host to guest: one whole packet from usbredirhost (its write callback
 * gets exactly one). Returns 1 to send it (possibly rewritten in place),
 * 0 to drop it.
 */
int iff_host_packet(struct iff *f, uint8_t *data, size_t count);

/* Packets refused so far, and configuration requests answered here. */
uint64_t iff_refused_count(const struct iff *f);
uint64_t iff_answered_count(const struct iff *f);

#endif
