/*
 * test_wav.c - the WAV reader (core/wav.c) and the band-limited resampler (core/resample.c).
 *
 * WAV files are synthesised in memory (every sample format, channel counts, rates, extensible,
 * RF64, streamed sizes, odd chunks) and decoded; every malformed variant must give the right
 * status and a one-line diag.  Inputs are placed right before a PROT_NONE page, so a read past
 * the end of the image crashes the test instead of passing silently.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/internal.h"
#include "../core/resample.h"
#include "test.h"

static const double PI = 3.14159265358979323846;

/* ---- in-memory WAV writer ---------------------------------------------------------------- */
typedef struct wspec {
    int tag;          /* fmt tag: 1 PCM, 3 float, 0xFFFE extensible, or a codec to reject */
    int sub_tag;      /* extensible sub-format (1 or 3, or a codec) */
    int channels, rate, bits, valid_bits;
    int block_align;  /* 0: channels * bits / 8 */
    int rf64;         /* RF64 magic + ds64, data size 0xFFFFFFFF */
    int streamed;     /* data size 0xFFFFFFFF */
    int data_first;   /* data chunk before fmt */
    int odd_chunk;    /* an odd-sized LIST chunk (with pad byte) before fmt */
    int no_fmt, no_data;
    int bad_guid;
} wspec;

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
} wbuf;

static void put(wbuf *b, const void *src, size_t n) {
    if (b->n + n <= b->cap) memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put16(wbuf *b, unsigned v) { uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; put(b, t, 2); }
static void put32(wbuf *b, uint32_t v) {
    uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, t, 4);
}
static void put64(wbuf *b, uint64_t v) { put32(b, (uint32_t)v); put32(b, (uint32_t)(v >> 32)); }

/* Quantise v the way the writer stores it, and return the value the reader must decode. */
static double store_sample(wbuf *b, const wspec *s, double v) {
    int fl = s->tag == 3 || (s->tag == 0xFFFE && s->sub_tag == 3);
    if (fl && s->bits == 32) { float f = (float)v; put(b, &f, 4); return f; }
    if (fl && s->bits == 64) { put(b, &v, 8); return v; }
    if (s->bits == 8) {
        long q = lround(v * 128.0) + 128;
        q = q < 0 ? 0 : q > 255 ? 255 : q;
        uint8_t u = (uint8_t)q;
        put(b, &u, 1);
        return (q - 128) / 128.0;
    }
    int bytes = s->bits / 8;
    double scale = ldexp(1.0, s->bits - 1);
    long long q = llround(v * scale), mx = (long long)scale - 1;
    q = q > mx ? mx : q < -mx - 1 ? -mx - 1 : q;
    int vb = s->valid_bits ? s->valid_bits : s->bits;
    q &= ~(long long)((1ull << (s->bits - vb)) - 1); /* left-justified valid bits */
    uint64_t u = (uint64_t)q;
    for (int i = 0; i < bytes; i++) { uint8_t t = (uint8_t)(u >> (8 * i)); put(b, &t, 1); }
    return (double)q / scale;
}

/* Build a WAV from frames x channels samples in src; expected mono decode goes to mono (16 kHz
 * files only matter for that).  Returns the image size; *data_off = offset of the sample bytes. */
