/*
 * gemm_avx2.c - AVX2 + FMA + F16C matrix products and the activation quantizer (kernels.h).
 *
 * GEMM (m > gemv_max_m): weights are packed per panel of columns and per chunk of k into a small
 * stack buffer, activations are broadcast, SIMD lanes are output columns; so each lane runs the
 * reference's sequential float accumulation over blocks for its own output element.  Partial
 * sums live in Y between k-chunks (a float store/load keeps every bit), bias is added last.
 *   Q8_0 x QX, 4x8 tile: per 4-k step  s = sign(x, w); p = maddubs(|w|, s) (|w| <= 128, |x| <= 127:
 *       pair sums <= 2*128*127 = 32512, no i16 saturation); isum += madd(p, 1) in int32
 *       (|isum| <= 32*128*127 per block).
 *   Q4_0 x QX, 4x8 tile: nibbles u in [0,15] stay unsigned: p = maddubs(u, x) (pairs <= 2*15*127),
 *       8 steps summed in int16 (<= 30480), isum = madd(p, 1) - 8 * sum(x) exactly.
 *   F32/F16, 6x16 tile: W panel converted to f32 and transposed to [k][16]; 12 ymm accumulators.
 * GEMV (m <= gemv_max_m): W streamed in place, 8 columns at a time, lanes over k; the per-block
 * integer sums of 8 columns are reduced to one vector so the float accumulation is again one lane
 * per output element.  Quantized column remainders (n % 8) go to the reference (bit-identical);
 * float ones run the vector code on clamped rows (see gemv_f).
 */
#include <immintrin.h>
#include <math.h>

#include "../kernels_impl.h"

#define UNROLL _Pragma("GCC unroll 16")
#define NOUNROLL _Pragma("GCC unroll 1")
/* Pins a vector in a register at this point: stops gcc from re-associating a fully unrolled chain
 * of integer adds into a tree whose temporaries spill (integer adds may legally be reordered). */
#define PIN(v) __asm__("" : "+x"(v))
#define INLINE static inline __attribute__((always_inline))

#define QKB 32    /* blocks per packed k-chunk (quantized): 8 KiB of packed weights */
#define FKC 256   /* k per packed chunk (f32/f16): 16 KiB of packed weights */
#define MBLK 128  /* rows per block inside one tile call: keeps the X slice in L2 */
#define GEMV_PF 2 /* GEMV: prefetch the column group this many groups ahead */

static inline int imin(int a, int b) { return a < b ? a : b; }

static inline int32_t ld32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void st32(void *p, int32_t v) { memcpy(p, &v, 4); }

/* lanes [0, nc) all-ones */
static inline __m256i lane_mask(int nc) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), idx);
}

/* Sum each of 8 int32 vectors; lane c of the result is the sum of v[c]. */
static inline __m256i hsum8_epi32(__m256i v0, __m256i v1, __m256i v2, __m256i v3, __m256i v4,
                                  __m256i v5, __m256i v6, __m256i v7) {
    const __m256i h01 = _mm256_hadd_epi32(v0, v1), h23 = _mm256_hadd_epi32(v2, v3);
    const __m256i h45 = _mm256_hadd_epi32(v4, v5), h67 = _mm256_hadd_epi32(v6, v7);
    const __m256i a = _mm256_hadd_epi32(h01, h23), b = _mm256_hadd_epi32(h45, h67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

static inline __m256 hsum8_ps(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 v4, __m256 v5,
                              __m256 v6, __m256 v7) {
    const __m256 h01 = _mm256_hadd_ps(v0, v1), h23 = _mm256_hadd_ps(v2, v3);
    const __m256 h45 = _mm256_hadd_ps(v4, v5), h67 = _mm256_hadd_ps(v6, v7);
    const __m256 a = _mm256_hadd_ps(h01, h23), b = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}

/* ==== activation quantizer ================================================================ */

/* Round half away from zero of values already in [-127, 127] (exact: v - trunc(v) is exact). */
static inline __m256i round_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    const __m256 adj = _mm256_and_ps(_mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ), one);
    return _mm256_cvttps_epi32(_mm256_add_ps(t, adj));
}

