/*
 * eval.c - the evaluation pass: masked RMSE and MAE of clipped predictions over observed
 * ratings only, vectorised (16 or 8 ratings at a time) and in parallel over fixed chunks of
 * ratings whose sums are added in chunk order, so the result is the same bit for bit for
 * every thread count. It reads the ratings in the order given (the trainer's are in tile
 * order, so rows stay in cache) and never changes the model.
 */
#include "internal.h"
#include "simd.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

int hogmf__threads(int requested)
{
    if (requested > 0)
        return requested;
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

/* ---------------------------------------------------------------- the loops over ratings */

/* What a loop needs besides the ratings: the model's arrays, the runaway limit and a row of
 * zeros that stands in for an unknown user's or item's row (its dot product is +0, which
 * adds nothing, so a known bias alone is added exactly as hogmf_model_predict does). */
typedef struct eval_ctx {
    const float *P, *Q, *bu, *bi;
    const float *zero; /* stride zeros, 64-byte aligned */
    uint32_t m, n, stride;
    float mu, rmin, rmax;
    float limit; /* |raw - mu| beyond this counts as a runaway prediction */
} eval_ctx;

/* Squared and absolute errors of one chunk's clipped predictions and its count of non-finite
 * or runaway raw predictions. */
typedef struct eval_acc {
    double se, ae;
    size_t bad;
} eval_acc;

/* Sums over x[lo..hi) into *acc, from zero. */
typedef void (*eval_range_fn)(const eval_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                              eval_acc *acc);

static void eval_range_portable(const eval_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                                eval_acc *acc)
{
    double se = 0, ae = 0;
    size_t bad = 0;
    for (size_t j = lo; j < hi; j++) {
        const hogmf_rating s = x[j];
        const int ku = s.u < c->m, ki = s.i < c->n;
        float raw = c->mu;
        if (ku)
            raw += c->bu[s.u];
        if (ki)
            raw += c->bi[s.i];
        if (ku && ki)
            raw += hogmf__dot(c->P + (size_t)s.u * c->stride, c->Q + (size_t)s.i * c->stride,
                              c->stride);
        if (!(fabsf(raw - c->mu) <= c->limit)) /* NaN, infinite or runaway */
            bad++;
        float pred = raw < c->rmin ? c->rmin : raw > c->rmax ? c->rmax : raw;
        if (isnan(raw))
            pred = c->mu;
        double e = (double)s.r - (double)pred;
        se += e * e;
        ae += fabs(e);
    }
    acc->se = se;
    acc->ae = ae;
    acc->bad = bad;
}

#ifdef HOGMF_X86
/* The vector loops take the ratings W at a time (W = 16 for AVX-512, 8 for AVX2). Each
 * rating's product p.q is accumulated in 16 lanes as hogmf__dot_avx512/avx2 do, then the W
 * accumulators are added together by one transposing tree whose adds are those of the one-row
 * horizontal sum (16 lanes -> 8 -> 4 -> 2 -> 1), so each prediction is bit for bit the
 * one-row kernel's while the shuffles are shared by W rows. Biases, clipping, the runaway
 * count and the errors then run W wide; squared and absolute errors are summed in double
 * lanes. A short last group is padded with ratings equal to the clipped mean, predicted from
 * the zero row: their error is exactly 0 and they are not counted as runaway. */

/* From k = 64 on (rows of 4 cache lines and more) the rows of the ratings one group ahead are
 * prefetched: a tile's block of user rows then outgrows L2 (bench/epochs.sh's 10M set,
 * k = 128, one thread: 0.14-0.15 s per pass with it, 0.20 s without); at k = 32 the rows
 * are in L2 and the prefetches only cost instructions (no gain measured). */
#define EVAL_AHEAD 16
#define EVAL_PF_STRIDE 64

/* Prefetches the rows of rating x[ahead] when both are known. */
#define EVAL_PREFETCH(x, ahead)                                                                \
    do {                                                                                       \
        const hogmf_rating a_ = (x)[ahead];                                                    \
        if (a_.u < c->m && a_.i < c->n)                                                        \
            for (uint32_t d_ = 0; d_ < stride; d_ += 16) {                                     \
                __builtin_prefetch(c->P + (size_t)a_.u * stride + d_);                         \
                __builtin_prefetch(c->Q + (size_t)a_.i * stride + d_);                         \
            }                                                                                  \
    } while (0)

/* The rows, bias terms and rating of rating s of a group at x, s < len, or the padding. */
#define EVAL_FETCH(s)                                                                          \
    const float *p = c->zero, *q = c->zero;                                                    \
    float bu_s = 0.0f, bi_s = 0.0f, r_s = pad;                                                 \
    if ((s) < len) {                                                                           \
        const hogmf_rating a = x[(s)];                                                         \
        const int ku = a.u < c->m, ki = a.i < c->n;                                            \
        if (__builtin_expect(ku & ki, 1)) {                                                    \
            bu_s = c->bu[a.u];                                                                 \
            bi_s = c->bi[a.i];                                                                 \
            p = c->P + (size_t)a.u * stride;                                                   \
            q = c->Q + (size_t)a.i * stride;                                                   \
        } else {                                                                               \
            bu_s = ku ? c->bu[a.u] : 0.0f;                                                     \
            bi_s = ki ? c->bi[a.i] : 0.0f;                                                     \
        }                                                                                      \
        r_s = a.r;                                                                             \
    }

/* The rating of the padding: the clipped mean, as the vector min and max clip it. */
static inline float eval_pad(const eval_ctx *c)
{
    const float t = c->mu > c->rmin ? c->mu : c->rmin;
    return t < c->rmax ? t : c->rmax;
}

/* Slot of rating j (0..15) in the array eval_tree16 adds up: lane j of the result. */
#define EVAL_SLOT16(j) ((((j) & 3) << 2) | ((j) >> 2))

/* v[EVAL_SLOT16(j)] holds rating j's 16 lane sums; lane j of the result is their sum. */
__attribute__((target("avx512f"))) static inline __m512 eval_tree16(const __m512 *v)
{
    __m512 w[8], x[4];
    /* 16 -> 8: lanes d + (d + 8); w[j] = [v[2j] in 128-bit lanes 0-1 | v[2j+1] in 2-3] */
    for (int j = 0; j < 8; j++)
        w[j] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0xEE));
    /* 8 -> 4: lanes d + (d + 4); 128-bit lane L of x[j] belongs to v[4j + L] */
    for (int j = 0; j < 4; j++)
        x[j] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * j], w[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(w[2 * j], w[2 * j + 1], 0xDD));
    /* 4 -> 2 -> 1 inside each 128-bit lane: (d0 + d2) + (d1 + d3) */
    __m512 y0 = _mm512_add_ps(_mm512_shuffle_ps(x[0], x[1], 0x44),
                              _mm512_shuffle_ps(x[0], x[1], 0xEE));
    __m512 y1 = _mm512_add_ps(_mm512_shuffle_ps(x[2], x[3], 0x44),
                              _mm512_shuffle_ps(x[2], x[3], 0xEE));
    /* element 4L + p of the result is v[4p + L] */
    return _mm512_add_ps(_mm512_shuffle_ps(y0, y1, 0x88), _mm512_shuffle_ps(y0, y1, 0xDD));
}

