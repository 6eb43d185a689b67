/*
 * diag.c - a tiny printf-like formatter for one-line diagnostics.  core/ may not use stdio (it
 * runs in firmware and must not reference printf), so this formats integers and strings only.
 * Always NUL-terminates; truncates silently.
 */
#include <stdarg.h>

#include "internal.h"

typedef struct {
    char *buf;
    size_t cap, len;
} fmt_out;

static void put_c(fmt_out *o, char c) {
    if (o->len + 1 < o->cap) o->buf[o->len] = c;
    o->len++;
}

static void put_s(fmt_out *o, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) put_c(o, s[i]);
}

/* Unsigned integer in base 10 or 16. */
static void put_u(fmt_out *o, unsigned long long v, unsigned base) {
    char tmp[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n) put_c(o, tmp[--n]);
}

static void put_i(fmt_out *o, long long v) {
    if (v < 0) {
        put_c(o, '-');
        put_u(o, (unsigned long long)(-(v + 1)) + 1u, 10);
    } else {
        put_u(o, (unsigned long long)v, 10);
    }
}

static size_t vfmt(char *buf, size_t cap, const char *fmt, va_list ap) {
    fmt_out o = {buf, cap, 0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') { put_c(&o, *p); continue; }
        p++;
        int prec = -1;
        if (p[0] == '.' && p[1] == '*') { prec = va_arg(ap, int); p += 2; }
        int lng = 0, sz = 0;
        while (*p == 'l') { lng++; p++; }
        if (*p == 'z') { sz = 1; p++; }
        switch (*p) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            size_t n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
            put_s(&o, s, n);
            break;
        }
        case 'c': put_c(&o, (char)va_arg(ap, int)); break;
        case 'd':
        case 'i':
            if (lng >= 2) put_i(&o, va_arg(ap, long long));
            else if (lng == 1) put_i(&o, va_arg(ap, long));
            else if (sz) put_i(&o, (long long)va_arg(ap, size_t));
            else put_i(&o, va_arg(ap, int));
            break;
        case 'u':
        case 'x': {
            unsigned base = *p == 'x' ? 16u : 10u;
            if (lng >= 2) put_u(&o, va_arg(ap, unsigned long long), base);
            else if (lng == 1) put_u(&o, va_arg(ap, unsigned long), base);
            else if (sz) put_u(&o, va_arg(ap, size_t), base);
            else put_u(&o, va_arg(ap, unsigned), base);
            break;
        }
        case '%': put_c(&o, '%'); break;
        case '\0': p--; break;
        default: put_c(&o, '%'); put_c(&o, *p); break;
        }
    }
    if (cap) buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len < cap ? o.len : (cap ? cap - 1 : 0);
}

size_t est_fmt(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

int est_diag(edgestt_diag *d, int status, const char *fmt, ...) {
    if (!d) return status;
    va_list ap;
    va_start(ap, fmt);
    vfmt(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    /* one line: control bytes (a newline inside a tensor name from a damaged file) become '?' */
    for (char *c = d->msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return status;
}
