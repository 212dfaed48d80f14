/*
 * check_eval.c - the evaluation pass (eval.c) against sums computed here in double: ratings of
 * users or items unknown to the model are predicted from mu and the known biases and counted,
 * predictions are clipped to the rating range, a NaN prediction counts as mu, runaway and
 * non-finite predictions are counted, and the result does not depend on the thread count or
 * the instruction set.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

/* The instruction sets of the evaluation loop; NULL: the machine's best. */
static const struct {
    const char *isa;
    int threads;
} eval_runs[] = {{"portable", 1}, {"portable", 3}, {"avx2", 1}, {"avx2", 3}, {NULL, 1}, {NULL, 3}};

/* A 2-user x 2-item model (ids 0 and 1), k = 3, rating range [1, 5], with biases large
 * enough that some predictions leave the range on either side. */
static hogmf_model *small_model(void)
{
    hogmf_model *m = hogmf_model_new(2, 2, 3);
    ck_assert_ptr_nonnull(m);
    m->mu = 3.5f;
    m->rmin = 1.0f;
    m->rmax = 5.0f;
    const float P[2][3] = {{0.5f, -0.25f, 1.0f}, {0.75f, 0.5f, -0.5f}};
    const float Q[2][3] = {{1.0f, 0.5f, 0.25f}, {-0.5f, 1.5f, 0.5f}};
    for (int r = 0; r < 2; r++)
        for (int d = 0; d < 3; d++) {
            m->P[r * m->stride + d] = P[r][d];
            m->Q[r * m->stride + d] = Q[r][d];
        }
    m->bu[0] = 0.25f;
    m->bu[1] = 1.75f;
    m->bi[0] = -3.0f;
    m->bi[1] = 0.5f;
    return m;
}

/* A 3 x 3 set (ids 0..2: user 2 and item 2 are unknown to small_model), every cell rated. */
START_TEST(test_unknown_ids_predicted_from_mu_and_known_biases)
{
    const char *isa = eval_runs[_i].isa;
    const int threads = eval_runs[_i].threads;
    use_isa(isa);
    if (isa && strcmp(isa, hogmf__isa_name(hogmf__isa())) != 0) {
        char why[200];
        snprintf(why, sizeof why, "eval: the %s loop: this machine runs %s at best", isa,
                 hogmf__isa_name(hogmf__isa()));
        skip_check(why);
        return;
    }
    hogmf_model *m = small_model();
    const float x[9] = {4.0f, 2.5f, 1.0f, 5.0f, 3.0f, 4.5f, 2.0f, 1.5f, 5.0f};
    unsigned char mask[9];
    memset(mask, 1, sizeof mask);
    hogmf_ratings set;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_from_dense(x, mask, 3, 3, &set, &err), HOGMF_OK);
    /* The documented rule, in double: mu, plus b_u when u is known, plus b_i when i is known,
     * plus p_u . q_i when both are; clipped to [rmin, rmax]. */
    double se = 0, ae = 0;
    size_t unknown = 0;
    for (int u = 0; u < 3; u++)
        for (int i = 0; i < 3; i++) {
            double pred = m->mu;
            if (u < 2)
                pred += m->bu[u];
            if (i < 2)
                pred += m->bi[i];
            if (u < 2 && i < 2)
                for (int d = 0; d < 3; d++)
                    pred += (double)m->P[u * m->stride + d] * m->Q[i * m->stride + d];
            pred = fmin(fmax(pred, 1.0), 5.0);
            double e = x[u * 3 + i] - pred;
            se += e * e;
            ae += fabs(e);
            unknown += u == 2 || i == 2;
        }
    const double want_rmse = sqrt(se / 9), want_mae = ae / 9;
    double rmse = -1, mae = -1;
    size_t got_unknown = 0;
    ck_assert_int_eq(hogmf_evaluate(m, &set, threads, &rmse, &mae, &got_unknown, &err), HOGMF_OK);
    const char *name = isa ? isa : "default";
    ck_assert_msg(got_unknown == unknown, "%s, %d threads: %zu unknown counted, want %zu", name,
                  threads, got_unknown, unknown);
    ck_assert_msg(fabs(rmse - want_rmse) < 1e-6, "%s, %d threads: RMSE %.7f, want %.7f", name,
                  threads, rmse, want_rmse);
    ck_assert_msg(fabs(mae - want_mae) < 1e-6, "%s, %d threads: MAE %.7f, want %.7f", name,
                  threads, mae, want_mae);
    hogmf_ratings_free(&set);
    hogmf_model_free(&m);
}
END_TEST

/* hogmf__eval_sums on model indices: a NaN factor makes the prediction mu and counts as
 * non-finite; a runaway prediction (more than 1e4 (rmax - rmin + 1) from mu) is clipped and
 * counted; HOGMF_UNKNOWN indices use the known biases. */
START_TEST(test_nonfinite_and_runaway_predictions)
{
    use_isa(eval_runs[_i].isa);
    if (eval_runs[_i].isa && strcmp(eval_runs[_i].isa, hogmf__isa_name(hogmf__isa())) != 0) {
        skip_check("eval: this instruction set is not available on this machine");
        return;
    }
    hogmf_model *m = small_model();
    m->P[m->stride + 0] = NAN;    /* user 1: every prediction with a known item is NaN */
    m->Q[m->stride + 0] = 3.0e4f; /* p_0 . q_1 = 4 * 3e4 - 0.375 + 0.5, beyond 5e4 */
    m->P[0] = 4.0f;
    const hogmf_rating s[] = {
        {0, 0, 4.0f},          /* 3.5 + 0.25 - 3 + (4 - 0.125 + 0.25) = 4.875 */
        {0, 1, 2.0f},          /* runaway: clipped to 5 */
        {1, 0, 3.0f},          /* NaN: counted, predicted as mu = 3.5 */
        {HOGMF_UNKNOWN, 1, 1.0f}, /* 3.5 + 0.5 = 4 */
        {1, HOGMF_UNKNOWN, 5.0f}, /* 3.5 + 1.75 = 5.25, clipped to 5 */
    };
    const double want_e[] = {4.0 - 4.875, 2.0 - 5.0, 3.0 - 3.5, 1.0 - 4.0, 0.0};
    double want_se = 0, want_ae = 0;
    for (int j = 0; j < 5; j++) {
        want_se += want_e[j] * want_e[j];
        want_ae += fabs(want_e[j]);
    }
    double sse = -1, sae = -1;
    size_t bad = 99;
    hogmf__eval_sums(m, s, 5, eval_runs[_i].threads, &sse, &sae, &bad);
    ck_assert_msg(bad == 2, "%zu non-finite or runaway predictions counted, want 2", bad);
    ck_assert_msg(fabs(sse - want_se) < 1e-5 && fabs(sae - want_ae) < 1e-5,
                  "sums %.6f %.6f, want %.6f %.6f", sse, sae, want_se, want_ae);
    hogmf_model_free(&m);
}
END_TEST

Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    const int runs = (int)(sizeof eval_runs / sizeof eval_runs[0]);
    tcase_add_loop_test(tc, test_unknown_ids_predicted_from_mu_and_known_biases, 0, runs);
    tcase_add_loop_test(tc, test_nonfinite_and_runaway_predictions, 0, runs);
    suite_add_tcase(s, tc);
    return s;
}
