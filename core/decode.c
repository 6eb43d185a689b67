/*
 * decode.c - Whisper's decoding search (see decode.h): logit filters, greedy / sampling / beam
 * search, ranking, the result statistics, language detection, the segment split of transcribe.py,
 * and an exact emulation of zlib's level-6 output size for the compression ratio.
 *
 * Arithmetic: decisions (argmax, top-k, the timestamp rule) compare the backend's float logits;
 * log-softmax normalisers use float exponentials (relative error < 2e-7, vectorised) summed in
 * double, so log-probs are within ~2e-7 per step of the float64 reference -- whisper itself runs
 * log_softmax in float32.  Argmax ties go to the lowest id, as torch's argmax does.
 * Invariants: every row of a search has the same length; rows are distinct after the first step
 * (the first step expands row 0 only, since all rows hold the same initial tokens).
 */
#include <math.h>

#include "decode.h"

#define NEG_INF (-INFINITY)

/* GCC vectorises the row loops below (max, sum of exp over n_vocab logits) only with the O3 cost
 * model and without trapping-math (which blocks if-converting float compares); clang does at
 * -O2.  Neither changes a result: the lanes and the summation order are explicit. */
#if defined(__GNUC__) && !defined(__clang__)
#define EST_VECTORISE __attribute__((optimize("O3", "no-trapping-math")))
#define EST_VEC_INLINE __attribute__((optimize("O3", "no-trapping-math"), always_inline)) inline
#else
#define EST_VECTORISE
#define EST_VEC_INLINE inline
#endif

void est_dec_options_default(est_dec_options *o) {
    memset(o, 0, sizeof *o);
    o->task = EST_TASK_TRANSCRIBE;
    o->language_token = -1;
    o->patience = 1.0f;
    o->length_penalty = NAN;
    o->suppress_blank = 1;
    o->suppress_non_speech = 1;
    o->max_initial_ts = 50;
}

/* ==== text =============================================================================== */

/* A cursor over the bytes of a token sequence (ids below limit). */
typedef struct text_cursor {
    const est_tokenizer *tok;
    const int *ids;
    size_t stride;       /* ints between ids */
    int n, limit;
    int i;               /* current token */
    const uint8_t *b;    /* its bytes */
    size_t len, off;     /* and the position inside */
} text_cursor;

/* Move to the next token with bytes; 0 at the end. */
static int cursor_fill(text_cursor *c) {
    while (c->off >= c->len) {
        if (++c->i >= c->n) return 0;
        c->off = 0;
        c->len = 0;
        int id = c->ids[(size_t)c->i * c->stride];
        if (id < 0 || id >= c->limit) continue;
        if (est_tok_bytes(c->tok, id, &c->b, &c->len) != EDGESTT_OK) c->len = 0;
    }
    return 1;
}

/* Byte k ahead of the cursor (k <= 3), or -1 past the end. */
static int cursor_peek(const text_cursor *c, int k) {
    text_cursor t = *c;
    for (;;) {
        if (!cursor_fill(&t)) return -1;
        if (t.off + (size_t)k < t.len) return t.b[t.off + (size_t)k];
        k -= (int)(t.len - t.off);
        t.off = t.len;
    }
}

static void cursor_skip(text_cursor *c, int k) {
    while (k > 0 && cursor_fill(c)) {
        size_t step = c->len - c->off < (size_t)k ? c->len - c->off : (size_t)k;
        c->off += step;
        k -= (int)step;
    }
}

/* Accepted range of the second byte after lead byte b0 (Unicode table 3-7), or 0 if b0 is not a
 * lead byte; *n_cont = continuation bytes the sequence needs. */
static int utf8_second_range(int b0, int *lo, int *hi, int *n_cont) {
    *lo = 0x80, *hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) *n_cont = 1;
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        *n_cont = 2;
        if (b0 == 0xE0) *lo = 0xA0;
        if (b0 == 0xED) *hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        *n_cont = 3;
        if (b0 == 0xF0) *lo = 0x90;
        if (b0 == 0xF4) *hi = 0x8F;
    } else {
        return 0;
    }
    return 1;
}

static size_t put_bytes(uint8_t *out, size_t cap, size_t at, const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (at + i < cap) out[at + i] = s[i];
    return at + n;
}

size_t est_dec_text(const est_tokenizer *tok, const int *ids, int n, int id_limit, uint8_t *out, size_t cap) {
    return est_dec_text_strided(tok, ids, 1, n, id_limit, out, cap);
}

size_t est_dec_text_strided(const est_tokenizer *tok, const int *ids, size_t stride, int n, int id_limit, uint8_t *out,
                            size_t cap) {
    static const uint8_t repl[3] = {0xEF, 0xBF, 0xBD};
    text_cursor c = {tok, ids, stride, n, id_limit, -1, NULL, 0, 0};
    size_t at = 0;
    int b0;
    while ((b0 = cursor_peek(&c, 0)) >= 0) {
        uint8_t seq[4];
        int lo, hi, n_cont, k;
        seq[0] = (uint8_t)b0;
        if (b0 < 0x80) {
            at = put_bytes(out, cap, at, seq, 1);
            cursor_skip(&c, 1);
            continue;
        }
        if (!utf8_second_range(b0, &lo, &hi, &n_cont)) { /* not a lead byte */
            at = put_bytes(out, cap, at, repl, 3);
            cursor_skip(&c, 1);
            continue;
        }
        for (k = 1; k <= n_cont; k++) { /* the maximal valid prefix */
            int bk = cursor_peek(&c, k);
            int l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (bk < l || bk > h) break;
            seq[k] = (uint8_t)bk;
        }
        if (k > n_cont) at = put_bytes(out, cap, at, seq, (size_t)k);
        else at = put_bytes(out, cap, at, repl, 3); /* one U+FFFD for the cut sequence */
        cursor_skip(&c, k);
    }
    return at;
}

/* One code point at s[0..n) for strip(): its length; *cp = 0xFFFD for invalid bytes. */
static size_t strip_char(const uint8_t *s, size_t n, uint32_t *cp) {
    int lo, hi, n_cont;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    *cp = 0xFFFD;
    if (!utf8_second_range(s[0], &lo, &hi, &n_cont) || (size_t)n_cont >= n) return 1;
    uint32_t v = s[0] & (n_cont == 1 ? 0x1F : n_cont == 2 ? 0x0F : 0x07);
    for (int k = 1; k <= n_cont; k++) {
        int l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (s[k] < l || s[k] > h) return 1;
        v = (v << 6) | (s[k] & 0x3F);
    }
    *cp = v;
    return (size_t)n_cont + 1;
}

