/*
 * sgd.c - the SGD update for one rating and the Hogwild epoch that applies it from many
 * threads without locks. Rows are padded to a multiple of 16 floats with zeros that the
 * update keeps zero, so every loop runs over whole 16-float groups and vectorises with no
 * remainder. The loss is masked by construction: only observed ratings are ever visited.
 */
#include "internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* p . q over k floats (k a multiple of 16), 16 partial sums added in a fixed order so the
 * result is the same on every run. */
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
 * either row changes. k is the padded stride. */
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

void hogmf__hogwild_epoch(hogmf_model *model, hogmf_rating *samples, size_t nnz, int threads,
                          uint64_t seed, uint32_t epoch, float lr)
{
    float *P = model->P, *Q = model->Q, *bu = model->bu, *bi = model->bi;
    const uint32_t stride = model->stride;
    const float mu = model->mu;
    const float lb = model->params.lambda_b, lp = model->params.lambda_p,
                lq = model->params.lambda_q;
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) \
    shared(P, Q, bu, bi, samples, nnz, threads, seed, epoch, lr, stride, mu, lb, lp, lq)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        size_t lo = nnz * (size_t)t / (size_t)nt, hi = nnz * (size_t)(t + 1) / (size_t)nt;
        hogmf_rng g;
        hogmf__rng_seed(&g, seed, ((uint64_t)epoch << 20) | (uint64_t)t);
        /* Each thread reshuffles only its own chunk: no two threads touch the same sample. */
        for (size_t j = hi; j > lo + 1; j--) {
            size_t s = lo + (size_t)hogmf__rng_below(&g, j - lo);
            hogmf_rating tmp = samples[j - 1];
            samples[j - 1] = samples[s];
            samples[s] = tmp;
        }
        for (size_t j = lo; j < hi; j++) {
            const hogmf_rating x = samples[j];
            /* Hogwild: threads update shared rows of P, Q, bu, bi without locks. This race is
             * by design (Niu et al. 2011); it is the only one in hogmf. */
            hogmf__sgd_update(P + (size_t)x.u * stride, Q + (size_t)x.i * stride, bu + x.u,
                              bi + x.i, mu, x.r, stride, lr, lb, lp, lq);
        }
    }
}