void est_quantize_x__avx2(const float *x, size_t ldx, int m0, int m1, int k, uint8_t *xq,
                          size_t xq_stride) {
    const int nb = k / EST_QK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = m0; i < m1; i++) {
        const float *xr = x + (size_t)i * ldx;       /* [k] */
        uint8_t *row = xq + (size_t)i * xq_stride;
        float *d = (float *)(row + k);               /* [nb] */
        int32_t *sum = (int32_t *)(row + k + k / 8); /* [nb] */
        for (int b = 0; b < nb; b++) {
            const float *xb = xr + b * EST_QK;
            __m256 v[4];
            __m256 m = _mm256_setzero_ps();
            for (int q = 0; q < 4; q++) {
                v[q] = _mm256_loadu_ps(xb + 8 * q);
                /* |x| first: max_ps returns its second operand when either is NaN, so NaN inputs
                 * are skipped exactly like fmaxf in the reference */
                m = _mm256_max_ps(_mm256_andnot_ps(sign, v[q]), m);
            }
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_movehdup_ps(h));
            const float amax = _mm_cvtss_f32(h);
            if (!(amax >= EST_QX_AMAX_MIN)) {
                memset(row + b * EST_QK, 0, EST_QK);
                d[b] = 0.0f;
                sum[b] = 0;
                continue;
            }
            const __m256 id = _mm256_set1_ps(127.0f / amax);
            d[b] = amax / 127.0f;
            __m256i q32[4];
            for (int q = 0; q < 4; q++) {
                __m256 s = _mm256_mul_ps(v[q], id);
                s = _mm256_max_ps(s, lo); /* NaN -> -127, as fmaxf(NaN, -127) */
                s = _mm256_min_ps(s, hi);
                q32[q] = round_away(s);
            }
            const __m256i p01 = _mm256_packs_epi32(q32[0], q32[1]);
            const __m256i p23 = _mm256_packs_epi32(q32[2], q32[3]);
            const __m256i q8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), perm);
            _mm256_storeu_si256((__m256i *)(row + b * EST_QK), q8);
            __m256i s4 = _mm256_add_epi32(_mm256_add_epi32(q32[0], q32[1]), _mm256_add_epi32(q32[2], q32[3]));
            __m128i s2 = _mm_add_epi32(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
            s2 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0x4e));
            s2 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xb1));
            sum[b] = _mm_cvtsi128_si32(s2);
        }
    }
}

/* ==== quantized GEMM: packing ============================================================= */
/* Packed panel of 8 columns x kb blocks:
 *   pq[b][s][c][4]  int8 (Q8_0: the weight; Q4_0: the nibble 0..15) of column c, k = 32b + 4s + t
 *   pd[b][c]        f32 block scale of column c
 * Columns past nc are zero (their results are never stored). */

static void pack_q8(const est_gemm_op *op, int j0, int nc, int b0, int kb, int8_t *pq, float *pd) {
    for (int c = 0; c < 8; c++) {
        if (c >= nc) {
            for (int b = 0; b < kb; b++) {
                for (int s = 0; s < 8; s++) memset(pq + b * 256 + s * 32 + c * 4, 0, 4);
                pd[b * 8 + c] = 0.0f;
            }
            continue;
        }
        const uint8_t *wr = (const uint8_t *)op->w + (size_t)(j0 + c) * op->w_stride +
                            (size_t)b0 * sizeof(est_block_q8_0);
        for (int b = 0; b < kb; b++, wr += sizeof(est_block_q8_0)) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(wr + 2));
            int8_t *dst = pq + b * 256 + c * 4;
            st32(dst + 0, _mm256_extract_epi32(v, 0));
            st32(dst + 32, _mm256_extract_epi32(v, 1));
            st32(dst + 64, _mm256_extract_epi32(v, 2));
            st32(dst + 96, _mm256_extract_epi32(v, 3));
            st32(dst + 128, _mm256_extract_epi32(v, 4));
            st32(dst + 160, _mm256_extract_epi32(v, 5));
            st32(dst + 192, _mm256_extract_epi32(v, 6));
            st32(dst + 224, _mm256_extract_epi32(v, 7));
            pd[b * 8 + c] = _cvtsh_ss(est_rd_u16(wr));
        }
    }
}