void est_dec_strip(const uint8_t *s, size_t n, size_t *b, size_t *e) {
    size_t i = 0, end = 0;
    int seen = 0;
    *b = *e = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = strip_char(s + i, n - i, &cp);
        if (est_bpe_char_class(cp) != 3) {
            if (!seen) *b = i;
            seen = 1;
            end = i + len;
        }
        i += len;
    }
    if (seen) *e = end;
}
/* ==== zlib level-6 output size ============================================================
 * The compression ratio needs only the LENGTH zlib.compress(text) returns.  This is zlib 1.2.x's
 * deflate_slow at level 6 (good 8, lazy 16, nice 128, chain 128; hash 15 bits, shift 5; 32 KiB
 * window; a block every 16383 symbols) and _tr_flush_block's choice of stored / fixed / dynamic
 * block with its exact Huffman construction (heap order by frequency then depth, gen_bitlen's
 * overflow repair, scan_tree's run-length code counts), computing sizes only -- no bits are
 * written.  Checked against zlib 1.2.13 compress2(level 6) on thousands of random texts
 * (0..64000 bytes, several alphabets): identical sizes.  Quirks kept on purpose: position 0 is
 * never a match source (zlib's NIL), a length-3 match farther than 4096 is dropped, matches may
 * run into the zero padding behind the input and are clipped to the look-ahead. */
#define Z_WSIZE 32768u
#define Z_HBITS 15
#define Z_MIN_MATCH 3
#define Z_MAX_MATCH 258
#define Z_MAX_DIST (Z_WSIZE - (Z_MAX_MATCH + Z_MIN_MATCH + 1))
#define Z_TOO_FAR 4096
#define Z_SYM_LIMIT 16383 /* symbols per block: lit_bufsize (1 << (8 + 6)) - 1 */
#define Z_L_CODES 286
#define Z_D_CODES 30
#define Z_BL_CODES 19
#define Z_HEAP_SIZE (2 * Z_L_CODES + 1)

typedef struct zs_tree {
    int64_t freq[Z_HEAP_SIZE];
    int32_t len[Z_HEAP_SIZE]; /* code length (leaves) or, while building, the parent */
    int32_t dad[Z_HEAP_SIZE];
    int max_code;
} zs_tree;

typedef struct zs {
    const uint8_t *w;      /* input followed by >= Z_MAX_MATCH zero bytes */
    size_t n;
    int32_t *head, *prev;  /* [1 << Z_HBITS], [Z_WSIZE]: zlib's hash chains (0 = none) */
    zs_tree lt, dt, bt;
    uint8_t depth[Z_HEAP_SIZE];
    int heap[Z_HEAP_SIZE];
    int heap_len, heap_max;
    int64_t opt_len, static_len;
    uint64_t bits;         /* deflate stream bits so far */
    size_t nsym, block_start, strstart, lookahead, match_start;
} zs;

static const uint8_t z_extra_lbits[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint8_t z_extra_dbits[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t z_extra_blbits[19] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7};
static const uint8_t z_bl_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
static const uint16_t z_len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint16_t z_dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};

static int z_static_llen(int c) { return c < 144 ? 8 : c < 256 ? 9 : c < 280 ? 7 : 8; }

static void zs_init_block(zs *z) {
    memset(z->lt.freq, 0, sizeof z->lt.freq);
    memset(z->dt.freq, 0, sizeof z->dt.freq);
    memset(z->bt.freq, 0, sizeof z->bt.freq);
    z->lt.freq[256] = 1; /* END_BLOCK */
    z->opt_len = z->static_len = 0;
    z->nsym = 0;
}

/* zlib's heap order: smaller frequency, then smaller depth. */
static int zs_smaller(const zs *z, const zs_tree *t, int n, int m) {
    return t->freq[n] < t->freq[m] || (t->freq[n] == t->freq[m] && z->depth[n] <= z->depth[m]);
}

static void zs_downheap(zs *z, const zs_tree *t, int k) {
    int v = z->heap[k], j = k << 1;
    while (j <= z->heap_len) {
        if (j < z->heap_len && zs_smaller(z, t, z->heap[j + 1], z->heap[j])) j++;
        if (zs_smaller(z, t, v, z->heap[j])) break;
        z->heap[k] = z->heap[j];
        k = j;
        j <<= 1;
    }
    z->heap[k] = v;
}

/* Code lengths as zlib's gen_bitlen assigns them (with its overflow repair), adding the block's
 * bits to opt_len / static_len. */
static void zs_gen_bitlen(zs *z, zs_tree *t, int max_code, int kind) {
    const int max_length = kind == 2 ? 7 : 15;
    int bl_count[16] = {0};
    int overflow = 0, h;
    t->len[z->heap[z->heap_max]] = 0; /* root */
    for (h = z->heap_max + 1; h < Z_HEAP_SIZE; h++) {
        int n = z->heap[h];
        int bits = t->len[t->dad[n]] + 1;
        if (bits > max_length) bits = max_length, overflow++;
        t->len[n] = bits;
        if (n > max_code) continue; /* not a leaf */
        bl_count[bits]++;
        int xbits = 0;
        if (kind == 0 && n >= 257) xbits = z_extra_lbits[n - 257];
        else if (kind == 1) xbits = z_extra_dbits[n];
        else if (kind == 2) xbits = z_extra_blbits[n];
        int64_t f = t->freq[n];
        z->opt_len += f * (bits + xbits);
        if (kind == 0) z->static_len += f * (z_static_llen(n) + xbits);
        else if (kind == 1) z->static_len += f * (5 + xbits);
    }
    if (overflow == 0) return;
    do {
        int bits = max_length - 1;
        while (bl_count[bits] == 0) bits--;
        bl_count[bits]--;
        bl_count[bits + 1] += 2;
        bl_count[max_length]--;
        overflow -= 2;
    } while (overflow > 0);
    for (int bits = max_length; bits != 0; bits--) {
        int n = bl_count[bits];
        while (n != 0) {
            int m = z->heap[--h];
            if (m > max_code) continue;
            if (t->len[m] != bits) {
                z->opt_len += ((int64_t)bits - t->len[m]) * t->freq[m];
                t->len[m] = bits;
            }
            n--;
        }
    }
}

/* zlib's build_tree: Huffman lengths for one tree (kind 0 literal/length, 1 distance, 2 bit
 * lengths), with its exact tie-breaking, so the tree descriptions cost what zlib's cost. */
