/*
 * wav.c - RIFF/WAVE (and RF64/BW64) reader: PCM 8/16/24/32-bit, IEEE float 32/64-bit, also
 * inside WAVE_FORMAT_EXTENSIBLE; any channel count 1..64 averaged to mono; any rate in
 * [1000, 384000] Hz converted to 16 kHz by core/resample.c.
 *
 * The file image is untrusted: every chunk offset and size is checked against the image size in
 * 64-bit arithmetic before it is read.  A data chunk size of 0xFFFFFFFF (streamed writers) means
 * "to the end of the file"; a data chunk that claims more bytes than the file has is
 * EDGESTT_E_TRUNCATED.  A trailing partial frame is ignored.
 *
 * Memory: nothing is allocated.  Decoding converts the input block by block into the caller's
 * scratch (resampler coefficients + one block), planned by the same code that places it
 * (wav_plan with a measuring arena), so scratch does not grow with the file length.
 */
#include <math.h>

#include "internal.h"
#include "resample.h"

#define TAG_PCM 0x0001
#define TAG_FLOAT 0x0003
#define TAG_EXTENSIBLE 0xFFFE
#define MAX_CHANNELS 64
#define MAX_FRAMES ((uint64_t)1 << 42) /* keeps sample positions far from 64-bit overflow */
#define CHUNK_OUT 4096                 /* 16 kHz outputs per resampler block */

/* What parse finds; decode re-parses rather than trusting the caller's info. */
typedef struct wav_fmt {
    int rate, channels, bits; /* bits: container size per sample (8, 16, 24, 32, 64) */
    int is_float;
    uint64_t data_off, data_len;
    uint64_t n_frames, n_out;
    uint32_t block_align;
} wav_fmt;

/* KSDATAFORMAT_SUBTYPE_* GUIDs are {tag}-0000-0010-8000-00AA00389B71: bytes 2..15. */
static const uint8_t guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                      0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

static const char *codec_name(unsigned tag) {
    switch (tag) {
    case 0x0000: return "unknown";
    case 0x0002: return "MS ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0022: return "TrueSpeech";
    case 0x0031: return "GSM 6.10";
    case 0x0040: return "G.721 ADPCM";
    case 0x0050: return "MPEG";
    case 0x0055: return "MPEG layer III (MP3)";
    case 0x00FF: case 0x1610: return "AAC";
    case 0x0092: case 0x2000: return "AC-3";
    case 0x0160: case 0x0161: case 0x0162: case 0x0163: return "WMA";
    case 0xF1AC: return "FLAC";
    default: return "not PCM or float";
    }
}

static int is_id(const uint8_t *p, const char *id) { return memcmp(p, id, 4) == 0; }

/* A chunk id as printable text for diagnostics (non-printable bytes become '?'). */
static const char *id_str(const uint8_t *p, char out[5]) {
    for (int i = 0; i < 4; i++) out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    out[4] = '\0';
    return out;
}

