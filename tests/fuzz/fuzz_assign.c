/*
 * fuzz_assign.c: an assignments file (policy/assign.h) through the
 * tolerant loader.
 *
 * Oracle: every assignment kept is valid, and formats to a line that
 * parses back to an assignment that formats the same.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "assign.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_device dev = {
		.backend = "sys-usb", .busid = "2-1", .vid = 0x1209,
		.pid = 0x0007, .serial = "W1", .n_ifaces = 1,
		.ifaces = { { 0, 3, 0, 0 } },
	};
	static char line[8192], again[8192];
	struct pol_assign_store st;
	struct pol_assign a;
	struct pol_diags dg;
	char path[64], msg[256], id[POL_DEVID_MAX + 1];
	int fd = fuzz_memfile(data, size, path, sizeof(path));
	size_t i;

	memset(&dg, 0, sizeof(dg));
	pol_assign_init(&st, path);
	(void)pol_assign_load(&st, &dg);
	pol_device_id(&dev, id, sizeof(id));
	for (i = 0; i < st.n; i++) {
		FUZZ_ASSERT(pol_assign_validate(&st.a[i], msg, sizeof(msg)) ==
		    POL_OK);
		FUZZ_ASSERT(pol_assign_format(&st.a[i], line,
		    sizeof(line)) >= 0);
		FUZZ_ASSERT(pol_assign_parse_line(line, &a, msg,
		    sizeof(msg)) == POL_OK);
		FUZZ_ASSERT(pol_assign_format(&a, again, sizeof(again)) >= 0);
		FUZZ_ASSERT(strcmp(line, again) == 0);
		(void)pol_assign_rank(&st.a[i], "sys-usb", "2-1", id, &dev);
	}
	pol_assign_free(&st);
	close(fd);
	return 0;
}