static void zs_build_tree(zs *z, zs_tree *t, int elems, int kind) {
    int n, m, max_code = -1, node;
    z->heap_len = 0;
    z->heap_max = Z_HEAP_SIZE;
    for (n = 0; n < elems; n++) {
        if (t->freq[n] != 0) {
            z->heap[++z->heap_len] = max_code = n;
            z->depth[n] = 0;
        } else {
            t->len[n] = 0;
        }
    }
    while (z->heap_len < 2) { /* at least two codes, as the format needs */
        node = z->heap[++z->heap_len] = (max_code < 2 ? ++max_code : 0);
        t->freq[node] = 1;
        z->depth[node] = 0;
        z->opt_len--;
        if (kind == 0) z->static_len -= z_static_llen(node);
        else if (kind == 1) z->static_len -= 5;
    }
    t->max_code = max_code;
    for (n = z->heap_len / 2; n >= 1; n--) zs_downheap(z, t, n);
    node = elems;
    do {
        n = z->heap[1];
        z->heap[1] = z->heap[z->heap_len--];
        zs_downheap(z, t, 1);
        m = z->heap[1];
        z->heap[--z->heap_max] = n;
        z->heap[--z->heap_max] = m;
        t->freq[node] = t->freq[n] + t->freq[m];
        z->depth[node] = (uint8_t)((z->depth[n] >= z->depth[m] ? z->depth[n] : z->depth[m]) + 1);
        t->dad[n] = t->dad[m] = node;
        z->heap[1] = node++;
        zs_downheap(z, t, 1);
    } while (z->heap_len >= 2);
    z->heap[--z->heap_max] = z->heap[1];
    zs_gen_bitlen(z, t, max_code, kind);
}

/* zlib's scan_tree: bit-length code frequencies of one tree's run-length description. */
static void zs_scan_tree(zs *z, const zs_tree *t) {
    int prevlen = -1, nextlen = t->len[0], count = 0, max_count = 7, min_count = 4;
    if (nextlen == 0) max_count = 138, min_count = 3;
    for (int n = 0; n <= t->max_code; n++) {
        int curlen = nextlen;
        nextlen = n + 1 <= t->max_code ? t->len[n + 1] : 0xffff;
        if (++count < max_count && curlen == nextlen) continue;
        if (count < min_count) z->bt.freq[curlen] += count;
        else if (curlen != 0) {
            if (curlen != prevlen) z->bt.freq[curlen]++;
            z->bt.freq[16]++;
        } else if (count <= 10) z->bt.freq[17]++;
        else z->bt.freq[18]++;
        count = 0;
        prevlen = curlen;
        if (nextlen == 0) max_count = 138, min_count = 3;
        else if (curlen == nextlen) max_count = 6, min_count = 3;
        else max_count = 7, min_count = 4;
    }
}

/* _tr_flush_block: the block's size in the cheapest of stored, fixed and dynamic form. */
static void zs_flush_block(zs *z, int last) {
    size_t stored_len = z->strstart - z->block_start;
    zs_build_tree(z, &z->lt, Z_L_CODES, 0);
    zs_build_tree(z, &z->dt, Z_D_CODES, 1);
    zs_scan_tree(z, &z->lt);
    zs_scan_tree(z, &z->dt);
    zs_build_tree(z, &z->bt, Z_BL_CODES, 2);
    int max_blindex;
    for (max_blindex = Z_BL_CODES - 1; max_blindex >= 3; max_blindex--)
        if (z->bt.len[z_bl_order[max_blindex]] != 0) break;
    z->opt_len += 3 * ((int64_t)max_blindex + 1) + 5 + 5 + 4;
    uint64_t opt_lenb = (uint64_t)(z->opt_len + 3 + 7) >> 3;
    uint64_t static_lenb = (uint64_t)(z->static_len + 3 + 7) >> 3;
    if (static_lenb <= opt_lenb) opt_lenb = static_lenb;
    if (stored_len + 4 <= opt_lenb) z->bits = ((z->bits + 3 + 7) & ~(uint64_t)7) + 32 + 8 * (uint64_t)stored_len;
    else if (static_lenb == opt_lenb) z->bits += 3 + (uint64_t)z->static_len;
    else z->bits += 3 + (uint64_t)z->opt_len;
    if (last) z->bits = (z->bits + 7) & ~(uint64_t)7;
    z->block_start = z->strstart;
    zs_init_block(z);
}

static int zs_tally_lit(zs *z, uint8_t c) {
    z->lt.freq[c]++;
    return ++z->nsym == Z_SYM_LIMIT;
}

static int zs_tally_dist(zs *z, unsigned dist, unsigned len) {
    int lc = 28;
    if (len < 258) while (z_len_base[lc] > len) lc--;
    int dc = 29;
    while (z_dist_base[dc] > dist) dc--;
    z->lt.freq[257 + lc]++;
    z->dt.freq[dc]++;
    return ++z->nsym == Z_SYM_LIMIT;
}

/* INSERT_STRING: link position p into its hash chain; returns the previous head (0 = none). */
static int32_t zs_insert(zs *z, size_t p) {
    unsigned h = (((unsigned)z->w[p] << 10) ^ ((unsigned)z->w[p + 1] << 5) ^ z->w[p + 2]) & ((1u << Z_HBITS) - 1);
    int32_t old = z->head[h];
    z->prev[p & (Z_WSIZE - 1)] = old;
    z->head[h] = (int32_t)p;
    return old;
}

/* longest_match for level 6 (good 8, nice 128, chain 128). */
static size_t zs_longest_match(zs *z, size_t cur, size_t prev_length) {
    unsigned chain = 128;
    size_t best_len = prev_length, nice = 128;
    size_t s = z->strstart;
    size_t limit = s > Z_MAX_DIST ? s - Z_MAX_DIST : 0;
    if (prev_length >= 8) chain >>= 2;
    if (nice > z->lookahead) nice = z->lookahead;
    const uint8_t *w = z->w;
    do {
        if (w[cur + best_len] == w[s + best_len] && w[cur + best_len - 1] == w[s + best_len - 1] && w[cur] == w[s] &&
            w[cur + 1] == w[s + 1]) {
            size_t len = 2;
            while (len < Z_MAX_MATCH && w[cur + len] == w[s + len]) len++;
            if (len > best_len) {
                z->match_start = cur;
                best_len = len;
                if (len >= nice) break;
            }
        }
        cur = (size_t)z->prev[cur & (Z_WSIZE - 1)];
    } while (cur > limit && --chain != 0);
    return best_len <= z->lookahead ? best_len : z->lookahead;
}

/* deflate_slow over the whole input (all of it is in zlib's window below 65274 bytes, so no
 * window slide happens), then header (2) + the blocks' bits rounded up + adler32 (4). */
