/*
 * vad.c - the public Silero VAD handle (edgestt_vad_*): open/plan, per-window probabilities, the
 * streaming segmenter and get_speech_timestamps() over a whole recording.
 *
 * Memory: edgestt_vad_mem_size runs the same planning code (est arena, measure mode) as
 * edgestt_vad_open; the handle, the model state and a zero-padding buffer for the last window live
 * in one block; nothing is allocated after open.  The network is models/silero_vad.c; its dot
 * products use the best kernel table for the CPU (EDGESTT_KERNELS=ref|avx2|neon|neondot overrides,
 * as for the Whisper model).
 *
 * The segmenter is Silero's get_speech_timestamps() loop (utils_vad.py of v5, max_speech_duration_s
 * included) made incremental: one call per window, the same comparisons in the same order; the
 * padding pass runs over the finished list (edgestt_vad_segments).  Times are samples at 16 kHz:
 * a window i starts at 512 i; durations in ms are 16 samples per ms exactly.
 */
#include "internal.h"

#include "../kernels/kernels.h"
#include "../models/silero_vad.h"
#include "../port/port.h"

struct edgestt_vad {
    const est_kernels *kt;      /* dot products: auto, or $EDGESTT_KERNELS */
    est_silero w;
    est_silero_state st;
    float *pad;                 /* (512) the zero-padded last window of edgestt_vad_segments */
    est_map map;
    void *owned;                /* the block, if open allocated it */
    size_t bytes;               /* planned size */
    edgestt_vad_params p;
    float neg;                  /* effective neg_threshold */
    /* segmenter (get_speech_timestamps' variables) */
    int64_t n_windows;          /* windows fed since the reset */
    int triggered;
    int64_t start, temp_end;    /* samples; temp_end 0 = unset, as in Silero */
    int64_t prev_end;           /* start of the last silence > 98 ms inside the segment (0 = none) */
    int64_t next_start;         /* first speech window after prev_end (0 = none yet) */
};

void edgestt_vad_params_default(edgestt_vad_params *p) {
    if (!p) return;
    p->threshold = 0.5f;
    p->neg_threshold = -1.0f;
    p->min_speech_ms = 250;
    p->min_silence_ms = 100;
    p->speech_pad_ms = 30;
    p->max_speech_ms = 0;
}

/* Valid params?  (NaN fails every comparison, so it is refused too.) */
static int params_ok(const edgestt_vad_params *p) {
    if (!(p->threshold >= 0.0f && p->threshold <= 1.0f)) return 0;
    if (!(p->neg_threshold <= 1.0f)) return 0;
    if (p->min_speech_ms < 0 || p->min_silence_ms < 0 || p->speech_pad_ms < 0) return 0;
    /* keep every sample count (16 per ms) far from overflow */
    if (p->min_speech_ms > 86400000 || p->min_silence_ms > 86400000 || p->speech_pad_ms > 86400000) return 0;
    /* a cut and a regular end in one window (min silence 0) would be two segments in one event */
    if (p->max_speech_ms < 0 || p->max_speech_ms > 86400000 || (p->max_speech_ms && !p->min_silence_ms)) return 0;
    return 1;
}

/* ---- open ------------------------------------------------------------------------------------- */