/* The fmt chunk body (len bytes, in bounds) into f; checks the format is one we decode. */
static int parse_fmt(const uint8_t *b, uint64_t len, uint64_t at, wav_fmt *f, edgestt_diag *diag) {
    if (len < 16)
        return est_diag(diag, EDGESTT_E_FORMAT, "wav: fmt chunk at offset %llu has %llu bytes, need 16",
                        (unsigned long long)at, (unsigned long long)len);
    unsigned tag = est_rd_u16(b), channels = est_rd_u16(b + 2);
    uint32_t rate = est_rd_u32(b + 4);
    unsigned block_align = est_rd_u16(b + 12), bits = est_rd_u16(b + 14), valid = bits;
    if (tag == TAG_EXTENSIBLE) {
        if (len < 40 || est_rd_u16(b + 16) < 22)
            return est_diag(diag, EDGESTT_E_FORMAT,
                            "wav: WAVE_FORMAT_EXTENSIBLE fmt chunk too short (%llu bytes, need 40)",
                            (unsigned long long)len);
        valid = est_rd_u16(b + 18);
        tag = est_rd_u16(b + 24);
        if (memcmp(b + 26, guid_tail, sizeof guid_tail) != 0)
            return est_diag(diag, EDGESTT_E_UNSUPPORTED,
                            "wav: WAVE_FORMAT_EXTENSIBLE sub-format GUID is not a standard codec GUID");
        if (bits % 8 != 0)
            return est_diag(diag, EDGESTT_E_FORMAT, "wav: extensible container of %u bits", bits);
        if (valid == 0) valid = bits;
        if (valid > bits)
            return est_diag(diag, EDGESTT_E_FORMAT, "wav: %u valid bits in a %u-bit container", valid, bits);
    }
    if (tag != TAG_PCM && tag != TAG_FLOAT)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "wav: codec 0x%x (%s) is not supported, only PCM and float",
                        tag, codec_name(tag));
    if (channels == 0) return est_diag(diag, EDGESTT_E_FORMAT, "wav: fmt says 0 channels");
    if (channels > MAX_CHANNELS)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "wav: %u channels (at most %d)", channels, MAX_CHANNELS);
    if (rate == 0) return est_diag(diag, EDGESTT_E_FORMAT, "wav: sample rate 0");
    if (rate < EST_RESAMPLE_MIN_RATE || rate > EST_RESAMPLE_MAX_RATE)
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "wav: sample rate %u Hz (supported %d..%d)",
                        (unsigned)rate, EST_RESAMPLE_MIN_RATE, EST_RESAMPLE_MAX_RATE);
    unsigned bytes = (bits + 7) / 8; /* container: PCM below 8 bits per byte rounds up */
    if (tag == TAG_FLOAT) {
        if (bits != 32 && bits != 64)
            return est_diag(diag, EDGESTT_E_UNSUPPORTED, "wav: %u-bit float samples (only 32 and 64)", bits);
    } else if (bits == 0 || bits > 32) {
        return est_diag(diag, EDGESTT_E_UNSUPPORTED, "wav: %u-bit PCM samples (only 1..32)", bits);
    }
    if (block_align != channels * bytes)
        return est_diag(diag, EDGESTT_E_FORMAT, "wav: block align %u, expected %u channels x %u bytes",
                        block_align, channels, bytes);
    f->rate = (int)rate;
    f->channels = (int)channels;
    f->bits = (int)(bytes * 8);
    f->is_float = tag == TAG_FLOAT;
    f->block_align = block_align;
    return EDGESTT_OK;
}

/* Walk the chunks of a RIFF/RF64 image: find and check fmt and data, count frames. */
static int parse(const uint8_t *d, size_t size, wav_fmt *f, edgestt_diag *diag) {
    memset(f, 0, sizeof *f);
    if (!d && size) return est_diag(diag, EDGESTT_E_INVALID_ARG, "wav: NULL data");
    if (size == 0) return est_diag(diag, EDGESTT_E_TRUNCATED, "wav: empty file");
    if (size < 12) {
        size_t k = size < 4 ? size : 4;
        if (memcmp(d, "RIFF", k) == 0 || memcmp(d, "RF64", k) == 0)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "wav: file ends inside the RIFF header (%zu bytes)", size);
        return est_diag(diag, EDGESTT_E_FORMAT, "wav: not a RIFF/WAVE file (%zu bytes)", size);
    }
    const int rf64 = is_id(d, "RF64") || is_id(d, "BW64");
    if ((!is_id(d, "RIFF") && !rf64) || !is_id(d + 8, "WAVE")) {
        char a[5], b[5];
        return est_diag(diag, EDGESTT_E_FORMAT, "wav: not a RIFF/WAVE file (magic '%s' '%s')", id_str(d, a),
                        id_str(d + 8, b));
    }
    uint64_t off = 12, data64 = 0;
    int have_fmt = 0, have_data = 0, have_ds64 = 0;
    while (size - off >= 8) {
        const uint8_t *h = d + off;
        uint64_t len = est_rd_u32(h + 4), body = off + 8;
        uint64_t avail = size - body;
        if (is_id(h, "data")) {
            if (have_data) return est_diag(diag, EDGESTT_E_FORMAT, "wav: second data chunk at offset %llu",
                                           (unsigned long long)off);
            if (len == 0xFFFFFFFFu && rf64 && have_ds64) len = data64;
            else if (len == 0xFFFFFFFFu) len = avail; /* streamed: to the end of the file */
            if (len > avail)
                return est_diag(diag, EDGESTT_E_TRUNCATED,
                                "wav: data chunk at offset %llu claims %llu bytes, the file has %llu",
                                (unsigned long long)off, (unsigned long long)len, (unsigned long long)avail);
            have_data = 1;
            f->data_off = body;
            f->data_len = len;
            if (have_fmt) break;
        } else {
            if (len > avail) {
                if (have_fmt && have_data) break; /* damaged trailer after complete audio */
                char id[5];
                return est_diag(diag, EDGESTT_E_TRUNCATED,
                                "wav: '%s' chunk at offset %llu claims %llu bytes, the file has %llu",
                                id_str(h, id), (unsigned long long)off, (unsigned long long)len,
                                (unsigned long long)avail);
            }
            if (is_id(h, "fmt ")) {
                if (have_fmt) return est_diag(diag, EDGESTT_E_FORMAT, "wav: second fmt chunk at offset %llu",
                                              (unsigned long long)off);
                int st = parse_fmt(d + body, len, off, f, diag);
                if (st) return st;
                have_fmt = 1;
                if (have_data) break;
            } else if (is_id(h, "ds64") && rf64) {
                if (len < 24) return est_diag(diag, EDGESTT_E_FORMAT, "wav: ds64 chunk of %llu bytes", (unsigned long long)len);
                data64 = est_rd_u64(d + body + 8);
                have_ds64 = 1;
            }
        }
        /* next chunk: body + len + pad byte for odd sizes (no overflow: len <= avail) */
        uint64_t next = body + len + (len & 1);
        if (next >= size) {
            off = size;
            break;
        }
        off = next;
    }
    if (!have_fmt || !have_data) {
        if (size - off > 0 && size - off < 8)
            return est_diag(diag, EDGESTT_E_TRUNCATED, "wav: file ends inside a chunk header at offset %llu",
                            (unsigned long long)off);
        if (!have_fmt) return est_diag(diag, EDGESTT_E_FORMAT, "wav: no fmt chunk");
        return est_diag(diag, EDGESTT_E_FORMAT, "wav: no data chunk (no audio)");
    }
    f->n_frames = f->data_len / f->block_align;
    if (f->n_frames == 0) return est_diag(diag, EDGESTT_E_FORMAT, "wav: no audio (data chunk holds no complete frame)");
    if (f->n_frames > MAX_FRAMES)
        return est_diag(diag, EDGESTT_E_LIMIT, "wav: %llu frames is too long", (unsigned long long)f->n_frames);
    /* n_out = ceil(n_frames * 16000 / rate), the resampler's length rule */
    f->n_out = (f->n_frames * EDGESTT_SAMPLE_RATE + (uint64_t)f->rate - 1) / (uint64_t)f->rate;
    if (f->n_out > SIZE_MAX / sizeof(float))
        return est_diag(diag, EDGESTT_E_LIMIT, "wav: %llu output samples do not fit in memory",
                        (unsigned long long)f->n_out);
    return EDGESTT_OK;
}

