/*
 * pool.h - the public thread pool (edgestt_pool, core/pool.c) as the engine sees it: the port
 * layer's fixed pool inside it.
 */
#ifndef EST_POOL_PUBLIC_H
#define EST_POOL_PUBLIC_H

#include "model.h" /* internal.h, port.h, EST_MAX_THREADS */

/* The port pool of a public pool (NULL for NULL). */
EST_HIDDEN est_pool *est_pool_of(edgestt_pool *p);

#endif
