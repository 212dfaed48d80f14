/*
 * cv.c - cross-validation helpers: seeded fold assignment and the mean and standard
 * deviation of the per-fold figures. Training and evaluating each fold is the caller's
 * loop (the CLI's `hogmf cv`); splitting a set by a mask is hogmf_ratings_partition.
 */
#include "internal.h"

#include <stdlib.h>

hogmf_status hogmf_cv_folds(size_t nnz, uint32_t folds, uint64_t seed, uint32_t *fold,
                            hogmf_error *err)
{
    if (folds < 2 || folds > 1000)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "folds: expected 2..1000, found %u",
                           folds);
    if (nnz < folds)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "folds: %u folds need at least %u ratings, found %zu", folds, folds,
                           nnz);
    size_t *perm = malloc(nnz * sizeof *perm);
    if (!perm)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "folds: out of memory");
    for (size_t j = 0; j < nnz; j++)
        perm[j] = j;
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, 0x464F4C4453ull /* "FOLDS" */);
    for (size_t j = nnz; j > 1; j--) {
        size_t s = (size_t)hogmf__rng_below(&g, j);
        size_t tmp = perm[j - 1];
        perm[j - 1] = perm[s];
        perm[s] = tmp;
    }
    /* Dealing the permutation round robin makes the fold sizes differ by at most one. */
    for (size_t j = 0; j < nnz; j++)
        fold[perm[j]] = (uint32_t)(j % folds);
    free(perm);
    return HOGMF_OK;
}

void hogmf_mean_sd(const double *x, size_t n, double *mean, double *sd)
{
    if (n == 0) {
        *mean = *sd = NAN;
        return;
    }
    double s = 0;
    for (size_t j = 0; j < n; j++)
        s += x[j];
    double mu = s / (double)n, ss = 0;
    for (size_t j = 0; j < n; j++)
        ss += (x[j] - mu) * (x[j] - mu);
    *mean = mu;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}
