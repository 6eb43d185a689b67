/*
 * fuzz_json.c - libFuzzer harness for the bounded JSON reader (core/json.c) that reads Hugging Face
 * checkpoints (safetensors headers, config.json, vocab.json, added_tokens.json).
 *
 * The input is one JSON text.  Checked: est_json_skip returns OK / FORMAT / TRUNCATED with a diag
 * line and never moves the cursor past the end; walked as an object (as the checkpoint readers
 * walk it), every key and string value unescapes to the same length measured (out NULL) and
 * written, integers are read or refused without leaving the buffer, and nested values are skipped.
 *
 * Run: build/fuzz/fuzz_json -max_len=4096 build/fuzz/work/json tests/fuzz/corpus/json
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/json.h"
#include "fuzz.h"

/* Unescape body both ways; the lengths must agree (or both refuse). */
static void fz_json_unescape(const uint8_t *body, size_t len) {
    int64_t m = est_json_unescape(body, len, NULL, 0);
    FZ_CHECK(m < 0 || (size_t)m <= len); /* an escape never decodes longer than it is written */
    if (m <= 0) return;
    uint8_t *out = malloc((size_t)m);
    if (!out) return;
    FZ_CHECK(est_json_unescape(body, len, out, (size_t)m) == m);
    free(out);
}

int est_fuzz_json(const uint8_t *data, size_t size) {
    est_json j;
    edgestt_diag d;
    memset(&d, 0, sizeof d);
    est_json_init(&j, data, size, "fuzz");
    int st = est_json_skip(&j, &d);
    FZ_CHECK(j.pos <= size);
    FZ_CHECK(st == EDGESTT_OK || st == EDGESTT_E_FORMAT || st == EDGESTT_E_TRUNCATED);
    if (st) est_fuzz_check_status(st, &d);
    /* as the checkpoint readers walk it */
    est_json_init(&j, data, size, "fuzz");
    if (est_json_object(&j, NULL)) return 0;
    int first = 1, more, n = 0;
    const uint8_t *k, *s;
    size_t kl, sl;
    while ((more = est_json_member(&j, &first, &k, &kl, NULL)) == 1 && n++ < 100000) {
        FZ_CHECK(k >= data && kl <= size && (size_t)(k - data) <= size - kl);
        fz_json_unescape(k, kl);
        int c = est_json_peek(&j), r;
        int64_t v;
        if (c == '"') {
            if ((r = est_json_string(&j, &s, &sl, NULL)) == 0) fz_json_unescape(s, sl);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t at = j.pos;
            r = est_json_int(&j, &v, NULL);
            if (r) j.pos = at, r = est_json_skip(&j, NULL); /* a non-integer number */
        } else if (c == '[') {
            int f2 = 1, e;
            r = est_json_array(&j, NULL);
            while (!r && (e = est_json_element(&j, &f2, NULL)) == 1) r = est_json_skip(&j, NULL);
            if (!r && e < 0) r = e;
        } else {
            r = est_json_skip(&j, NULL);
        }
        FZ_CHECK(j.pos <= size);
        if (r) return 0;
    }
    FZ_CHECK(more <= 1 && j.pos <= size);
    return 0;
}

#ifndef EST_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return est_fuzz_json(data, size); }
#endif
