/*
 * audio_alsa.c - live capture through ALSA (libasound): the public edgestt_capture_* API.
 *
 * A capture thread waits on the PCM (snd_pcm_wait, 100 ms at most so a stop is seen quickly),
 * reads what is there with snd_pcm_readi into the period buffer and pushes it into the SPSC ring
 * (port/ring.c); the reader takes samples out with edgestt_capture_read, sleeping on a semaphore
 * the thread posts after every period.  The PCM is opened non-blocking (a busy device fails at
 * once instead of hanging) with 16 kHz / mono / S16 in native endianness; overruns are recovered
 * with snd_pcm_recover and counted.
 *
 * Invariants: the handle, the period buffer and the ring live in one block placed at open (the
 * caller's or one allocation); after open neither the thread nor the reader allocates (libasound's
 * readi / wait / recover on a prepared PCM do not either; tests/test_listen.c counts).
 * Built without ALSA (EST_HAVE_ALSA 0: the Makefile found no alsa.pc), every call fails with
 * EDGESTT_E_UNSUPPORTED, so libedgestt.a builds everywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "port.h"
#include "edgestt.h"

#ifndef EST_HAVE_ALSA
#define EST_HAVE_ALSA 0
#endif

#define CAP_RATE 16000

void edgestt_capture_params_default(edgestt_capture_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->device = NULL;
    p->period_ms = 20;
    p->buffer_ms = 200;
    p->ring_ms = 10000;
    p->wait_when_full = 0;
}

/* Defaults filled in, ranges checked; 0 or EDGESTT_E_INVALID_ARG. */
static int norm_params(const edgestt_capture_params *in, edgestt_capture_params *p) {
    edgestt_capture_params_default(p);
    if (in) *p = *in;
    if (!p->device || !p->device[0]) p->device = "default";
    if (p->period_ms <= 0 || p->period_ms > 1000) return EDGESTT_E_INVALID_ARG;
    if (p->buffer_ms < p->period_ms || p->buffer_ms > 10000) return EDGESTT_E_INVALID_ARG;
    if (p->ring_ms < 2 * p->period_ms || p->ring_ms > 3600 * 1000) return EDGESTT_E_INVALID_ARG;
    return 0;
}

#if EST_HAVE_ALSA

#include <alsa/asoundlib.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct edgestt_capture {
    snd_pcm_t *pcm;
    pthread_t thread;
    sem_t sem;                 /* posted by the thread after each push (and at its end) */
    sem_t ready;               /* posted once by the thread when it has started the PCM */
    est_ring *ring;
    int16_t *period;           /* (period_cap) samples read per snd_pcm_readi */
    size_t period_cap;
    int wait_when_full;
    int owned;                 /* 1: the block was allocated by open */
    void *block;
    atomic_int stop;           /* set by close */
    atomic_int dead;           /* set by the thread when the device failed for good */
    atomic_uint_fast64_t frames, dropped;
    atomic_uint xruns;
    int period_frames, buffer_frames;
    char error[160];           /* written by the thread before it sets dead */
};

/* libasound prints its errors on stderr by default; the library must not print. */
static void silent_handler(const char *file, int line, const char *fn, int err, const char *fmt, ...) {
    (void)file, (void)line, (void)fn, (void)err, (void)fmt;
}
static pthread_once_t silence_once = PTHREAD_ONCE_INIT;
static void silence_alsa(void) { snd_lib_error_set_handler(silent_handler); }

/* Layout of the block: handle, period buffer, ring (each 64-byte aligned). */
static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }
static size_t period_samples(const edgestt_capture_params *p) {
    return (size_t)p->period_ms * CAP_RATE / 1000 * 2; /* twice the period: one readi gets all */
}
static size_t block_size(const edgestt_capture_params *p) {
    size_t ring = est_ring_mem_size((size_t)p->ring_ms * (CAP_RATE / 1000));
    if (!ring) return 0;
    return 64 + round64(sizeof(struct edgestt_capture)) + round64(period_samples(p) * sizeof(int16_t)) + ring;
}

edgestt_status edgestt_capture_mem_size(const edgestt_capture_params *in, size_t *bytes) {
    edgestt_capture_params p;
    if (!bytes) return EDGESTT_E_INVALID_ARG;
    int st = norm_params(in, &p);
    if (st) return (edgestt_status)st;
    *bytes = block_size(&p);
    return *bytes ? EDGESTT_OK : EDGESTT_E_LIMIT;
}

