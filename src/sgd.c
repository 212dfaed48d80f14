/*
 * sgd.c - the SGD update for one rating and the loops that apply it to a run of ratings:
 * a portable C loop, AVX2/FMA and AVX-512 versions chosen at run time (cpuid), an AVX2 loop
 * for AdaGrad, and a general loop for L1, non-negativity and AdaGrad without AVX2 (the
 * reference for the AdaGrad loop). Rows are padded to a multiple
 * of 16 floats with zeros that the update keeps zero, so every vector loop runs over whole
 * 16-float groups with no remainder, and the dot product and both row updates are fused in
 * one pass over p_u and q_i. The order of ratings and threads is decided in schedule.c.
 */
#include "internal.h"
#include "simd.h"

#include <stdlib.h>
#include <string.h>

/* p . q over k floats (k a multiple of 16), 16 partial sums added in a fixed order so the
 * result is the same on every run. Compiled for AVX-512, AVX2 and baseline x86-64 and chosen
 * when the program loads (the evaluation pass and predict spend their time here). */
#if defined(HOGMF_X86) && !defined(__SANITIZE_THREAD__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2,fma", "default")))
#endif
float hogmf__dot(const float *restrict p, const float *restrict q, uint32_t k)
{
    float acc[16] = {0};
    for (uint32_t d = 0; d < k; d += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += p[d + j] * q[d + j];
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0];
}

/* The step for L = 1/2 e^2 + 1/2 (lb bu^2 + lb bi^2 + lp |p|^2 + lq |q|^2), e = r - r_hat:
 *   bu += lr (e - lb bu),  bi += lr (e - lb bi),
 *   p  += lr (e q - lp p), q += lr (e p - lq q)   with both right-hand sides taken before
 * either row changes. k is the padded stride. This is the reference the vector loops follow. */
float hogmf__sgd_update(float *restrict p, float *restrict q, float *restrict bu,
                        float *restrict bi, float mu, float r, uint32_t k, float lr,
                        float lambda_b, float lambda_p, float lambda_q)
{
    float e = r - (mu + *bu + *bi + hogmf__dot(p, q, k));
    *bu += lr * (e - lambda_b * *bu);
    *bi += lr * (e - lambda_b * *bi);
    float le = lr * e, dp = 1.0f - lr * lambda_p, dq = 1.0f - lr * lambda_q;
    for (uint32_t d = 0; d < k; d++) {
        float pu = p[d], qi = q[d];
        p[d] = dp * pu + le * qi;
        q[d] = dq * qi + le * pu;
    }
    return e;
}

/* Factors that shrink towards zero (regularisation, L1, small rates) otherwise pass through
 * subnormal floats, which cost x86 cores a hundred cycles per operation; values that small
 * carry no information for the model. Sets flush-to-zero and denormals-are-zero in every
 * thread of the team (the setting is per thread and sticks to libgomp's pool). */
void hogmf__flush_denormals(int threads)
{
#ifdef HOGMF_X86
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none)
    _mm_setcsr(_mm_getcsr() | 0x8040u);
#else
    (void)threads;
#endif
}

/* ---------------------------------------------------------------- loops over ratings */

/* Each loop visits x[start..hi) and then x[lo..start). The Hogwild race (threads updating
 * shared rows of P, Q, bu, bi without locks) happens inside these loops, by design (Niu et
 * al. 2011); the blocks schedule calls them on disjoint rows and so never races. */

