/*
 * data_pool.h: the data channels a VM daemon accepts from dom0 (its
 * --data-pool GLOB options). An empty pool accepts any channel.
 */
#ifndef USBGATE_DATA_POOL_H
#define USBGATE_DATA_POOL_H

#define DATA_POOL_MAX	16

struct data_pool {
	int n;
	const char *glob[DATA_POOL_MAX];
};

/* Add one --data-pool GLOB; -1 when the pool is full. */
int data_pool_add(struct data_pool *p, const char *glob);
/* Does uri match one of the globs (fnmatch(3)), or is the pool empty? */
int data_pool_allows(const struct data_pool *p, const char *uri);

#endif
