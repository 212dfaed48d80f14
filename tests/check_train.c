/*
 * check_train.c - the training loop against outcomes that can be known independently:
 * unobserved cells do not matter (masked loss), the 4x5 seed matrix is fitted exactly
 * without regularisation, a planted low-rank matrix is recovered to its noise level, one
 * thread is bit-identical across runs, Hogwild with several threads lands within 1% of one
 * thread, early stopping returns the best epoch, and a too-large rate is reported.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

static const float seed_matrix[4][5] = {
    {3, 1, 1, 3, 1}, {1, 2, 4, 1, 3}, {3, 1, 1, 3, 1}, {4, 3, 5, 4, 4}};

/* Prediction for cell (row, col) of a matrix read with hogmf_ratings_from_dense, whose ids
 * are the row and column numbers (the model may number them differently). */
static float predict_cell(const hogmf_model *m, int row, int col)
{
    return hogmf_model_predict(m, hogmf_model_user_index(m, (uint32_t)row),
                               hogmf_model_item_index(m, (uint32_t)col));
}

static hogmf_params quiet_params(void)
{
    hogmf_params p = hogmf_params_default();
    p.threads = 1;
    return p;
}

static int same_model(const hogmf_model *a, const hogmf_model *b)
{
    return a->m == b->m && a->n == b->n && a->k == b->k && a->mu == b->mu &&
           !memcmp(a->P, b->P, (size_t)a->m * a->stride * sizeof(float)) &&
           !memcmp(a->Q, b->Q, (size_t)a->n * a->stride * sizeof(float)) &&
           !memcmp(a->bu, b->bu, a->m * sizeof(float)) &&
           !memcmp(a->bi, b->bi, a->n * sizeof(float));
}

/* Trains on the 4x5 seed matrix with the given mask and value for masked cells. */
static hogmf_model *train_dense(const unsigned char *mask, float fill, float other_change,
                                const hogmf_params *p)
{
    float x[20];
    memcpy(x, seed_matrix, sizeof x);
    for (int c = 0; c < 20; c++)
        if (!mask[c])
            x[c] = fill;
    x[0] += other_change;
    hogmf_ratings r;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_from_dense(x, mask, 4, 5, &r, &err), HOGMF_OK);
    hogmf_model *model = NULL;
    ck_assert_msg(hogmf_train(&r, NULL, p, &model, &err) == HOGMF_OK, "train: %s", err.msg);
    hogmf_ratings_free(&r);
    return model;
}

START_TEST(test_unobserved_cells_change_nothing)
{
    unsigned char mask[20];
    memset(mask, 1, sizeof mask);
    mask[2] = mask[19] = 0; /* cells (0,2) and (3,4) are unknown */
    hogmf_params p = quiet_params();
    p.k = 3;
    p.epochs = 50;
    hogmf_model *a = train_dense(mask, 0.0f, 0, &p);
    hogmf_model *b = train_dense(mask, 1e6f, 0, &p);
    ck_assert_msg(same_model(a, b), "changing an unobserved cell changed the model");
    /* The check can fail: changing an observed cell does change the model. */
    hogmf_model *c = train_dense(mask, 0.0f, 1.0f, &p);
    ck_assert_msg(!same_model(a, c), "changing an observed cell did not change the model");
    hogmf_model_free(&a);
    hogmf_model_free(&b);
    hogmf_model_free(&c);
}
END_TEST

START_TEST(test_seed_matrix_fits_known_cells)
{
    unsigned char mask[20];
    memset(mask, 1, sizeof mask);
    mask[2] = mask[19] = 0;
    hogmf_params p = quiet_params();
    p.k = 4;
    p.epochs = 3000;
    p.lr = 0.02f;
    p.schedule_lr = HOGMF_LR_CONSTANT;
    p.lambda_b = p.lambda_p = p.lambda_q = 0; /* --reg 0 */
    p.init_sd = 0.3f;
    hogmf_model *m = train_dense(mask, NAN, 0, &p);
    double sse = 0, maxerr = 0;
    for (int c = 0; c < 20; c++) {
        if (!mask[c])
            continue;
        double e = seed_matrix[c / 5][c % 5] - predict_cell(m, c / 5, c % 5);
        sse += e * e;
        maxerr = fmax(maxerr, fabs(e));
    }
    double rmse = sqrt(sse / 18);
    ck_assert_msg(rmse < 0.01, "train RMSE on the 18 known cells %.5f (max error %.5f)", rmse,
                  maxerr);
    ck_assert_msg(fabs(m->train_rmse - rmse) < 1e-6, "reported train RMSE %.6f != %.6f",
                  m->train_rmse, rmse);
    for (int c = 0; c < 20; c++) {
        if (mask[c])
            continue;
        float r = predict_cell(m, c / 5, c % 5);
        ck_assert_msg(isfinite(r) && r >= 1.0f && r <= 5.0f,
                      "removed cell (%d,%d) predicted %g, outside 1..5", c / 5, c % 5, (double)r);
    }
    hogmf_model_free(&m);
}
END_TEST