/* The error sums of AVX-512 lanes. */
typedef struct eval_acc512 {
    __m512d se0, se1, ae0, ae1;
    size_t bad;
} eval_acc512;

/* The rest of a group of 16 once its products are in v (slots as eval_tree16 takes them), its
 * bias terms mu + bu + bi in b and its ratings in rv; only the first len count. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
eval_finish16(const eval_ctx *c, const __m512 *v, __m512 b, __m512 rv, size_t len,
              eval_acc512 *acc)
{
    const __m512 mu = _mm512_set1_ps(c->mu);
    /* raw = ((mu + bu) + bi) + p.q, as hogmf_model_predict adds them */
    const __m512 raw = _mm512_add_ps(b, eval_tree16(v));
    const __m512 dev = _mm512_abs_ps(_mm512_sub_ps(raw, mu));
    const unsigned runaway =
        (unsigned)(__mmask16)~_mm512_cmp_ps_mask(dev, _mm512_set1_ps(c->limit), _CMP_LE_OQ);
    acc->bad += (size_t)__builtin_popcount(runaway & ((1u << len) - 1));
    /* max gives rmin for NaN; NaN then predicts the mean */
    __m512 pred =
        _mm512_min_ps(_mm512_max_ps(raw, _mm512_set1_ps(c->rmin)), _mm512_set1_ps(c->rmax));
    pred = _mm512_mask_mov_ps(pred, _mm512_cmp_ps_mask(raw, raw, _CMP_UNORD_Q), mu);
    const __m512d e0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(rv)),
                                     _mm512_cvtps_pd(_mm512_castps512_ps256(pred)));
    const __m512d e1 = _mm512_sub_pd(
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(rv), 1))),
        _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(pred), 1))));
    acc->se0 = _mm512_fmadd_pd(e0, e0, acc->se0);
    acc->se1 = _mm512_fmadd_pd(e1, e1, acc->se1);
    acc->ae0 = _mm512_add_pd(acc->ae0, _mm512_abs_pd(e0));
    acc->ae1 = _mm512_add_pd(acc->ae1, _mm512_abs_pd(e1));
}

