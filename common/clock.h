/*
 * clock.h: the one clock every deadline, timeout and latency figure of
 * usbgate is measured on: CLOCK_MONOTONIC, which setting the wall clock
 * never moves.
 */
#ifndef USBGATE_CLOCK_H
#define USBGATE_CLOCK_H

#include <stdint.h>

/* Milliseconds since an arbitrary start (deadlines, poll timeouts). */
long mono_ms(void);
/* Nanoseconds since the same start (latencies, durations). */
uint64_t mono_ns(void);

#endif
