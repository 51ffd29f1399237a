/*
 * fuzz_iface_desc.c: the configuration descriptor rewrite of the backend's
 * interface filter (iff_rewrite_config), on descriptors from a hostile or
 * broken device.
 *
 * Input: a byte of refused interface numbers' count (low 2 bits), the
 * numbers, then one configuration descriptor with what follows it.
 * Oracle, on success: the output is a well-formed chain of descriptors
 * no longer than the input, wTotalLength and bNumInterfaces are right, no
 * interface descriptor of a refused interface is left, and every endpoint
 * that followed one is in the refused endpoint mask.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "iface_filter.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[IFF_CONFIG_MAX];
	struct fz in = { data, size };
	struct iff_set refused, seen;
	const uint8_t *cfg;
	size_t len, outlen, off, dl, n, i;
	uint32_t mask, want = 0;
	int iface = -1, n_seen = 0;

	memset(&refused, 0, sizeof(refused));
	memset(&seen, 0, sizeof(seen));
	n = fz_u8(&in) & 3;
	for (i = 0; i < n; i++)
		iff_set_add(&refused, fz_u8(&in));
	cfg = fz_bytes(&in, in.left, &len);
	if (iff_rewrite_config(cfg, len, &refused, out, sizeof(out), &outlen,
	    &mask) != IFF_OK)
		return 0;
	FUZZ_ASSERT(outlen >= 9 && outlen <= len);
	FUZZ_ASSERT((size_t)(out[2] | out[3] << 8) == outlen);
	for (off = out[0]; off < outlen; off += dl) {
		FUZZ_ASSERT(outlen - off >= 2);
		dl = out[off];
		FUZZ_ASSERT(dl >= 2 && dl <= outlen - off);
		if (out[off + 1] == 0x04) {
			FUZZ_ASSERT(!iff_set_has(&refused, out[off + 2]));
			if (!iff_set_has(&seen, out[off + 2]))
				n_seen++;
			iff_set_add(&seen, out[off + 2]);
		}
	}
	FUZZ_ASSERT(out[4] == n_seen);
	/* Endpoints after a refused interface, read from the input. */
	for (off = cfg[0]; off < (size_t)(cfg[2] | cfg[3] << 8); off += dl) {
		dl = cfg[off];
		if (cfg[off + 1] == 0x04)
			iface = cfg[off + 2];
		else if (cfg[off + 1] == 0x0b)
			iface = -1;
		else if (cfg[off + 1] == 0x05 && iface >= 0 &&
		    iff_set_has(&refused, (uint8_t)iface))
			want |= 1u << IFF_EP2I(cfg[off + 2]);
	}
	FUZZ_ASSERT((mask & want) == want);
	return 0;
}