static size_t zs_compressed_size(zs *z) {
    size_t match_length = 2, prev_length, prev_match;
    int match_available = 0;
    memset(z->head, 0, sizeof(int32_t) << Z_HBITS);
    z->bits = 0;
    z->block_start = z->strstart = z->match_start = 0;
    z->lookahead = z->n;
    zs_init_block(z);
    while (z->lookahead > 0) {
        int32_t hash_head = 0;
        if (z->lookahead >= Z_MIN_MATCH) hash_head = zs_insert(z, z->strstart);
        prev_length = match_length;
        prev_match = z->match_start;
        match_length = Z_MIN_MATCH - 1;
        if (hash_head != 0 && prev_length < 16 && z->strstart - (size_t)hash_head <= Z_MAX_DIST) {
            match_length = zs_longest_match(z, (size_t)hash_head, prev_length);
            if (match_length == Z_MIN_MATCH && z->strstart - z->match_start > Z_TOO_FAR) match_length = Z_MIN_MATCH - 1;
        }
        if (prev_length >= Z_MIN_MATCH && match_length <= prev_length) {
            size_t max_insert = z->strstart + z->lookahead - Z_MIN_MATCH;
            int flush = zs_tally_dist(z, (unsigned)(z->strstart - 1 - prev_match), (unsigned)prev_length);
            z->lookahead -= prev_length - 1;
            prev_length -= 2;
            do {
                if (++z->strstart <= max_insert) zs_insert(z, z->strstart);
            } while (--prev_length != 0);
            match_available = 0;
            match_length = Z_MIN_MATCH - 1;
            z->strstart++;
            if (flush) zs_flush_block(z, 0);
        } else if (match_available) {
            if (zs_tally_lit(z, z->w[z->strstart - 1])) zs_flush_block(z, 0);
            z->strstart++;
            z->lookahead--;
        } else {
            match_available = 1;
            z->strstart++;
            z->lookahead--;
        }
    }
    if (match_available) zs_tally_lit(z, z->w[z->strstart - 1]);
    zs_flush_block(z, 1);
    return 2 + (size_t)(z->bits >> 3) + 4;
}

size_t est_zlib_work_size(void) { return sizeof(zs) + 2 * sizeof(int32_t) * Z_WSIZE; }

size_t est_zlib_compressed_size(const uint8_t *data, size_t n, void *work) {
    zs *z = (zs *)work; /* ~60 KiB with the chains: kept off the stack for small targets */
    z->w = data;
    z->n = n;
    z->head = (int32_t *)(z + 1);
    z->prev = z->head + Z_WSIZE;
    return zs_compressed_size(z);
}

double est_dec_compression_ratio(est_decoder *d, const int *ids, int n) {
    size_t len = est_dec_text(d->tok, ids, n, d->st.timestamp_begin, d->text, d->text_cap);
    if (len > d->text_cap) len = d->text_cap; /* cannot happen: text_cap is planned for the worst case */
    size_t b, e;
    est_dec_strip(d->text, len, &b, &e);
    memmove(d->text, d->text + b, e - b);
    len = e - b;
    memset(d->text + len, 0, Z_MAX_MATCH);
    size_t z = est_zlib_compressed_size(d->text, len, d->zwork);
    return (double)len / (double)z;
}

/* ==== suppression lists (tokenizer.py non_speech_tokens) ================================= */

/* encode(s) into ids[cap]; returns the id count (0 on failure). */
static int encode_str(const est_bpe *b, const char *s, int *ids, int cap, void *scratch, size_t scratch_size) {
    int n = 0;
    if (est_bpe_encode(b, (const uint8_t *)s, strlen(s), ids, cap, &n, scratch, scratch_size)) return 0;
    return n > cap ? 0 : n;
}

static int add_unique(int *out, int n, int cap, int id) {
    for (int i = 0; i < n; i++)
        if (out[i] == id) return n;
    if (n < cap) out[n] = id;
    return n + 1;
}

static void sort_ints(int *v, int n) {
    for (int i = 1; i < n; i++) {
        int x = v[i], j = i;
        while (j > 0 && v[j - 1] > x) v[j] = v[j - 1], j--;
        v[j] = x;
    }
}

int est_dec_non_speech_tokens(const est_bpe *b, int *out, int cap, void *scratch, size_t scratch_size) {
    /* tokenizer.py's symbols: single characters, then multi-character ones, then the musical
     * "miscellaneous" symbols U+2669..U+266F whose FIRST token counts even when split */
    static const char *const symbols[] = {
        "\"", "#", "(", ")", "*", "+", "/", ":", ";", "<", "=", ">", "@", "[", "\\", "]", "^", "_", "`", "{",
        "|", "}", "~", "\xe3\x80\x8c", "\xe3\x80\x8d", "\xe3\x80\x8e", "\xe3\x80\x8f", "<<", ">>", "<<<", ">>>",
        "--", "---", "-(", "-[", "('", "(\"", "((", "))", "(((", ")))", "[[", "]]", "{{", "}}",
        "\xe2\x99\xaa\xe2\x99\xaa", "\xe2\x99\xaa\xe2\x99\xaa\xe2\x99\xaa"};
    static const char *const misc[] = {"\xe2\x99\xa9", "\xe2\x99\xaa", "\xe2\x99\xab", "\xe2\x99\xac",
                                       "\xe2\x99\xad", "\xe2\x99\xae", "\xe2\x99\xaf"};
    int n = 0, ids[16], k;
    char buf[16];
    /* compact vocabularies split these into the space and the symbol: never suppress the space */
    const int max_k = est_tok_is_compact(b->tok->n_vocab) ? 1 : 16;
    if ((k = encode_str(b, " -", ids, 16, scratch, scratch_size)) > 0 && k <= max_k) n = add_unique(out, n, cap, ids[0]);
    if ((k = encode_str(b, " '", ids, 16, scratch, scratch_size)) > 0 && k <= max_k) n = add_unique(out, n, cap, ids[0]);
    for (int pass = 0; pass < 2; pass++) {
        int count = pass ? 7 : (int)(sizeof symbols / sizeof symbols[0]);
        for (int i = 0; i < count; i++) {
            const char *s = pass ? misc[i] : symbols[i];
            for (int spaced = 0; spaced < 2; spaced++) {
                size_t l = strlen(s);
                buf[0] = ' ';
                memcpy(buf + spaced, s, l + 1);
                k = encode_str(b, buf, ids, 16, scratch, scratch_size);
                if (k == 1 || (pass && k > 0)) n = add_unique(out, n, cap, ids[0]);
            }
        }
    }
    if (n > cap) n = cap;
    sort_ints(out, n);
    return n;
}

/* ==== plan =============================================================================== */

#define SUPPRESS_CAP 256