static void fill_info(const wav_fmt *f, edgestt_wav_info *info) {
    memset(info, 0, sizeof *info);
    info->sample_rate = f->rate;
    info->channels = f->channels;
    info->bits_per_sample = f->bits;
    info->is_float = f->is_float;
    info->n_frames = f->n_frames;
    info->n_samples_16k = f->n_out;
}

edgestt_status edgestt_wav_parse(const void *data, size_t size, edgestt_wav_info *info, edgestt_diag *diag) {
    wav_fmt f;
    if (!info) return est_diag(diag, EDGESTT_E_INVALID_ARG, "wav: NULL info");
    memset(info, 0, sizeof *info);
    int st = parse(data, size, &f, diag);
    if (st) return st;
    fill_info(&f, info);
    return EDGESTT_OK;
}

/* Plan (measuring arena) or place the decode scratch: one input block and the resampler
 * coefficients, reserved last so that a short scratch fails before they are computed. */
static int wav_plan(int rate, est_arena *a, est_resampler *rs, float **block, size_t *block_len) {
    est_arena m;
    est_arena_init_measure(&m);
    int st = est_resample_init(rs, rate, EDGESTT_SAMPLE_RATE, &m); /* parameters only */
    if (st) return st;
    *block = NULL;
    *block_len = 0;
    if (rate == EDGESTT_SAMPLE_RATE) return EDGESTT_OK; /* converted straight into out */
    *block_len = est_resample_span_max(rs, CHUNK_OUT);
    st = est_arena_array(a, *block_len, sizeof(float), (void **)block);
    if (st) return st;
    return est_resample_init(rs, rate, EDGESTT_SAMPLE_RATE, a);
}

edgestt_status edgestt_wav_scratch_size(const edgestt_wav_info *info, size_t *bytes) {
    if (!info || !bytes) return EDGESTT_E_INVALID_ARG;
    *bytes = 0;
    if (info->sample_rate == EDGESTT_SAMPLE_RATE) return EDGESTT_OK;
    est_arena a;
    est_resampler rs;
    float *block;
    size_t n;
    est_arena_init_measure(&a);
    int st = wav_plan(info->sample_rate, &a, &rs, &block, &n);
    if (st) return st;
    *bytes = est_arena_required(&a);
    return EDGESTT_OK;
}

