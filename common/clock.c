/*
 * clock.c: the monotonic clock (see clock.h).
 */
#include "config.h"

#include <time.h>

#include "clock.h"

uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long
mono_ms(void)
{
	return (long)(mono_ns() / 1000000u);
}