/* A planted rank-3 matrix with biases and N(0, 0.1^2) noise; returns the fraction `obs` of
 * its cells as training ratings and up to `nvalid` other cells as validation ratings. */
static void planted(uint32_t m, uint32_t n, double obs, size_t nvalid, uint64_t seed,
                    hogmf_ratings *train, hogmf_ratings *valid)
{
    enum { R = 3 };
    float *x = malloc((size_t)m * n * sizeof *x);
    unsigned char *mask = calloc((size_t)m * n, 1), *vmask = calloc((size_t)m * n, 1);
    float *P = malloc((size_t)m * R * sizeof *P), *Q = malloc((size_t)n * R * sizeof *Q);
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, 1);
    for (size_t j = 0; j < (size_t)m * R; j++)
        P[j] = (float)hogmf__rng_normal(&g) * 0.8f;
    for (size_t j = 0; j < (size_t)n * R; j++)
        Q[j] = (float)hogmf__rng_normal(&g) * 0.8f;
    size_t nv = 0;
    for (uint32_t u = 0; u < m; u++)
        for (uint32_t i = 0; i < n; i++) {
            float dot = 0;
            for (int d = 0; d < R; d++)
                dot += P[u * R + d] * Q[i * R + d];
            x[(size_t)u * n + i] = 3.0f + 0.3f * (float)(u % 3) - 0.2f * (float)(i % 4) + dot +
                                   0.1f * (float)hogmf__rng_normal(&g);
            double coin = hogmf__rng_uniform(&g);
            if (coin < obs)
                mask[(size_t)u * n + i] = 1;
            else if (nv < nvalid && coin < obs + 0.1) {
                vmask[(size_t)u * n + i] = 1;
                nv++;
            }
        }
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_from_dense(x, mask, m, n, train, &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_ratings_from_dense(x, vmask, m, n, valid, &err), HOGMF_OK);
    free(x);
    free(mask);
    free(vmask);
    free(P);
    free(Q);
}

START_TEST(test_planted_low_rank_recovered)
{
    hogmf_ratings train, valid;
    planted(300, 200, 0.3, 4000, 5, &train, &valid);
    hogmf_params p = quiet_params();
    p.k = 8;
    p.epochs = 60;
    p.lr = 0.01f;
    p.lambda_b = p.lambda_p = p.lambda_q = 0.01f;
    p.patience = 0;
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_train(&train, &valid, &p, &model, &err), HOGMF_OK);
    /* The noise has sd 0.1, so no model can do much better than 0.1 on held-out cells;
     * the ratings themselves spread with sd of about 1.2. */
    ck_assert_msg(model->valid_rmse < 0.13, "held-out RMSE %.4f, noise level 0.1",
                  model->valid_rmse);
    double rmse;
    ck_assert_int_eq(hogmf_evaluate(model, &valid, 1, &rmse, NULL, NULL, &err), HOGMF_OK);
    ck_assert_msg(fabs(rmse - model->valid_rmse) < 1e-9, "evaluate %.6f vs reported %.6f", rmse,
                  model->valid_rmse);
    hogmf_model_free(&model);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

START_TEST(test_one_thread_is_deterministic)
{
    hogmf_ratings t1, v1, t2, v2;
    planted(120, 80, 0.3, 500, 11, &t1, &v1);
    planted(120, 80, 0.3, 500, 11, &t2, &v2);
    hogmf_params p = quiet_params();
    p.k = 6;
    p.epochs = 15;
    hogmf_model *a = NULL, *b = NULL, *c = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_train(&t1, &v1, &p, &a, &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_train(&t2, &v2, &p, &b, &err), HOGMF_OK);
    ck_assert_msg(same_model(a, b), "two one-thread runs with seed %llu differ",
                  (unsigned long long)p.seed);
    p.seed = 2;
    ck_assert_int_eq(hogmf_train(&t1, &v1, &p, &c, &err), HOGMF_OK);
    ck_assert_msg(!same_model(a, c), "another seed gave the same model");
    hogmf_model_free(&a);
    hogmf_model_free(&b);
    hogmf_model_free(&c);
    hogmf_ratings_free(&t1);
    hogmf_ratings_free(&v1);
    hogmf_ratings_free(&t2);
    hogmf_ratings_free(&v2);
}
END_TEST

