/*
 * cpu.c - CPU feature detection: x86 via cpuid + xgetbv (AVX state enabled by the OS), aarch64 via
 * getauxval(AT_HWCAP), armv7 via AT_HWCAP's NEON bit.  Computed once per call; cheap.
 */
#define _GNU_SOURCE
#include "port.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

uint32_t est_port_cpu_features(void) {
    uint32_t a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    int fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!(osxsave && avx) || (xgetbv0() & 6) != 6) return 0; /* OS does not save ymm */
    if (fma) f |= EST_CPU_FMA;
    if (f16c) f |= EST_CPU_F16C;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 5) & 1)) f |= EST_CPU_AVX2;
    return f;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_FPHP
#define HWCAP_FPHP (1 << 9)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif

uint32_t est_port_cpu_features(void) {
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    uint32_t f = 0;
    if (hw & HWCAP_ASIMD) f |= EST_CPU_NEON;
    if (hw & HWCAP_ASIMDDP) f |= EST_CPU_DOTPROD;
    if (hw & HWCAP_FPHP) f |= EST_CPU_FPHP;
    if (hw2 & HWCAP2_I8MM) f |= EST_CPU_I8MM;
    return f;
}

#elif defined(__arm__)
#include <sys/auxv.h>
#ifndef HWCAP_NEON
#define HWCAP_NEON (1 << 12)
#endif
uint32_t est_port_cpu_features(void) {
    return (getauxval(AT_HWCAP) & HWCAP_NEON) ? EST_CPU_NEON : 0;
}

#else
uint32_t est_port_cpu_features(void) { return 0; }
#endif