static size_t build_wav(uint8_t *buf, size_t cap, const wspec *s, const double *src, size_t frames,
                        double *mono, size_t *data_off) {
    wbuf b = {buf, 0, cap};
    int ba = s->block_align ? s->block_align : s->channels * (s->bits / 8);
    size_t data_bytes = frames * (size_t)ba;
    put(&b, s->rf64 ? "RF64" : "RIFF", 4);
    put32(&b, s->rf64 ? 0xFFFFFFFFu : 0); /* patched below */
    put(&b, "WAVE", 4);
    if (s->rf64) {
        put(&b, "ds64", 4);
        put32(&b, 28);
        put64(&b, 0);
        put64(&b, data_bytes);
        put64(&b, frames);
        put32(&b, 0);
    }
    if (s->odd_chunk) {
        put(&b, "LIST", 4);
        put32(&b, 3);
        put(&b, "abc\0", 4); /* 3 bytes + pad */
    }
    for (int pass = 0; pass < 2; pass++) {
        int do_fmt = (pass == 0) != (s->data_first != 0);
        if (do_fmt && !s->no_fmt) {
            int ext = s->tag == 0xFFFE;
            put(&b, "fmt ", 4);
            put32(&b, ext ? 40 : 16);
            put16(&b, (unsigned)s->tag);
            put16(&b, (unsigned)s->channels);
            put32(&b, (uint32_t)s->rate);
            put32(&b, (uint32_t)(s->rate * ba));
            put16(&b, (unsigned)ba);
            put16(&b, (unsigned)s->bits);
            if (ext) {
                static const uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                                 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
                put16(&b, 22);
                put16(&b, (unsigned)(s->valid_bits ? s->valid_bits : s->bits));
                put32(&b, 0);
                put16(&b, (unsigned)s->sub_tag);
                uint8_t t[14];
                memcpy(t, tail, 14);
                if (s->bad_guid) t[13] ^= 1;
                put(&b, t, 14);
            }
        } else if (!do_fmt && !s->no_data) {
            put(&b, "data", 4);
            put32(&b, (s->streamed || s->rf64) ? 0xFFFFFFFFu : (uint32_t)data_bytes);
            *data_off = b.n;
            for (size_t f = 0; f < frames; f++) {
                double sum = 0;
                for (int c = 0; c < s->channels; c++) sum += store_sample(&b, s, src[f * s->channels + c]);
                if (mono) mono[f] = sum / s->channels;
            }
            if (data_bytes & 1) put(&b, "\0", 1);
        }
    }
    if (!s->rf64 && b.n <= cap) {
        uint32_t riff = (uint32_t)(b.n - 8);
        memcpy(buf + 4, &riff, 4);
    }
    return b.n;
}

/* A copy of data[0, n) ending right before an inaccessible page. */
typedef struct guarded {
    uint8_t *base, *p;
    size_t len;
} guarded;

static int guard_copy(guarded *g, const void *data, size_t n) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), span = (n + page - 1) / page * page;
    g->len = span + page;
    g->base = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->base == MAP_FAILED) return 0;
    if (mprotect(g->base + span, page, PROT_NONE) != 0) return 0;
    g->p = g->base + span - n;
    if (n) memcpy(g->p, data, n);
    return 1;
}
static void guard_free(guarded *g) { munmap(g->base, g->len); }

static double frand(uint64_t *st) { return (double)(est_test_rand(st) >> 11) * (1.0 / 9007199254740992.0); }

/* Parse + decode an image (through a guard page); out must hold n_samples_16k floats. */
static int decode_image(const uint8_t *img, size_t n, edgestt_wav_info *info, float **out, edgestt_diag *d) {
    guarded g;
    *out = NULL;
    if (!guard_copy(&g, img, n)) return EDGESTT_E_IO;
    int st = edgestt_wav_parse(g.p, n, info, d);
    if (!st) {
        size_t sb = 0;
        st = edgestt_wav_scratch_size(info, &sb);
        void *scratch = sb ? malloc(sb) : NULL;
        *out = malloc((size_t)info->n_samples_16k * sizeof(float) + 1);
        if (!st) st = edgestt_wav_decode(g.p, n, info, *out, scratch, sb, d);
        free(scratch);
    }
    guard_free(&g);
    return st;
}

/* ---- formats at 16 kHz: exact decode ------------------------------------------------------ */
TEST(wav_formats_decode_exactly) {
    static const struct { int tag, sub, bits, valid; } fmts[] = {
        {1, 0, 8, 0},  {1, 0, 16, 0},  {1, 0, 24, 0},       {1, 0, 32, 0},   {3, 0, 32, 0},
        {3, 0, 64, 0}, {0xFFFE, 1, 16, 0}, {0xFFFE, 1, 24, 20}, {0xFFFE, 1, 32, 24}, {0xFFFE, 3, 32, 0},
        {0xFFFE, 3, 64, 0}};
    static const int chans[] = {1, 2, 5, 64};
    uint64_t rs = est_test_seed();
    size_t frames = 777, cap = frames * 64 * 8 + 256;
    uint8_t *img = malloc(cap);
    double *src = malloc(frames * 64 * sizeof(double)), *mono = malloc(frames * sizeof(double));
    for (size_t fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
        for (size_t ci = 0; ci < sizeof chans / sizeof chans[0]; ci++) {
            for (int variant = 0; variant < 4; variant++) {
                wspec s = {.tag = fmts[fi].tag, .sub_tag = fmts[fi].sub, .bits = fmts[fi].bits,
                           .valid_bits = fmts[fi].valid, .channels = chans[ci], .rate = 16000};
                s.odd_chunk = variant == 1;
                s.data_first = variant == 2;
                s.rf64 = variant == 3;
                int ch = s.channels;
                for (size_t i = 0; i < frames * (size_t)ch; i++) src[i] = 1.9 * frand(&rs) - 0.95;
                src[0] = -1.0; /* full-scale negative */
                size_t off;
                size_t n = build_wav(img, cap, &s, src, frames, mono, &off);
                CHECK(n <= cap);
                edgestt_wav_info info;
                edgestt_diag d = {{0}};
                float *out;
                int st = decode_image(img, n, &info, &out, &d);
                CHECKF(st == EDGESTT_OK, "tag %x/%d bits %d ch %d variant %d: %s", s.tag, s.sub_tag, s.bits, ch,
                       variant, d.msg);
                CHECK(info.sample_rate == 16000 && info.channels == ch && info.n_frames == frames);
                CHECK(info.n_samples_16k == frames && info.bits_per_sample == s.bits);
                CHECK(info.is_float == (s.tag == 3 || s.sub_tag == 3));
                double maxerr = 0;
                for (size_t i = 0; i < frames; i++) maxerr = fmax(maxerr, fabs(out[i] - mono[i]));
                free(out);
                CHECKF(maxerr < 1e-6, "tag %x bits %d ch %d variant %d: max err %g", s.tag, s.bits, ch, variant,
                       maxerr);
            }
        }
    }
    free(img);
    free(src);
    free(mono);
}

