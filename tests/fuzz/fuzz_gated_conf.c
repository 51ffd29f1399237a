/*
 * fuzz_gated_conf.c: /etc/usbgate/usbgated.conf (usbgated(8)) through
 * gated_conf_parse_text().
 *
 * Oracle: a file with errors reports at least one, and what a clean file
 * sets stays within the fields' bounds.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "gated.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gated_conf conf;
	struct pol_diags dg;
	char *text = fuzz_strdup(data, size);
	int i;

	memset(&dg, 0, sizeof(dg));
	gated_conf_defaults(&conf);
	if (gated_conf_parse_text(text, "fuzz.conf", &conf, &dg) != POL_OK)
		FUZZ_ASSERT(dg.total > 0);
	FUZZ_ASSERT(conf.n_peers >= 0 && conf.n_peers <= GATED_PEERS_MAX);
	FUZZ_ASSERT(conf.n_data >= 0 && conf.n_data <= GATED_DATA_MAX);
	for (i = 0; i < conf.n_peers; i++) {
		FUZZ_ASSERT(memchr(conf.peers[i].uri, '\0',
		    sizeof(conf.peers[i].uri)) != NULL);
		FUZZ_ASSERT(conf.peers[i].n_tags >= 0 &&
		    conf.peers[i].n_tags <= GATED_TAGS_MAX);
	}
	free(text);
	return 0;
}
