/*
 * check_cv.c - cross-validation helpers: folds are a partition with sizes within one,
 * seeded, and refused when impossible; splitting by a mask keeps every rating exactly once
 * with its original ids and order; mean and sample sd against hand-computed values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

static const struct {
    size_t nnz;
    uint32_t folds;
} fold_cases[] = {{10, 2}, {11, 3}, {100, 7}, {5, 5}, {1001, 10}, {3, 2}};

START_TEST(test_folds_partition_balanced)
{
    size_t nnz = fold_cases[_i].nnz;
    uint32_t F = fold_cases[_i].folds;
    uint32_t *fold = malloc(nnz * sizeof *fold);
    size_t count[16] = {0};
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_cv_folds(nnz, F, 42, fold, &err), HOGMF_OK);
    for (size_t j = 0; j < nnz; j++) {
        ck_assert_msg(fold[j] < F, "nnz %zu folds %u: rating %zu in fold %u", nnz, F, j,
                      fold[j]);
        count[fold[j]]++;
    }
    for (uint32_t f = 0; f < F; f++)
        ck_assert_msg(count[f] == nnz / F || count[f] == nnz / F + 1,
                      "nnz %zu folds %u: fold %u has %zu ratings, expected %zu or %zu", nnz, F,
                      f, count[f], nnz / F, nnz / F + 1);
    free(fold);
}
END_TEST

START_TEST(test_folds_seeded)
{
    enum { N = 500 };
    uint32_t a[N], b[N], c[N];
    ck_assert_int_eq(hogmf_cv_folds(N, 5, 7, a, NULL), HOGMF_OK);
    ck_assert_int_eq(hogmf_cv_folds(N, 5, 7, b, NULL), HOGMF_OK);
    ck_assert_int_eq(hogmf_cv_folds(N, 5, 8, c, NULL), HOGMF_OK);
    ck_assert_msg(!memcmp(a, b, sizeof a), "the same seed gave different folds");
    size_t differ = 0;
    for (int j = 0; j < N; j++)
        differ += a[j] != c[j];
    /* Two independent assignments agree on about 1/5 of the ratings. */
    ck_assert_msg(differ > N / 2, "another seed changed only %zu of %d folds", differ, N);
    /* Not simply j % F: the assignment is shuffled. */
    size_t in_order = 0;
    for (int j = 0; j < N; j++)
        in_order += a[j] == (uint32_t)(j % 5);
    ck_assert_msg(in_order < N / 2, "folds look dealt in file order (%zu of %d)", in_order, N);
}
END_TEST

START_TEST(test_folds_refused)
{
    uint32_t fold[8];
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_cv_folds(8, 1, 1, fold, &err), HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_cv_folds(8, 1001, 1, fold, &err), HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_cv_folds(3, 4, 1, fold, &err), HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "4 folds need at least 4 ratings"), "message: %s", err.msg);
}
END_TEST

START_TEST(test_partition)
{
    const char text[] = "10\t100\t1\n20\t200\t2\n10\t300\t3\n30\t100\t4\n20\t300\t5\n";
    hogmf_ratings all, tr, te;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_parse(text, sizeof text - 1, "mem", NULL, &all, &err),
                     HOGMF_OK);
    const unsigned char in_test[5] = {0, 1, 0, 0, 1};
    ck_assert_int_eq(hogmf_ratings_partition(&all, in_test, &tr, &te, &err), HOGMF_OK);
    ck_assert_uint_eq(tr.nnz, 3);
    ck_assert_uint_eq(te.nnz, 2);
    /* Original ids and ratings, in the source's order. */
    const uint32_t tr_u[] = {10, 10, 30}, tr_i[] = {100, 300, 100};
    const float tr_r[] = {1, 3, 4};
    for (size_t j = 0; j < 3; j++) {
        const hogmf_rating *x = &tr.data[j];
        ck_assert_msg(tr.user_ids[x->u] == tr_u[j] && tr.item_ids[x->i] == tr_i[j] &&
                          x->r == tr_r[j],
                      "train rating %zu: (%u, %u, %g), expected (%u, %u, %g)", j,
                      tr.user_ids[x->u], tr.item_ids[x->i], (double)x->r, tr_u[j], tr_i[j],
                      (double)tr_r[j]);
    }
    ck_assert_uint_eq(te.user_ids[te.data[0].u], 20);
    ck_assert_uint_eq(te.item_ids[te.data[1].i], 300);
    /* Renumbered to the ids each part holds. */
    ck_assert_uint_eq(tr.m, 2);
    ck_assert_uint_eq(tr.n, 2);
    ck_assert_uint_eq(te.m, 1);
    ck_assert_uint_eq(te.n, 2);
    ck_assert(tr.rmin == 1 && tr.rmax == 4 && te.rmin == 2 && te.rmax == 5);
    hogmf_ratings_free(&tr);
    hogmf_ratings_free(&te);
    hogmf_ratings_free(&all);
}
END_TEST

START_TEST(test_mean_sd)
{
    const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    double mean, sd;
    hogmf_mean_sd(x, 8, &mean, &sd);
    /* Sum of squared deviations 32, so the sample sd is sqrt(32 / 7). */
    ck_assert_double_eq_tol(mean, 5.0, 1e-12);
    ck_assert_double_eq_tol(sd, sqrt(32.0 / 7.0), 1e-12);
    hogmf_mean_sd(x + 6, 1, &mean, &sd);
    ck_assert_double_eq(mean, 7.0);
    ck_assert_double_eq(sd, 0.0);
    hogmf_mean_sd(x, 0, &mean, &sd);
    ck_assert(isnan(mean) && isnan(sd));
}
END_TEST

Suite *cv_suite(void)
{
    Suite *s = suite_create("cv");
    TCase *tc = tcase_create("cv");
    tcase_add_loop_test(tc, test_folds_partition_balanced, 0,
                        (int)(sizeof fold_cases / sizeof fold_cases[0]));
    tcase_add_test(tc, test_folds_seeded);
    tcase_add_test(tc, test_folds_refused);
    tcase_add_test(tc, test_partition);
    tcase_add_test(tc, test_mean_sd);
    suite_add_tcase(s, tc);
    return s;
}