TEST(wav_float_out_of_range_is_clamped) {
    double src[4] = {2.5, -3.0, NAN, 0.25};
    uint8_t img[256];
    size_t off;
    wspec s = {.tag = 3, .bits = 32, .channels = 1, .rate = 16000};
    size_t n = build_wav(img, sizeof img, &s, src, 4, NULL, &off);
    edgestt_wav_info info;
    float *out;
    CHECK_ST(decode_image(img, n, &info, &out, NULL), EDGESTT_OK);
    CHECK(out[0] == 1.0f && out[1] == -1.0f && out[2] == 0.0f && out[3] == 0.25f);
    free(out);
}

TEST(wav_jfk_header) {
    FILE *f = fopen(est_test_data("jfk.wav"), "rb");
    CHECK(f != NULL);
    static uint8_t img[400000];
    size_t n = fread(img, 1, sizeof img, f);
    fclose(f);
    edgestt_wav_info info;
    edgestt_diag d = {{0}};
    CHECK_ST(edgestt_wav_parse(img, n, &info, &d), EDGESTT_OK);
    CHECK(info.sample_rate == 16000 && info.channels == 1 && info.bits_per_sample == 16 && !info.is_float);
    CHECK(info.n_frames == 176000 && info.n_samples_16k == 176000);
    size_t sb = 1;
    CHECK_ST(edgestt_wav_scratch_size(&info, &sb), EDGESTT_OK);
    CHECK(sb == 0);
}

/* ---- error cases --------------------------------------------------------------------------- */
static int parse_spec(const wspec *s, size_t frames, edgestt_diag *d) {
    static uint8_t img[8192];
    double src[128 * 8] = {0};
    size_t off;
    size_t n = build_wav(img, sizeof img, s, src, frames, NULL, &off);
    edgestt_wav_info info;
    guarded g;
    if (!guard_copy(&g, img, n)) return 1;
    memset(d, 0, sizeof *d);
    int st = edgestt_wav_parse(g.p, n, &info, d);
    guard_free(&g);
    return st;
}

