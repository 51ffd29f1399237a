/*
 * unit_main.h: the one main() of the Check unit tests (unit_main.c).
 *
 * Each tests/unit/check_*.c defines unit_suite(), returning its suite; the
 * shared main runs it and turns the failure count into the exit status.
 */
#ifndef USBGATE_UNIT_MAIN_H
#define USBGATE_UNIT_MAIN_H

#include <check.h>

/* Defined by each test program: its suite, owned by the caller. */
Suite *unit_suite(void);

#endif
