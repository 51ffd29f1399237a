/* tests/tools/stats.h: latency sample sets and percentiles for the testbed tools. */
#ifndef TB_STATS_H
#define TB_STATS_H

#include <stddef.h>

/* Monotonic time in microseconds. */
double tb_now_us(void);

/*
 * Sort the n samples in place and return the p-th percentile (0 < p <= 100,
 * nearest rank). Returns 0 for n == 0.
 */
double tb_percentile(double *samples, size_t n, double p);

#endif