#define FOR_ROTATED(j, lo, hi, start)                                                            \
    for (size_t j##_n = 0, j = (start); j##_n < (hi) - (lo);                                     \
         j##_n++, j = (j + 1 == (hi) ? (lo) : j + 1))

static void range_portable(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                           size_t start)
{
    const uint32_t k = c->stride;
    FOR_ROTATED(j, lo, hi, start)
    {
        const hogmf_rating s = x[j];
        hogmf__sgd_update(c->P + (size_t)s.u * k, c->Q + (size_t)s.i * k, c->bu + s.u,
                          c->bi + s.i, c->mu, s.r, k, c->lr, c->lambda_b, c->lambda_p,
                          c->lambda_q);
    }
}

/* The general step: per-row adaptive rates (AdaGrad with one accumulator per row, as LIBMF
 * does), L1 by soft thresholding after the L2 step, and projection onto p, q >= 0. Written
 * without branches in the loops over k so that each compiled copy vectorises. */
#if defined(HOGMF_X86) && !defined(__SANITIZE_THREAD__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2,fma", "default")))
#endif
static void range_general(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                          size_t start)
{
    const uint32_t k = c->stride;
    const float lr = c->lr, lb = c->lambda_b, lp = c->lambda_p, lq = c->lambda_q;
    const float inv_k = 1.0f / (float)(c->k ? c->k : k);
    const float floor_pq = c->nonneg ? 0.0f : -INFINITY;
    FOR_ROTATED(j, lo, hi, start)
    {
        const hogmf_rating s = x[j];
        float *restrict p = c->P + (size_t)s.u * k, *restrict q = c->Q + (size_t)s.i * k;
        float acc[16] = {0};
        for (uint32_t d = 0; d < k; d += 16)
            for (int t = 0; t < 16; t++)
                acc[t] += p[d + t] * q[d + t];
        float dot = 0;
        for (int t = 0; t < 16; t++)
            dot += acc[t];
        float e = s.r - (c->mu + c->bu[s.u] + c->bi[s.i] + dot);
        float gbu = -e + lb * c->bu[s.u], gbi = -e + lb * c->bi[s.i];
        float eta_p = lr, eta_q = lr, eta_bu = lr, eta_bi = lr;
        if (c->gp) {
            /* rate = lr / sqrt(accumulated mean squared gradient of the row) */
            float sp[16] = {0}, sq[16] = {0};
            for (uint32_t d = 0; d < k; d += 16)
                for (int t = 0; t < 16; t++) {
                    float gp = -e * q[d + t] + lp * p[d + t], gq = -e * p[d + t] + lq * q[d + t];
                    sp[t] += gp * gp;
                    sq[t] += gq * gq;
                }
            float spp = 0, sqq = 0;
            for (int t = 0; t < 16; t++) {
                spp += sp[t];
                sqq += sq[t];
            }
            eta_p = lr / sqrtf(c->gp[s.u]);
            eta_q = lr / sqrtf(c->gq[s.i]);
            eta_bu = lr / sqrtf(c->gbu[s.u]);
            eta_bi = lr / sqrtf(c->gbi[s.i]);
            c->gp[s.u] += spp * inv_k;
            c->gq[s.i] += sqq * inv_k;
            c->gbu[s.u] += gbu * gbu;
            c->gbi[s.i] += gbi * gbi;
        }
        c->bu[s.u] -= eta_bu * gbu;
        c->bi[s.i] -= eta_bi * gbi;
        const float tp = eta_p * c->l1_p, tq = eta_q * c->l1_q;
        for (uint32_t d = 0; d < k; d++) {
            float pu = p[d], qi = q[d];
            float np = pu - eta_p * (-e * qi + lp * pu);
            float nq = qi - eta_q * (-e * pu + lq * qi);
            /* soft threshold (a no-op for tp = 0), then the optional floor at zero; plain
             * comparisons rather than fmaxf, which is a library call without -ffast-math */
            float mp = fabsf(np) - tp, mq = fabsf(nq) - tq;
            np = copysignf(mp > 0.0f ? mp : 0.0f, np);
            nq = copysignf(mq > 0.0f ? mq : 0.0f, nq);
            p[d] = np > floor_pq ? np : floor_pq;
            q[d] = nq > floor_pq ? nq : floor_pq;
        }
    }
}

#ifdef HOGMF_X86

/* Prefetch the rows of a rating a few ahead: the rows are random accesses into P and Q,
 * and a row of k = 128 floats spans eight cache lines. */
#define PREFETCH_AHEAD 4

/* The rating PREFETCH_AHEAD after j in the rotated visit of x[lo..hi) (hi > lo). */
static inline size_t ahead(size_t j, size_t lo, size_t hi)
{
    return j + PREFETCH_AHEAD < hi ? j + PREFETCH_AHEAD
                                   : lo + (j + PREFETCH_AHEAD - hi) % (hi - lo);
}

static inline void prefetch_rows(const float *p, const float *q, uint32_t k)
{
    for (uint32_t d = 0; d < k; d += 16) {
        _mm_prefetch((const char *)(p + d), _MM_HINT_T0);
        _mm_prefetch((const char *)(q + d), _MM_HINT_T0);
    }
}

__attribute__((target("avx2,fma"))) static void
range_avx2(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi, size_t start)
{
    const uint32_t k = c->stride;
    const float lr = c->lr, lb = c->lambda_b, mu = c->mu;
    const __m256 vdp = _mm256_set1_ps(1.0f - lr * c->lambda_p);
    const __m256 vdq = _mm256_set1_ps(1.0f - lr * c->lambda_q);
    float *const P = c->P, *const Q = c->Q, *const bu = c->bu, *const bi = c->bi;
    const size_t len = hi - lo;
    size_t j = start;
    for (size_t n = 0; n < len; n++) {
        const size_t ja = ahead(j, lo, hi);
        prefetch_rows(P + (size_t)x[ja].u * k, Q + (size_t)x[ja].i * k, k);
        const hogmf_rating s = x[j];
        float *restrict p = P + (size_t)s.u * k, *restrict q = Q + (size_t)s.i * k;
        const float e = s.r - (mu + bu[s.u] + bi[s.i] + hogmf__dot_avx2(p, q, k));
        bu[s.u] += lr * (e - lb * bu[s.u]);
        bi[s.i] += lr * (e - lb * bi[s.i]);
        const __m256 vle = _mm256_set1_ps(lr * e);
        for (uint32_t d = 0; d < k; d += 8) {
            __m256 vp = _mm256_load_ps(p + d), vq = _mm256_load_ps(q + d);
            _mm256_store_ps(p + d, _mm256_fmadd_ps(vle, vq, _mm256_mul_ps(vdp, vp)));
            _mm256_store_ps(q + d, _mm256_fmadd_ps(vle, vp, _mm256_mul_ps(vdq, vq)));
        }
        j = j + 1 == hi ? lo : j + 1;
    }
}

__attribute__((target("avx512f,fma"))) static void
range_avx512(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi, size_t start)
{
    const uint32_t k = c->stride;
    const float lr = c->lr, lb = c->lambda_b, mu = c->mu;
    const __m512 vdp = _mm512_set1_ps(1.0f - lr * c->lambda_p);
    const __m512 vdq = _mm512_set1_ps(1.0f - lr * c->lambda_q);
    float *const P = c->P, *const Q = c->Q, *const bu = c->bu, *const bi = c->bi;
    const size_t len = hi - lo;
    size_t j = start;
    for (size_t n = 0; n < len; n++) {
        const size_t ja = ahead(j, lo, hi);
        prefetch_rows(P + (size_t)x[ja].u * k, Q + (size_t)x[ja].i * k, k);
        const hogmf_rating s = x[j];
        float *restrict p = P + (size_t)s.u * k, *restrict q = Q + (size_t)s.i * k;
        __m512 a0 = _mm512_mul_ps(_mm512_load_ps(p), _mm512_load_ps(q));
        __m512 a1 = _mm512_setzero_ps();
        uint32_t d = 16;
        for (; d + 16 < k; d += 32) {
            a1 = _mm512_fmadd_ps(_mm512_load_ps(p + d), _mm512_load_ps(q + d), a1);
            a0 = _mm512_fmadd_ps(_mm512_load_ps(p + d + 16), _mm512_load_ps(q + d + 16), a0);
        }
        if (d < k)
            a1 = _mm512_fmadd_ps(_mm512_load_ps(p + d), _mm512_load_ps(q + d), a1);
        const float dot = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        const float e = s.r - (mu + bu[s.u] + bi[s.i] + dot);
        bu[s.u] += lr * (e - lb * bu[s.u]);
        bi[s.i] += lr * (e - lb * bi[s.i]);
        const __m512 vle = _mm512_set1_ps(lr * e);
        for (uint32_t t = 0; t < k; t += 16) {
            __m512 vp = _mm512_load_ps(p + t), vq = _mm512_load_ps(q + t);
            _mm512_store_ps(p + t, _mm512_fmadd_ps(vle, vq, _mm512_mul_ps(vdp, vp)));
            _mm512_store_ps(q + t, _mm512_fmadd_ps(vle, vp, _mm512_mul_ps(vdq, vq)));
        }
        j = j + 1 == hi ? lo : j + 1;
    }
}

/* AdaGrad without L1 or non-negativity, the common case of the adaptive rate: range_general's
 * arithmetic, with the gradient, its squared sums and both row updates fused in one pass after
 * the dot product (the rates come from the accumulators before this step, so nothing waits
 * for the sums), the four rates from one vector square root and division, and the rows of
 * the rating PREFETCH_AHEAD on prefetched. AVX2 only: an AVX-512 copy of it ran 15% slower on
 * the reference machine (10M bench set, one thread: 56 against 67 Mupd/s at k=32, 22.6
 * against 26.1 at k=128), against 17.5 and 6.2 for the general loop. */
/* rate[0..3] = lr / sqrt of the accumulators of p_u, q_i, b_u and b_i, in one vector. */
__attribute__((target("avx2,fma"))) static inline void
adagrad_rates(const hogmf_sgd_ctx *c, hogmf_rating s, float lr, float rate[4])
{
    const __m128 acc = _mm_set_ps(c->gbi[s.i], c->gbu[s.u], c->gq[s.i], c->gp[s.u]);
    _mm_storeu_ps(rate, _mm_div_ps(_mm_set1_ps(lr), _mm_sqrt_ps(acc)));
}

__attribute__((target("avx2,fma"))) static void
range_adagrad_avx2(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                   size_t start)
{
    const uint32_t k = c->stride;
    const float lr = c->lr, lb = c->lambda_b, mu = c->mu;
    const float inv_k = 1.0f / (float)(c->k ? c->k : k);
    const __m256 vlp = _mm256_set1_ps(c->lambda_p), vlq = _mm256_set1_ps(c->lambda_q);
    float *const P = c->P, *const Q = c->Q, *const bu = c->bu, *const bi = c->bi;
    const size_t len = hi - lo;
    size_t j = start;
    for (size_t n = 0; n < len; n++) {
        const size_t ja = ahead(j, lo, hi);
        prefetch_rows(P + (size_t)x[ja].u * k, Q + (size_t)x[ja].i * k, k);
        const hogmf_rating s = x[j];
        float *restrict p = P + (size_t)s.u * k, *restrict q = Q + (size_t)s.i * k;
        const float e = s.r - (mu + bu[s.u] + bi[s.i] + hogmf__dot_avx2(p, q, k));
        const float gbu = -e + lb * bu[s.u], gbi = -e + lb * bi[s.i];
        float eta[4]; /* p, q, b_u, b_i */
        adagrad_rates(c, s, lr, eta);
        const __m256 vne = _mm256_set1_ps(-e);
        const __m256 vep = _mm256_set1_ps(eta[0]), veq = _mm256_set1_ps(eta[1]);
        __m256 sp = _mm256_setzero_ps(), sq = _mm256_setzero_ps();
        for (uint32_t t = 0; t < k; t += 8) {
            const __m256 vp = _mm256_load_ps(p + t), vq = _mm256_load_ps(q + t);
            const __m256 gp = _mm256_fmadd_ps(vne, vq, _mm256_mul_ps(vlp, vp));
            const __m256 gq = _mm256_fmadd_ps(vne, vp, _mm256_mul_ps(vlq, vq));
            sp = _mm256_fmadd_ps(gp, gp, sp);
            sq = _mm256_fmadd_ps(gq, gq, sq);
            _mm256_store_ps(p + t, _mm256_fnmadd_ps(vep, gp, vp));
            _mm256_store_ps(q + t, _mm256_fnmadd_ps(veq, gq, vq));
        }
        c->gp[s.u] += hogmf__hsum8(sp) * inv_k;
        c->gq[s.i] += hogmf__hsum8(sq) * inv_k;
        c->gbu[s.u] += gbu * gbu;
        c->gbi[s.i] += gbi * gbi;
        bu[s.u] -= eta[2] * gbu;
        bi[s.i] -= eta[3] * gbi;
        j = j + 1 == hi ? lo : j + 1;
    }
}
#endif

hogmf_isa hogmf__isa(void)
{
    static hogmf_isa cached = (hogmf_isa)-1;
    if ((int)cached >= 0)
        return cached;
    hogmf_isa isa = HOGMF_ISA_PORTABLE;
#ifdef HOGMF_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        isa = HOGMF_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f"))
        isa = HOGMF_ISA_AVX512;
#endif
    const char *env = getenv("HOGMF_ISA");
    if (env && !strcmp(env, "portable"))
        isa = HOGMF_ISA_PORTABLE;
    else if (env && !strcmp(env, "avx2") && isa >= HOGMF_ISA_AVX2)
        isa = HOGMF_ISA_AVX2;
    cached = isa;
    return isa;
}

const char *hogmf__isa_name(hogmf_isa isa)
{
    switch (isa) {
    case HOGMF_ISA_AVX2: return "avx2";
    case HOGMF_ISA_AVX512: return "avx512";
    default: return "portable";
    }
}

hogmf_sgd_range_fn hogmf__sgd_select(const hogmf_sgd_ctx *c, hogmf_isa *isa_out)
{
    hogmf_isa isa = hogmf__isa();
    if (c->l1_p > 0 || c->l1_q > 0 || c->nonneg || (c->gp && isa == HOGMF_ISA_PORTABLE)) {
        if (isa_out)
            *isa_out = HOGMF_ISA_PORTABLE;
        return range_general;
    }
    if (isa_out) /* AdaGrad here means AVX2 or better: its AVX2 loop */
        *isa_out = c->gp ? HOGMF_ISA_AVX2 : isa;
#ifdef HOGMF_X86
    if (c->gp)
        return range_adagrad_avx2;
    if (isa == HOGMF_ISA_AVX512)
        return range_avx512;
    if (isa == HOGMF_ISA_AVX2)
        return range_avx2;
#endif
    return range_portable;
}

const char *hogmf_kernel_name(void)
{
    return hogmf__isa_name(hogmf__isa());
}