static void pack_q4(const est_gemm_op *op, int j0, int nc, int b0, int kb, int8_t *pq, float *pd) {
    const __m128i m4 = _mm_set1_epi8(0x0f);
    for (int c = 0; c < 8; c++) {
        if (c >= nc) {
            for (int b = 0; b < kb; b++) {
                for (int s = 0; s < 8; s++) memset(pq + b * 256 + s * 32 + c * 4, 0, 4);
                pd[b * 8 + c] = 0.0f;
            }
            continue;
        }
        const uint8_t *wr = (const uint8_t *)op->w + (size_t)(j0 + c) * op->w_stride +
                            (size_t)b0 * sizeof(est_block_q4_0);
        for (int b = 0; b < kb; b++, wr += sizeof(est_block_q4_0)) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(wr + 2));
            const __m128i l = _mm_and_si128(v, m4), h = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
            int8_t *dst = pq + b * 256 + c * 4;
            st32(dst + 0, _mm_extract_epi32(l, 0));
            st32(dst + 32, _mm_extract_epi32(l, 1));
            st32(dst + 64, _mm_extract_epi32(l, 2));
            st32(dst + 96, _mm_extract_epi32(l, 3));
            st32(dst + 128, _mm_extract_epi32(h, 0));
            st32(dst + 160, _mm_extract_epi32(h, 1));
            st32(dst + 192, _mm_extract_epi32(h, 2));
            st32(dst + 224, _mm_extract_epi32(h, 3));
            pd[b * 8 + c] = _cvtsh_ss(est_rd_u16(wr));
        }
    }
}

/* ==== quantized GEMM: micro-kernels ======================================================= */
/* Rows [i0, i0+rm) x the packed panel (columns j0.., nc valid) over blocks [b0, b0+kb).
 * Accumulators start at 0 (first) or from Y, and get the bias after the last chunk. */
typedef struct {
    const est_gemm_op *op;
    int j0, nc, b0, kb, first, last;
    __m256i mask;
    const int8_t *pq;
    const float *pd;
} qpanel;

INLINE __m256 load_acc(const qpanel *p, const float *yr) {
    if (p->first) return _mm256_setzero_ps();
    return p->nc == 8 ? _mm256_loadu_ps(yr) : _mm256_maskload_ps(yr, p->mask);
}

INLINE void store_acc(const qpanel *p, float *yr, __m256 acc) {
    if (p->last && p->op->bias) {
        const float *bias = p->op->bias + p->j0;
        acc = _mm256_add_ps(acc, p->nc == 8 ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, p->mask));
    }
    if (p->nc == 8) _mm256_storeu_ps(yr, acc);
    else _mm256_maskstore_ps(yr, p->mask, acc);
}

/* Rows are addressed as base + r * stride (r a compile-time constant) so that the four rows cost
 * two registers, not twelve pointers: the block loop then keeps everything in registers. */
INLINE void q8_rows(const int rm, const qpanel *p, int i0) {
    const est_gemm_op *op = p->op;
    const int k = op->k;
    const size_t xst = op->xq_stride, yst = op->ldy;
    const uint8_t *x0 = op->xq + (size_t)i0 * xst + (size_t)p->b0 * EST_QK; /* row i0, block b0: qs */
    const uint8_t *d0 = op->xq + (size_t)i0 * xst + k + (size_t)p->b0 * 4;  /* row i0, block b0: d */
    float *y0 = op->y + (size_t)i0 * yst + p->j0;
    __m256 acc[4];
    UNROLL for (int r = 0; r < rm; r++) acc[r] = load_acc(p, y0 + r * yst);
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t *pw = p->pq;
    const float *pd = p->pd;
    for (int b = 0; b < p->kb; b++, x0 += EST_QK, d0 += 4, pw += 256, pd += 8) {
        __m256i isum[4];
        UNROLL for (int r = 0; r < rm; r++) isum[r] = _mm256_setzero_si256();
        UNROLL for (int s = 0; s < 8; s++) {
            const __m256i w = _mm256_load_si256((const __m256i *)(pw + s * 32));
            const __m256i aw = _mm256_abs_epi8(w);
            UNROLL for (int r = 0; r < rm; r++) {
                const __m256i xb = _mm256_set1_epi32(ld32(x0 + r * xst + 4 * s));
                const __m256i t = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xb, w));
                isum[r] = _mm256_add_epi32(_mm256_madd_epi16(t, ones), isum[r]);
                PIN(isum[r]);
            }
        }
        const __m256 dw = _mm256_load_ps(pd);
        UNROLL for (int r = 0; r < rm; r++) {
            const __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(est_rd_f32(d0 + r * xst)));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r]), sc, acc[r]);
        }
    }
    UNROLL for (int r = 0; r < rm; r++) store_acc(p, y0 + r * yst, acc[r]);
}

