/*
 * pol_error.h: error codes of the policy library (rules, identity,
 * usb.ids, assignments). 0 is success, errors are negative; pol_strerror()
 * names them and a _Static_assert in pol_error.c keeps the table in step.
 */
#ifndef USBGATE_POL_ERROR_H
#define USBGATE_POL_ERROR_H

enum pol_error {
	POL_OK = 0,
	POL_E_SYNTAX = -1,	/* rule or line does not parse */
	POL_E_VALUE = -2,	/* a value is malformed or out of range */
	POL_E_DUP = -3,		/* attribute given twice */
	POL_E_NOMEM = -4,
	POL_E_IO = -5,		/* file I/O failed, see errno */
	POL_E_TOOLONG = -6,	/* line, string or set too long */
	POL_E_NOTFOUND = -7,
	POL_E_EXISTS = -8,
	POL_E_CORRUPT = -9,	/* stored data failed its checks */
};
#define POL_E__COUNT	10

const char *pol_strerror(int err);

#endif
