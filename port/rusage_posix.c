/* rusage_posix.c - the process's peak resident set size (getrusage ru_maxrss, KiB on Linux). */
#include <sys/resource.h>

#include "port.h"

uint64_t est_port_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss < 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}