INLINE void q4_rows(const int rm, const qpanel *p, int i0) {
    const est_gemm_op *op = p->op;
    const int k = op->k;
    const size_t xst = op->xq_stride, yst = op->ldy;
    const uint8_t *x0 = op->xq + (size_t)i0 * xst + (size_t)p->b0 * EST_QK; /* row i0, block b0: qs */
    const uint8_t *d0 = op->xq + (size_t)i0 * xst + k + (size_t)p->b0 * 4;  /* row i0, block b0: d */
    const size_t soff = (size_t)k / 8;                                        /* d -> sum */
    float *y0 = op->y + (size_t)i0 * yst + p->j0;
    __m256 acc[4];
    UNROLL for (int r = 0; r < rm; r++) acc[r] = load_acc(p, y0 + r * yst);
    const __m256i ones = _mm256_set1_epi16(1);
    const int8_t *pw = p->pq;
    const float *pd = p->pd;
    for (int b = 0; b < p->kb; b++, x0 += EST_QK, d0 += 4, pw += 256, pd += 8) {
        __m256i s16[4];
        UNROLL for (int r = 0; r < rm; r++) s16[r] = _mm256_setzero_si256();
        UNROLL for (int s = 0; s < 8; s++) {
            const __m256i w = _mm256_load_si256((const __m256i *)(pw + s * 32));
            UNROLL for (int r = 0; r < rm; r++) {
                const __m256i xb = _mm256_set1_epi32(ld32(x0 + r * xst + 4 * s));
                s16[r] = _mm256_add_epi16(_mm256_maddubs_epi16(w, xb), s16[r]);
                PIN(s16[r]);
            }
        }
        const __m256 dw = _mm256_load_ps(pd);
        UNROLL for (int r = 0; r < rm; r++) {
            const __m256i corr = _mm256_slli_epi32(_mm256_set1_epi32(ld32(d0 + r * xst + soff)), 3);
            const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s16[r], ones), corr);
            const __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(est_rd_f32(d0 + r * xst)));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), sc, acc[r]);
        }
    }
    UNROLL for (int r = 0; r < rm; r++) store_acc(p, y0 + r * yst, acc[r]);
}

typedef void (*qpack_fn)(const est_gemm_op *op, int j0, int nc, int b0, int kb, int8_t *pq, float *pd);

INLINE void gemm_q(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_q4) {
    _Alignas(64) int8_t pq[QKB * 256];
    _Alignas(64) float pd[QKB * 8];
    const int nb = op->k / EST_QK;
    qpanel p;
    p.op = op;
    for (int mb = m0; mb < m1; mb += MBLK) {
        const int me = imin(m1, mb + MBLK);
        for (int j0 = n0; j0 < n1; j0 += 8) {
            p.j0 = j0;
            p.nc = imin(8, n1 - j0);
            p.mask = lane_mask(p.nc);
            for (int b0 = 0; b0 < nb; b0 += QKB) {
                p.b0 = b0;
                p.kb = imin(QKB, nb - b0);
                p.first = b0 == 0;
                p.last = b0 + p.kb == nb;
                if (is_q4) pack_q4(op, j0, p.nc, b0, p.kb, pq, pd);
                else pack_q8(op, j0, p.nc, b0, p.kb, pq, pd);
                p.pq = pq;
                p.pd = pd;
                int i = mb;
                if (is_q4) {
                    for (; i + 4 <= me; i += 4) q4_rows(4, &p, i);
                    switch (me - i) {
                    case 3: q4_rows(3, &p, i); break;
                    case 2: q4_rows(2, &p, i); break;
                    case 1: q4_rows(1, &p, i); break;
                    default: break;
                    }
                } else {
                    for (; i + 4 <= me; i += 4) q8_rows(4, &p, i);
                    switch (me - i) {
                    case 3: q8_rows(3, &p, i); break;
                    case 2: q8_rows(2, &p, i); break;
                    case 1: q8_rows(1, &p, i); break;
                    default: break;
                    }
                }
            }
        }
    }
}