START_TEST(test_hogwild_threads_match_one_thread)
{
    hogmf_ratings train, valid;
    planted(400, 300, 0.2, 5000, 21, &train, &valid);
    hogmf_params p = quiet_params();
    p.k = 8;
    p.epochs = 30;
    p.lambda_b = p.lambda_p = p.lambda_q = 0.02f;
    p.patience = 0;
    hogmf_model *one = NULL, *many = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_train(&train, &valid, &p, &one, &err), HOGMF_OK);
    p.threads = 4;
    ck_assert_int_eq(hogmf_train(&train, &valid, &p, &many, &err), HOGMF_OK);
    double rel = fabs(many->valid_rmse - one->valid_rmse) / one->valid_rmse;
    ck_assert_msg(rel < 0.01, "4 threads %.5f vs 1 thread %.5f: %.2f%% apart", many->valid_rmse,
                  one->valid_rmse, 100 * rel);
    hogmf_model_free(&one);
    hogmf_model_free(&many);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

/* The RMSE and MAE the trainer reports after each epoch are those hogmf_evaluate gives for
 * the model of that moment on the same sets (up to the order of the sums: the trainer sorts
 * its copy of the validation set into tile order), with unknown users and items in the
 * validation set; _i = 0: one thread, 1: three. */
START_TEST(test_epoch_rmse_is_evaluate)
{
    hogmf_ratings train, train_copy, valid, other;
    planted(120, 80, 0.3, 10, 31, &train, &other);
    hogmf_ratings_free(&other);
    planted(120, 80, 0.3, 10, 31, &train_copy, &other);
    hogmf_ratings_free(&other);
    planted(130, 90, 0.05, 1500, 32, &other, &valid); /* users 120.., items 80.. unknown */
    hogmf_ratings_free(&other);
    hogmf_params p = quiet_params();
    p.k = 20;
    p.epochs = 4;
    p.threads = _i ? 3 : 1;
    hogmf_trainer *t = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_trainer_new(&train, &valid, &p, &t, &err), HOGMF_OK);
    while (!hogmf_trainer_done(t)) {
        hogmf_epoch_stats es;
        ck_assert_int_eq(hogmf_trainer_epoch(t, &es, &err), HOGMF_OK);
        double rmse, mae, vrmse, vmae;
        size_t unknown = 0;
        ck_assert_int_eq(hogmf_evaluate(hogmf_trainer_model(t), &train_copy, 2, &rmse, &mae,
                                        NULL, &err),
                         HOGMF_OK);
        ck_assert_int_eq(hogmf_evaluate(hogmf_trainer_model(t), &valid, 1, &vrmse, &vmae,
                                        &unknown, &err),
                         HOGMF_OK);
        ck_assert_uint_gt(unknown, 0);
        ck_assert_msg(fabs(es.train_rmse - rmse) <= 1e-12 * rmse &&
                          fabs(es.train_mae - mae) <= 1e-12 * mae &&
                          fabs(es.valid_rmse - vrmse) <= 1e-12 * vrmse &&
                          fabs(es.valid_mae - vmae) <= 1e-12 * vmae,
                      "%d threads, epoch %u: trainer %.15f %.15f %.15f %.15f, evaluate %.15f "
                      "%.15f %.15f %.15f",
                      p.threads, es.epoch, es.train_rmse, es.train_mae, es.valid_rmse,
                      es.valid_mae, rmse, mae, vrmse, vmae);
    }
    hogmf_trainer_free(&t);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&train_copy);
    hogmf_ratings_free(&valid);
}
END_TEST

typedef struct curve {
    double valid[256];
    uint32_t epochs;
} curve;

static int record(void *ctx, const hogmf_epoch_stats *s)
{
    curve *c = ctx;
    if (s->epoch <= 256)
        c->valid[s->epoch - 1] = s->valid_rmse;
    c->epochs = s->epoch;
    return 0;
}

START_TEST(test_early_stopping_keeps_best_epoch)
{
    hogmf_ratings train, valid;
    planted(150, 100, 0.15, 2000, 3, &train, &valid);
    hogmf_params p = quiet_params();
    p.k = 32; /* far more factors than rank 3 and no regularisation: it will overfit */
    p.epochs = 200;
    p.lr = 0.02f;
    p.lambda_b = p.lambda_p = p.lambda_q = 0;
    p.patience = 3;
    p.tol = 1e-3;
    p.diverge_factor = 100;
    curve c = {0};
    p.on_epoch = record;
    p.ctx = &c;
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_train(&train, &valid, &p, &model, &err), HOGMF_OK);
    ck_assert_msg(c.epochs < 200, "did not stop early (%u epochs)", c.epochs);
    uint32_t best = 0;
    for (uint32_t e = 1; e < c.epochs; e++)
        if (c.valid[e] < c.valid[best])
            best = e;
    ck_assert_uint_eq(model->best_epoch, best + 1);
    ck_assert_msg(model->valid_rmse == c.valid[best], "model valid %.6f, best logged %.6f",
                  model->valid_rmse, c.valid[best]);
    double rmse;
    ck_assert_int_eq(hogmf_evaluate(model, &valid, 1, &rmse, NULL, NULL, &err), HOGMF_OK);
    ck_assert_msg(fabs(rmse - c.valid[best]) < 1e-9, "restored model evaluates to %.6f, not %.6f",
                  rmse, c.valid[best]);
    hogmf_model_free(&model);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