int est_decoder_plan(const est_tokenizer *tok, int n_ctx, int max_rows, int max_finished, size_t max_prompt_bytes,
                     est_arena *a, est_decoder *d) {
    int st;
    void *q;
    memset(d, 0, sizeof *d);
    if (n_ctx < 8 || max_rows < 1 || max_finished < 1) return EDGESTT_E_INVALID_ARG;
    d->tok = tok;
    d->st = tok->st;
    d->n_vocab = tok->n_vocab;
    d->n_ctx = n_ctx;
    d->multilingual = est_tok_multilingual(tok->n_vocab, tok->st.n_languages);
    d->max_rows = max_rows;
    d->max_finished = max_finished;
    d->max_sample_len = est_tok_is_compact(tok->n_vocab) ? n_ctx : n_ctx / 2;
    if ((st = est_bpe_plan(tok, a, &d->bpe)) != 0) return st;
    size_t row = (size_t)n_ctx + 1, rows = (size_t)max_rows * row, fins = (size_t)max_finished * row;
#define RESERVE(ptr, count, type)                                                                                    \
    do {                                                                                                             \
        if ((st = est_arena_array(a, (count), sizeof(type), &q)) != 0) return st;                                   \
        (ptr) = (type *)q;                                                                                           \
    } while (0)
    RESERVE(d->suppress, SUPPRESS_CAP, int);
    RESERVE(d->seq, rows, int);
    RESERVE(d->seq_next, rows, int);
    RESERVE(d->lp, rows, float);
    RESERVE(d->lp_next, rows, float);
    RESERVE(d->sum_lp, (size_t)max_rows, double);
    RESERVE(d->slot, (size_t)max_rows, int);
    RESERVE(d->n_sampled, (size_t)max_rows, int);
    RESERVE(d->done, (size_t)max_rows, uint8_t);
    RESERVE(d->batch_slots, (size_t)max_rows, int);
    RESERVE(d->batch_tokens, (size_t)max_rows, int);
    RESERVE(d->batch_rows, (size_t)max_rows, int);
    RESERVE(d->cand, (size_t)max_rows * ((size_t)max_rows + 1), est_dec_cand);
    RESERVE(d->fin_idx, (size_t)max_rows * ((size_t)max_rows + 1), int);
    RESERVE(d->topk_ids, (size_t)max_rows + 1, int);
    RESERVE(d->topk_vals, (size_t)max_rows + 1, float);
    RESERVE(d->fin_seq, fins, int);
    RESERVE(d->fin_lp, fins, float);
    RESERVE(d->fin_score, (size_t)max_finished, double);
    RESERVE(d->fin_len, (size_t)max_finished, int);
    RESERVE(d->res_tok, row, int);
    RESERVE(d->res_lp, row, float);
    RESERVE(d->zwork, est_zlib_work_size(), uint8_t);
    /* worst-case text of one result: every sampled token at the longest byte string, every byte
     * replaced by U+FFFD (3 bytes); the longest id is known once the table is filled, so the
     * plan uses the vocabulary scan's bound when placing and a generous one while measuring */
    size_t max_tok = 0;
    for (int id = 0; id < tok->n_vocab; id++) {
        const uint8_t *s;
        size_t l;
        if (est_tok_bytes(tok, id, &s, &l) == EDGESTT_OK && l > max_tok) max_tok = l;
    }
    size_t text_cap;
    if (!est_mul((size_t)(d->max_sample_len + 1) * 3, max_tok, &text_cap)) return EDGESTT_E_LIMIT;
    d->text_cap = text_cap;
    RESERVE(d->text, text_cap + Z_MAX_MATCH + 8, uint8_t);
    d->bpe_scratch_size = est_bpe_scratch_size(max_prompt_bytes < 64 ? 64 : max_prompt_bytes);
    if (d->bpe_scratch_size == SIZE_MAX) return EDGESTT_E_LIMIT;
    RESERVE(d->bpe_scratch, d->bpe_scratch_size, uint8_t);
#undef RESERVE
    if (est_arena_measuring(a)) return EDGESTT_OK;
    /* fill the lists */
    const edgestt_special_tokens *sp = &d->st;
    int specials[6] = {sp->transcribe, sp->translate, sp->sot, sp->prev, sp->solm, sp->nosp};
    for (int i = 0; i < 6; i++)
        if (specials[i] >= 0) d->n_specials = add_unique(d->specials, d->n_specials, 8, specials[i]);
    sort_ints(d->specials, d->n_specials);
    int n = est_dec_non_speech_tokens(&d->bpe, d->suppress, SUPPRESS_CAP - 8, d->bpe_scratch, d->bpe_scratch_size);
    for (int i = 0; i < d->n_specials; i++) n = add_unique(d->suppress, n, SUPPRESS_CAP, d->specials[i]);
    sort_ints(d->suppress, n);
    d->n_suppress = n;
    /* a compact vocabulary's space token starts every word: SuppressBlank keeps only eot */
    d->n_blank = est_tok_is_compact(tok->n_vocab) ? 0 : encode_str(&d->bpe, " ", d->blank, 8, d->bpe_scratch, d->bpe_scratch_size);
    return EDGESTT_OK;
}

/* ==== logit filters ====================================================================== */

static void set_range(float *x, int from, int to) {
    for (int i = from; i < to; i++) x[i] = NEG_INF;
}

/* exp(x) for x <= 0 in float: Cody-Waite reduction by ln 2 and a degree-6 Taylor polynomial on
 * |r| <= 0.35 (relative error < 2e-7, like float32 log_softmax); x below -87 (and -inf) gives
 * ~1e-38 instead of 0, which no sum of values >= 1 can notice.  Branch-free, so loops of it
 * vectorise. */
static EST_VEC_INLINE float exp_neg(float x) {
    x = x > -87.0f ? x : -87.0f;
    float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(x / ln 2) */
    float r = (x - k * 0.693145751953125f) - k * 1.428606765330187e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
    union {
        uint32_t u;
        float f;
    } scale;
    scale.u = (uint32_t)((int32_t)k + 127) << 23; /* 2^k */
    return p * scale.f;
}

#define EXP_CHUNK 64

/* Largest of x[0..n) (-inf for n = 0), in eight lanes. */
EST_VECTORISE static float max_of(const float *x, int n) {
    float m[8] = {NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF, NEG_INF};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) m[j] = x[i + j] > m[j] ? x[i + j] : m[j];
    for (; i < n; i++) m[0] = x[i] > m[0] ? x[i] : m[0];
    for (int j = 1; j < 8; j++) m[0] = m[j] > m[0] ? m[j] : m[0];
    return m[0];
}

/* sum(exp((x[i] - m) * scale)) over x[0..n): chunks of 64 exponentials summed in eight float
 * lanes (every term <= 1), chunks accumulated in double. */