void est_gemm_q8q8_4x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemm_q(op, m0, m1, n0, n1, 0);
}

void est_gemm_q4q8_4x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemm_q(op, m0, m1, n0, n1, 1);
}

/* ==== f32 / f16 GEMM ======================================================================= */
/* Packed panel: pw[t][16] f32, columns j0..j0+15 (zero past nc) for k = k0 + t. */

static inline void transpose8_ps(__m256 r[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

INLINE void pack_f(const est_gemm_op *op, int j0, int nc, int k0, int kc, float *pw, const int is_f16) {
    const int es = is_f16 ? 2 : 4;
    for (int g = 0; g < 2; g++) {
        const uint8_t *wr[8];
        for (int c = 0; c < 8; c++) {
            const int cc = 8 * g + c;
            wr[c] = cc < nc ? (const uint8_t *)op->w + (size_t)(j0 + cc) * op->w_stride + (size_t)k0 * es : NULL;
        }
        int t = 0;
        for (; t + 8 <= kc; t += 8) {
            __m256 r[8];
            for (int c = 0; c < 8; c++) {
                if (!wr[c]) r[c] = _mm256_setzero_ps();
                else if (is_f16) r[c] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wr[c] + 2 * (size_t)t)));
                else r[c] = _mm256_loadu_ps((const float *)(wr[c] + 4 * (size_t)t));
            }
            transpose8_ps(r);
            for (int q = 0; q < 8; q++) _mm256_store_ps(pw + (size_t)(t + q) * 16 + 8 * g, r[q]);
        }
        for (; t < kc; t++) {
            for (int c = 0; c < 8; c++) {
                float v = 0.0f;
                if (wr[c]) v = is_f16 ? _cvtsh_ss(est_rd_u16(wr[c] + 2 * (size_t)t)) : est_rd_f32(wr[c] + 4 * (size_t)t);
                pw[(size_t)t * 16 + 8 * g + c] = v;
            }
        }
    }
}

typedef struct {
    const est_gemm_op *op;
    int j0, nc, k0, kc, first, last;
    __m256i mask0, mask1;
    const float *pw;
} fpanel;

INLINE void f_rows(const int rm, const fpanel *p, int i0) {
    const est_gemm_op *op = p->op;
    const float *xr[6];
    float *yr[6];
    __m256 a0[6], a1[6];
    const int full = p->nc == 16;
    UNROLL for (int r = 0; r < rm; r++) {
        xr[r] = op->x + (size_t)(i0 + r) * op->ldx + p->k0;
        yr[r] = op->y + (size_t)(i0 + r) * op->ldy + p->j0;
        if (p->first) {
            a0[r] = _mm256_setzero_ps();
            a1[r] = _mm256_setzero_ps();
        } else if (full) {
            a0[r] = _mm256_loadu_ps(yr[r]);
            a1[r] = _mm256_loadu_ps(yr[r] + 8);
        } else {
            a0[r] = _mm256_maskload_ps(yr[r], p->mask0);
            a1[r] = _mm256_maskload_ps(yr[r] + 8, p->mask1);
        }
    }
    const float *pw = p->pw;
    UNROLL for (int t = 0; t < p->kc; t++) {
        const __m256 w0 = _mm256_load_ps(pw + (size_t)t * 16), w1 = _mm256_load_ps(pw + (size_t)t * 16 + 8);
        UNROLL for (int r = 0; r < rm; r++) {
            const __m256 xb = _mm256_broadcast_ss(xr[r] + t);
            a0[r] = _mm256_fmadd_ps(xb, w0, a0[r]);
            a1[r] = _mm256_fmadd_ps(xb, w1, a1[r]);
        }
    }
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    const int add_bias = p->last && op->bias;
    if (add_bias) {
        const float *bias = op->bias + p->j0;
        b0 = full ? _mm256_loadu_ps(bias) : _mm256_maskload_ps(bias, p->mask0);
        b1 = full ? _mm256_loadu_ps(bias + 8) : _mm256_maskload_ps(bias + 8, p->mask1);
    }
    UNROLL for (int r = 0; r < rm; r++) {
        __m256 v0 = a0[r], v1 = a1[r];
        if (add_bias) {
            v0 = _mm256_add_ps(v0, b0);
            v1 = _mm256_add_ps(v1, b1);
        }
        if (full) {
            _mm256_storeu_ps(yr[r], v0);
            _mm256_storeu_ps(yr[r] + 8, v1);
        } else {
            _mm256_maskstore_ps(yr[r], p->mask0, v0);
            _mm256_maskstore_ps(yr[r] + 8, p->mask1, v1);
        }
    }
}

