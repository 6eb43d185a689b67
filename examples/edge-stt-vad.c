/*
 * edge-stt-vad.c - `edge-stt --vad FILE`: transcribe only the speech of a recording.
 *
 * The Silero VAD (edgestt_vad_segments, get_speech_timestamps defaults: threshold 0.5, min speech
 * 250 ms, min silence 100 ms, pad 30 ms) finds the speech segments; they are joined with 0.1 s of
 * silence between them (so the recogniser still hears a boundary) and transcribed as one
 * recording; every time the transcript reports is mapped back to the file's timeline.
 */
#define _DEFAULT_SOURCE
#include "edge-stt-vad.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GAP_SAMPLES 1600 /* 0.1 s of silence between joined segments */
#define MAX_SEGS (1u << 20)

/* dir of the running program into buf (no trailing slash); 0 on failure. */
static int program_dir(char *buf, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1) return 0;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash) return 0;
    *slash = 0;
    return 1;
}

edgestt_status edge_stt_vad_open(const char *path, edgestt_vad **out, const char **used, edgestt_diag *diag) {
    static char tried[PATH_MAX + 64];
    const char *env = getenv("EDGESTT_VAD_MODEL");
    char dir[PATH_MAX];
    *out = NULL;
    if (path || (env && *env)) {
        snprintf(tried, sizeof tried, "%s", path ? path : env);
        *used = tried;
        return edgestt_vad_open(tried, NULL, 0, out, diag);
    }
    static const char *const rel[] = {"../../models/silero-vad-v5.gguf", "../share/edge-stt/silero-vad-v5.gguf"};
    snprintf(tried, sizeof tried, "models/silero-vad-v5.gguf");
    *used = tried;
    if (program_dir(dir, sizeof dir))
        for (int i = 0; i < 2; i++) { /* the first readable candidate; else the error of the last */
            snprintf(tried, sizeof tried, "%s/%s", dir, rel[i]);
            if (access(tried, R_OK) == 0) break;
        }
    return edgestt_vad_open(tried, NULL, 0, out, diag);
}

int edge_stt_vad_cut(edgestt_vad *vad, const float *pcm, size_t n, float **out, size_t *n_out, edge_stt_vad_map *map) {
    edgestt_vad_segment *segs = NULL;
    size_t cap = 64, ns = 0;
    edgestt_status st = EDGESTT_E_NOMEM;
    *out = NULL;
    *n_out = 0;
    map->p = NULL;
    map->n = 0;
    for (;;) { /* grow the segment list until it holds them all */
        edgestt_vad_segment *q = realloc(segs, cap * sizeof *segs);
        if (!q) break;
        segs = q;
        st = edgestt_vad_segments(vad, pcm, n, segs, cap, &ns);
        if (st != EDGESTT_E_LIMIT || ns > MAX_SEGS) break;
        cap = ns;
    }
    if (!segs || st != EDGESTT_OK) {
        free(segs);
        return -1;
    }
    size_t total = 0;
    for (size_t i = 0; i < ns; i++) total += (size_t)(segs[i].end_sample - segs[i].start_sample) + (i ? GAP_SAMPLES : 0);
    if (ns && (!(*out = malloc(total * sizeof(float) + 1)) || !(map->p = malloc(ns * sizeof *map->p)))) {
        free(*out);
        *out = NULL;
        free(segs);
        return -1;
    }
    size_t at = 0;
    for (size_t i = 0; i < ns; i++) {
        if (i) {
            memset(*out + at, 0, GAP_SAMPLES * sizeof(float));
            at += GAP_SAMPLES;
        }
        size_t len = (size_t)(segs[i].end_sample - segs[i].start_sample);
        memcpy(*out + at, pcm + segs[i].start_sample, len * sizeof(float));
        map->p[i] = (edge_stt_vad_piece){(int64_t)at, segs[i].start_sample, (int64_t)len};
        at += len;
    }
    map->n = ns;
    *n_out = at;
    free(segs);
    return 0;
}

int64_t edge_stt_vad_map_ms(const edge_stt_vad_map *map, int64_t ms) {
    if (!map || !map->n) return ms;
    const int64_t t = ms * 16; /* samples of the cut audio */
    size_t lo = 0, hi = map->n; /* the last piece with at <= t */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (map->p[mid].at <= t) lo = mid;
        else hi = mid;
    }
    const edge_stt_vad_piece *p = &map->p[lo];
    int64_t off = t - p->at;
    if (off < 0) off = 0;
    if (off > p->len) off = p->len;
    return (p->orig + off) / 16;
}

void edge_stt_vad_map_free(edge_stt_vad_map *map) {
    free(map->p);
    map->p = NULL;
    map->n = 0;
}
