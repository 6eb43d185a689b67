/* clock_posix.c - monotonic clock in nanoseconds. */
#define _GNU_SOURCE
#include <time.h>

#include "port.h"

uint64_t est_port_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