INLINE void gemm_f(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_f16) {
    _Alignas(64) float pw[FKC * 16];
    const int k = op->k;
    fpanel p;
    p.op = op;
    p.pw = pw;
    for (int mb = m0; mb < m1; mb += MBLK) {
        const int me = imin(m1, mb + MBLK);
        for (int j0 = n0; j0 < n1; j0 += 16) {
            p.j0 = j0;
            p.nc = imin(16, n1 - j0);
            p.mask0 = lane_mask(p.nc);
            p.mask1 = lane_mask(p.nc - 8);
            for (int k0 = 0; k0 < k; k0 += FKC) {
                p.k0 = k0;
                p.kc = imin(FKC, k - k0);
                p.first = k0 == 0;
                p.last = k0 + p.kc == k;
                pack_f(op, j0, p.nc, k0, p.kc, pw, is_f16);
                int i = mb;
                for (; i + 6 <= me; i += 6) f_rows(6, &p, i);
                switch (me - i) {
                case 5: f_rows(5, &p, i); break;
                case 4: f_rows(4, &p, i); break;
                case 3: f_rows(3, &p, i); break;
                case 2: f_rows(2, &p, i); break;
                case 1: f_rows(1, &p, i); break;
                default: break;
                }
            }
        }
    }
}

void est_gemm_f32_6x16__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemm_f(op, m0, m1, n0, n1, 0);
}

void est_gemm_f16_6x16__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemm_f(op, m0, m1, n0, n1, 1);
}

/* ==== GEMV: W streamed in place, 8 columns per pass ======================================== */

/* f16 scales of block b of 8 consecutive W rows (4-byte gather reads d and two weight bytes,
 * all inside the block) as f32. */
static inline __m256 gather_d(const uint8_t *blk0, __m256i offs) {
    const __m256i g = _mm256_i32gather_epi32((const int *)blk0, offs, 1);
    const __m256i h = _mm256_packus_epi32(_mm256_and_si256(g, _mm256_set1_epi32(0xffff)), _mm256_setzero_si256());
    /* lanes: [d0 d1 d2 d3 0 0 0 0 | d4 d5 d6 d7 0 0 0 0] as u16 -> gather qwords 0 and 2 */
    const __m256i c = _mm256_permute4x64_epi64(h, 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(c));
}

