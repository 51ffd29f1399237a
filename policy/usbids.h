/*
 * usbids.h: vendor, product and class names from hwdata's usb.ids.
 *
 * Owns an in-memory index of one usb.ids file: the file is read once into a
 * buffer, its lines are cut in place and indexed in sorted arrays, and
 * lookups are binary searches. pol_usbids_default() keeps one process-wide
 * index and reloads it only when the file's mtime or size changes, so a
 * daemon pays the parse once (a few milliseconds for the ~25000 lines).
 *
 * Returned names are borrowed from the index and stay valid until the
 * index is freed or reloaded. They are the file's bytes, possibly UTF-8:
 * callers that put them on the wire use pol_ascii_copy().
 */
#ifndef USBGATE_POL_USBIDS_H
#define USBGATE_POL_USBIDS_H

#include <stddef.h>
#include <stdint.h>

struct pol_usbids;

/* Standard locations, tried in order by pol_usbids_default(NULL). */
#define POL_USBIDS_PATHS	{ "/usr/share/hwdata/usb.ids", \
				  "/usr/share/misc/usb.ids", \
				  "/usr/share/usb.ids", NULL }

/* Load path. Returns 0 or a negative enum pol_error. */
int pol_usbids_load(const char *path, struct pol_usbids **out);
void pol_usbids_free(struct pol_usbids *ids);

/*
 * The shared index for path (NULL: the standard locations), loaded on first
 * use and reloaded when the file changes. NULL if no file could be read.
 */
const struct pol_usbids *pol_usbids_default(const char *path);
/* Drop the shared index (tests, daemon shutdown). */
void pol_usbids_default_reset(void);

const char *pol_usbids_vendor(const struct pol_usbids *ids, uint16_t vid);
const char *pol_usbids_product(const struct pol_usbids *ids, uint16_t vid,
    uint16_t pid);
/* Class name; subclass/protocol names with sub/proto >= 0. */
const char *pol_usbids_class(const struct pol_usbids *ids, int cls, int sub,
    int proto);
size_t pol_usbids_count(const struct pol_usbids *ids);	/* all entries */

/*
 * Copy src to dst as printable ASCII: each UTF-8 sequence or other byte
 * outside 0x20..0x7e becomes one '_'. Truncates to dstsize.
 */
void pol_ascii_copy(char *dst, size_t dstsize, const char *src);

#endif