/* Any group x[0..len), len <= 16: unknown users or items and the padding of a short group
 * handled per rating. stride is a constant where the caller can make it one. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void
eval_batch16(const eval_ctx *c, const hogmf_rating *x, size_t len, uint32_t stride, float pad,
             eval_acc512 *acc)
{
    float bu[16] __attribute__((aligned(64))), bi[16] __attribute__((aligned(64))),
        r[16] __attribute__((aligned(64)));
    __m512 v[16];
#pragma GCC unroll 16
    for (size_t s = 0; s < 16; s++) {
        EVAL_FETCH(s)
        __m512 t = _mm512_mul_ps(_mm512_load_ps(p), _mm512_load_ps(q));
        for (uint32_t d = 16; d < stride; d += 16)
            t = _mm512_fmadd_ps(_mm512_load_ps(p + d), _mm512_load_ps(q + d), t);
        v[EVAL_SLOT16(s)] = t;
        bu[s] = bu_s;
        bi[s] = bi_s;
        r[s] = r_s;
    }
    const __m512 b = _mm512_add_ps(
        _mm512_add_ps(_mm512_set1_ps(c->mu), _mm512_load_ps(bu)), _mm512_load_ps(bi));
    eval_finish16(c, v, b, _mm512_load_ps(r), len, acc);
}

/* A whole group of 16 whose users and items are all known, the common case: the ratings'
 * fields are read as vectors (dwords 3j, 3j + 1, 3j + 2 of 48), checked at once, and the
 * loop per rating only loads its rows and biases. Returns 0, doing nothing, when one of them
 * is unknown. */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) int
eval_known16(const eval_ctx *c, const hogmf_rating *x, uint32_t stride, int ahead,
             eval_acc512 *acc)
{
    const __m512i j3 = _mm512_set_epi32(45, 42, 39, 36, 33, 30, 27, 24, 21, 18, 15, 12, 9, 6, 3, 0);
    const __m512i k1 = _mm512_set1_epi32(1), k2 = _mm512_set1_epi32(2),
                  k32 = _mm512_set1_epi32(32);
    const __m512i A = _mm512_loadu_si512((const void *)x),
                  B = _mm512_loadu_si512((const void *)((const uint32_t *)x + 16)),
                  C = _mm512_loadu_si512((const void *)((const uint32_t *)x + 32));
    const __m512i ju = j3, ji = _mm512_add_epi32(j3, k1), jr = _mm512_add_epi32(j3, k2);
    const __m512i U = _mm512_mask_permutexvar_epi32(_mm512_permutex2var_epi32(A, ju, B), 0xF800,
                                                    _mm512_sub_epi32(ju, k32), C);
    const __m512i I = _mm512_mask_permutexvar_epi32(_mm512_permutex2var_epi32(A, ji, B), 0xF800,
                                                    _mm512_sub_epi32(ji, k32), C);
    const __m512i R = _mm512_mask_permutexvar_epi32(_mm512_permutex2var_epi32(A, jr, B), 0xFC00,
                                                    _mm512_sub_epi32(jr, k32), C);
    const __mmask16 known = _mm512_cmplt_epu32_mask(U, _mm512_set1_epi32((int)c->m)) &
                            _mm512_cmplt_epu32_mask(I, _mm512_set1_epi32((int)c->n));
    if (known != 0xFFFF)
        return 0;
    const float *const P = c->P, *const Q = c->Q, *const bu = c->bu, *const bi = c->bi;
    const float mu = c->mu;
    float b[16] __attribute__((aligned(64)));
    __m512 v[16];
#pragma GCC unroll 16
    for (size_t s = 0; s < 16; s++) {
        if (ahead)
            EVAL_PREFETCH(x, s + EVAL_AHEAD);
        const uint32_t u = x[s].u, i = x[s].i;
        const float *p = P + (size_t)u * stride, *q = Q + (size_t)i * stride;
        b[s] = (mu + bu[u]) + bi[i];
        __m512 t = _mm512_mul_ps(_mm512_load_ps(p), _mm512_load_ps(q));
        for (uint32_t d = 16; d < stride; d += 16)
            t = _mm512_fmadd_ps(_mm512_load_ps(p + d), _mm512_load_ps(q + d), t);
        v[EVAL_SLOT16(s)] = t;
    }
    eval_finish16(c, v, _mm512_load_ps(b), _mm512_castsi512_ps(R), 16, acc);
    return 1;
}

