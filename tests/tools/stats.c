/* tests/tools/stats.c: monotonic clock and nearest-rank percentiles for the testbed tools. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "stats.h"

double
tb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
tb_percentile(double *samples, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	qsort(samples, n, sizeof(*samples), cmp_double);
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return samples[rank - 1];
}
