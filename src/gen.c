/*
 * gen.c - synthetic MovieLens-like ratings for demos, tests and benchmarks at scale:
 * power-law user activity and item popularity, user and item biases, a planted rank-R
 * structure and Gaussian noise, rounded to half stars in 0.5..5. Deterministic for a seed.
 * Each user draws distinct items; users are written in id order (ids from 1).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

hogmf_gen_params hogmf_gen_params_default(void)
{
    hogmf_gen_params g = {0};
    g.users = 1000;
    g.items = 500;
    g.ratings = 50000;
    g.rank = 10;
    g.seed = 1;
    g.noise_sd = 0.5;
    g.format = HOGMF_FORMAT_CSV;
    return g;
}

/* Draws an index from a cumulative weight table by binary search. */
static uint32_t draw(const double *cdf, uint32_t n, double x)
{
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Random permutation of 0..n-1. */
static void permutation(uint32_t *perm, uint32_t n, hogmf_rng *g)
{
    for (uint32_t j = 0; j < n; j++)
        perm[j] = j;
    for (uint32_t j = n; j > 1; j--) {
        uint32_t s = (uint32_t)hogmf__rng_below(g, j);
        uint32_t t = perm[j - 1];
        perm[j - 1] = perm[s];
        perm[s] = t;
    }
}

hogmf_status hogmf_gen_write(const hogmf_gen_params *gp, const char *path, hogmf_error *err)
{
    const uint32_t U = gp->users, I = gp->items, R = gp->rank ? gp->rank : 1;
    const uint64_t N = gp->ratings;
    if (U == 0 || I == 0 || N == 0 || U == UINT32_MAX || I == UINT32_MAX)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "gen: expected users, items and ratings of at least 1");
    if ((double)N > 0.5 * (double)U * (double)I)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "gen: %llu ratings do not fit in half of %u users x %u items",
                           (unsigned long long)N, U, I);
    if (R > 1024 || !(gp->noise_sd >= 0))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "gen: rank must be 1..1024, noise >= 0");
    hogmf_format fmt = gp->format == HOGMF_FORMAT_AUTO ? HOGMF_FORMAT_CSV : gp->format;

    hogmf_status st = HOGMF_OK;
    /* Rounded up: with odd I, users * (I / 2) can fall short of N <= users * I / 2. */
    const uint32_t cap = (I + 1) / 2;
    double *icdf = malloc((size_t)I * sizeof *icdf);
    float *Q = malloc((size_t)I * R * sizeof *Q);
    float *bi = malloc((size_t)I * sizeof *bi);
    uint32_t *perm = malloc((size_t)(U > I ? U : I) * sizeof *perm);
    uint32_t *count = malloc((size_t)U * sizeof *count);
    uint32_t *stamp = malloc((size_t)I * sizeof *stamp);
    float *p = malloc((size_t)R * sizeof *p);
    if (!icdf || !Q || !bi || !perm || !count || !stamp || !p) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "gen: out of memory");
        goto done;
    }
    hogmf_rng g;
    hogmf__rng_seed(&g, gp->seed, 0x4974656D73ull);
    /* Item popularity: Zipf-like weight 1/(rank+10)^0.9, ranks assigned at random to ids. */
    permutation(perm, I, &g);
    double acc = 0;
    for (uint32_t i = 0; i < I; i++) {
        acc += pow((double)perm[i] + 10.0, -0.9);
        icdf[i] = acc;
    }
    for (uint32_t i = 0; i < I; i++)
        icdf[i] /= acc;
    const float fsd = (float)pow((double)R, -0.25); /* so that p.q has variance about 1 */
    for (uint32_t i = 0; i < I; i++) {
        bi[i] = (float)(0.45 * hogmf__rng_normal(&g));
        for (uint32_t d = 0; d < R; d++)
            Q[(size_t)i * R + d] = fsd * (float)hogmf__rng_normal(&g);
    }
    /* User activity: weight 1/(rank+20)^1.1, scaled to N, each user capped at half the
     * items; what the cap cuts and the rounding leaves is handed out in turn. */
    permutation(perm, U, &g);
    double wsum = 0;
    for (uint32_t u = 0; u < U; u++)
        wsum += pow((double)perm[u] + 20.0, -1.1);
    uint64_t assigned = 0;
    for (uint32_t u = 0; u < U; u++) {
        double c = floor((double)N * pow((double)perm[u] + 20.0, -1.1) / wsum);
        count[u] = c > cap ? cap : (uint32_t)c;
        assigned += count[u];
    }
    for (uint32_t u = 0; assigned < N; u = (u + 1) % U) {
        if (count[u] < cap) {
            count[u]++;
            assigned++;
        }
    }

    hogmf_outfile f;
    if ((st = hogmf__out_open(&f, path, err)) != HOGMF_OK)
        goto done;
    const char *sep = fmt == HOGMF_FORMAT_DAT ? "::"
                      : fmt == HOGMF_FORMAT_CSV ? ","
                      : fmt == HOGMF_FORMAT_TSV ? "\t"
                                                : " ";
    const size_t seplen = strlen(sep);
    const int with_ts = fmt != HOGMF_FORMAT_LIBMF;
    if (fmt == HOGMF_FORMAT_CSV)
        hogmf__out_write(&f, "userId,movieId,rating,timestamp\n", 32);
    memset(stamp, 0xff, (size_t)I * sizeof *stamp);
    for (uint32_t u = 0; u < U; u++) {
        hogmf_rng ug;
        hogmf__rng_seed(&ug, gp->seed, 0x100000000ull + u);
        float bu = (float)(0.35 * hogmf__rng_normal(&ug));
        for (uint32_t d = 0; d < R; d++)
            p[d] = fsd * (float)hogmf__rng_normal(&ug);
        uint64_t tries = 0;
        for (uint32_t c = 0; c < count[u]; c++) {
            uint32_t i;
            do {
                /* After many rejections (a very active user), fall back to uniform draws. */
                i = ++tries < 64ull * count[u] ? draw(icdf, I, hogmf__rng_uniform(&ug))
                                               : (uint32_t)hogmf__rng_below(&ug, I);
            } while (stamp[i] == u);
            stamp[i] = u;
            float dot = 0;
            for (uint32_t d = 0; d < R; d++)
                dot += p[d] * Q[(size_t)i * R + d];
            double r = 3.55 + bu + bi[i] + 0.8 * dot + gp->noise_sd * hogmf__rng_normal(&ug);
            double half = floor(r * 2.0 + 0.5) / 2.0;
            half = half < 0.5 ? 0.5 : half > 5.0 ? 5.0 : half;
            char *o = hogmf__out_reserve(&f, 80);
            size_t n = hogmf__fmt_u32(o, u + 1);
            memcpy(o + n, sep, seplen);
            n += seplen;
            n += hogmf__fmt_u32(o + n, i + 1);
            memcpy(o + n, sep, seplen);
            n += seplen;
            n += hogmf__fmt_float(o + n, (float)half);
            if (with_ts) {
                memcpy(o + n, sep, seplen);
                n += seplen;
                n += hogmf__fmt_u32(o + n, 1000000000u +
                                               (uint32_t)hogmf__rng_below(&ug, 600000000u));
            }
            o[n++] = '\n';
            hogmf__out_advance(&f, n);
        }
    }
    st = hogmf__out_commit(&f, err);
done:
    free(icdf);
    free(Q);
    free(bi);
    free(perm);
    free(count);
    free(stamp);
    free(p);
    return st;
}