/* A 16-bit mono 16 kHz PCM spec changed by `change` (an expression on s_) must fail so. */
#define EXPECT_SPEC(change, frames, status, needle)                                                \
    do {                                                                                           \
        edgestt_diag d_;                                                                           \
        wspec s_ = {.tag = 1, .bits = 16, .channels = 1, .rate = 16000};                           \
        (void)(change);                                                                            \
        int st_ = parse_spec(&s_, frames, &d_);                                                    \
        CHECKF(st_ == (status), "%s: got %d (%s) want %d, diag '%s'", #change, st_, edgestt_strerror(st_), \
               status, d_.msg);                                                                    \
        CHECKF(d_.msg[0] && !strchr(d_.msg, '\n'), "%s: diag '%s'", #change, d_.msg);              \
        CHECKF(strstr(d_.msg, needle) != NULL, "%s: diag '%s' lacks '%s'", #change, d_.msg, needle); \
    } while (0)

TEST(wav_errors_have_status_and_diag) {
    EXPECT_SPEC((s_.tag = 2), 8, EDGESTT_E_UNSUPPORTED, "ADPCM");
    EXPECT_SPEC((s_.tag = 6, s_.bits = 8), 8, EDGESTT_E_UNSUPPORTED, "A-law");
    EXPECT_SPEC((s_.tag = 7, s_.bits = 8), 8, EDGESTT_E_UNSUPPORTED, "mu-law");
    EXPECT_SPEC((s_.tag = 0x55), 8, EDGESTT_E_UNSUPPORTED, "MP3");
    EXPECT_SPEC((s_.tag = 0x11), 8, EDGESTT_E_UNSUPPORTED, "0x11");
    EXPECT_SPEC((s_.tag = 0xFFFE, s_.sub_tag = 7, s_.bits = 8), 8, EDGESTT_E_UNSUPPORTED, "mu-law");
    EXPECT_SPEC((s_.tag = 0xFFFE, s_.sub_tag = 1, s_.bad_guid = 1), 8, EDGESTT_E_UNSUPPORTED, "GUID");
    EXPECT_SPEC((s_.tag = 3, s_.bits = 16), 8, EDGESTT_E_UNSUPPORTED, "float");
    EXPECT_SPEC((s_.bits = 40), 8, EDGESTT_E_UNSUPPORTED, "40-bit");
    EXPECT_SPEC((s_.channels = 0), 8, EDGESTT_E_FORMAT, "0 channels");
    EXPECT_SPEC((s_.channels = 65), 8, EDGESTT_E_UNSUPPORTED, "65 channels");
    EXPECT_SPEC((s_.rate = 0), 8, EDGESTT_E_FORMAT, "rate 0");
    EXPECT_SPEC((s_.rate = 999), 8, EDGESTT_E_UNSUPPORTED, "999");
    EXPECT_SPEC((s_.rate = 384001), 8, EDGESTT_E_UNSUPPORTED, "384001");
    EXPECT_SPEC((s_.block_align = 3), 8, EDGESTT_E_FORMAT, "block align");
    EXPECT_SPEC((s_.block_align = 60000), 0, EDGESTT_E_FORMAT, "block align");
    EXPECT_SPEC((s_.no_fmt = 1), 8, EDGESTT_E_FORMAT, "no fmt");
    EXPECT_SPEC((s_.no_data = 1), 8, EDGESTT_E_FORMAT, "no data");
    EXPECT_SPEC((s_.channels = 1), 0, EDGESTT_E_FORMAT, "no audio");
    EXPECT_SPEC((s_.data_first = 1, s_.streamed = 1), 8, EDGESTT_E_FORMAT, "no fmt");

    /* hand-made images */
    edgestt_diag d = {{0}};
    edgestt_wav_info info;
    CHECK_ST(edgestt_wav_parse("OggS\0\0\0\0\0\0\0\0\0\0\0\0", 16, &info, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "RIFF"));
    CHECK_ST(edgestt_wav_parse("RIFF\0\0\0\0AVI fmt ", 16, &info, &d), EDGESTT_E_FORMAT);
    CHECK_ST(edgestt_wav_parse("ID3\3", 4, &info, &d), EDGESTT_E_FORMAT);
    CHECK_ST(edgestt_wav_parse(NULL, 0, &info, &d), EDGESTT_E_TRUNCATED);
    CHECK_ST(edgestt_wav_parse("RIFF", 4, NULL, &d), EDGESTT_E_INVALID_ARG);
    /* a fmt chunk shorter than 16 bytes */
    static const uint8_t shortfmt[] = "RIFF\0\0\0\0WAVEfmt \x0e\0\0\0\1\0\1\0\x80\x3e\0\0\0\x7d\0\0\2\0data\0\0\0\0";
    CHECK_ST(edgestt_wav_parse(shortfmt, sizeof shortfmt - 1, &info, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "fmt"));
    /* extensible fmt chunk of 16 bytes */
    static const uint8_t shortext[] = "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\xfe\xff\1\0\x80\x3e\0\0\0\x7d\0\0\2\0\x10\0data\2\0\0\0\0\0";
    CHECK_ST(edgestt_wav_parse(shortext, sizeof shortext - 1, &info, &d), EDGESTT_E_FORMAT);
    CHECK(strstr(d.msg, "EXTENSIBLE"));
}

TEST(wav_data_claims_more_than_file) {
    static uint8_t img[4096];
    double src[100] = {0};
    size_t off;
    wspec s = {.tag = 1, .bits = 16, .channels = 2, .rate = 16000};
    size_t n = build_wav(img, sizeof img, &s, src, 50, NULL, &off);
    edgestt_wav_info info;
    edgestt_diag d = {{0}};
    CHECK_ST(edgestt_wav_parse(img, n - 1, &info, &d), EDGESTT_E_TRUNCATED);
    CHECK(strstr(d.msg, "data chunk"));
    /* RF64 with a ds64 size past the end */
    s.rf64 = 1;
    n = build_wav(img, sizeof img, &s, src, 50, NULL, &off);
    CHECK_ST(edgestt_wav_parse(img, n - 2, &info, &d), EDGESTT_E_TRUNCATED);
    CHECK_ST(edgestt_wav_parse(img, n, &info, &d), EDGESTT_OK);
    CHECK(info.n_frames == 50);
}

/* Every prefix of the header, and random cuts in the data, fail cleanly (streamed: decode the
 * complete frames that are there).  Inputs sit right before a guard page. */
TEST(wav_truncation_every_header_byte_and_random_data) {
    static uint8_t img[65536];
    static double src[4000 * 3], mono[4000];
    uint64_t rs = est_test_seed() ^ 0x77;
    for (size_t i = 0; i < 4000 * 3; i++) src[i] = frand(&rs) - 0.5;
    static const wspec specs[] = {
        {.tag = 1, .bits = 16, .channels = 1, .rate = 16000, .odd_chunk = 1},
        {.tag = 0xFFFE, .sub_tag = 1, .bits = 24, .channels = 3, .rate = 44100},
        {.tag = 3, .bits = 32, .channels = 2, .rate = 48000, .rf64 = 1},
        {.tag = 1, .bits = 8, .channels = 1, .rate = 8000, .data_first = 1},
    };
    for (size_t si = 0; si < sizeof specs / sizeof specs[0]; si++) {
        size_t off, frames = si == 0 ? 4000 : 3000;
        size_t n = build_wav(img, sizeof img, &specs[si], src, frames, mono, &off);
        size_t hdr_end = specs[si].data_first ? n : off;
        for (size_t cut = 0; cut < n; cut++) {
            if (cut > hdr_end + 8 && cut < n - 8 && (est_test_rand(&rs) & 63)) continue; /* sample data */
            edgestt_wav_info info;
            edgestt_diag d = {{0}};
            float *out;
            int st = decode_image(img, cut, &info, &out, &d);
            free(out);
            CHECKF(st == EDGESTT_E_TRUNCATED || st == EDGESTT_E_FORMAT, "spec %zu cut %zu/%zu: %d (%s) '%s'", si,
                   cut, n, st, edgestt_strerror(st), d.msg);
            CHECKF(d.msg[0] != 0, "spec %zu cut %zu: empty diag", si, cut);
        }
    }
    /* streamed data size: a cut file decodes the complete frames it holds */
    wspec s = {.tag = 1, .bits = 16, .channels = 2, .rate = 22050, .streamed = 1};
    size_t off, n = build_wav(img, sizeof img, &s, src, 3000, mono, &off);
    for (int t = 0; t < 40; t++) {
        size_t cut = off + 4 + (size_t)(est_test_rand(&rs) % (n - off - 4));
        edgestt_wav_info info;
        edgestt_diag d = {{0}};
        float *out;
        CHECK_ST(decode_image(img, cut, &info, &out, &d), EDGESTT_OK);
        CHECKF(info.n_frames == (cut - off) / 4, "cut %zu frames %llu", cut, (unsigned long long)info.n_frames);
        CHECK(info.n_samples_16k == (info.n_frames * 16000 + 22049) / 22050);
        for (uint64_t i = 0; i < info.n_samples_16k; i++) CHECK(isfinite(out[i]) && fabsf(out[i]) < 1.2f);
        free(out);
    }
}

/* Random byte changes in the headers of valid files: any status, but a file that parses must
 * decode to finite samples, and nothing reads outside the image (guard page; ASan in sanitize). */
TEST(wav_random_header_mutations) {
    static uint8_t img[16384], mut[16384];
    static double src[2000 * 2];
    uint64_t rs = est_test_seed() ^ 0xf0f0;
    for (size_t i = 0; i < 2000 * 2; i++) src[i] = frand(&rs) - 0.5;
    static const wspec specs[] = {
        {.tag = 1, .bits = 16, .channels = 2, .rate = 44100, .odd_chunk = 1},
        {.tag = 0xFFFE, .sub_tag = 3, .bits = 32, .channels = 1, .rate = 8000, .rf64 = 1},
        {.tag = 1, .bits = 24, .channels = 1, .rate = 16000, .data_first = 1, .odd_chunk = 1},
    };
    int ok = 0;
    for (int it = 0; it < 600; it++) {
        const wspec *sp = &specs[it % 3];
        size_t off, n = build_wav(img, sizeof img, sp, src, 1000, NULL, &off);
        memcpy(mut, img, n);
        size_t hdr = sp->data_first ? n : off;
        int flips = 1 + (int)(est_test_rand(&rs) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)(est_test_rand(&rs) % hdr);
            mut[at] = (est_test_rand(&rs) & 1) ? (uint8_t)est_test_rand(&rs) : (uint8_t)(mut[at] ^ (1u << (est_test_rand(&rs) & 7)));
        }
        edgestt_wav_info info;
        edgestt_diag d = {{0}};
        float *out;
        int st = decode_image(mut, n, &info, &out, &d);
        if (st == EDGESTT_OK) {
            ok++;
            for (uint64_t i = 0; i < info.n_samples_16k; i++)
                CHECKF(isfinite(out[i]) && fabsf(out[i]) <= 1.5f, "iteration %d sample %llu", it, (unsigned long long)i);
        } else {
            CHECKF(d.msg[0] != 0, "iteration %d: status %d without diag", it, st);
        }
        free(out);
    }
    CHECK(ok > 0);
}

TEST(wav_decode_checks_info_and_scratch) {
    static uint8_t img[65536];
    static double src[8000];
    for (int i = 0; i < 8000; i++) src[i] = 0.5 * sin(i * 0.01);
    wspec s = {.tag = 1, .bits = 16, .channels = 1, .rate = 44100};
    size_t off, n = build_wav(img, sizeof img, &s, src, 8000, NULL, &off);
    edgestt_wav_info info;
    edgestt_diag d = {{0}};
    CHECK_ST(edgestt_wav_parse(img, n, &info, &d), EDGESTT_OK);
    size_t sb = 0;
    CHECK_ST(edgestt_wav_scratch_size(&info, &sb), EDGESTT_OK);
    CHECK(sb > 0 && sb < 1 << 20);
    float *out = malloc(info.n_samples_16k * sizeof(float));
    uint8_t *scratch = malloc(sb + 64);
    /* the plan includes 63 bytes to align any start: below that every size fails with NOMEM
     * (steps of 61 bytes, odd start), and the planned size works from any start */
    for (size_t k = 0; k < sb - 63; k += 61)
        CHECK_ST(edgestt_wav_decode(img, n, &info, out, scratch + 1 + k % 64, k, &d), EDGESTT_E_NOMEM);
    CHECK_ST(edgestt_wav_decode(img, n, &info, out, scratch + 1, sb - 64, &d), EDGESTT_E_NOMEM);
    CHECK_ST(edgestt_wav_decode(img, n, &info, out, NULL, 0, &d), EDGESTT_E_NOMEM);
    uint64_t before = est_test_alloc_calls();
    CHECK_ST(edgestt_wav_decode(img, n, &info, out, scratch + 1, sb, &d), EDGESTT_OK);
    CHECK(est_test_alloc_calls() == before); /* no allocation while decoding */
    edgestt_wav_info bad = info;
    bad.n_samples_16k++;
    CHECK_ST(edgestt_wav_decode(img, n, &bad, out, scratch, sb, &d), EDGESTT_E_INVALID_ARG);
    CHECK_ST(edgestt_wav_decode(img, n, &info, NULL, scratch, sb, &d), EDGESTT_E_INVALID_ARG);
    free(out);
    free(scratch);
}

/* ---- resampler ---------------------------------------------------------------------------- */
/* Decode a float32 mono WAV of n frames of src at `rate` to 16 kHz (through the chunked path). */
static float *resample_via_wav(const double *src, size_t n, int rate, int channels, size_t *n_out) {
    size_t cap = n * 4 * (size_t)channels + 256, off;
    uint8_t *img = malloc(cap);
    wspec s = {.tag = 3, .bits = 32, .channels = channels, .rate = rate};
    size_t len = build_wav(img, cap, &s, src, n, NULL, &off);
    edgestt_wav_info info;
    float *out = NULL;
    int st = decode_image(img, len, &info, &out, NULL);
    free(img);
    if (st) { free(out); return NULL; }
    *n_out = info.n_samples_16k;
    return out;
}

TEST(resample_sines_match_analytic) {
    static const int rates[] = {8000, 11025, 22050, 32000, 44100, 48000, 96000, 44101};
    static const double freqs[] = {100, 440, 1000, 3000, 5500, 6900};
    uint64_t rs = est_test_seed() ^ 0x5e;
    for (size_t ri = 0; ri < sizeof rates / sizeof rates[0]; ri++) {
        const int rate = rates[ri];
        const size_t n = (size_t)rate * 3 / 4; /* 0.75 s: several of wav.c's resampler chunks */
        est_resampler r;
        est_arena m, a;
        est_arena_init_measure(&m);
        CHECK_ST(est_resample_init(&r, rate, 16000, &m), EDGESTT_OK);
        size_t need = est_arena_required(&m);
        void *mem = malloc(need);
        est_arena_init(&a, mem, need);
        CHECK_ST(est_resample_init(&r, rate, 16000, &a), EDGESTT_OK);
        uint64_t n_out;
        CHECK_ST(est_resample_out_len(&r, n, &n_out), EDGESTT_OK);
        CHECK(n_out == (n * 16000 + (size_t)rate - 1) / (size_t)rate);
        int64_t lo, hi;
        est_resample_span(&r, 0, (size_t)n_out, &lo, &hi);
        float *x = calloc((size_t)(hi - lo), sizeof(float)), *out = malloc(n_out * sizeof(float));
        double *src = malloc(n * sizeof(double)), worst = 0;
        for (size_t fi = 0; fi < sizeof freqs / sizeof freqs[0]; fi++) {
            const double f = freqs[fi];
            if (f > 0.875 * (rate < 16000 ? rate : 16000) / 2) continue; /* only the pass band */
            const double ph = frand(&rs) * 2 * PI;
            for (size_t i = 0; i < n; i++) x[i - lo] = (float)(src[i] = 0.8 * sin(2 * PI * f * i / rate + ph));
            est_resample_run(&r, x, lo, 0, (size_t)n_out, out);
            double maxerr = 0;
            for (size_t j = 200; j + 200 < n_out; j++) /* away from the edges */
                maxerr = fmax(maxerr, fabs(out[j] - 0.8 * sin(2 * PI * f * j / 16000.0 + ph)));
            CHECKF(maxerr < 1e-3, "%d Hz -> 16 kHz, %.0f Hz sine: max err %g", rate, f, maxerr);
            worst = fmax(worst, maxerr);
        }
        /* the WAV decoder (chunked, zero-filled edges) gives the same samples for the last sine */
        size_t n_wav;
        float *wav = resample_via_wav(src, n, rate, 1, &n_wav);
        CHECK(wav != NULL && n_wav == n_out);
        CHECKF(memcmp(wav, out, n_out * sizeof(float)) == 0, "%d Hz: WAV path differs", rate);
        free(wav);
        free(x);
        free(out);
        free(src);
        free(mem);
        printf("  resample %6d -> 16000: sines max err %.2e\n", rate, worst);
    }
}

TEST(resample_rejects_above_nyquist) {
    static const struct { int rate; double f; } cases[] = {
        {48000, 8500}, {48000, 9000}, {48000, 12000}, {48000, 20000}, {44100, 8200}, {96000, 30000}, {22050, 10000}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int rate = cases[ci].rate;
        const size_t n = (size_t)rate / 2;
        double *src = malloc(n * sizeof(double));
        for (size_t i = 0; i < n; i++) src[i] = 0.9 * sin(2 * PI * cases[ci].f * i / rate);
        size_t n_out;
        float *out = resample_via_wav(src, n, rate, 1, &n_out);
        CHECK(out != NULL);
        double e = 0;
        size_t cnt = 0;
        for (size_t j = 200; j + 200 < n_out; j++, cnt++) e += (double)out[j] * out[j];
        double db = 10 * log10(e / cnt / (0.9 * 0.9 / 2) + 1e-30);
        free(out);
        free(src);
        printf("  resample %d -> 16000: %.0f Hz tone at %.1f dB\n", rate, cases[ci].f, db);
        CHECKF(db <= -50.0, "%d Hz, %.0f Hz tone only %.1f dB down", rate, cases[ci].f, db);
    }
}

TEST(resample_identity_dc_and_length) {
    /* 16k -> 16k is an exact copy */
    static double src[5000];
    uint64_t rs = est_test_seed() ^ 0xdc;
    for (int i = 0; i < 5000; i++) src[i] = (float)(frand(&rs) * 2 - 1);
    size_t n_out;
    float *out = resample_via_wav(src, 5000, 16000, 1, &n_out);
    CHECK(out && n_out == 5000);
    for (int i = 0; i < 5000; i++) CHECK(out[i] == (float)src[i]);
    free(out);
    /* DC stays DC, stereo averaged */
    static const int rates[] = {8000, 22050, 44100, 48000, 96000, 44101};
    static double st2[2 * 24000];
    for (size_t ri = 0; ri < sizeof rates / sizeof rates[0]; ri++) {
        size_t n = (size_t)rates[ri] / 4;
        for (size_t i = 0; i < n; i++) st2[2 * i] = 0.25, st2[2 * i + 1] = 0.5;
        out = resample_via_wav(st2, n, rates[ri], 2, &n_out);
        CHECK(out != NULL);
        for (size_t j = 300; j + 300 < n_out; j++)
            CHECKF(fabs(out[j] - 0.375) < 2e-6, "%d Hz DC at %zu: %.9f", rates[ri], j, out[j]);
        free(out);
    }
    /* length rule and the plan */
    est_resampler r;
    est_arena m;
    est_arena_init_measure(&m);
    CHECK_ST(est_resample_init(&r, 44100, 16000, &m), EDGESTT_OK);
    CHECK(r.up == 160 && r.down == 441 && r.mode == 1);
    uint64_t no;
    CHECK_ST(est_resample_out_len(&r, 441, &no), EDGESTT_OK);
    CHECK(no == 160);
    CHECK_ST(est_resample_out_len(&r, 442, &no), EDGESTT_OK);
    CHECK(no == 161);
    CHECK_ST(est_resample_out_len(&r, 1, &no), EDGESTT_OK);
    CHECK(no == 1);
    CHECK_ST(est_resample_out_len(&r, UINT64_MAX / 2, &no), EDGESTT_E_LIMIT);
    CHECK_ST(est_resample_init(&r, 48000, 16000, &m), EDGESTT_OK);
    CHECK(r.up == 1 && r.down == 3);
    CHECK_ST(est_resample_init(&r, 8000, 16000, &m), EDGESTT_OK);
    CHECK(r.up == 2 && r.down == 1);
    CHECK_ST(est_resample_init(&r, 44101, 16000, &m), EDGESTT_OK);
    CHECK(r.mode == 2);
    CHECK_ST(est_resample_init(&r, 999, 16000, &m), EDGESTT_E_INVALID_ARG);
    CHECK_ST(est_resample_init(&r, 16000, 384001, &m), EDGESTT_E_INVALID_ARG);
}

/* Chunks of any size give bit-identical output to one call, reading only their span. */
TEST(resample_chunked_equals_whole) {
    static const int rates[] = {48000, 44100, 8000, 44101};
    uint64_t rs = est_test_seed() ^ 0xc4;
    for (size_t ri = 0; ri < sizeof rates / sizeof rates[0]; ri++) {
        est_resampler r;
        est_arena m, a;
        est_arena_init_measure(&m);
        CHECK_ST(est_resample_init(&r, rates[ri], 16000, &m), EDGESTT_OK);
        size_t need = est_arena_required(&m);
        void *mem = malloc(need);
        est_arena_init(&a, mem, need);
        CHECK_ST(est_resample_init(&r, rates[ri], 16000, &a), EDGESTT_OK);
        const size_t n_in = 9000;
        uint64_t n_out;
        CHECK_ST(est_resample_out_len(&r, n_in, &n_out), EDGESTT_OK);
        int64_t lo, hi;
        est_resample_span(&r, 0, (size_t)n_out, &lo, &hi);
        CHECK(lo < 0 && hi >= (int64_t)n_in);
        float *x = calloc((size_t)(hi - lo), sizeof(float)), *whole = malloc(n_out * 4), *part = malloc(n_out * 4);
        for (size_t i = 0; i < n_in; i++) x[i - lo] = (float)(frand(&rs) - 0.5);
        est_resample_run(&r, x, lo, 0, (size_t)n_out, whole);
        for (uint64_t j0 = 0; j0 < n_out;) {
            size_t n = 1 + (size_t)(est_test_rand(&rs) % 700);
            if (n > n_out - j0) n = (size_t)(n_out - j0);
            int64_t l2, h2;
            est_resample_span(&r, j0, n, &l2, &h2);
            CHECK(l2 >= lo && h2 <= hi && (size_t)(h2 - l2) <= est_resample_span_max(&r, n));
            /* a private copy of just the span, right before a guard page */
            guarded g;
            CHECK(guard_copy(&g, x + (l2 - lo), (size_t)(h2 - l2) * sizeof(float)));
            est_resample_run(&r, (const float *)g.p, l2, j0, n, part + j0);
            guard_free(&g);
            j0 += n;
        }
        CHECKF(memcmp(whole, part, n_out * 4) == 0, "rate %d: chunked output differs", rates[ri]);
        free(x);
        free(whole);
        free(part);
        free(mem);
    }
}
