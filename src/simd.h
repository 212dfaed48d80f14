/*
 * simd.h - small SIMD helpers shared by the SGD loops (sgd.c) and the evaluation loop
 * (eval.c): horizontal sums and dot products of padded rows (k a multiple of 16) for AVX2
 * and AVX-512, inlined into the loops that are compiled for those instruction sets. The sums
 * follow hogmf__dot's order (16 lane sums, then halves added: 8, 4, 2, 1), so a prediction is
 * the same whichever of them computed it. Private to the library; x86-64 with GCC or clang
 * only (HOGMF_X86).
 */
#ifndef HOGMF_SIMD_H
#define HOGMF_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

#define HOGMF_X86 1

/* a[0] + ... + a[7] as ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)). */
__attribute__((target("avx2,fma"))) static inline float hogmf__hsum8(__m256 a)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* p . q with lanes 0-7 and 8-15 of each 16-float group in two accumulators. */
__attribute__((target("avx2,fma"))) static inline float hogmf__dot_avx2(const float *p,
                                                                        const float *q, uint32_t k)
{
    __m256 lo = _mm256_mul_ps(_mm256_load_ps(p), _mm256_load_ps(q));
    __m256 hi = _mm256_mul_ps(_mm256_load_ps(p + 8), _mm256_load_ps(q + 8));
    for (uint32_t d = 16; d < k; d += 16) {
        lo = _mm256_fmadd_ps(_mm256_load_ps(p + d), _mm256_load_ps(q + d), lo);
        hi = _mm256_fmadd_ps(_mm256_load_ps(p + d + 8), _mm256_load_ps(q + d + 8), hi);
    }
    return hogmf__hsum8(_mm256_add_ps(lo, hi));
}

/* p . q in one 16-float accumulator, then its halves added down to one float. */
__attribute__((target("avx512f"))) static inline float hogmf__dot_avx512(const float *p,
                                                                         const float *q,
                                                                         uint32_t k)
{
    __m512 a = _mm512_mul_ps(_mm512_load_ps(p), _mm512_load_ps(q));
    for (uint32_t d = 16; d < k; d += 16)
        a = _mm512_fmadd_ps(_mm512_load_ps(p + d), _mm512_load_ps(q + d), a);
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 f = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    f = _mm_add_ps(f, _mm_movehl_ps(f, f));
    f = _mm_add_ss(f, _mm_movehdup_ps(f));
    return _mm_cvtss_f32(f);
}
#endif

#endif
