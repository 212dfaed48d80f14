/*
 * eval.c - the evaluation pass: masked RMSE and MAE of clipped predictions over observed
 * ratings only, in parallel with per-thread partial sums added in thread order (the same
 * result on every run for a given thread count). It never changes the model.
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

/* Squared and absolute errors of the clipped predictions over x[lo..hi), and the count of
 * non-finite or runaway raw predictions. BODY is the loop; DOT(p, q) the dot product of two
 * rows. Rows of the ratings a few ahead are prefetched: in tile order P's rows repeat within
 * a user block and Q's are a random walk over an item block. */
typedef struct eval_acc {
    double se, ae;
    size_t bad;
} eval_acc;

#define EVAL_AHEAD 8
#define EVAL_BODY(DOT)                                                                         \
    const uint32_t stride = model->stride;                                                     \
    const float mu = model->mu, rmin = model->rmin, rmax = model->rmax;                        \
    double se = 0, ae = 0;                                                                     \
    size_t badc = 0;                                                                           \
    for (size_t j = lo; j < hi; j++) {                                                         \
        if (j + EVAL_AHEAD < hi) {                                                             \
            const hogmf_rating a = x[j + EVAL_AHEAD];                                          \
            if (a.u < model->m && a.i < model->n)                                              \
                for (uint32_t d = 0; d < stride; d += 16) {                                    \
                    __builtin_prefetch(model->P + (size_t)a.u * stride + d);                   \
                    __builtin_prefetch(model->Q + (size_t)a.i * stride + d);                   \
                }                                                                              \
        }                                                                                      \
        const hogmf_rating s = x[j];                                                           \
        int ku = s.u < model->m, ki = s.i < model->n;                                          \
        float raw = mu;                                                                        \
        if (ku)                                                                                \
            raw += model->bu[s.u];                                                             \
        if (ki)                                                                                \
            raw += model->bi[s.i];                                                             \
        if (ku && ki)                                                                          \
            raw += DOT(model->P + (size_t)s.u * stride, model->Q + (size_t)s.i * stride,       \
                       stride);                                                                \
        if (!isfinite(raw) || fabsf(raw - mu) > limit)                                         \
            badc++;                                                                            \
        float pred = raw < rmin ? rmin : raw > rmax ? rmax : raw;                              \
        if (isnan(raw))                                                                        \
            pred = mu;                                                                         \
        double e = (double)s.r - (double)pred;                                                 \
        se += e * e;                                                                           \
        ae += fabs(e);                                                                         \
    }                                                                                          \
    acc->se = se;                                                                              \
    acc->ae = ae;                                                                              \
    acc->bad = badc;

typedef void (*eval_range_fn)(const hogmf_model *model, const hogmf_rating *x, size_t lo,
                              size_t hi, float limit, eval_acc *acc);

static void eval_range_portable(const hogmf_model *model, const hogmf_rating *x, size_t lo,
                                size_t hi, float limit, eval_acc *acc)
{
    EVAL_BODY(hogmf__dot)
}

#ifdef HOGMF_X86
__attribute__((target("avx512f"))) static void eval_range_avx512(const hogmf_model *model,
                                                                 const hogmf_rating *x,
                                                                 size_t lo, size_t hi,
                                                                 float limit, eval_acc *acc)
{
    EVAL_BODY(hogmf__dot_avx512)
}

__attribute__((target("avx2,fma"))) static void eval_range_avx2(const hogmf_model *model,
                                                                const hogmf_rating *x, size_t lo,
                                                                size_t hi, float limit,
                                                                eval_acc *acc)
{
    EVAL_BODY(hogmf__dot_avx2)
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

void hogmf__eval_sums(const hogmf_model *model, const hogmf_rating *samples, size_t nnz,
                      int threads, double *sse, double *sae, size_t *nonfinite)
{
    enum { MAXT = 1024 };
    if (threads > MAXT)
        threads = MAXT;
    eval_acc part[MAXT];
    int used = 1;
    /* An unclipped prediction this far from the mean means the factors have blown up. */
    const float limit = 1e4f * (model->rmax - model->rmin + 1.0f);
    const eval_range_fn fn = eval_select();
#pragma omp parallel num_threads(threads) default(none) \
    shared(model, samples, nnz, part, used, limit, fn)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        if (t == 0)
            used = nt;
        size_t lo = nnz * (size_t)t / (size_t)nt, hi = nnz * (size_t)(t + 1) / (size_t)nt;
        fn(model, samples, lo, hi, limit, &part[t]);
    }
    double s = 0, a = 0;
    size_t b = 0;
    for (int t = 0; t < used; t++) {
        s += part[t].se;
        a += part[t].ae;
        b += part[t].bad;
    }
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
