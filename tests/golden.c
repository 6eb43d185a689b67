/*
 * golden.c - reads the Whisper reference goldens (tests/data/golden/whisper_<model>.txt, lines of
 * "KEY COUNT VALUES...", written by tests/reference/whisper_ref.py) for the model and decoding tests.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

int gold_load(gold *g, const char *model) {
    char rel[128];
    snprintf(rel, sizeof rel, "golden/whisper_%s.txt", model);
    FILE *f = fopen(est_test_data(rel), "rb");
    g->text = NULL;
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    g->text = malloc((size_t)n + 1);
    if (g->text && fread(g->text, 1, (size_t)n, f) != (size_t)n) {
        free(g->text);
        g->text = NULL;
    }
    fclose(f);
    if (g->text) g->text[n] = 0;
    return g->text != NULL;
}

int gold_get(const gold *g, const char *key, double *out, int cap) {
    const size_t kl = strlen(key);
    for (const char *p = g->text; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == ' ') {
            char *e;
            long cnt = strtol(p + kl, &e, 10);
            for (long i = 0; i < cnt && i < cap; i++) out[i] = strtod(e, &e);
            return (int)cnt;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}
