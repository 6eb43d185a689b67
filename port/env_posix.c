/* env_posix.c - environment variables (EDGESTT_KERNELS and friends). */
#include <stdlib.h>

#include "port.h"

const char *est_port_getenv(const char *name) { return getenv(name); }
