/*
 * impute.c - the decisions of completing a dense matrix, shared by `hogmf impute` and the
 * Python package: the training defaults for small matrices and the choice of k by
 * cross-validation of the known cells. Reading and writing matrices is dense.c; turning the
 * known cells into ratings is hogmf_ratings_from_dense.
 */
#include "internal.h"

#include <stdlib.h>

/* Small matrices: many epochs of a larger step, light regularisation and one thread (chosen
 * on the README's 4 x 5 example; see the README). */
hogmf_params hogmf_impute_params_default(void)
{
    hogmf_params p = hogmf_params_default();
    p.k = 1;
    p.epochs = 2000;
    p.lr = 0.05f;
    p.lr_decay = 0;
    p.schedule_lr = HOGMF_LR_CONSTANT;
    p.lambda_b = p.lambda_p = p.lambda_q = 0.001f;
    p.init_sd = 0.1f;
    p.patience = 0;
    p.threads = 1;
    return p;
}

const uint32_t hogmf_impute_ks[HOGMF_IMPUTE_KS] = {1, 2, 3, 4, 6, 8, 12, 16};

/* Mean RMSE of models trained with p over `folds` seeded folds of the known cells. */
static hogmf_status cv_rmse(const hogmf_ratings *known, const hogmf_params *p, uint32_t folds,
                            double *out, hogmf_error *err)
{
    uint32_t *fold = malloc(known->nnz * sizeof *fold);
    unsigned char *in_test = malloc(known->nnz);
    hogmf_status st = HOGMF_OK;
    double sum = 0;
    if (!fold || !in_test) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "impute: out of memory");
        goto done;
    }
    if ((st = hogmf_cv_folds(known->nnz, folds, p->seed, fold, err)) != HOGMF_OK)
        goto done;
    for (uint32_t f = 0; f < folds && st == HOGMF_OK; f++) {
        hogmf_ratings tr = {0}, te = {0};
        hogmf_model *model = NULL;
        double rmse = 0;
        for (size_t j = 0; j < known->nnz; j++)
            in_test[j] = fold[j] == f;
        if ((st = hogmf_ratings_partition(known, in_test, &tr, &te, err)) == HOGMF_OK &&
            (st = hogmf_train(&tr, NULL, p, &model, err)) == HOGMF_OK)
            st = hogmf_evaluate(model, &te, p->threads, &rmse, NULL, NULL, err);
        sum += rmse;
        hogmf_model_free(&model);
        hogmf_ratings_free(&tr);
        hogmf_ratings_free(&te);
    }
    *out = sum / folds;
done:
    free(fold);
    free(in_test);
    return st;
}

hogmf_status hogmf_impute_choose_k(const hogmf_ratings *known, uint32_t m, uint32_t n,
                                   const hogmf_params *p, uint32_t *k,
                                   double rmse[HOGMF_IMPUTE_KS], uint32_t *folds_used,
                                   hogmf_error *err)
{
    uint32_t side = m < n ? m : n, folds = known->nnz < 5 ? (uint32_t)known->nnz : 5;
    double best = INFINITY;
    *k = p->k;
    *folds_used = folds < 2 ? 0 : folds;
    for (int j = 0; j < HOGMF_IMPUTE_KS; j++)
        rmse[j] = NAN;
    if (folds < 2)
        return HOGMF_OK;
    for (int j = 0; j < HOGMF_IMPUTE_KS && hogmf_impute_ks[j] <= side; j++) {
        hogmf_params q = *p;
        q.k = hogmf_impute_ks[j];
        q.on_epoch = NULL;
        double r = INFINITY;
        hogmf_status st = cv_rmse(known, &q, folds, &r, err);
        if (st == HOGMF_ERR_DIVERGED) {
            rmse[j] = INFINITY;
            continue;
        }
        if (st != HOGMF_OK)
            return st;
        rmse[j] = r;
        if (r < best) {
            best = r;
            *k = hogmf_impute_ks[j];
        }
    }
    return HOGMF_OK;
}