/* Plan (bytes != NULL) or place the handle for a model image. */
static int open_image(const est_map *map, void *mem, size_t mem_size, edgestt_vad **out, size_t *bytes,
                      edgestt_diag *diag) {
    est_arena a;
    est_silero w;
    est_silero_state s;
    void *h = NULL, *pad = NULL;
    int st;
    est_arena_init_measure(&a);
    if ((st = est_arena_alloc(&a, sizeof(edgestt_vad), &h)) != 0 || (st = est_silero_plan_state(&a, &s)) != 0 ||
        (st = est_arena_array(&a, EDGESTT_VAD_WINDOW, sizeof(float), &pad)) != 0 ||
        (st = est_silero_bind(map->data, map->size, &a, &w, diag)) != 0)
        return st == EDGESTT_E_NOMEM ? est_diag(diag, EDGESTT_E_LIMIT, "vad: plan overflows") : st;
    size_t need = est_arena_required(&a);
    const char *req = est_port_getenv("EDGESTT_KERNELS");
    const est_kernels *kt = NULL;
    if ((st = est_kernels_select(req && *req ? req : NULL, est_port_cpu_features(), &kt)) != 0)
        return est_diag(diag, st, "vad: kernels '%s' (EDGESTT_KERNELS) unknown or not runnable here", req);
    if (bytes) {
        *bytes = need;
        return EDGESTT_OK;
    }
    void *owned = NULL;
    if (mem) {
        if (mem_size < need)
            return est_diag(diag, EDGESTT_E_NOMEM, "vad: buffer of %zu bytes, the plan needs %zu", mem_size, need);
    } else {
        owned = est_port_alloc(need);
        if (!owned) return est_diag(diag, EDGESTT_E_NOMEM, "vad: cannot allocate %zu bytes", need);
        mem = owned;
        mem_size = need;
    }
    est_arena_init(&a, mem, mem_size);
    if ((st = est_arena_alloc(&a, sizeof(edgestt_vad), &h)) != 0 || (st = est_silero_plan_state(&a, &s)) != 0 ||
        (st = est_arena_array(&a, EDGESTT_VAD_WINDOW, sizeof(float), &pad)) != 0 ||
        (st = est_silero_bind(map->data, map->size, &a, &w, diag)) != 0) {
        if (st == EDGESTT_E_NOMEM) st = est_diag(diag, EDGESTT_E_INTERNAL, "vad: the plan did not fit its own size");
        est_port_free(owned);
        return st;
    }
    edgestt_vad *v = (edgestt_vad *)h;
    v->kt = kt;
    v->w = w;
    v->st = s;
    v->pad = (float *)pad;
    v->map = *map;
    v->owned = owned;
    v->bytes = need;
    edgestt_vad_params_default(&v->p);
    edgestt_vad_reset(v);
    *out = v;
    return EDGESTT_OK;
}

static int open_path(const char *path, void *mem, size_t mem_size, edgestt_vad **out, size_t *bytes,
                     edgestt_diag *diag) {
    est_map m;
    int st = est_port_map_file(path, &m, diag);
    if (st) return st;
    st = open_image(&m, mem, mem_size, out, bytes, diag);
    if (st || bytes) est_port_unmap(&m);
    return st;
}

edgestt_status edgestt_vad_mem_size(const char *path, size_t *bytes, edgestt_diag *diag) {
    if (!path || !bytes) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL path or bytes");
    return (edgestt_status)open_path(path, NULL, 0, NULL, bytes, diag);
}