/* One line for an error of snd_pcm_open. */
static int open_error(edgestt_diag *d, const char *dev, int err) {
    if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
        return est_diag(d, EDGESTT_E_NOT_FOUND, "capture device '%s' not found (edge-stt devices lists them)", dev);
    if (err == -EBUSY)
        return est_diag(d, EDGESTT_E_IO, "capture device '%s' is busy (in use by another program)", dev);
    if (err == -EACCES || err == -EPERM)
        return est_diag(d, EDGESTT_E_IO, "capture device '%s': permission denied (is the user in group 'audio'?)",
                        dev);
    if (err == -EINVAL)
        return est_diag(d, EDGESTT_E_NOT_FOUND, "capture device '%s' not found or not a capture PCM", dev);
    return est_diag(d, EDGESTT_E_IO, "capture device '%s': %s", dev, snd_strerror(err));
}

/* 16 kHz, mono, S16, interleaved reads, period and buffer near the asked times; then software
 * parameters (wake-up at one period) and prepare. */
static int configure(struct edgestt_capture *c, const edgestt_capture_params *p, edgestt_diag *d) {
    snd_pcm_hw_params_t *hw;
    snd_pcm_sw_params_t *sw;
    snd_pcm_hw_params_alloca(&hw);
    snd_pcm_sw_params_alloca(&sw);
    const char *dev = p->device;
    int err = snd_pcm_hw_params_any(c->pcm, hw);
    if (err < 0) return est_diag(d, EDGESTT_E_IO, "capture device '%s': %s", dev, snd_strerror(err));
    if (snd_pcm_hw_params_set_access(c->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED) < 0 ||
        snd_pcm_hw_params_set_format(c->pcm, hw, SND_PCM_FORMAT_S16) < 0)
        return est_diag(d, EDGESTT_E_UNSUPPORTED,
                        "capture device '%s' does not support 16-bit samples (try plughw: or default)", dev);
    if (snd_pcm_hw_params_set_channels(c->pcm, hw, 1) < 0)
        return est_diag(d, EDGESTT_E_UNSUPPORTED,
                        "capture device '%s' does not support mono capture (try plughw: or default)", dev);
    unsigned rate = CAP_RATE;
    if (snd_pcm_hw_params_set_rate_resample(c->pcm, hw, 1) < 0 ||
        snd_pcm_hw_params_set_rate(c->pcm, hw, rate, 0) < 0)
        return est_diag(d, EDGESTT_E_UNSUPPORTED,
                        "capture device '%s' does not support 16000 Hz (try plughw: or default)", dev);
    unsigned period_us = (unsigned)p->period_ms * 1000u, buffer_us = (unsigned)p->buffer_ms * 1000u;
    int dir = 0;
    err = snd_pcm_hw_params_set_period_time_near(c->pcm, hw, &period_us, &dir);
    if (err >= 0) err = snd_pcm_hw_params_set_buffer_time_near(c->pcm, hw, &buffer_us, &dir);
    if (err >= 0) err = snd_pcm_hw_params(c->pcm, hw);
    if (err < 0)
        return est_diag(d, EDGESTT_E_UNSUPPORTED, "capture device '%s': cannot set 16 kHz mono S16 (%s)", dev,
                        snd_strerror(err));
    snd_pcm_uframes_t period = 0, buffer = 0;
    snd_pcm_hw_params_get_period_size(hw, &period, &dir);
    snd_pcm_hw_params_get_buffer_size(hw, &buffer);
    c->period_frames = (int)period;
    c->buffer_frames = (int)buffer;
    err = snd_pcm_sw_params_current(c->pcm, sw);
    if (err >= 0) err = snd_pcm_sw_params_set_avail_min(c->pcm, sw, period ? period : 1);
    if (err >= 0) err = snd_pcm_sw_params_set_start_threshold(c->pcm, sw, 1);
    if (err >= 0) err = snd_pcm_sw_params(c->pcm, sw);
    if (err >= 0) err = snd_pcm_prepare(c->pcm);
    if (err < 0) return est_diag(d, EDGESTT_E_IO, "capture device '%s': %s", dev, snd_strerror(err));
    return 0;
}

static void fail_thread(struct edgestt_capture *c, const char *what, int err) {
    est_fmt(c->error, sizeof c->error, "capture: %s: %s", what, snd_strerror(err));
    atomic_store(&c->dead, 1);
    sem_post(&c->sem);
}

