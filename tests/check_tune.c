/*
 * check_tune.c - the hyper-parameter search on a small planted matrix: the reported best is
 * the best trial, retraining with its parameters (and its epoch count) reproduces its
 * validation RMSE exactly, the result is the same with one or two threads, the printed values
 * have three significant digits, cross-validation splits score by the mean, and impossible
 * requests are refused.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

/* Rank-2 ratings with biases and noise on a 60 x 40 grid, about 45% observed. */
static void planted(hogmf_ratings *train, hogmf_ratings *valid)
{
    enum { M = 60, N = 40 };
    static float x[M * N];
    static unsigned char mask[M * N];
    hogmf_rng g;
    hogmf__rng_seed(&g, 123, 0);
    float a[M][2], b[N][2], bu[M], bi[N];
    for (int u = 0; u < M; u++) {
        a[u][0] = (float)hogmf__rng_normal(&g);
        a[u][1] = (float)hogmf__rng_normal(&g);
        bu[u] = 0.4f * (float)hogmf__rng_normal(&g);
    }
    for (int i = 0; i < N; i++) {
        b[i][0] = (float)hogmf__rng_normal(&g);
        b[i][1] = (float)hogmf__rng_normal(&g);
        bi[i] = 0.4f * (float)hogmf__rng_normal(&g);
    }
    for (int u = 0; u < M; u++)
        for (int i = 0; i < N; i++) {
            x[u * N + i] = 3.0f + bu[u] + bi[i] + 0.7f * (a[u][0] * b[i][0] + a[u][1] * b[i][1]) +
                           0.3f * (float)hogmf__rng_normal(&g);
            mask[u * N + i] = hogmf__rng_uniform(&g) < 0.45;
        }
    hogmf_ratings all;
    ck_assert_int_eq(hogmf_ratings_from_dense(x, mask, M, N, &all, NULL), HOGMF_OK);
    ck_assert_int_eq(hogmf_ratings_split(&all, 0.2, 5, train, valid, NULL), HOGMF_OK);
    hogmf_ratings_free(&all);
}

static hogmf_tune_params small_search(void)
{
    hogmf_tune_params tp = hogmf_tune_params_default();
    tp.base.k = 3; /* trial 0 is the base itself */
    tp.base.init_sd = 0.1f; /* factors this small data can grow from within 40 epochs */
    tp.init_min = tp.init_max = 0;
    tp.base.epochs = 40;
    tp.base.patience = 0; /* small data plateaus early; run every epoch, score the best */
    tp.trials = 6;
    tp.batch = 3;
    tp.k_min = 1;
    tp.k_max = 6;
    tp.lr_min = 0.03f;
    tp.lr_max = 0.2f;
    tp.threads = 1;
    tp.seed = 9;
    return tp;
}

typedef struct seen_trials {
    uint32_t count;
    double lowest;
    int in_order;
} seen_trials;

static int on_trial(void *ctx, const hogmf_trial *t, const hogmf_trial *best)
{
    seen_trials *s = ctx;
    s->in_order &= t->index == s->count;
    s->count++;
    s->lowest = fmin(s->lowest, t->valid_rmse);
    ck_assert_msg(best->valid_rmse == s->lowest, "trial %u: best so far %g, lowest seen %g",
                  t->index, best->valid_rmse, s->lowest);
    return 0;
}

static int three_digits(float v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.3g", (double)v);
    return strtof(buf, NULL) == v;
}

