/*
 * fuzz_descr_classes.c: the backend's list of every interface descriptor
 * (dc_classes), on the raw descriptors of a hostile or broken device.
 *
 * Input: the sysfs "descriptors" bytes. Oracle: on success the list fits
 * DEV_ADD, has no hub interface and no (configuration, interface, setting)
 * twice; on an error nothing is published (n_alts is 0).
 */
#include "config.h"

#include <string.h>

#include "descr_classes.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_dev out;
	int r, i, j;

	memset(&out, 0, sizeof(out));
	r = dc_classes(data, size, &out);
	FUZZ_ASSERT(dc_strerror(r) != NULL);
	if (r != DC_OK) {
		FUZZ_ASSERT(out.n_alts == 0);
		return 0;
	}
	FUZZ_ASSERT(out.n_alts <= CTL_ALT_MAX);
	for (i = 0; i < out.n_alts; i++) {
		FUZZ_ASSERT(out.alts[i].cls != 0x09);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(out.alts[j].config != out.alts[i].config ||
			    out.alts[j].number != out.alts[i].number ||
			    out.alts[j].alt != out.alts[i].alt);
	}
	return 0;
}