/* One sample (container of f->bits bytes) as a float in [-1, 1]. */
static inline float sample_at(const wav_fmt *f, const uint8_t *p) {
    switch (f->bits) {
    case 8: return ((float)p[0] - 128.0f) * (1.0f / 128.0f);
    case 16: return (float)(int16_t)est_rd_u16(p) * (1.0f / 32768.0f);
    case 24: {
        int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24) >> 8;
        return (float)v * (1.0f / 8388608.0f);
    }
    case 32:
        if (f->is_float) {
            float v = est_rd_f32(p);
            return v != v ? 0.0f : v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v; /* NaN -> 0, clamp */
        }
        return (float)((double)est_rd_i32(p) * (1.0 / 2147483648.0));
    default: { /* 64-bit float */
        double v;
        memcpy(&v, p, 8);
        return v != v ? 0.0f : v > 1.0 ? 1.0f : v < -1.0 ? -1.0f : (float)v;
    }
    }
}

/* Frames [first, first + n) (in range) mixed to mono into dst. */
static void convert_frames(const wav_fmt *f, const uint8_t *data, uint64_t first, size_t n, float *dst) {
    const size_t bs = f->bits / 8, ba = f->block_align;
    const uint8_t *p = data + first * ba;
    if (f->channels == 1) {
        for (size_t i = 0; i < n; i++, p += ba) dst[i] = sample_at(f, p);
        return;
    }
    const float inv = 1.0f / (float)f->channels;
    for (size_t i = 0; i < n; i++, p += ba) {
        float s = 0.0f;
        for (int c = 0; c < f->channels; c++) s += sample_at(f, p + (size_t)c * bs);
        dst[i] = s * inv;
    }
}

edgestt_status edgestt_wav_decode(const void *data, size_t size, const edgestt_wav_info *info, float *out,
                                  void *scratch, size_t scratch_size, edgestt_diag *diag) {
    wav_fmt f;
    if (!info || !out) return est_diag(diag, EDGESTT_E_INVALID_ARG, "wav: NULL info or out");
    int st = parse(data, size, &f, diag);
    if (st) return st;
    if (info->sample_rate != f.rate || info->channels != f.channels || info->n_frames != f.n_frames ||
        info->n_samples_16k != f.n_out || info->bits_per_sample != f.bits || info->is_float != f.is_float)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "wav: info does not describe this file (parse it again)");
    const uint8_t *pcm = (const uint8_t *)data + f.data_off;
    if (f.rate == EDGESTT_SAMPLE_RATE) {
        convert_frames(&f, pcm, 0, (size_t)f.n_frames, out);
        return EDGESTT_OK;
    }
    est_arena a;
    est_resampler rs;
    float *block; /* (block_len) input frames [lo, hi) of the current chunk, zero outside the file */
    size_t block_len;
    est_arena_init(&a, scratch, scratch ? scratch_size : 0);
    st = wav_plan(f.rate, &a, &rs, &block, &block_len);
    if (st)
        return est_diag(diag, st, "wav: scratch of %zu bytes is too small (edgestt_wav_scratch_size)", scratch_size);
    for (uint64_t j0 = 0; j0 < f.n_out; j0 += CHUNK_OUT) {
        size_t n = f.n_out - j0 < CHUNK_OUT ? (size_t)(f.n_out - j0) : CHUNK_OUT;
        int64_t lo, hi;
        est_resample_span(&rs, j0, n, &lo, &hi);
        if ((uint64_t)(hi - lo) > block_len) return est_diag(diag, EDGESTT_E_INTERNAL, "wav: resampler span");
        int64_t a0 = lo < 0 ? 0 : lo, a1 = hi > (int64_t)f.n_frames ? (int64_t)f.n_frames : hi;
        if (a1 < a0) a1 = a0;
        for (int64_t i = lo; i < a0 && i < hi; i++) block[i - lo] = 0.0f;
        if (a1 > a0) convert_frames(&f, pcm, (uint64_t)a0, (size_t)(a1 - a0), block + (a0 - lo));
        for (int64_t i = a1 > a0 ? a1 : a0; i < hi; i++) block[i - lo] = 0.0f;
        est_resample_run(&rs, block, lo, j0, n, out + j0);
    }
    return EDGESTT_OK;
}