edgestt_status edgestt_vad_open(const char *path, void *mem, size_t mem_size, edgestt_vad **out, edgestt_diag *diag) {
    if (!out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL out");
    *out = NULL;
    if (!path) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL path");
    return (edgestt_status)open_path(path, mem, mem_size, out, NULL, diag);
}

edgestt_status edgestt_vad_mem_size_memory(const void *data, size_t size, size_t *bytes, edgestt_diag *diag) {
    if ((!data && size) || !bytes) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL data or bytes");
    est_map m = {(const uint8_t *)data, size, 0};
    return (edgestt_status)open_image(&m, NULL, 0, NULL, bytes, diag);
}

edgestt_status edgestt_vad_open_memory(const void *data, size_t size, void *mem, size_t mem_size, edgestt_vad **out,
                                       edgestt_diag *diag) {
    if (!out) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL out");
    *out = NULL;
    if (!data && size) return (edgestt_status)est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL data");
    est_map m = {(const uint8_t *)data, size, 0};
    return (edgestt_status)open_image(&m, mem, mem_size, out, NULL, diag);
}

void edgestt_vad_close(edgestt_vad *v) {
    if (!v) return;
    est_map m = v->map;
    void *owned = v->owned;
    est_port_unmap(&m);
    est_port_free(owned);
}

/* ---- stream ----------------------------------------------------------------------------------- */

edgestt_status edgestt_vad_set_params(edgestt_vad *v, const edgestt_vad_params *params) {
    edgestt_vad_params p;
    if (!v) return EDGESTT_E_INVALID_ARG;
    if (params) p = *params;
    else edgestt_vad_params_default(&p);
    if (!params_ok(&p)) return EDGESTT_E_INVALID_ARG;
    v->p = p;
    edgestt_vad_reset(v);
    return EDGESTT_OK;
}

void edgestt_vad_reset(edgestt_vad *v) {
    if (!v) return;
    est_silero_reset(&v->st);
    v->neg = v->p.neg_threshold >= 0.0f ? v->p.neg_threshold
                                        : (v->p.threshold - 0.15f > 0.01f ? v->p.threshold - 0.15f : 0.01f);
    v->n_windows = 0;
    v->triggered = 0;
    v->start = v->temp_end = 0;
    v->prev_end = v->next_start = 0;
}

edgestt_status edgestt_vad_prob(edgestt_vad *v, const float *window, float *prob) {
    if (!v || !window || !prob) return EDGESTT_E_INVALID_ARG;
    *prob = est_silero_forward(v->kt, &v->w, &v->st, window);
    return EDGESTT_OK;
}

/* One step of get_speech_timestamps' loop for window i = v->n_windows with probability p. */
static void segment_step(edgestt_vad *v, float p, edgestt_vad_event *ev) {
    const int64_t s = v->n_windows * EDGESTT_VAD_WINDOW;
    const int64_t min_silence = (int64_t)v->p.min_silence_ms * 16, min_speech = (int64_t)v->p.min_speech_ms * 16;
    /* Silero: max_speech_samples = max_speech - window - 2 pad; a silence > 98 ms is a split point */
    const int64_t max_speech = (int64_t)v->p.max_speech_ms * 16 - EDGESTT_VAD_WINDOW - 2 * (int64_t)v->p.speech_pad_ms * 16;
    const int64_t min_silence_at_max = 98 * 16;
    memset(ev, 0, sizeof *ev);
    ev->prob = p;
    v->n_windows++;
    if (p >= v->p.threshold && v->temp_end) {
        v->temp_end = 0;
        if (v->next_start < v->prev_end) v->next_start = s;
    }
    if (p >= v->p.threshold && !v->triggered) {
        v->triggered = 1;
        v->start = s;
        ev->started = 1;
        ev->start_sample = s;
        ev->in_speech = 1;
        return;
    }
    if (v->triggered && v->p.max_speech_ms && s - v->start > max_speech) {
        ev->ended = ev->kept = ev->cut = 1;
        ev->start_sample = v->start;
        ev->next_start = -1;
        if (v->prev_end) {
            /* at the last long silence; speech that resumed after it is the next segment */
            ev->end_sample = v->prev_end;
            if (v->next_start < v->prev_end) v->triggered = 0;
            else v->start = ev->next_start = v->next_start;
            v->prev_end = v->next_start = v->temp_end = 0;
        } else {
            ev->end_sample = s;
            v->prev_end = v->next_start = v->temp_end = 0;
            v->triggered = 0;
            return;
        }
    }
    if (p < v->neg && v->triggered) {
        if (!v->temp_end) v->temp_end = s;
        if (s - v->temp_end > min_silence_at_max) v->prev_end = v->temp_end;
        /* (not reached in a window that cut: min_silence_ms > 0 whenever max_speech_ms is set) */
        if (s - v->temp_end >= min_silence) {
            ev->ended = 1;
            ev->start_sample = v->start;
            ev->end_sample = v->temp_end;
            ev->kept = v->temp_end - v->start > min_speech;
            v->triggered = 0;
            v->temp_end = 0;
            v->prev_end = v->next_start = 0;
        }
    }
    ev->in_speech = v->triggered;
}

edgestt_status edgestt_vad_feed(edgestt_vad *v, const float *window, edgestt_vad_event *ev) {
    if (!v || !window || !ev) return EDGESTT_E_INVALID_ARG;
    segment_step(v, est_silero_forward(v->kt, &v->w, &v->st, window), ev);
    return EDGESTT_OK;
}

edgestt_status edgestt_vad_finish(edgestt_vad *v, uint64_t n_samples, edgestt_vad_event *ev) {
    if (!v || !ev) return EDGESTT_E_INVALID_ARG;
    memset(ev, 0, sizeof *ev);
    if (n_samples > (uint64_t)INT64_MAX) return EDGESTT_E_INVALID_ARG;
    if (v->triggered) {
        ev->ended = 1;
        ev->start_sample = v->start;
        ev->end_sample = (int64_t)n_samples;
        ev->kept = (int64_t)n_samples - v->start > (int64_t)v->p.min_speech_ms * 16;
        v->triggered = 0;
        v->temp_end = 0;
        v->prev_end = v->next_start = 0;
    }
    return EDGESTT_OK;
}

/* ---- whole recordings ------------------------------------------------------------------------- */

/* Keep a finished raw segment: store it while there is room, remember the first start beyond. */
static void collect(const edgestt_vad_event *ev, edgestt_vad_segment *segs, size_t cap, size_t *n, int64_t *beyond) {
    if (!ev->ended || !ev->kept) return;
    if (*n < cap) {
        segs[*n].start_sample = ev->start_sample;
        segs[*n].end_sample = ev->end_sample;
    } else if (*n == cap) {
        *beyond = ev->start_sample;
    }
    (*n)++;
}

edgestt_status edgestt_vad_segments(edgestt_vad *v, const float *pcm, size_t n_samples, edgestt_vad_segment *segs,
                                    size_t cap, size_t *n_segs) {
    if (!v || (!pcm && n_samples) || (!segs && cap) || !n_segs) return EDGESTT_E_INVALID_ARG;
#if SIZE_MAX > INT64_MAX / 2 /* (a 32-bit size_t cannot exceed it) */
    if ((uint64_t)n_samples > (uint64_t)INT64_MAX / 2) return EDGESTT_E_LIMIT;
#endif
    edgestt_vad_event ev;
    size_t n = 0;
    int64_t beyond = 0;
    edgestt_vad_reset(v);
    for (size_t at = 0; at < n_samples; at += EDGESTT_VAD_WINDOW) {
        const float *win = pcm + at;
        if (n_samples - at < EDGESTT_VAD_WINDOW) {
            memset(v->pad, 0, EDGESTT_VAD_WINDOW * sizeof(float));
            memcpy(v->pad, win, (n_samples - at) * sizeof(float));
            win = v->pad;
        }
        segment_step(v, est_silero_forward(v->kt, &v->w, &v->st, win), &ev);
        collect(&ev, segs, cap, &n, &beyond);
    }
    edgestt_vad_finish(v, n_samples, &ev);
    collect(&ev, segs, cap, &n, &beyond);
    edgestt_vad_reset(v);

    /* the padding pass, as get_speech_timestamps runs it over its list */
    const int64_t pad = (int64_t)v->p.speech_pad_ms * 16, total = (int64_t)n_samples;
    const size_t m = n < cap ? n : cap;
    for (size_t i = 0; i < m; i++) {
        edgestt_vad_segment *sp = &segs[i];
        if (i == 0) sp->start_sample = sp->start_sample - pad > 0 ? sp->start_sample - pad : 0;
        if (i + 1 < n) {
            int64_t *next = i + 1 < m ? &segs[i + 1].start_sample : &beyond;
            int64_t sil = *next - sp->end_sample;
            if (sil < 2 * pad) {
                sp->end_sample += sil / 2;
                *next = *next - sil / 2 > 0 ? *next - sil / 2 : 0;
            } else {
                sp->end_sample = sp->end_sample + pad < total ? sp->end_sample + pad : total;
                *next = *next - pad > 0 ? *next - pad : 0;
            }
        } else {
            sp->end_sample = sp->end_sample + pad < total ? sp->end_sample + pad : total;
        }
    }
    *n_segs = n;
    return n > cap ? EDGESTT_E_LIMIT : EDGESTT_OK;
}
