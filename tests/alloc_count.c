/*
 * alloc_count.c - interposes the C allocator for the whole test binary and counts every call, so a
 * test can prove that nothing is allocated between open and close ("zero malloc after init").
 * Forwards to glibc's __libc_* entry points (dynamic link, so the executable's definitions win).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define EST_COUNT_BY_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EST_COUNT_BY_HOOKS 1
#endif
#endif

static atomic_ullong calls;

uint64_t est_test_alloc_calls(void) { return atomic_load(&calls); }

#ifdef EST_COUNT_BY_HOOKS
/* Under AddressSanitizer the allocator belongs to the sanitizer: count through its hooks
 * (every malloc/calloc/realloc/memalign and every free of a non-NULL pointer reaches them). */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n) { (void)p; (void)n; atomic_fetch_add(&calls, 1); }
static void on_free(const volatile void *p) { if (p) atomic_fetch_add(&calls, 1); }
__attribute__((constructor)) static void install_hooks(void) {
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);
int posix_memalign(void **out, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);
void *memalign(size_t align, size_t n);

void *malloc(size_t n) { atomic_fetch_add(&calls, 1); return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { atomic_fetch_add(&calls, 1); return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { atomic_fetch_add(&calls, 1); return __libc_realloc(p, n); }
void free(void *p) {
    if (p) atomic_fetch_add(&calls, 1);
    __libc_free(p);
}
int posix_memalign(void **out, size_t align, size_t n) {
    atomic_fetch_add(&calls, 1);
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) { atomic_fetch_add(&calls, 1); return __libc_memalign(align, n); }
void *memalign(size_t align, size_t n) { atomic_fetch_add(&calls, 1); return __libc_memalign(align, n); }
#endif