/* Whole groups of 16 with a constant stride S, then the short last group. */
#define EVAL_LOOP16(S)                                                                         \
    for (; j + 16 <= hi; j += 16)                                                              \
        if (!eval_known16(c, x + j, (S), (S) >= EVAL_PF_STRIDE && j + 16 + EVAL_AHEAD <= hi, &a)) \
            eval_batch16(c, x + j, 16, (S), pad, &a);                                          \
    if (j < hi)                                                                                \
        eval_batch16(c, x + j, hi - j, (S), pad, &a);

__attribute__((target("avx512f"))) static void eval_range_avx512(const eval_ctx *c,
                                                                 const hogmf_rating *x,
                                                                 size_t lo, size_t hi,
                                                                 eval_acc *acc)
{
    const float pad = eval_pad(c);
    eval_acc512 a = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(),
                     _mm512_setzero_pd(), 0};
    size_t j = lo;
    switch (c->stride) {
    case 16: EVAL_LOOP16(16) break;
    case 32: EVAL_LOOP16(32) break;
    case 48: EVAL_LOOP16(48) break;
    case 64: EVAL_LOOP16(64) break;
    default: EVAL_LOOP16(c->stride) break;
    }
    acc->se = _mm512_reduce_add_pd(_mm512_add_pd(a.se0, a.se1));
    acc->ae = _mm512_reduce_add_pd(_mm512_add_pd(a.ae0, a.ae1));
    acc->bad = a.bad;
}

/* Slot of rating j (0..7) in the array eval_tree8 adds up: lane j of the result. */
#define EVAL_SLOT8(j) ((((j) & 3) << 1) | ((j) >> 2))

/* v[EVAL_SLOT8(j)] holds rating j's 8 lane sums (lanes d and d + 8 of its 16 already added,
 * as hogmf__dot_avx2 does); lane j of the result is their sum, in hogmf__hsum8's order. */
__attribute__((target("avx2,fma"))) static inline __m256 eval_tree8(const __m256 *v)
{
    __m256 w[4];
    /* 8 -> 4: lanes d + (d + 4); w[j] = [v[2j] | v[2j+1]] */
    for (int j = 0; j < 4; j++)
        w[j] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * j], v[2 * j + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * j], v[2 * j + 1], 0x31));
    /* 4 -> 2 -> 1 inside each 128-bit lane: (d0 + d2) + (d1 + d3) */
    __m256 y0 = _mm256_add_ps(_mm256_shuffle_ps(w[0], w[1], 0x44),
                              _mm256_shuffle_ps(w[0], w[1], 0xEE));
    __m256 y1 = _mm256_add_ps(_mm256_shuffle_ps(w[2], w[3], 0x44),
                              _mm256_shuffle_ps(w[2], w[3], 0xEE));
    /* element 4L + p of the result is v[2p + L] */
    return _mm256_add_ps(_mm256_shuffle_ps(y0, y1, 0x88), _mm256_shuffle_ps(y0, y1, 0xDD));
}

typedef struct eval_acc256 {
    __m256d se0, se1, ae0, ae1;
    size_t bad;
} eval_acc256;