INLINE void gemv_q(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_q4) {
    const int k = op->k, nb = k / EST_QK;
    const size_t bs = is_q4 ? sizeof(est_block_q4_0) : sizeof(est_block_q8_0);
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i offs = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                            _mm256_set1_epi32((int)op->w_stride));
    const __m256i m4y = _mm256_set1_epi8(0x0f);
    int j0 = n0;
    for (; j0 + 8 <= n1; j0 += 8) {
        const uint8_t *w0 = (const uint8_t *)op->w + (size_t)j0 * op->w_stride;
        const size_t ws = op->w_stride;
        /* software prefetch of a later group (the hardware prefetchers lose the 8 interleaved row
         * streams: 1.15 -> 0.75 ms for the tiny logits from L3); past W's end: this group again */
        const uint8_t *pf = j0 + 8 * (GEMV_PF + 1) <= op->n ? w0 + (size_t)(8 * GEMV_PF) * ws : w0;
        for (int i = m0; i < m1; i++) {
            const uint8_t *row = op->xq + (size_t)i * op->xq_stride;
            const int8_t *xs = EST_QX_QS(row);
            const float *dx = EST_QX_D(row, k);
            const int32_t *sx = EST_QX_SUM(row, k);
            __m256 acc = _mm256_setzero_ps();
            for (int b = 0; b < nb; b++) {
                const __m256i xv = _mm256_load_si256((const __m256i *)(xs + b * EST_QK));
                const uint8_t *blk = w0 + (size_t)b * bs;
                /* block b of every other row of the group GEMV_PF ahead: over the nb blocks this
                 * touches every line of that group (rows are >= 2 blocks apart only when nb > 1) */
                UNROLL for (int c = 0; c < 8; c += 2) _mm_prefetch((const char *)(pf + (size_t)b * bs + (size_t)c * ws), _MM_HINT_T0);
                __m256i isum;
                if (is_q4) {
                    /* two columns per register: [c: nibbles 0..15 | c+1: 0..15] times
                     * [x0..15 | x0..15], and the high nibbles times [x16..31 | x16..31];
                     * pair sums <= 2*15*127, the two added <= 7620: int16 is exact */
                    const __m256i xl = _mm256_permute2x128_si256(xv, xv, 0x00);
                    const __m256i xh = _mm256_permute2x128_si256(xv, xv, 0x11);
                    __m256i pc[4];
                    UNROLL for (int c = 0; c < 8; c += 2) {
                        const uint8_t *q = blk + (size_t)c * ws + 2;
                        const __m256i v = _mm256_inserti128_si256(
                            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)),
                            _mm_loadu_si128((const __m128i *)(q + ws)), 1);
                        const __m256i lo = _mm256_and_si256(v, m4y);
                        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4y);
                        const __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh));
                        pc[c / 2] = _mm256_madd_epi16(t, ones); /* [c: 4 partials | c+1: 4 partials] */
                    }
                    /* lanes after three hadds: [c0 c2 c4 c6 | c1 c3 c5 c7] */
                    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(pc[0], pc[1]), _mm256_hadd_epi32(pc[2], pc[3]));
                    isum = _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
                    isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(sx[b] * 8));
                } else {
                    __m256i pc[8];
                    UNROLL for (int c = 0; c < 8; c++) {
                        const __m256i w = _mm256_loadu_si256((const __m256i *)(blk + (size_t)c * ws + 2));
                        const __m256i t = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w));
                        pc[c] = _mm256_madd_epi16(t, ones);
                    }
                    isum = hsum8_epi32(pc[0], pc[1], pc[2], pc[3], pc[4], pc[5], pc[6], pc[7]);
                }
                const __m256 sc = _mm256_mul_ps(gather_d(blk, offs), _mm256_set1_ps(dx[b]));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), sc, acc);
            }
            if (op->bias) acc = _mm256_add_ps(acc, _mm256_loadu_ps(op->bias + j0));
            _mm256_storeu_ps(op->y + (size_t)i * op->ldy + j0, acc);
        }
    }
    if (j0 < n1) {
        if (is_q4) est_gemm_q4q8__ref(op, m0, m1, j0, n1);
        else est_gemm_q8q8__ref(op, m0, m1, j0, n1);
    }
}

void est_gemv_q8q8_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_q(op, m0, m1, n0, n1, 0);
}

void est_gemv_q4q8_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_q(op, m0, m1, n0, n1, 1);
}

INLINE __m256 load_w8(const uint8_t *p, const int is_f16) {
    return is_f16 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)) : _mm256_loadu_ps((const float *)p);
}

/* Float GEMV: a tile of rm rows x nc columns (rm * nc <= 12, 8 for one row), one 8-lane
 * accumulator per output, lanes over k, one reduction tree per output at the end; each converted
 * weight vector feeds rm FMAs.  Columns past the group's valid count use the last valid row's
 * pointer (results not stored), so every output is computed identically wherever a tile or group
 * boundary falls: splits never change float bits. */
