/*
 * check.c - edgestt_check: is a model file (or shard set) complete, corrupt or unsupported?
 *
 * Order: a .part/.incomplete name -> incomplete; map (missing -> incomplete); GGUF: full header
 * scan of every shard (truncated -> incomplete, malformed -> corrupt, unknown version or type ->
 * unsupported), missing shards -> incomplete, then (unless quick) every tensor's CRC against
 * edgestt.crc32 and every value finite (F32/F16 values, Q8_0/Q4_0 block scales: NaN or Inf is
 * corrupt; open never reads tensor data, so this is where it is caught); finally the engine's own
 * open (binding every tensor) on single files.  .bin: header, record walk and binding, then
 * (unless quick) finite mel filters and values; a tensor list that stops early at a record
 * boundary (fewer records than the architecture has) is incomplete, not corrupt.
 */
#include "../models/parakeet_bin.h"
#include "../models/whisper.h"
#include "../port/port.h"
#include "crc32.h"

#define MAX_SHARDS 4096

static edgestt_check_state state_of(int st) {
    switch (st) {
    case EDGESTT_OK: return EDGESTT_CHECK_COMPLETE;
    case EDGESTT_E_TRUNCATED: case EDGESTT_E_IO: return EDGESTT_CHECK_INCOMPLETE;
    case EDGESTT_E_UNSUPPORTED: return EDGESTT_CHECK_UNSUPPORTED;
    default: return EDGESTT_CHECK_CORRUPT;
    }
}

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

typedef struct split_keys {
    uint32_t no, count;
} split_keys;

static int visit_split(void *ctx, const est_gguf_kv *kv) {
    split_keys *s = (split_keys *)ctx;
    if (est_gguf_key_is(kv, "split.no") && kv->type == EST_GGUF_U32) s->no = est_rd_u32(kv->val);
    if (est_gguf_key_is(kv, "split.count") && kv->type == EST_GGUF_U32) s->count = est_rd_u32(kv->val);
    return 0;
}

/* 1 if half-precision bits are Inf or NaN. */
static int f16_nonfinite(uint16_t h) { return (h & 0x7C00u) == 0x7C00u; }

/* Index of the first non-finite value of a tensor (F32/F16: the element; Q8_0/Q4_0: the block,
 * by its f16 scale), or -1. */
static int64_t first_nonfinite(int type, const uint8_t *d, size_t nbytes) {
    size_t step = type == EDGESTT_TYPE_F32 ? 4 : type == EDGESTT_TYPE_F16 ? 2 : type == EDGESTT_TYPE_Q8_0 ? 34
                  : type == EDGESTT_TYPE_Q4_0 ? 18 : 0;
    for (size_t i = 0; step && i + step <= nbytes; i += step)
        if (type == EDGESTT_TYPE_F32 ? (est_rd_u32(d + i) & 0x7F800000u) == 0x7F800000u : f16_nonfinite(est_rd_u16(d + i)))
            return (int64_t)(i / step);
    return -1;
}

/* Every tensor's values finite; diag names the first that is not. */
static int check_finite(const est_file_tensor *t, size_t n, const char *path, edgestt_diag *diag) {
    for (size_t i = 0; i < n; i++) {
        int64_t k = first_nonfinite(t[i].type, t[i].data, t[i].nbytes);
        if (k >= 0) {
            const int q = t[i].type == EDGESTT_TYPE_Q8_0 || t[i].type == EDGESTT_TYPE_Q4_0;
            return est_diag(diag, EDGESTT_E_FORMAT, "%s: tensor '%.*s' holds a non-finite %s %lld", path,
                            (int)t[i].name_len, t[i].name, q ? "scale in block" : "value at element", (long long)k);
        }
    }
    return EDGESTT_OK;
}