__attribute__((target("avx2,fma"))) static inline __attribute__((always_inline)) void
eval_batch8(const eval_ctx *c, const hogmf_rating *x, size_t len, uint32_t stride, float pad,
            int ahead, eval_acc256 *acc)
{
    float bu[8] __attribute__((aligned(32))), bi[8] __attribute__((aligned(32))),
        r[8] __attribute__((aligned(32)));
    __m256 v[8];
#pragma GCC unroll 8
    for (size_t s = 0; s < 8; s++) {
        if (ahead)
            EVAL_PREFETCH(x, s + EVAL_AHEAD);
        EVAL_FETCH(s)
        __m256 lo = _mm256_mul_ps(_mm256_load_ps(p), _mm256_load_ps(q));
        __m256 hi = _mm256_mul_ps(_mm256_load_ps(p + 8), _mm256_load_ps(q + 8));
        for (uint32_t d = 16; d < stride; d += 16) {
            lo = _mm256_fmadd_ps(_mm256_load_ps(p + d), _mm256_load_ps(q + d), lo);
            hi = _mm256_fmadd_ps(_mm256_load_ps(p + d + 8), _mm256_load_ps(q + d + 8), hi);
        }
        v[EVAL_SLOT8(s)] = _mm256_add_ps(lo, hi);
        bu[s] = bu_s;
        bi[s] = bi_s;
        r[s] = r_s;
    }
    const __m256 mu = _mm256_set1_ps(c->mu);
    const __m256 raw = _mm256_add_ps(
        _mm256_add_ps(_mm256_add_ps(mu, _mm256_load_ps(bu)), _mm256_load_ps(bi)),
        eval_tree8(v));
    const __m256 dev = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(raw, mu));
    const unsigned runaway = (unsigned)_mm256_movemask_ps(
        _mm256_cmp_ps(dev, _mm256_set1_ps(c->limit), _CMP_NLE_UQ));
    acc->bad += (size_t)__builtin_popcount(runaway & ((1u << len) - 1));
    __m256 pred =
        _mm256_min_ps(_mm256_max_ps(raw, _mm256_set1_ps(c->rmin)), _mm256_set1_ps(c->rmax));
    pred = _mm256_blendv_ps(pred, mu, _mm256_cmp_ps(raw, raw, _CMP_UNORD_Q));
    const __m256 rv = _mm256_load_ps(r);
    const __m256d e0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(rv)),
                                     _mm256_cvtps_pd(_mm256_castps256_ps128(pred)));
    const __m256d e1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(rv, 1)),
                                     _mm256_cvtps_pd(_mm256_extractf128_ps(pred, 1)));
    const __m256d sign = _mm256_set1_pd(-0.0);
    acc->se0 = _mm256_fmadd_pd(e0, e0, acc->se0);
    acc->se1 = _mm256_fmadd_pd(e1, e1, acc->se1);
    acc->ae0 = _mm256_add_pd(acc->ae0, _mm256_andnot_pd(sign, e0));
    acc->ae1 = _mm256_add_pd(acc->ae1, _mm256_andnot_pd(sign, e1));
}

#define EVAL_LOOP8(S)                                                                          \
    for (; j + 8 <= hi; j += 8)                                                                \
        eval_batch8(c, x + j, 8, (S), pad, (S) >= EVAL_PF_STRIDE && j + 8 + EVAL_AHEAD <= hi,   \
                    &a);                                                                       \
    if (j < hi)                                                                                \
        eval_batch8(c, x + j, hi - j, (S), pad, 0, &a);

__attribute__((target("avx2,fma"))) static void eval_range_avx2(const eval_ctx *c,
                                                                const hogmf_rating *x, size_t lo,
                                                                size_t hi, eval_acc *acc)
{
    const float pad = eval_pad(c);
    eval_acc256 a = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                     _mm256_setzero_pd(), 0};
    size_t j = lo;
    switch (c->stride) {
    case 16: EVAL_LOOP8(16) break;
    case 32: EVAL_LOOP8(32) break;
    default: EVAL_LOOP8(c->stride) break;
    }
    double s[4], e[4];
    _mm256_storeu_pd(s, _mm256_add_pd(a.se0, a.se1));
    _mm256_storeu_pd(e, _mm256_add_pd(a.ae0, a.ae1));
    acc->se = (s[0] + s[2]) + (s[1] + s[3]);
    acc->ae = (e[0] + e[2]) + (e[1] + e[3]);
    acc->bad = a.bad;
}
#endif

static eval_range_fn eval_select(void)
{
#ifdef HOGMF_X86
    const hogmf_isa isa = hogmf__isa(); /* the plain step's, HOGMF_ISA included */
    if (isa == HOGMF_ISA_AVX512)
        return eval_range_avx512;
    if (isa == HOGMF_ISA_AVX2)
        return eval_range_avx2;
#endif
    return eval_range_portable;
}

/* ---------------------------------------------------------------- the pass */

/* Ratings per chunk: each chunk's sums start from zero and the chunks' sums are added in
 * chunk order, so the sums do not depend on the thread count. About a tile's worth (a few
 * thousand ratings), so that a thread walks the tile order, and a multiple of 16, so that
 * only the last chunk ends in a short vector group. */
