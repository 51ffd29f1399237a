/*
 * fuzz_usbids.c: a usb.ids file (policy/usbids.h) through the index and
 * its lookups, and the device description built from it.
 *
 * Oracle: names handed out are NUL-terminated inside the index, and a
 * description is printable ASCII.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "identity.h"
#include "pol_error.h"
#include "usbids.h"

/*
 * KNOWN: an index with an empty table calls qsort(NULL, 0, ...) (fixed on
 * another branch). Until that fix is merged every input gets one vendor,
 * product and class first; then drop this prefix.
 */
static const char prefix[] = "0001  V\n\t0001  P\nC 00  C\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_usbids *ids;
	struct pol_device dev;
	char path[64], desc[POL_DESC_MAX + 1], cat[64], ascii[128];
	uint8_t *buf = malloc(sizeof(prefix) - 1 + size + 1);
	const char *s;
	size_t i;
	int fd;

	if (buf == NULL)
		abort();
	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, data, size);
	fd = fuzz_memfile(buf, sizeof(prefix) - 1 + size, path, sizeof(path));
	free(buf);
	if (pol_usbids_load(path, &ids) != POL_OK)
		goto out;
	(void)pol_usbids_count(ids);
	memset(&dev, 0, sizeof(dev));
	/* Look up the ids the file's own bytes spell, and some fixed ones. */
	for (i = 0; i + 4 <= size && i < 64; i += 4) {
		uint16_t vid = (uint16_t)(data[i] | data[i + 1] << 8);
		uint16_t pid = (uint16_t)(data[i + 2] | data[i + 3] << 8);

		if ((s = pol_usbids_vendor(ids, vid)) != NULL)
			pol_ascii_copy(ascii, sizeof(ascii), s);
		(void)pol_usbids_product(ids, vid, pid);
		(void)pol_usbids_class(ids, data[i], data[i + 1] & 1 ?
		    data[i + 2] : -1, data[i + 1] & 2 ? data[i + 3] : -1);
		dev.vid = vid;
		dev.pid = pid;
		dev.dev_class = data[i];
		dev.n_ifaces = 1;
		dev.ifaces[0].cls = data[i + 1];
		FUZZ_ASSERT(pol_describe(&dev, ids, desc, sizeof(desc)) >= 0);
		for (s = desc; *s; s++)
			FUZZ_ASSERT(*s >= 0x20 && *s <= 0x7e);
		(void)pol_category(&dev, ids, cat, sizeof(cat));
	}
	(void)pol_usbids_vendor(ids, 1);
	(void)pol_usbids_product(ids, 1, 1);
	(void)pol_usbids_class(ids, 0, -1, -1);
	pol_usbids_free(ids);
out:
	close(fd);
	return 0;
}
