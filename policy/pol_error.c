/*
 * pol_error.c: names of enum pol_error (see pol_error.h).
 */
#include "config.h"

#include "pol_error.h"

static const char *const pol_errstr[POL_E__COUNT] = {
	[0] = "success",
	[-POL_E_SYNTAX] = "syntax error",
	[-POL_E_VALUE] = "invalid value",
	[-POL_E_DUP] = "duplicate attribute",
	[-POL_E_NOMEM] = "out of memory",
	[-POL_E_IO] = "I/O error",
	[-POL_E_TOOLONG] = "too long",
	[-POL_E_NOTFOUND] = "not found",
	[-POL_E_EXISTS] = "already exists",
	[-POL_E_CORRUPT] = "corrupt data",
};
_Static_assert(sizeof(pol_errstr) / sizeof(pol_errstr[0]) == POL_E__COUNT,
    "pol_errstr must cover enum pol_error");
_Static_assert(-POL_E_CORRUPT == POL_E__COUNT - 1,
    "POL_E__COUNT must follow the last error");

const char *
pol_strerror(int err)
{
	if (err > 0 || -err >= POL_E__COUNT)
		return "unknown error";
	return pol_errstr[-err];
}