START_TEST(test_divergence_is_reported)
{
    hogmf_ratings train, valid;
    planted(100, 80, 0.3, 500, 8, &train, &valid);
    hogmf_params p = quiet_params();
    p.lr = 5.0f;
    p.epochs = 20;
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_train(&train, &valid, &p, &model, &err), HOGMF_ERR_DIVERGED);
    ck_assert_ptr_null(model);
    ck_assert_msg(strstr(err.msg, "learning rate 5") && strstr(err.msg, "--lr"),
                  "message does not name the rate: %s", err.msg);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

static int cmp_triple(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    for (int j = 0; j < 2; j++)
        if (x[j] != y[j])
            return x[j] < y[j] ? -1 : 1;
    return 0;
}

/* The (user id, item id, rating) triples of a set, sorted: what the set means, whatever the
 * order of its ratings or the numbering of its users and items. */
static uint64_t *triples(const hogmf_ratings *r)
{
    uint64_t *t = malloc(r->nnz * 2 * sizeof *t);
    for (size_t j = 0; j < r->nnz; j++) {
        uint32_t rb;
        memcpy(&rb, &r->data[j].r, 4);
        t[2 * j] = (uint64_t)r->user_ids[r->data[j].u] << 32 | r->item_ids[r->data[j].i];
        t[2 * j + 1] = rb;
    }
    qsort(t, r->nnz, 2 * sizeof *t, cmp_triple);
    return t;
}

/* Training reorders the set in place and renumbers rows inside the trainer (tile order,
 * block schedule); afterwards the set must still hold exactly the same ratings. */
START_TEST(test_training_keeps_the_set_meaning)
{
    hogmf_ratings train, valid;
    planted(90, 70, 0.3, 200, 4, &train, &valid);
    uint64_t *before = triples(&train);
    hogmf_params p = quiet_params();
    p.k = 4;
    p.epochs = 3;
    p.threads = 2;
    p.schedule = _i ? HOGMF_SCHEDULE_BLOCKS : HOGMF_SCHEDULE_HOGWILD;
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_train(&train, &valid, &p, &model, &err), HOGMF_OK);
    uint64_t *after = triples(&train);
    ck_assert_mem_eq(before, after, train.nnz * 2 * sizeof *before);
    /* and the model speaks the same ids: evaluating on the training set agrees with the
     * training RMSE the trainer reported */
    double rmse;
    ck_assert_int_eq(hogmf_evaluate(model, &train, 1, &rmse, NULL, NULL, &err), HOGMF_OK);
    ck_assert_msg(fabs(rmse - model->train_rmse) < 1e-6, "evaluate %.6f vs reported %.6f", rmse,
                  model->train_rmse);
    free(before);
    free(after);
    hogmf_model_free(&model);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

START_TEST(test_bad_parameters_rejected)
{
    hogmf_ratings train, valid;
    planted(20, 20, 0.5, 10, 1, &train, &valid);
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    hogmf_params p = quiet_params();
    p.k = 0;
    ck_assert_int_eq(hogmf_train(&train, NULL, &p, &model, &err), HOGMF_ERR_INVALID);
    p = quiet_params();
    p.lr = -1;
    ck_assert_int_eq(hogmf_train(&train, NULL, &p, &model, &err), HOGMF_ERR_INVALID);
    p = quiet_params();
    p.lambda_p = NAN;
    ck_assert_int_eq(hogmf_train(&train, NULL, &p, &model, &err), HOGMF_ERR_INVALID);
    ck_assert_ptr_null(model);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_unobserved_cells_change_nothing);
    tcase_add_test(tc, test_seed_matrix_fits_known_cells);
    tcase_add_test(tc, test_planted_low_rank_recovered);
    tcase_add_test(tc, test_one_thread_is_deterministic);
    tcase_add_test(tc, test_hogwild_threads_match_one_thread);
    tcase_add_test(tc, test_early_stopping_keeps_best_epoch);
    tcase_add_test(tc, test_divergence_is_reported);
    tcase_add_test(tc, test_bad_parameters_rejected);
    tcase_add_loop_test(tc, test_training_keeps_the_set_meaning, 0, 2);
    tcase_add_loop_test(tc, test_epoch_rmse_is_evaluate, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
