/*
 * eval.c - the evaluation pass: masked RMSE and MAE of clipped predictions over observed
 * ratings only, in parallel with per-thread partial sums added in thread order (the same
 * result on every run for a given thread count). It never changes the model.
 */
#include "internal.h"

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

void hogmf__eval_sums(const hogmf_model *model, const hogmf_rating *samples, size_t nnz,
                      int threads, double *sse, double *sae, size_t *nonfinite)
{
    enum { MAXT = 1024 };
    if (threads > MAXT)
        threads = MAXT;
    double part_se[MAXT], part_ae[MAXT];
    size_t part_bad[MAXT];
    int used = 1;
    /* An unclipped prediction this far from the mean means the factors have blown up. */
    const float limit = 1e4f * (model->rmax - model->rmin + 1.0f);
#pragma omp parallel num_threads(threads) default(none) \
    shared(model, samples, nnz, part_se, part_ae, part_bad, used, limit)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        if (t == 0)
            used = nt;
        size_t lo = nnz * (size_t)t / (size_t)nt, hi = nnz * (size_t)(t + 1) / (size_t)nt;
        double se = 0, ae = 0;
        size_t badc = 0;
        for (size_t j = lo; j < hi; j++) {
            const hogmf_rating x = samples[j];
            int ku = x.u < model->m, ki = x.i < model->n;
            float raw = model->mu;
            if (ku)
                raw += model->bu[x.u];
            if (ki)
                raw += model->bi[x.i];
            if (ku && ki)
                raw += hogmf__dot(model->P + (size_t)x.u * model->stride,
                                  model->Q + (size_t)x.i * model->stride, model->stride);
            if (!isfinite(raw) || fabsf(raw - model->mu) > limit)
                badc++;
            float pred = raw < model->rmin ? model->rmin : raw > model->rmax ? model->rmax : raw;
            if (isnan(raw))
                pred = model->mu;
            double e = (double)x.r - (double)pred;
            se += e * e;
            ae += fabs(e);
        }
        part_se[t] = se;
        part_ae[t] = ae;
        part_bad[t] = badc;
    }
    double s = 0, a = 0;
    size_t b = 0;
    for (int t = 0; t < used; t++) {
        s += part_se[t];
        a += part_ae[t];
        b += part_bad[t];
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
        umap[u] = hogmf_model_user_index(model, set->user_ids[u]);
    for (uint32_t i = 0; i < set->n; i++)
        imap[i] = hogmf_model_item_index(model, set->item_ids[i]);
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
