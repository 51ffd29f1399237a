/*
 * fuzz_modules.c: the two sanitize steps of backend/modules.c, the only
 * bytes the privileged half reads before it runs modprobe: a modalias file
 * (mod_alias_sanitize) and modprobe's -R answer (mod_names_parse).
 *
 * Oracle: an accepted modalias is the input (less one trailing newline),
 * "usb:" then letters and digits, so that it can neither be read as an
 * option nor carry a glob, a path or a second word; every module name is
 * non-empty, shorter than MOD_NAME_MAX, of letters, digits and '_' only,
 * and one of the answer's lines with '-' read as '_'.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "fuzz.h"
#include "modules.h"

static void
check_alias(const uint8_t *data, size_t size)
{
	char alias[MOD_ALIAS_MAX + 1];
	size_t n = size, i;

	if (mod_alias_sanitize((const char *)data, size, alias,
	    sizeof(alias)) < 0)
		return;
	if (n > 0 && data[n - 1] == '\n')
		n--;
	FUZZ_ASSERT(strlen(alias) == n && n > 4 && n <= MOD_ALIAS_MAX);
	FUZZ_ASSERT(memcmp(alias, data, n) == 0);
	FUZZ_ASSERT(strncmp(alias, "usb:", 4) == 0);
	for (i = 4; i < n; i++)
		FUZZ_ASSERT(isascii((unsigned char)alias[i]) &&
		    isalnum((unsigned char)alias[i]));
}

/* Whether name is one of answer's lines, '-' read as '_'. */
static int
is_line(const char *answer, const char *name)
{
	size_t nl = strlen(name), i;
	const char *p = answer;

	for (;;) {
		const char *end = strchr(p, '\n');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (len == nl) {
			for (i = 0; i < nl; i++)
				if ((p[i] == '-' ? '_' : p[i]) != name[i])
					break;
			if (i == nl)
				return 1;
		}
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

static void
check_names(const uint8_t *data, size_t size)
{
	char out[1024], answer[1024];
	char names[MOD_NAMES_MAX][MOD_NAME_MAX];
	size_t len = size < sizeof(out) - 1 ? size : sizeof(out) - 1;
	int n, i;
	size_t j;

	memcpy(out, data, len);
	out[len] = '\0';
	memcpy(answer, out, len + 1);
	n = mod_names_parse(out, names);
	FUZZ_ASSERT(n >= 0 && n <= MOD_NAMES_MAX);
	for (i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);

		FUZZ_ASSERT(nl > 0 && nl < MOD_NAME_MAX);
		for (j = 0; j < nl; j++)
			FUZZ_ASSERT(names[i][j] == '_' ||
			    (isascii((unsigned char)names[i][j]) &&
			    isalnum((unsigned char)names[i][j])));
		FUZZ_ASSERT(is_line(answer, names[i]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_alias(data, size);
	check_names(data, size);
	return 0;
}