/* Push n samples; waits for room with wait_when_full (1 ms naps), else counts the rest dropped. */
static void push(struct edgestt_capture *c, const int16_t *s, size_t n) {
    for (;;) {
        size_t w = est_ring_write(c->ring, s, n);
        s += w, n -= w;
        if (!n) break;
        if (!c->wait_when_full || atomic_load(&c->stop)) {
            atomic_fetch_add(&c->dropped, n);
            break;
        }
        sem_post(&c->sem);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    sem_post(&c->sem);
}

static void *capture_main(void *arg) {
    struct edgestt_capture *c = (struct edgestt_capture *)arg;
    int err = snd_pcm_start(c->pcm);
    /* open waits for this: whatever the thread's start-up allocates happens inside open */
    sem_post(&c->ready);
    if (err < 0 && err != -EBADFD) {
        fail_thread(c, "start", err);
        return NULL;
    }
    while (!atomic_load(&c->stop)) {
        err = snd_pcm_wait(c->pcm, 100);
        if (err == 0) continue; /* timeout: look at stop again */
        if (err > 0 || err == -EAGAIN) {
            snd_pcm_sframes_t r = snd_pcm_readi(c->pcm, c->period, c->period_cap);
            if (r == -EAGAIN) continue;
            if (r > 0) {
                atomic_fetch_add(&c->frames, (uint64_t)r);
                push(c, c->period, (size_t)r);
                continue;
            }
            err = r == 0 ? -EIO : (int)r;
        }
        /* overrun (-EPIPE) or suspend (-ESTRPIPE): recover and go on; anything else is the end */
        if (snd_pcm_recover(c->pcm, err, 1) == 0) {
            if (err == -EPIPE) atomic_fetch_add(&c->xruns, 1u);
            int e2 = snd_pcm_start(c->pcm);
            if (e2 < 0 && e2 != -EBADFD) {
                fail_thread(c, "restart after overrun", e2);
                return NULL;
            }
            continue;
        }
        fail_thread(c, "read", err);
        return NULL;
    }
    return NULL;
}

edgestt_status edgestt_capture_open(const edgestt_capture_params *in, void *mem, size_t mem_size,
                                    edgestt_capture **out, edgestt_diag *d) {
    edgestt_capture_params p;
    if (d) d->msg[0] = 0;
    if (!out) return (edgestt_status)est_diag(d, EDGESTT_E_INVALID_ARG, "capture: out is NULL");
    *out = NULL;
    if (norm_params(in, &p))
        return (edgestt_status)est_diag(d, EDGESTT_E_INVALID_ARG,
                                        "capture: period_ms 1..1000, buffer_ms >= period_ms, ring_ms >= 2 periods");
    size_t need = block_size(&p);
    if (!need) return (edgestt_status)est_diag(d, EDGESTT_E_LIMIT, "capture: ring_ms too large");
    int owned = 0;
    if (!mem) {
        mem = est_port_alloc(need);
        if (!mem) return (edgestt_status)est_diag(d, EDGESTT_E_NOMEM, "capture: cannot allocate %zu bytes", need);
        mem_size = need, owned = 1;
    } else if (mem_size < need) {
        return (edgestt_status)est_diag(d, EDGESTT_E_NOMEM, "capture: buffer of %zu bytes, need %zu", mem_size, need);
    }
    uint8_t *b = (uint8_t *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    struct edgestt_capture *c = (struct edgestt_capture *)b;
    memset(c, 0, sizeof *c);
    b += round64(sizeof *c);
    c->period = (int16_t *)b;
    c->period_cap = period_samples(&p);
    b += round64(c->period_cap * sizeof(int16_t));
    size_t ring_bytes = est_ring_mem_size((size_t)p.ring_ms * (CAP_RATE / 1000));
    c->ring = est_ring_init(b, ring_bytes, (size_t)p.ring_ms * (CAP_RATE / 1000));
    c->owned = owned, c->block = mem, c->wait_when_full = p.wait_when_full;
    atomic_init(&c->stop, 0);
    atomic_init(&c->dead, 0);
    atomic_init(&c->frames, 0);
    atomic_init(&c->dropped, 0);
    atomic_init(&c->xruns, 0u);
    int st = EDGESTT_OK;
    if (!c->ring) {
        st = est_diag(d, EDGESTT_E_INTERNAL, "capture: ring placement");
        goto fail;
    }
    pthread_once(&silence_once, silence_alsa);
    int err = snd_pcm_open(&c->pcm, p.device, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
    if (err < 0) {
        c->pcm = NULL;
        st = open_error(d, p.device, err);
        goto fail;
    }
    st = configure(c, &p, d);
    if (st) goto fail;
    if (sem_init(&c->sem, 0, 0) != 0 || sem_init(&c->ready, 0, 0) != 0) {
        st = est_diag(d, EDGESTT_E_IO, "capture: sem_init failed");
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, capture_main, c) != 0) {
        sem_destroy(&c->sem);
        sem_destroy(&c->ready);
        st = est_diag(d, EDGESTT_E_IO, "capture: cannot start the capture thread");
        goto fail;
    }
    while (sem_wait(&c->ready) != 0 && errno == EINTR) {
    }
    *out = c;
    return EDGESTT_OK;
fail:
    if (c->pcm) snd_pcm_close(c->pcm);
    if (owned) est_port_free(mem);
    return (edgestt_status)st;
}

edgestt_status edgestt_capture_read(edgestt_capture *c, int16_t *out, size_t max, size_t *n, int timeout_ms) {
    if (!c || !n || (!out && max)) return EDGESTT_E_INVALID_ARG;
    *n = 0;
    if (!max) return EDGESTT_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    }
    for (;;) {
        *n = est_ring_read(c->ring, out, max);
        if (*n) return EDGESTT_OK;
        if (atomic_load(&c->dead)) return EDGESTT_E_IO;
        if (timeout_ms == 0) return EDGESTT_OK;
        int r = timeout_ms < 0 ? sem_wait(&c->sem) : sem_timedwait(&c->sem, &until);
        if (r != 0 && errno == ETIMEDOUT) {
            *n = est_ring_read(c->ring, out, max);
            return EDGESTT_OK;
        }
    }
}

void edgestt_capture_get_stats(const edgestt_capture *c, edgestt_capture_stats *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    if (!c) return;
    struct edgestt_capture *m = (struct edgestt_capture *)c;
    o->frames = atomic_load(&m->frames);
    o->dropped = atomic_load(&m->dropped);
    o->xruns = atomic_load(&m->xruns);
    o->period_frames = c->period_frames;
    o->buffer_frames = c->buffer_frames;
}

const char *edgestt_capture_error(const edgestt_capture *c) {
    if (!c) return "";
    return atomic_load(&((struct edgestt_capture *)c)->dead) ? c->error : "";
}

void edgestt_capture_close(edgestt_capture *c) {
    if (!c) return;
    atomic_store(&c->stop, 1);
    pthread_join(c->thread, NULL);
    sem_destroy(&c->sem);
    sem_destroy(&c->ready);
    snd_pcm_close(c->pcm);
    if (c->owned) est_port_free(c->block);
}

edgestt_status edgestt_capture_devices(edgestt_device_fn fn, void *user, edgestt_diag *d) {
    if (d) d->msg[0] = 0;
    if (!fn) return EDGESTT_E_INVALID_ARG;
    pthread_once(&silence_once, silence_alsa);
    void **hints = NULL;
    int err = snd_device_name_hint(-1, "pcm", &hints);
    if (err < 0) return (edgestt_status)est_diag(d, EDGESTT_E_IO, "devices: %s", snd_strerror(err));
    int stop = 0;
    for (void **h = hints; *h && !stop; h++) {
        char *name = snd_device_name_get_hint(*h, "NAME");
        char *desc = snd_device_name_get_hint(*h, "DESC");
        char *ioid = snd_device_name_get_hint(*h, "IOID");
        if (name && (!ioid || strcmp(ioid, "Output") != 0)) stop = fn(user, name, desc ? desc : "");
        free(name), free(desc), free(ioid);
    }
    snd_device_name_free_hint(hints);
    return EDGESTT_OK;
}

#else /* !EST_HAVE_ALSA */

struct edgestt_capture {
    int unused;
};

edgestt_status edgestt_capture_mem_size(const edgestt_capture_params *in, size_t *bytes) {
    edgestt_capture_params p;
    if (!bytes) return EDGESTT_E_INVALID_ARG;
    *bytes = 0;
    return norm_params(in, &p) ? EDGESTT_E_INVALID_ARG : EDGESTT_E_UNSUPPORTED;
}

edgestt_status edgestt_capture_open(const edgestt_capture_params *in, void *mem, size_t mem_size,
                                    edgestt_capture **out, edgestt_diag *d) {
    (void)in, (void)mem, (void)mem_size;
    if (out) *out = NULL;
    return (edgestt_status)est_diag(d, EDGESTT_E_UNSUPPORTED, "capture: edge-stt was built without ALSA");
}

edgestt_status edgestt_capture_read(edgestt_capture *c, int16_t *out, size_t max, size_t *n, int timeout_ms) {
    (void)c, (void)out, (void)max, (void)timeout_ms;
    if (n) *n = 0;
    return EDGESTT_E_UNSUPPORTED;
}

void edgestt_capture_get_stats(const edgestt_capture *c, edgestt_capture_stats *o) {
    (void)c;
    if (o) memset(o, 0, sizeof *o);
}

const char *edgestt_capture_error(const edgestt_capture *c) {
    (void)c;
    return "capture: edge-stt was built without ALSA";
}

void edgestt_capture_close(edgestt_capture *c) { (void)c; }

edgestt_status edgestt_capture_devices(edgestt_device_fn fn, void *user, edgestt_diag *d) {
    (void)fn, (void)user;
    return (edgestt_status)est_diag(d, EDGESTT_E_UNSUPPORTED, "devices: edge-stt was built without ALSA");
}

#endif
