/*
 * file_posix.c - read-only file mapping (mmap, MAP_PRIVATE) and the read-into-buffer fallback for
 * targets without an MMU, plus the one allocation made at open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "port.h"

static int open_err(const char *path, edgestt_diag *diag) {
    int e = errno;
    return est_diag(diag, EDGESTT_E_IO, "%s: %s", path,
                    e == ENOENT ? "no such file" : e == EACCES ? "permission denied"
                    : e == EISDIR ? "is a directory" : "cannot open");
}

int est_port_file_size(const char *path, uint64_t *size, edgestt_diag *diag) {
    struct stat st;
    if (!path) return est_diag(diag, EDGESTT_E_INVALID_ARG, "no file name given");
    if (stat(path, &st) != 0) return open_err(path, diag);
    if (!S_ISREG(st.st_mode)) return est_diag(diag, EDGESTT_E_IO, "%s: not a regular file", path);
    *size = (uint64_t)st.st_size;
    return EDGESTT_OK;
}

int est_port_map_file(const char *path, est_map *m, edgestt_diag *diag) {
    m->data = NULL;
    m->size = 0;
    m->mapped = 0;
    if (!path) return est_diag(diag, EDGESTT_E_INVALID_ARG, "no file name given");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return open_err(path, diag);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return est_diag(diag, EDGESTT_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return est_diag(diag, EDGESTT_E_LIMIT, "%s: too large to map on this target", path);
    }
    size_t n = (size_t)st.st_size;
    if (n == 0) {
        close(fd);
        return EDGESTT_OK;
    }
    void *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return est_diag(diag, EDGESTT_E_IO, "%s: mmap failed", path);
    m->data = (const uint8_t *)p;
    m->size = n;
    m->mapped = 1;
    return EDGESTT_OK;
}

void est_port_unmap(est_map *m) {
    if (m && m->mapped && m->data) munmap((void *)(uintptr_t)m->data, m->size);
    if (m) {
        m->data = NULL;
        m->size = 0;
        m->mapped = 0;
    }
}

int est_port_read_file(const char *path, void *buf, size_t cap, size_t *size, edgestt_diag *diag) {
    uint64_t total;
    int st = est_port_file_size(path, &total, diag);
    if (st) return st;
    if (total > cap)
        return est_diag(diag, EDGESTT_E_NOMEM, "%s: %llu bytes do not fit a %zu-byte buffer", path,
                        (unsigned long long)total, cap);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return open_err(path, diag);
    size_t got = 0;
    while (got < (size_t)total) {
        ssize_t r = read(fd, (uint8_t *)buf + got, (size_t)total - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            close(fd);
            return est_diag(diag, EDGESTT_E_IO, "%s: read failed", path);
        }
        got += (size_t)r;
    }
    close(fd);
    *size = got;
    return EDGESTT_OK;
}

void *est_port_alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, EST_ALIGN, n ? n : 1) != 0) return NULL;
    return p;
}

void est_port_free(void *p) { free(p); }