#define EVAL_CHUNK 4096

/* Stands in for the row of an unknown user or item: stride zeros for any k the model allows
 * (65536). Never written; it sits in .bss, so its pages are the kernel's zero page. */
static float eval_zeros[65536] __attribute__((aligned(64)));

void hogmf__eval_sums(const hogmf_model *model, const hogmf_rating *samples, size_t nnz,
                      int threads, double *sse, double *sae, size_t *nonfinite)
{
    const eval_ctx c = {model->P, model->Q, model->bu, model->bi, eval_zeros, model->m,
                        model->n, model->stride, model->mu, model->rmin, model->rmax,
                        /* an unclipped prediction this far from the mean means the factors
                         * have blown up */
                        1e4f * (model->rmax - model->rmin + 1.0f)};
    const eval_range_fn fn = model->stride <= sizeof eval_zeros / sizeof eval_zeros[0]
                                 ? eval_select()
                                 : eval_range_portable;
    const size_t chunks = (nnz + EVAL_CHUNK - 1) / EVAL_CHUNK;
    eval_acc *part = threads > 1 && chunks > 1 ? malloc(chunks * sizeof *part) : NULL;
    double s = 0, a = 0;
    size_t b = 0;
    if (part) {
        const int nt = (size_t)threads < chunks ? threads : (int)chunks;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4) default(none) \
    shared(c, fn, samples, nnz, chunks, part)
        for (size_t j = 0; j < chunks; j++) {
            size_t lo = j * EVAL_CHUNK, hi = lo + EVAL_CHUNK < nnz ? lo + EVAL_CHUNK : nnz;
            fn(&c, samples, lo, hi, &part[j]);
        }
        (void)nt; /* unused without OpenMP */
    }
    /* The chunks' sums in chunk order: with one thread (or no memory for the parts) each
     * chunk's as soon as it is done, the same additions in the same order. */
    for (size_t j = 0; j < chunks; j++) {
        eval_acc one;
        if (!part) {
            size_t lo = j * EVAL_CHUNK, hi = lo + EVAL_CHUNK < nnz ? lo + EVAL_CHUNK : nnz;
            fn(&c, samples, lo, hi, &one);
        }
        const eval_acc *q = part ? &part[j] : &one;
        s += q->se;
        a += q->ae;
        b += q->bad;
    }
    free(part);
    *sse = s;
    *sae = a;
    *nonfinite = b;
}

hogmf_rating *hogmf__remap(const hogmf_model *model, const hogmf_ratings *set, size_t *unknown)
{
    uint32_t *umap = malloc(((size_t)set->m + 1) * sizeof *umap);
    uint32_t *imap = malloc(((size_t)set->n + 1) * sizeof *imap);
    hogmf_rating *out = malloc((set->nnz ? set->nnz : 1) * sizeof *out);
    if (!umap || !imap || !out) {
        free(umap);
        free(imap);
        free(out);
        return NULL;
    }
    for (uint32_t u = 0; u < set->m; u++)
        umap[u] = hogmf_model_set_user_index(model, set, u);
    for (uint32_t i = 0; i < set->n; i++)
        imap[i] = hogmf_model_set_item_index(model, set, i);
    size_t unk = 0;
    for (size_t j = 0; j < set->nnz; j++) {
        out[j].u = umap[set->data[j].u];
        out[j].i = imap[set->data[j].i];
        out[j].r = set->data[j].r;
        unk += out[j].u == HOGMF_UNKNOWN || out[j].i == HOGMF_UNKNOWN;
    }
    free(umap);
    free(imap);
    if (unknown)
        *unknown = unk;
    return out;
}

hogmf_status hogmf_evaluate(const hogmf_model *model, const hogmf_ratings *set, int threads,
                            double *rmse, double *mae, size_t *unknown, hogmf_error *err)
{
    if (set->nnz == 0)
        return hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "evaluate: no ratings");
    hogmf_rating *x = hogmf__remap(model, set, unknown);
    if (!x)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "evaluate: out of memory");
    double sse, sae;
    size_t nonfinite;
    hogmf__eval_sums(model, x, set->nnz, hogmf__threads(threads), &sse, &sae, &nonfinite);
    free(x);
    if (rmse)
        *rmse = sqrt(sse / (double)set->nnz);
    if (mae)
        *mae = sae / (double)set->nnz;
    return HOGMF_OK;
}
