/*
 * json.h - a small bounded JSON reader for untrusted input (safetensors headers, Hugging Face
 * config.json / vocab.json / added_tokens.json): a cursor over a byte buffer, no allocation.
 *
 * Invariants: every read is checked against the buffer end; nesting deeper than EST_JSON_MAX_DEPTH
 * is EDGESTT_E_FORMAT (the recursion in est_json_skip is bounded by it); strings are returned as
 * their raw escaped bodies (pointer into the buffer), validated at parse time, and decoded on
 * demand with est_json_unescape.  Numbers are read as integers only where the caller asks for
 * one; other numbers are validated and skipped.  Errors return EDGESTT_E_FORMAT (or
 * EDGESTT_E_TRUNCATED at the end of the buffer) with the byte offset in diag.
 */
#ifndef EST_JSON_H
#define EST_JSON_H

#include "internal.h"

#define EST_JSON_MAX_DEPTH 32

typedef struct est_json {
    const uint8_t *s;  /* the text */
    size_t n;          /* its length */
    size_t pos;        /* the cursor */
    const char *what;  /* name used in diagnostics ("config.json") */
} est_json;

EST_HIDDEN void est_json_init(est_json *j, const void *s, size_t n, const char *what);
/* The next non-space byte (not consumed), or -1 at the end. */
EST_HIDDEN int est_json_peek(est_json *j);
/* A string: *body and *len get the raw (escaped) bytes between the quotes. */
EST_HIDDEN int est_json_string(est_json *j, const uint8_t **body, size_t *len, edgestt_diag *diag);
/* An integer number (no fraction or exponent) that fits int64. */
EST_HIDDEN int est_json_int(est_json *j, int64_t *v, edgestt_diag *diag);
/* Skip one value of any kind (validating it). */
EST_HIDDEN int est_json_skip(est_json *j, edgestt_diag *diag);
/* Objects: est_json_object(j) consumes '{'; then est_json_member(j, &first, &key, &klen) returns 1
 * with the cursor on the member's value (which the caller must consume), 0 after the closing '}',
 * or a negative status.  first must start at 1. */
EST_HIDDEN int est_json_object(est_json *j, edgestt_diag *diag);
EST_HIDDEN int est_json_member(est_json *j, int *first, const uint8_t **key, size_t *klen, edgestt_diag *diag);
/* Arrays: the same with '[' and est_json_element (1: the cursor is on an element). */
EST_HIDDEN int est_json_array(est_json *j, edgestt_diag *diag);
EST_HIDDEN int est_json_element(est_json *j, int *first, edgestt_diag *diag);
/* Decode an escaped string body to UTF-8: writes at most cap bytes to out (out may be NULL to
 * measure).  Returns the decoded length, or -1 for a bad escape or a lone surrogate. */
EST_HIDDEN int64_t est_json_unescape(const uint8_t *body, size_t len, uint8_t *out, size_t cap);
/* 1 if the raw key body equals the NUL-terminated s (keys with escapes never match). */
static inline int est_json_key_is(const uint8_t *key, size_t klen, const char *s) {
    size_t n = strlen(s);
    return klen == n && !memcmp(key, s, n);
}

#endif