/* One GGUF image: scan, and (quick == 0) CRCs and finite values.  Returns a status; diag names the problem. */
static int check_gguf_image(const est_map *m, const char *path, int quick, split_keys *sk, edgestt_diag *diag) {
    est_gguf_layout lay;
    sk->no = 0;
    sk->count = 1;
    int st = est_gguf_scan(m->data, m->size, &lay, visit_split, sk, diag);
    if (st) return st;
    if (quick) return EDGESTT_OK;
    size_t n_kv, n_t, kvb, tb;
    if ((st = est_gguf_table_counts(&lay, &n_kv, &n_t)) != 0) return est_diag(diag, st, "%s: tables overflow", path);
    if (!est_mul(n_kv, sizeof(est_gguf_kv), &kvb) || !est_mul(n_t, sizeof(est_file_tensor), &tb) ||
        kvb > SIZE_MAX - 64 - tb)
        return est_diag(diag, EDGESTT_E_LIMIT, "%s: tables overflow", path);
    uint8_t *mem = (uint8_t *)est_port_alloc(kvb + 64 + tb);
    if (!mem) return est_diag(diag, EDGESTT_E_NOMEM, "check: cannot allocate the tables");
    est_gguf_kv *kv = (est_gguf_kv *)mem;
    est_file_tensor *t = (est_file_tensor *)(mem + ((kvb + 63) & ~(size_t)63));
    est_gguf g;
    st = est_gguf_fill(m->data, m->size, &lay, kv, t, &g, diag);
    const uint8_t *crc = NULL;
    uint64_t n_crc = 0;
    if (!st) {
        int r = est_gguf_get_arr(kv, n_kv, "edgestt.crc32", EST_GGUF_U32, &crc, &n_crc, diag);
        if (r == EDGESTT_E_NOT_FOUND) crc = NULL;
        else if (r) st = EDGESTT_E_FORMAT;
        else if (n_crc != n_t)
            st = est_diag(diag, EDGESTT_E_FORMAT, "%s: edgestt.crc32 has %llu entries for %zu tensors", path,
                          (unsigned long long)n_crc, n_t);
    }
    for (size_t i = 0; !st && crc && i < n_t; i++) {
        uint32_t want = est_rd_u32(crc + 4 * i), got = est_crc32(0, t[i].data, t[i].nbytes);
        if (want != got)
            st = est_diag(diag, EDGESTT_E_FORMAT, "%s: tensor '%.*s' CRC %x, recorded %x", path,
                          (int)t[i].name_len, t[i].name, got, want);
    }
    if (!st) st = check_finite(t, n_t, path, diag);
    est_port_free(mem);
    return st;
}

/* 1 if a file exists at path. */
static int exists(const char *path) {
    uint64_t sz;
    return est_port_file_size(path, &sz, NULL) == 0;
}

/* Path of shard no of a set, given any shard's path (NAME-0000k-of-0000N.gguf). */
static int shard_path(const char *any, int no, int count, char *out, size_t cap) {
    size_t n = strlen(any);
    if (n < 20 || strcmp(any + n - 5, ".gguf") || memcmp(any + n - 20, "-", 1) || memcmp(any + n - 14, "-of-", 4))
        return EDGESTT_E_FORMAT;
    char base[4096];
    if (n - 15 > sizeof base) return EDGESTT_E_NOMEM;
    est_fmt(base, sizeof base, "%.*s.gguf", (int)(n - 20), any);
    return edgestt_shard_name(base, no, count, out, cap);
}