START_TEST(test_tune_best_is_reproducible)
{
    hogmf_ratings train, valid;
    planted(&train, &valid);
    const hogmf_ratings *tr[] = {&train}, *va[] = {&valid};
    hogmf_tune_params tp = small_search();
    seen_trials seen = {0, INFINITY, 1};
    tp.on_trial = on_trial;
    tp.ctx = &seen;
    hogmf_trial best;
    hogmf_error err = {0};
    ck_assert_msg(hogmf_tune(tr, va, 1, &tp, &best, &err) == HOGMF_OK, "%s", err.msg);
    ck_assert_uint_eq(seen.count, 6);
    ck_assert(seen.in_order);
    ck_assert(best.valid_rmse == seen.lowest);
    ck_assert(best.best_epoch >= 1 && best.params.epochs == best.best_epoch);
    ck_assert(best.params.k >= 1 && best.params.k <= 6);
    ck_assert(three_digits(best.params.lr) && three_digits(best.params.lambda_b) &&
              three_digits(best.params.lambda_p) && three_digits(best.params.lambda_q) &&
              three_digits(best.params.lr_decay));

    /* The constant predictor (the training mean) is a floor any useful trial beats. */
    double mean = 0, sse = 0;
    for (size_t j = 0; j < train.nnz; j++)
        mean += train.data[j].r;
    mean /= (double)train.nnz;
    for (size_t j = 0; j < valid.nnz; j++)
        sse += (valid.data[j].r - mean) * (valid.data[j].r - mean);
    double const_rmse = sqrt(sse / (double)valid.nnz);
    ck_assert_msg(best.valid_rmse < 0.6 * const_rmse, "best %g vs constant predictor %g",
                  best.valid_rmse, const_rmse);

    /* Retraining with the printed parameters gives the same validation RMSE. */
    hogmf_params p = best.params;
    p.patience = 0;
    p.threads = 1;
    hogmf_model *model = NULL;
    hogmf_ratings copy = train; /* hogmf_train reorders; tune's input must stay as it was */
    copy.data = malloc(train.nnz * sizeof *train.data);
    memcpy(copy.data, train.data, train.nnz * sizeof *train.data);
    ck_assert_int_eq(hogmf_train(&copy, &valid, &p, &model, &err), HOGMF_OK);
    free(copy.data);
    double rmse;
    ck_assert_int_eq(hogmf_evaluate(model, &valid, 1, &rmse, NULL, NULL, &err), HOGMF_OK);
    ck_assert_msg(fabs(rmse - best.valid_rmse) < 1e-12, "retrained %.9f, tune said %.9f", rmse,
                  best.valid_rmse);
    hogmf_model_free(&model);

    /* Two threads run trials side by side and find the same. */
    hogmf_tune_params tp2 = small_search();
    tp2.threads = 2;
    hogmf_trial best2;
    ck_assert_int_eq(hogmf_tune(tr, va, 1, &tp2, &best2, &err), HOGMF_OK);
    ck_assert(best2.index == best.index && best2.valid_rmse == best.valid_rmse &&
              best2.params.k == best.params.k && best2.params.lr == best.params.lr &&
              best2.params.lambda_q == best.params.lambda_q);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

START_TEST(test_tune_folds_and_refusals)
{
    hogmf_ratings train, valid;
    planted(&train, &valid);
    /* Two splits: the same pair twice scores exactly as the pair alone. */
    const hogmf_ratings *tr2[] = {&train, &train}, *va2[] = {&valid, &valid};
    const hogmf_ratings *tr1[] = {&train}, *va1[] = {&valid};
    hogmf_tune_params tp = small_search();
    tp.trials = 3;
    hogmf_trial one, two;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_tune(tr1, va1, 1, &tp, &one, &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_tune(tr2, va2, 2, &tp, &two, &err), HOGMF_OK);
    ck_assert_msg(fabs(one.valid_rmse - two.valid_rmse) < 1e-12 &&
                      one.best_epoch == two.best_epoch,
                  "one split %g (epoch %u), the same split twice %g (epoch %u)", one.valid_rmse,
                  one.best_epoch, two.valid_rmse, two.best_epoch);

    /* Pinned ranges keep the base's values exactly. */
    tp = small_search();
    tp.trials = 3;
    tp.base.k = 5;
    tp.base.lambda_q = 0.0123456f;
    tp.k_min = tp.k_max = 5;
    tp.reg_min = tp.reg_max = 0;
    ck_assert_int_eq(hogmf_tune(tr1, va1, 1, &tp, &one, &err), HOGMF_OK);
    ck_assert(one.params.k == 5 && one.params.lambda_q == 0.0123456f);

    hogmf_ratings empty = {0};
    const hogmf_ratings *va0[] = {&empty};
    ck_assert_int_eq(hogmf_tune(tr1, va0, 1, &tp, &one, &err), HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_tune(tr1, va1, 0, &tp, &one, &err), HOGMF_ERR_INVALID);
    tp.trials = 0;
    tp.seconds = 0;
    ck_assert_int_eq(hogmf_tune(tr1, va1, 1, &tp, &one, &err), HOGMF_ERR_INVALID);
    tp = small_search();
    tp.k_min = 9;
    tp.k_max = 3;
    ck_assert_int_eq(hogmf_tune(tr1, va1, 1, &tp, &one, &err), HOGMF_ERR_INVALID);
    /* Learning rates that always diverge: every trial fails. */
    tp = small_search();
    tp.trials = 2;
    tp.base.lr = 50; /* a pinned range keeps the base's value */
    tp.lr_min = tp.lr_max = 50;
    ck_assert_int_eq(hogmf_tune(tr1, va1, 1, &tp, &one, &err), HOGMF_ERR_DIVERGED);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

Suite *tune_suite(void)
{
    Suite *s = suite_create("tune");
    TCase *tc = tcase_create("tune");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_tune_best_is_reproducible);
    tcase_add_test(tc, test_tune_folds_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
