/*
 * ifclass.c: the class set dom0 decided on, checked against the backend's
 * descriptors (see ifclass.h). Fields are read byte by byte, never through
 * struct casts.
 */
#include "config.h"

#include <stdio.h>

#include "ifclass.h"

#define DT_CONFIG	0x02
#define DT_INTERFACE	0x04
#define DT_OTHER_SPEED	0x07

int
fe_classes_allow(const struct fe_classes *set, uint8_t cls, uint8_t sub,
    uint8_t proto)
{
	int i;

	if (!set->check)
		return 1;
	for (i = 0; i < set->n; i++)
		if (set->c[i][0] == cls && set->c[i][1] == sub &&
		    set->c[i][2] == proto)
			return 1;
	return 0;
}

int
fe_classes_check_config(const struct fe_classes *set,
    const uint8_t *untrusted_desc, size_t len, char *why, size_t whylen)
{
	const uint8_t *d = untrusted_desc;
	size_t off, total;

	if (!set->check)
		return 0;
	/* The kernel reads no further than wTotalLength says. */
	if (len >= 4 && (d[1] == DT_CONFIG || d[1] == DT_OTHER_SPEED)) {
		total = (size_t)(d[2] | d[3] << 8);
		if (total < len)
			len = total;
	}
	for (off = 0; len - off >= 2; off += d[off]) {
		if (d[off] < 2) {
			snprintf(why, whylen, "descriptor of length %u at "
			    "offset %zu", d[off], off);
			return -1;
		}
		/* Class bytes present, even cut short: a parser may use them. */
		if (d[off + 1] == DT_INTERFACE && len - off >= 8 &&
		    !fe_classes_allow(set, d[off + 5], d[off + 6], d[off + 7])) {
			snprintf(why, whylen, "interface %u alt %u has class "
			    "%02x:%02x:%02x, which dom0 did not approve",
			    d[off + 2], d[off + 3], d[off + 5], d[off + 6],
			    d[off + 7]);
			return -1;
		}
		if (d[off] > len - off)
			break;		/* the last one, cut short */
	}
	return 0;
}
