/*
 * ops_avx2.c - AVX2 + FMA f32 row helpers: layer norm, softmax, exact GELU, add, dot, axpy.
 * Bit-identical to the reference (kernels/ops_ref.c states the specification): one 8-lane
 * accumulator per sum (lane l = partial t % 8), masked tails add zeros, hsum is the spec's tree8,
 * exp8 / gelu8 are exp_spec / the erfc fit operation by operation.  Row tails use masked
 * loads/stores.
 */
#include <immintrin.h>
#include <math.h>

#include "../kernels_impl.h"

static inline __m256i tail_mask(int r) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7)): the specification's tree8 */
static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* e^x for x <= 88 (larger inputs are clamped); x < -87.33 (incl. -inf) gives 0. */
static inline __m256 exp8(__m256 x) {
    const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33f), _CMP_LT_OQ);
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.33f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x); /* ln 2 = hi + lo */
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

void est_layer_norm__avx2(float *y, const float *x, const float *g, const float *b, int n, float eps) {
    const int nv = n & ~7, rem = n - nv;
    const __m256i tm = tail_mask(rem);
    __m256 s = _mm256_setzero_ps();
    int i = 0;
    for (; i < nv; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    if (rem) s = _mm256_add_ps(s, _mm256_maskload_ps(x + nv, tm));
    const float mean = hsum(s) / (float)n;
    const __m256 mv = _mm256_set1_ps(mean);
    s = _mm256_setzero_ps();
    for (i = 0; i < nv; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mv);
        s = _mm256_fmadd_ps(d, d, s);
    }
    if (rem) {
        const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), mv), _mm256_castsi256_ps(tm));
        s = _mm256_fmadd_ps(d, d, s);
    }
    const float var = hsum(s) / (float)n;
    const __m256 rs = _mm256_set1_ps(1.0f / sqrtf(var + eps));
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (i = 0; i < nv; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv), rs);
        v = _mm256_fmadd_ps(v, g ? _mm256_loadu_ps(g + i) : one, b ? _mm256_loadu_ps(b + i) : zero);
        _mm256_storeu_ps(y + i, v);
    }
    if (rem) {
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + nv, tm), mv), rs);
        v = _mm256_fmadd_ps(v, g ? _mm256_maskload_ps(g + nv, tm) : one, b ? _mm256_maskload_ps(b + nv, tm) : zero);
        _mm256_maskstore_ps(y + nv, tm, v);
    }
}

void est_softmax__avx2(float *x, int n, float scale) {
    const int nv = n & ~7, rem = n - nv;
    const __m256i tm = tail_mask(rem);
    const __m256 sc = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
    __m256 m = ninf;
    for (int i = 0; i < nv; i += 8) m = _mm256_max_ps(m, _mm256_mul_ps(_mm256_loadu_ps(x + i), sc));
    if (rem) m = _mm256_max_ps(m, _mm256_blendv_ps(ninf, _mm256_mul_ps(_mm256_maskload_ps(x + nv, tm), sc), _mm256_castsi256_ps(tm)));
    const float mx = hmax(m);
    if (mx == -INFINITY) {
        for (int i = 0; i < n; i++) x[i] = 0.0f;
        return;
    }
    const __m256 mv = _mm256_set1_ps(mx);
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < nv; i += 8) {
        const __m256 e = exp8(_mm256_fmsub_ps(_mm256_loadu_ps(x + i), sc, mv));
        _mm256_storeu_ps(x + i, e);
        s = _mm256_add_ps(s, e);
    }
    if (rem) {
        const __m256 e = _mm256_and_ps(exp8(_mm256_fmsub_ps(_mm256_maskload_ps(x + nv, tm), sc, mv)), _mm256_castsi256_ps(tm));
        _mm256_maskstore_ps(x + nv, tm, e);
        s = _mm256_add_ps(s, e);
    }
    const __m256 is = _mm256_set1_ps(1.0f / hsum(s));
    for (int i = 0; i < nv; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), is));
    if (rem) _mm256_maskstore_ps(x + nv, tm, _mm256_mul_ps(_mm256_maskload_ps(x + nv, tm), is));
}

/* 0.5 x (1 + erf(x / sqrt 2)) = x - 0.5 x erfc(z) for x >= 0, 0.5 x erfc(z) for x < 0, z = |x|/sqrt 2;
 * erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2) (Numerical Recipes' Chebyshev fit). */
static inline __m256 gelu8(__m256 x) {
    const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(0.70710678118654752f));
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    const __m256 erfc = _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));
    const __m256 h = _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), erfc);
    const __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ);
    return _mm256_blendv_ps(h, _mm256_sub_ps(x, h), pos);
}

void est_gelu__avx2(float *y, const float *x, int n) {
    const int nv = n & ~7, rem = n - nv;
    for (int i = 0; i < nv; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i)));
    if (rem) {
        const __m256i tm = tail_mask(rem);
        _mm256_maskstore_ps(y + nv, tm, gelu8(_mm256_maskload_ps(x + nv, tm)));
    }
}

void est_add__avx2(float *y, const float *a, const float *b, int n) {
    const int nv = n & ~7, rem = n - nv;
    for (int i = 0; i < nv; i += 8) _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (rem) {
        const __m256i tm = tail_mask(rem);
        _mm256_maskstore_ps(y + nv, tm, _mm256_add_ps(_mm256_maskload_ps(a + nv, tm), _mm256_maskload_ps(b + nv, tm)));
    }
}

float est_dot__avx2(const float *a, const float *b, int n) {
    const int nv = n & ~7, rem = n - nv;
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < nv; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
    if (rem) {
        const __m256i tm = tail_mask(rem);
        s = _mm256_fmadd_ps(_mm256_maskload_ps(a + nv, tm), _mm256_maskload_ps(b + nv, tm), s);
    }
    return hsum(s);
}

void est_axpy__avx2(float *y, float a, const float *x, int n) {
    const int nv = n & ~7, rem = n - nv;
    const __m256 av = _mm256_set1_ps(a);
    for (int i = 0; i < nv; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (rem) {
        const __m256i tm = tail_mask(rem);
        _mm256_maskstore_ps(y + nv, tm, _mm256_fmadd_ps(av, _mm256_maskload_ps(x + nv, tm), _mm256_maskload_ps(y + nv, tm)));
    }
}