INLINE void gemv_f_tile(const int rm, const int nc, const est_gemm_op *op, int i0, int j0, int nv,
                        const uint8_t *const *wr, const uint8_t *const *pf, const int is_f16, const int full) {
    const int k = op->k, kt = k & ~7, rem = k - kt;
    const size_t es = is_f16 ? 2 : 4, ws = op->w_stride;
    const uint8_t *w0 = wr[0];
    /* full groups address rows as w0 + c * ws (no pointer array to keep live) */
#define WROW(c) (full ? w0 + (size_t)(c) * ws : wr[c])
    const float *xr[4];
    __m256 acc[4][8];
    UNROLL for (int r = 0; r < rm; r++) {
        xr[r] = op->x + (size_t)(i0 + r) * op->ldx;
        UNROLL for (int c = 0; c < nc; c++) acc[r][c] = _mm256_setzero_ps();
    }
    /* one prefetch per 64-byte line of each row of a later group (see gemv_f_rows) */
#define WPREFETCH(t)                                                                                 \
    if ((((size_t)(t) * es) & 63) == 0)                                                              \
        UNROLL for (int c = 0; c < nc; c++) _mm_prefetch((const char *)(pf[c] + (size_t)(t) * es), _MM_HINT_T0)
    if (rm == 1) { /* one row: x in a register, 8 independent accumulators */
        for (int t = 0; t < kt; t += 8) {
            WPREFETCH(t);
            const __m256 xv = _mm256_loadu_ps(xr[0] + t);
            UNROLL for (int c = 0; c < nc; c++) acc[0][c] = _mm256_fmadd_ps(xv, load_w8(WROW(c) + (size_t)t * es, is_f16), acc[0][c]);
        }
    } else {
        for (int t = 0; t < kt; t += 8) {
            WPREFETCH(t);
            UNROLL for (int c = 0; c < nc; c++) {
                const __m256 w = load_w8(WROW(c) + (size_t)t * es, is_f16);
                UNROLL for (int r = 0; r < rm; r++)
                    acc[r][c] = _mm256_fmadd_ps(_mm256_loadu_ps(xr[r] + t), w, acc[r][c]);
            }
        }
    }
    if (rem) { /* k % 8: masked x, zero-padded weight copies */
        const __m256i kmask = lane_mask(rem);
        UNROLL for (int c = 0; c < nc; c++) {
            uint8_t tmp[32] = {0};
            memcpy(tmp, WROW(c) + (size_t)kt * es, (size_t)rem * es);
            const __m256 w = load_w8(tmp, is_f16);
            UNROLL for (int r = 0; r < rm; r++)
                acc[r][c] = _mm256_fmadd_ps(_mm256_maskload_ps(xr[r] + kt, kmask), w, acc[r][c]);
        }
    }
    const __m256i cmask = lane_mask(nv);
    const __m256 z = _mm256_setzero_ps();
    UNROLL for (int r = 0; r < rm; r++) {
        __m256 a[8];
        UNROLL for (int c = 0; c < 8; c++) a[c] = c < nc ? acc[r][c] : z;
        __m256 v = hsum8_ps(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        if (op->bias) v = _mm256_add_ps(v, _mm256_maskload_ps(op->bias + j0, cmask));
        _mm256_maskstore_ps(op->y + (size_t)(i0 + r) * op->ldy + j0, cmask, v);
    }
#undef WROW
#undef WPREFETCH
}

/* Row groups of 4 x 3 columns, remainders 3 x 4, 2 x 6, 1 x 8 (12 or 8 accumulators). */
INLINE void gemv_f_rows(const int rm, const int nc, const est_gemm_op *op, int i0, int n0, int n1,
                        const int is_f16) {
    for (int j0 = n0; j0 < n1; j0 += nc) {
        const int nv = imin(nc, n1 - j0);
        const uint8_t *wr[8], *pf[8];
        for (int c = 0; c < nc; c++) {
            wr[c] = (const uint8_t *)op->w + (size_t)imin(j0 + c, n1 - 1) * op->w_stride;
            /* the group GEMV_PF ahead (hardware prefetchers lose the interleaved row streams) */
            pf[c] = (const uint8_t *)op->w + (size_t)imin(j0 + c + GEMV_PF * nc, op->n - 1) * op->w_stride;
        }
        if (nv == nc) gemv_f_tile(rm, nc, op, i0, j0, nv, wr, pf, is_f16, 1);
        else gemv_f_tile(rm, nc, op, i0, j0, nv, wr, pf, is_f16, 0);
    }
}

INLINE void gemv_f(const est_gemm_op *op, int m0, int m1, int n0, int n1, const int is_f16) {
    int i = m0;
    for (; i + 4 <= m1; i += 4) gemv_f_rows(4, 3, op, i, n0, n1, is_f16);
    switch (m1 - i) {
    case 3: gemv_f_rows(3, 4, op, i, n0, n1, is_f16); break;
    case 2: gemv_f_rows(2, 6, op, i, n0, n1, is_f16); break;
    case 1: gemv_f_rows(1, 8, op, i, n0, n1, is_f16); break;
    default: break;
    }
}

void est_gemv_f32_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_f(op, m0, m1, n0, n1, 0);
}

void est_gemv_f16_1x8__avx2(const est_gemm_op *op, int m0, int m1, int n0, int n1) {
    gemv_f(op, m0, m1, n0, n1, 1);
}