EST_VECTORISE static double sum_exp(const float *x, int n, float m, float scale) {
    double s = 0.0;
    float e[EXP_CHUNK];
    for (int i = 0; i < n; i += EXP_CHUNK) {
        int c = n - i < EXP_CHUNK ? n - i : EXP_CHUNK;
        for (int j = 0; j < c; j++) e[j] = exp_neg((x[i + j] - m) * scale);
        for (int j = c; j < (c + 7) / 8 * 8; j++) e[j] = 0.0f;
        float acc[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        for (int j = 0; j < c; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += e[j + l];
        s += (double)(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
    return s;
}

/* log(sum(exp(x[from..to)))); -inf when every value is -inf. */
static double logsumexp(const float *x, int from, int to) {
    float m = max_of(x + from, to - from);
    if (m == NEG_INF) return NEG_INF;
    return (double)m + log(sum_exp(x + from, to - from, m, 1.0f));
}

void est_dec_apply_filters(const est_decoder *d, const est_dec_options *o, float *x, const int *seq, int len,
                           int sample_begin) {
    const edgestt_special_tokens *sp = &d->st;
    const int V = d->n_vocab, tb = sp->timestamp_begin;
    /* SuppressBlank */
    if (o->suppress_blank && len == sample_begin) {
        for (int i = 0; i < d->n_blank; i++) x[d->blank[i]] = NEG_INF;
        x[sp->eot] = NEG_INF;
    }
    /* SuppressTokens */
    if (o->suppress_non_speech)
        for (int i = 0; i < d->n_suppress; i++) x[d->suppress[i]] = NEG_INF;
    else
        for (int i = 0; i < d->n_specials; i++) x[d->specials[i]] = NEG_INF;
    if (o->without_timestamps) return;
    /* ApplyTimestampRules */
    x[sp->no_timestamps] = NEG_INF;
    const int *s = seq + sample_begin;
    int ns = len - sample_begin;
    int last_ts = ns >= 1 && s[ns - 1] >= tb;
    int pen_ts = ns < 2 || s[ns - 2] >= tb;
    if (last_ts) {
        if (pen_ts) set_range(x, tb, V);   /* a pair (or the first timestamp) is complete: text next */
        else set_range(x, 0, sp->eot);     /* a single timestamp closes the segment: timestamp or eot */
    }
    for (int i = ns - 1; i >= 0; i--) {
        if (s[i] < tb) continue;
        int lim = last_ts && !pen_ts ? s[i] : s[i] + 1; /* timestamps never decrease */
        set_range(x, tb, lim < V ? lim : V);
        break;
    }
    if (len == sample_begin) {
        set_range(x, 0, tb); /* the first token is a timestamp */
        if (o->max_initial_ts >= 0 && tb + o->max_initial_ts + 1 < V) set_range(x, tb + o->max_initial_ts + 1, V);
    }
    /* timestamps win when their total probability beats every single text token */
    double ts = logsumexp(x, tb, V);
    if (ts > (double)max_of(x, tb)) set_range(x, 0, tb);
}

/* ==== the search ========================================================================= */

/* splitmix64 -> double in [0, 1). */
static double rng_uniform(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* Next token of one greedy/sampling row: argmax at T = 0, else a draw from softmax(x / T). */
EST_VECTORISE static int pick_token(const float *x, int V, float temperature, uint64_t *rng) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[best]) best = i;
    if (temperature <= 0.0f || !rng) return best;
    const float m = x[best], inv_t = 1.0f / temperature;
    double total = sum_exp(x, V, m, inv_t); /* a -inf logit adds ~1e-38 */
    double u = rng_uniform(rng) * total, acc = 0.0;
    int last = best;
    for (int i = 0; i < V; i++) {
        if (x[i] == NEG_INF) continue;
        acc += (double)exp_neg((x[i] - m) * inv_t);
        last = i;
        if (u < acc) return i;
    }
    return last;
}

/* k largest entries of x (descending; ties: lower id first) into ids/vals. */
static int top_k(const float *x, int V, int k, int *ids, float *vals) {
    int n = 0;
    for (int i = 0; i < V; i++) {
        float v = x[i];
        if (n == k && !(v > vals[n - 1])) continue;
        int j = n < k ? n++ : k - 1;
        while (j > 0 && v > vals[j - 1]) {
            vals[j] = vals[j - 1];
            ids[j] = ids[j - 1];
            j--;
        }
        vals[j] = v;
        ids[j] = i;
    }
    return n;
}

/* Stable sort by score, descending (Python's sorted(..., reverse=True) keeps ties in order). */
static void sort_cands(est_dec_cand *c, int n) {
    for (int i = 1; i < n; i++) {
        est_dec_cand x = c[i];
        int j = i;
        while (j > 0 && c[j - 1].score < x.score) c[j] = c[j - 1], j--;
        c[j] = x;
    }
}

/* Build the initial tokens into row 0; returns sample_begin, *sot_index the position of sot. */
static int initial_tokens(const est_decoder *d, const est_dec_options *o, int *sot_index) {
    const edgestt_special_tokens *sp = &d->st;
    int *t = d->seq, n = 0;
    if (o->prompt && o->n_prompt > 0) {
        int keep = d->n_ctx / 2 - 1;
        if (keep > o->n_prompt) keep = o->n_prompt;
        t[n++] = sp->prev;
        memcpy(t + n, o->prompt + o->n_prompt - keep, (size_t)keep * sizeof(int));
        n += keep;
    }
    *sot_index = n;
    t[n++] = sp->sot;
    if (d->multilingual) { /* [sot, lang, task] */
        t[n++] = o->language_token >= 0 ? o->language_token : sp->lang_first;
        t[n++] = o->task == EST_TASK_TRANSLATE ? sp->translate : sp->transcribe;
    }
    if (o->without_timestamps) t[n++] = sp->no_timestamps;
    return n;
}

/* One beam-search step (BeamSearchDecoder.update): rows [0, beam) have filtered-able logits in
 * their slots (at the first step only row 0, in first_logits: every row holds the same prefix);
 * builds the new rows, moves KV slots, collects finished sequences.  Returns 1 once
 * max_candidates sequences have finished. */
static int beam_step(est_decoder *d, const est_dec_backend *be, const est_dec_options *o, int beam, int len,
                     int sample_begin, float *first_logits, int max_candidates) {
    const int V = d->n_vocab, stride = d->n_ctx + 1, eot = d->st.eot;
    int n_cand = 0;
    for (int r = 0; r < (first_logits ? 1 : beam); r++) {
        float *x = first_logits ? first_logits : be->logits(be->ctx, d->slot[r]);
        est_dec_apply_filters(d, o, x, d->seq + (size_t)r * stride, len, sample_begin);
        double z = logsumexp(x, 0, V);
        est_dec_cand *c = d->cand + n_cand;
        int k = top_k(x, V, beam + 1, d->topk_ids, d->topk_vals);
        for (int j = 0; j < k; j++) {
            c[j].logprob = (float)((double)d->topk_vals[j] - z);
            c[j].score = d->sum_lp[r] + ((double)d->topk_vals[j] - z);
            c[j].row = r;
            c[j].token = d->topk_ids[j];
        }
        n_cand += k;
    }
    sort_cands(d->cand, n_cand);
    /* the best non-eot candidates become the new rows; eot candidates met on the way finish */
    int saved = 0, n_new_fin = 0;
    for (int i = 0; i < n_cand && saved < beam; i++) {
        const est_dec_cand *c = &d->cand[i];
        if (c->token == eot) {
            d->fin_idx[n_new_fin++] = i;
            continue;
        }
        int *dst = d->seq_next + (size_t)saved * stride;
        float *dlp = d->lp_next + (size_t)saved * stride;
        memcpy(dst, d->seq + (size_t)c->row * stride, (size_t)len * sizeof(int));
        memcpy(dlp, d->lp + (size_t)c->row * stride, (size_t)len * sizeof(float));
        dst[len] = c->token;
        dlp[len] = c->logprob;
        d->sum_lp[saved] = c->score; /* every score was computed from the old sums above */
        d->batch_rows[saved] = c->row;
        saved++;
    }
    for (int i = 0; i < n_new_fin && d->n_fin < max_candidates; i++) { /* already best first */
        const est_dec_cand *c = &d->cand[d->fin_idx[i]];
        int f = d->n_fin++, n = len - sample_begin;
        memcpy(d->fin_seq + (size_t)f * stride, d->seq + (size_t)c->row * stride + sample_begin, (size_t)n * sizeof(int));
        memcpy(d->fin_lp + (size_t)f * stride, d->lp + (size_t)c->row * stride + sample_begin, (size_t)n * sizeof(float));
        d->fin_len[f] = n;
        d->fin_score[f] = c->score;
    }
    /* KV slots: the first new row of a source takes over the source's slot; further rows of the
     * same source copy it into slots no new row claims (a source is never overwritten before it
     * has been copied, because claimed slots are not copy targets) */
    uint8_t *claimed = d->done; /* reused: beam search has no finished rows */
    int *new_slot = d->batch_slots;
    memset(claimed, 0, (size_t)beam);
    for (int i = 0; i < saved; i++) {
        int s = d->slot[d->batch_rows[i]];
        new_slot[i] = claimed[s] ? -1 : s;
        claimed[s] = 1;
    }
    for (int i = 0, f = 0; i < saved; i++) {
        if (new_slot[i] >= 0) continue;
        while (claimed[f]) f++;
        claimed[f] = 1;
        new_slot[i] = f;
        be->kv_copy(be->ctx, f, d->slot[d->batch_rows[i]], len);
    }
    memcpy(d->slot, new_slot, (size_t)saved * sizeof(int));
    int *ts = d->seq;
    d->seq = d->seq_next;
    d->seq_next = ts;
    float *tl = d->lp;
    d->lp = d->lp_next;
    d->lp_next = tl;
    return d->n_fin >= max_candidates;
}

/* One greedy / sampling step over rows [0, n_group) (at the first step all rows share
 * first_logits, filtered once).  Returns 1 when every row has ended. */
static int sample_step(est_decoder *d, const est_dec_backend *be, const est_dec_options *o, int n_group, int len,
                       int sample_begin, float *first_logits) {
    const int V = d->n_vocab, stride = d->n_ctx + 1, eot = d->st.eot;
    int all_done = 1;
    double z = 0.0;
    if (first_logits) {
        est_dec_apply_filters(d, o, first_logits, d->seq, len, sample_begin);
        z = logsumexp(first_logits, 0, V);
    }
    for (int r = 0; r < n_group; r++) {
        int *seq = d->seq + (size_t)r * stride;
        float *lp = d->lp + (size_t)r * stride;
        if (d->done[r]) { /* decoding.py keeps appending eot to finished rows */
            seq[len] = eot;
            lp[len] = 0.0f;
            continue;
        }
        float *x = first_logits;
        if (!x) {
            x = be->logits(be->ctx, d->slot[r]);
            est_dec_apply_filters(d, o, x, seq, len, sample_begin);
            z = logsumexp(x, 0, V);
        }
        int t = pick_token(x, V, o->temperature, o->rng);
        double l = (double)x[t] - z;
        d->sum_lp[r] += l;
        seq[len] = t;
        lp[len] = (float)l;
        if (t == eot) d->done[r] = 1;
        else d->n_sampled[r]++;
        all_done &= d->done[r];
    }
    return all_done;
}

int est_decode_run(est_decoder *d, const est_dec_backend *be, const est_dec_options *o, est_dec_result *r,
                   edgestt_diag *diag) {
    const int V = d->n_vocab, stride = d->n_ctx + 1;
    int st;
    memset(r, 0, sizeof *r);
    const int beam = o->temperature > 0.0f ? 0 : o->beam_size;
    const int n_group = beam > 0 ? beam : o->temperature > 0.0f ? (o->best_of > 0 ? o->best_of : 1) : 1;
    const int sample_len = o->sample_len > 0 ? o->sample_len : d->max_sample_len;
    int max_candidates = 0;
    if (beam > 0) {
        float patience = o->patience > 0.0f ? o->patience : 1.0f;
        max_candidates = (int)nearbyint((double)beam * (double)patience);
        if (max_candidates < 1) max_candidates = 1;
    }
    if (n_group > d->max_rows || max_candidates > d->max_finished || beam > d->max_finished)
        return est_diag(diag, EDGESTT_E_LIMIT, "decode: %d rows / %d beam candidates, the state was planned for %d / %d",
                        n_group, max_candidates, d->max_rows, d->max_finished);
    if (sample_len > d->max_sample_len)
        return est_diag(diag, EDGESTT_E_INVALID_ARG, "decode: sample_len %d > %d", sample_len, d->max_sample_len);
    if (o->temperature > 0.0f && !o->rng) return est_diag(diag, EDGESTT_E_INVALID_ARG, "decode: sampling needs an rng");
    /* the first step: initial tokens in slot 0; no_speech_prob at the sot position */
    int sot_index, sample_begin = initial_tokens(d, o, &sot_index);
    float *x;
    if ((st = be->decode(be->ctx, 0, d->seq, sot_index + 1, 0, &x)) != 0)
        return est_diag(diag, st, "decode: the decoder failed on the initial tokens");
    r->no_speech_prob = d->st.nosp >= 0 ? exp((double)x[d->st.nosp] - logsumexp(x, 0, V)) : 0.0;
    if (sot_index + 1 < sample_begin &&
        (st = be->decode(be->ctx, 0, d->seq + sot_index + 1, sample_begin - sot_index - 1, sot_index + 1, &x)) != 0)
        return est_diag(diag, st, "decode: the decoder failed on the initial tokens");
    for (int g = 0; g < n_group; g++) {
        if (g > 0) memcpy(d->seq + (size_t)g * stride, d->seq, (size_t)sample_begin * sizeof(int));
        d->slot[g] = g;
        d->sum_lp[g] = 0.0;
        d->n_sampled[g] = 0;
        d->done[g] = 0;
        if (g > 0 && !beam) be->kv_copy(be->ctx, g, 0, sample_begin);
    }
    d->n_fin = 0;
    int len = sample_begin;
    for (int i = 0; i < sample_len; i++) {
        int completed;
        if (i > 0) { /* feed every live row's last token at position len - 1 */
            int n = 0;
            for (int g = 0; g < n_group; g++) {
                if (!beam && d->done[g]) continue;
                d->batch_slots[n] = d->slot[g];
                d->batch_tokens[n] = d->seq[(size_t)g * stride + len - 1];
                n++;
            }
            if ((st = be->decode_batch(be->ctx, d->batch_slots, d->batch_tokens, n, len - 1)) != 0)
                return est_diag(diag, st, "decode: the decoder failed at position %d", len - 1);
        }
        if (beam) completed = beam_step(d, be, o, beam, len, sample_begin, i == 0 ? x : NULL, max_candidates);
        else completed = sample_step(d, be, o, n_group, len, sample_begin, i == 0 ? x : NULL);
        len++;
        if (completed || len > d->n_ctx) break;
    }
    /* candidates: beam = finished (+ unfinished rows by score while fewer than beam_size);
     * greedy/sampling = every row, cut at its eot */
    int n_c = 0;
    if (beam) {
        n_c = d->n_fin;
        while (n_c < beam && n_c < d->max_finished) {
            int best = -1;
            for (int g = 0; g < beam; g++) { /* the next best unfinished row not taken yet */
                int taken = 0;
                for (int k = d->n_fin; k < n_c; k++) taken |= d->fin_len[k] == -1 - g;
                if (!taken && (best < 0 || d->sum_lp[g] > d->sum_lp[best])) best = g;
            }
            if (best < 0) break;
            d->fin_len[n_c] = -1 - best; /* marker: row best, resolved below */
            n_c++;
        }
    }
    int best_c = -1;
    double best_score = 0.0;
    for (int c = 0; c < (beam ? n_c : n_group); c++) {
        double lp;
        int n;
        if (!beam) lp = d->sum_lp[c], n = d->n_sampled[c];
        else if (d->fin_len[c] >= 0) lp = d->fin_score[c], n = d->fin_len[c];
        else lp = d->sum_lp[-1 - d->fin_len[c]], n = len - sample_begin;
        double penalty = isnan(o->length_penalty) ? (double)n : pow((5.0 + n) / 6.0, (double)o->length_penalty);
        double score = penalty > 0.0 ? lp / penalty : lp;
        if (best_c < 0 || score > best_score) best_c = c, best_score = score;
    }
    const int *tok;
    const float *tlp;
    int n;
    if (!beam) {
        tok = d->seq + (size_t)best_c * stride + sample_begin;
        tlp = d->lp + (size_t)best_c * stride + sample_begin;
        n = d->n_sampled[best_c];
        r->sum_logprob = d->sum_lp[best_c];
    } else if (d->fin_len[best_c] >= 0) {
        tok = d->fin_seq + (size_t)best_c * stride;
        tlp = d->fin_lp + (size_t)best_c * stride;
        n = d->fin_len[best_c];
        r->sum_logprob = d->fin_score[best_c];
    } else {
        int g = -1 - d->fin_len[best_c];
        tok = d->seq + (size_t)g * stride + sample_begin;
        tlp = d->lp + (size_t)g * stride + sample_begin;
        n = len - sample_begin;
        r->sum_logprob = d->sum_lp[g];
    }
    memcpy(d->res_tok, tok, (size_t)n * sizeof(int));
    memcpy(d->res_lp, tlp, (size_t)n * sizeof(float));
    r->tokens = d->res_tok;
    r->logprobs = d->res_lp;
    r->n_tokens = n;
    r->avg_logprob = r->sum_logprob / (n + 1);
    r->temperature = o->temperature;
    r->compression_ratio = est_dec_compression_ratio(d, d->res_tok, n);
    return EDGESTT_OK;
}

int est_decode_detect_language(est_decoder *d, const est_dec_backend *be, int *token, double *prob) {
    const edgestt_special_tokens *sp = &d->st;
    if (!d->multilingual || sp->n_languages <= 0) return EDGESTT_E_UNSUPPORTED;
    float *x;
    int sot = sp->sot;
    int st = be->decode(be->ctx, 0, &sot, 1, 0, &x);
    if (st) return st;
    const int first = sp->lang_first, end = sp->lang_first + sp->n_languages;
    int best = first;
    for (int i = first + 1; i < end; i++)
        if (x[i] > x[best]) best = i;
    *token = best;
    *prob = exp((double)x[best] - logsumexp(x, first, end));
    return EDGESTT_OK;
}

/* ==== transcribe.py's segments =========================================================== */

int est_dec_split_segments(const int *t, int n, int tb, int segment_frames, est_dec_segment *segs, int cap,
                           int *advance_frames) {
    int n_segs = 0, last_slice = 0, any_pair = 0;
    const int single_ending = n >= 2 && t[n - 2] < tb && t[n - 1] >= tb;
    for (int i = 0; i + 1 < n; i++) {
        if (!(t[i] >= tb && t[i + 1] >= tb)) continue;
        int cur = i + 1; /* a consecutive timestamp pair ends a segment before its second stamp */
        if (n_segs < cap) {
            segs[n_segs].first = last_slice;
            segs[n_segs].n = cur - last_slice;
            segs[n_segs].t0_ms = (int64_t)(t[last_slice] - tb) * 20;
            segs[n_segs].t1_ms = (int64_t)(t[cur - 1] - tb) * 20;
        }
        n_segs++;
        last_slice = cur;
        any_pair = 1;
    }
    if (any_pair) {
        if (single_ending) {
            if (n_segs < cap) {
                segs[n_segs].first = last_slice;
                segs[n_segs].n = n - last_slice;
                segs[n_segs].t0_ms = (int64_t)(t[last_slice] - tb) * 20;
                segs[n_segs].t1_ms = (int64_t)(t[n - 1] - tb) * 20;
            }
            n_segs++;
            *advance_frames = segment_frames;
        } else {
            *advance_frames = (t[last_slice - 1] - tb) * 2; /* seek to the last timestamp */
        }
        return n_segs;
    }
    /* no pair: one segment over the window, ending at the last timestamp if there is one */
    int64_t dur = (int64_t)segment_frames * 10;
    for (int i = n - 1; i >= 0; i--) {
        if (t[i] < tb) continue;
        if (t[i] != tb) dur = (int64_t)(t[i] - tb) * 20;
        break;
    }
    if (cap > 0) {
        segs[0].first = 0;
        segs[0].n = n;
        segs[0].t0_ms = 0;
        segs[0].t1_ms = dur;
    }
    *advance_frames = segment_frames;
    return 1;
}
