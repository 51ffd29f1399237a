/*
 * data_pool.c: --data-pool globs (see data_pool.h).
 */
#include "config.h"

#include <fnmatch.h>

#include "data_pool.h"

int
data_pool_add(struct data_pool *p, const char *glob)
{
	if (p->n >= DATA_POOL_MAX)
		return -1;
	p->glob[p->n++] = glob;
	return 0;
}

int
data_pool_allows(const struct data_pool *p, const char *uri)
{
	int i;

	if (p->n == 0)
		return 1;
	for (i = 0; i < p->n; i++)
		if (fnmatch(p->glob[i], uri, 0) == 0)
			return 1;
	return 0;
}