edgestt_check_state edgestt_check(const char *path, int quick, edgestt_diag *diag) {
    if (!path) return (edgestt_check_state)state_of(est_diag(diag, EDGESTT_E_INVALID_ARG, "NULL path"));
    if (diag) diag->msg[0] = 0;
    if (ends_with(path, ".part") || ends_with(path, ".incomplete")) {
        est_diag(diag, EDGESTT_E_TRUNCATED, "%s: a download left unfinished (.part / .incomplete)", path);
        return EDGESTT_CHECK_INCOMPLETE;
    }
    est_map m;
    int st = est_port_map_file(path, &m, diag);
    if (st) return EDGESTT_CHECK_INCOMPLETE;
    if (m.size < 4) {
        est_port_unmap(&m);
        est_diag(diag, EDGESTT_E_TRUNCATED, "%s: %zu bytes, no header", path, m.size);
        return EDGESTT_CHECK_INCOMPLETE;
    }
    uint32_t magic = est_rd_u32(m.data);
    if (magic == EST_GGML_MAGIC && est_pkbin_detect(m.data, m.size)) {
        /* whisper.cpp's Parakeet .bin (models/parakeet-bin.md): the engine's open checks every record */
        edgestt_model *h = NULL;
        st = edgestt_open_memory(m.data, m.size, NULL, NULL, 0, &h, diag);
        edgestt_close(h);
        est_port_unmap(&m);
        return state_of(st);
    }
    if (magic == EST_GGML_MAGIC) {
        est_whisper_probe pr;
        st = est_whisper_probe_image(m.data, m.size, &pr, diag);
        if (!st) {
            edgestt_model *h = NULL;
            st = edgestt_open_memory(m.data, m.size, NULL, NULL, 0, &h, diag);
            edgestt_close(h);
            const uint64_t want = 11 + 15 * (uint64_t)pr.hp.n_audio_layer + 24 * (uint64_t)pr.hp.n_text_layer;
            if (st == EDGESTT_E_MODEL && pr.n_file_tensors < want)
                st = est_diag(diag, EDGESTT_E_TRUNCATED, "%s: %llu of %llu tensors, the file ends after a whole record",
                              path, (unsigned long long)pr.n_file_tensors, (unsigned long long)want);
            if (!st && !quick) { /* finite values: the mel filters and every tensor */
                est_file_tensor mel = {"mel filters", 11, EDGESTT_TYPE_F32, 2, {pr.bin.mel_n_fft, pr.bin.mel_n_mel, 1, 1},
                                       pr.bin.mel, 4 * (size_t)pr.bin.mel_n_mel * (size_t)pr.bin.mel_n_fft};
                est_file_tensor *tab = NULL;
                est_ggml_bin b = pr.bin;
                st = check_finite(&mel, 1, path, diag);
                if (!st && pr.n_file_tensors <= (1u << 20) &&
                    !(tab = (est_file_tensor *)est_port_alloc((size_t)pr.n_file_tensors * sizeof *tab + 1)))
                    st = est_diag(diag, EDGESTT_E_NOMEM, "check: cannot allocate the tensor table");
                if (!st && tab && (st = est_ggml_bin_fill(&b, tab, diag)) == 0)
                    st = check_finite(tab, (size_t)pr.n_file_tensors, path, diag);
                est_port_free(tab);
            }
        }
        est_port_unmap(&m);
        return state_of(st);
    }
    if (magic != EST_GGUF_MAGIC) {
        est_port_unmap(&m);
        est_diag(diag, EDGESTT_E_FORMAT, "%s: not a GGUF or whisper.cpp .bin model (magic %08x)", path, magic);
        return EDGESTT_CHECK_CORRUPT;
    }
    split_keys sk;
    st = check_gguf_image(&m, path, quick, &sk, diag);
    if (!st && sk.count <= 1) {
        /* one file: the engine's own checks (hparams, vocabulary, every tensor bound) */
        edgestt_model *h = NULL;
        st = edgestt_open_memory(m.data, m.size, NULL, NULL, 0, &h, diag);
        edgestt_close(h);
    }
    est_port_unmap(&m);
    if (st || sk.count <= 1) return state_of(st);
    if (sk.count > MAX_SHARDS || sk.no >= sk.count) {
        est_diag(diag, EDGESTT_E_FORMAT, "%s: split.no %u of split.count %u", path, sk.no, sk.count);
        return EDGESTT_CHECK_CORRUPT;
    }
    char sp[4096], part[4200];
    for (uint32_t i = 0; i < sk.count; i++) {
        if (shard_path(path, (int)i + 1, (int)sk.count, sp, sizeof sp)) {
            est_diag(diag, EDGESTT_E_FORMAT, "%s: shard %u of %u is not named NAME-0000k-of-0000N.gguf", path,
                     sk.no + 1, sk.count);
            return EDGESTT_CHECK_CORRUPT;
        }
        if (!exists(sp)) {
            est_fmt(part, sizeof part, "%s.part", sp);
            est_diag(diag, EDGESTT_E_TRUNCATED, "%s: shard %u of %u is missing%s", sp, i + 1, sk.count,
                     exists(part) ? " (a .part download is there)" : "");
            return EDGESTT_CHECK_INCOMPLETE;
        }
        if ((st = est_port_map_file(sp, &m, diag)) != 0) return EDGESTT_CHECK_INCOMPLETE;
        split_keys k2;
        st = check_gguf_image(&m, sp, quick, &k2, diag);
        est_port_unmap(&m);
        if (!st && (k2.no != i || k2.count != sk.count))
            st = est_diag(diag, EDGESTT_E_FORMAT, "%s: says shard %u of %u, expected %u of %u", sp, k2.no + 1,
                          k2.count, i + 1, sk.count);
        if (st) return state_of(st);
    }
    if (!quick) {
        /* the whole set through the engine's open (binding every tensor across shards) */
        if (!shard_path(path, 1, (int)sk.count, sp, sizeof sp)) {
            edgestt_model *h = NULL;
            st = edgestt_open(sp, NULL, NULL, 0, &h, diag);
            edgestt_close(h);
            if (st) return state_of(st);
        }
    }
    return EDGESTT_CHECK_COMPLETE;
}
