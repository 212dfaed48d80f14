/*
 * check_recommend.c - top-N against a brute-force reference (every unseen item scored in
 * double and sorted), seen lists (sorted, merged, repeats and unknown ids dropped), ties to
 * the lower index, the same result with one or two threads, and refused arguments.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

static hogmf_model *random_model(uint32_t m, uint32_t n, uint32_t k, uint64_t seed)
{
    hogmf_model *x = hogmf_model_new(m, n, k);
    ck_assert_ptr_nonnull(x);
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, 2);
    x->mu = 3.0f;
    x->rmin = 1;
    x->rmax = 5;
    for (uint32_t u = 0; u < m; u++) {
        x->bu[u] = 0.3f * (float)hogmf__rng_normal(&g);
        for (uint32_t d = 0; d < k; d++)
            x->P[(size_t)u * x->stride + d] = 0.6f * (float)hogmf__rng_normal(&g);
    }
    for (uint32_t i = 0; i < n; i++) {
        x->bi[i] = 0.5f * (float)hogmf__rng_normal(&g);
        for (uint32_t d = 0; d < k; d++)
            x->Q[(size_t)i * x->stride + d] = 0.6f * (float)hogmf__rng_normal(&g);
    }
    return x;
}

/* A ratings set over the model's ids 0..m-1, 0..n-1 (hogmf_model_new numbers them so):
 * every user rates `per_user` random items; ids m+1 and n+1 add unknown users and items. */
static void random_seen_set(uint32_t m, uint32_t n, uint32_t per_user, hogmf_ratings *out)
{
    size_t cap = (size_t)m * per_user * 24 + 64, len = 0;
    char *text = malloc(cap);
    hogmf_rng g;
    hogmf__rng_seed(&g, 77, m);
    for (uint32_t u = 0; u < m; u++)
        for (uint32_t j = 0; j < per_user; j++)
            len += (size_t)snprintf(text + len, cap - len, "%u\t%u\t3\n", u,
                                    (uint32_t)hogmf__rng_below(&g, n));
    len += (size_t)snprintf(text + len, cap - len, "%u\t0\t3\n0\t%u\t3\n", m + 1, n + 1);
    hogmf_read_options ro = hogmf_read_options_default();
    ro.keep_duplicates = 1;
    hogmf_error err = {0};
    ck_assert_msg(hogmf_ratings_parse(text, len, "seen", &ro, out, &err) == HOGMF_OK, "%s",
                  err.msg);
    free(text);
}

static int seen_has(const hogmf_seen *s, uint32_t u, uint32_t i)
{
    for (size_t j = s->ptr[u]; j < s->ptr[u + 1]; j++)
        if (s->items[j] == i)
            return 1;
    return 0;
}

static const uint32_t topn_cases[] = {1, 5, 37, 60, 100};

START_TEST(test_topn_brute_force)
{
    const uint32_t m = 25, n = 60, k = 7, N = topn_cases[_i];
    hogmf_model *x = random_model(m, n, k, 5);
    hogmf_ratings set;
    random_seen_set(m, n, 8, &set);
    const hogmf_ratings *sets[] = {&set};
    hogmf_seen seen;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_seen_build(x, sets, 1, &seen, &err), HOGMF_OK);
    uint32_t users[25];
    for (uint32_t u = 0; u < m; u++)
        users[u] = m - 1 - u; /* any order */
    uint32_t *items = malloc((size_t)m * N * sizeof *items), count[25];
    float *ratings = malloc((size_t)m * N * sizeof *ratings);
    ck_assert_int_eq(hogmf_recommend(x, &seen, users, m, N, 1, items, ratings, count, &err),
                     HOGMF_OK);
    double worst_gap = 0;
    for (uint32_t j = 0; j < m; j++) {
        uint32_t u = users[j];
        /* Reference: unseen items scored in double. */
        double score[60];
        uint32_t unseen = 0;
        for (uint32_t i = 0; i < n; i++) {
            score[i] = NAN;
            if (seen_has(&seen, u, i))
                continue;
            unseen++;
            double s = x->bi[i];
            for (uint32_t d = 0; d < k; d++)
                s += (double)x->P[(size_t)u * x->stride + d] * x->Q[(size_t)i * x->stride + d];
            score[i] = s;
        }
        uint32_t want = N < unseen ? N : unseen;
        ck_assert_msg(count[j] == want, "user %u: %u items, expected %u", u, count[j], want);
        const uint32_t *it = items + (size_t)j * N;
        double lowest = INFINITY;
        for (uint32_t r = 0; r < count[j]; r++) {
            ck_assert_msg(it[r] < n && !isnan(score[it[r]]),
                          "user %u: rank %u is item %u, which is seen or out of range", u, r,
                          it[r]);
            for (uint32_t q = 0; q < r; q++)
                ck_assert_msg(it[q] != it[r], "user %u: item %u listed twice", u, it[r]);
            if (r > 0)
                ck_assert_msg(score[it[r]] <= score[it[r - 1]] + 1e-5,
                              "user %u: rank %u (%g) above rank %u (%g)", u, r, score[it[r]],
                              r - 1, score[it[r - 1]]);
            lowest = fmin(lowest, score[it[r]]);
            double pred = fmin(fmax(x->mu + x->bu[u] + score[it[r]], x->rmin), x->rmax);
            ck_assert_msg(fabs(ratings[(size_t)j * N + r] - pred) < 1e-5,
                          "user %u item %u: rating %g, expected %g", u, it[r],
                          (double)ratings[(size_t)j * N + r], pred);
        }
        /* No unlisted unseen item scores clearly above the lowest listed one. */
        for (uint32_t i = 0; i < n; i++) {
            int listed = 0;
            for (uint32_t r = 0; r < count[j]; r++)
                listed |= it[r] == i;
            if (!listed && !isnan(score[i]))
                worst_gap = fmax(worst_gap, score[i] - lowest);
        }
    }
    ck_assert_msg(worst_gap < 1e-5, "N=%u: an unlisted item beats a listed one by %g", N,
                  worst_gap);
    /* Two threads give exactly the same lists. */
    uint32_t *items2 = malloc((size_t)m * N * sizeof *items2), count2[25];
    float *ratings2 = malloc((size_t)m * N * sizeof *ratings2);
    ck_assert_int_eq(hogmf_recommend(x, &seen, users, m, N, 2, items2, ratings2, count2, &err),
                     HOGMF_OK);
    ck_assert(!memcmp(count, count2, sizeof count));
    for (uint32_t j = 0; j < m; j++)
        ck_assert(!memcmp(items + (size_t)j * N, items2 + (size_t)j * N,
                          count[j] * sizeof *items) &&
                  !memcmp(ratings + (size_t)j * N, ratings2 + (size_t)j * N,
                          count[j] * sizeof *ratings));
    free(items);
    free(items2);
    free(ratings);
    free(ratings2);
    hogmf_seen_free(&seen);
    hogmf_ratings_free(&set);
    hogmf_model_free(&x);
}
END_TEST

START_TEST(test_seen_lists)
{
    hogmf_model *x = random_model(3, 6, 2, 9);
    const char a[] = "1\t4\t3\n1\t2\t3\n0\t5\t1\n1\t4\t2\n9\t1\t3\n2\t99\t3\n";
    const char b[] = "1\t0\t5\n1\t2\t5\n";
    hogmf_ratings sa, sb;
    hogmf_read_options ro = hogmf_read_options_default();
    ro.keep_duplicates = 1;
    ck_assert_int_eq(hogmf_ratings_parse(a, sizeof a - 1, "a", &ro, &sa, NULL), HOGMF_OK);
    ck_assert_int_eq(hogmf_ratings_parse(b, sizeof b - 1, "b", &ro, &sb, NULL), HOGMF_OK);
    const hogmf_ratings *sets[] = {&sa, &sb};
    hogmf_seen s;
    ck_assert_int_eq(hogmf_seen_build(x, sets, 2, &s, NULL), HOGMF_OK);
    ck_assert_uint_eq(s.m, 3);
    /* user 0: {5}; user 1: {0, 2, 4} (4 and 2 twice); user 2: nothing (item 99 unknown). */
    ck_assert(s.ptr[0] == 0 && s.ptr[1] == 1 && s.ptr[2] == 4 && s.ptr[3] == 4);
    ck_assert(s.items[0] == 5 && s.items[1] == 0 && s.items[2] == 2 && s.items[3] == 4);
    hogmf_seen_free(&s);
    ck_assert_ptr_null(s.items);
    hogmf_ratings_free(&sa);
    hogmf_ratings_free(&sb);
    hogmf_model_free(&x);
}
END_TEST

START_TEST(test_ties_and_refusals)
{
    /* Zero factors and equal biases: every item ties, so the lowest indices win. */
    hogmf_model *x = hogmf_model_new(2, 8, 3);
    x->mu = 3;
    x->rmin = 1;
    x->rmax = 5;
    const char a[] = "0\t1\t3\n0\t2\t3\n";
    hogmf_ratings sa;
    ck_assert_int_eq(hogmf_ratings_parse(a, sizeof a - 1, "a", NULL, &sa, NULL), HOGMF_OK);
    const hogmf_ratings *sets[] = {&sa};
    hogmf_seen s;
    ck_assert_int_eq(hogmf_seen_build(x, sets, 1, &s, NULL), HOGMF_OK);
    uint32_t users[] = {0, 1}, items[8], count[2];
    float ratings[8];
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_recommend(x, &s, users, 2, 4, 1, items, ratings, count, &err),
                     HOGMF_OK);
    ck_assert(count[0] == 4 && items[0] == 0 && items[1] == 3 && items[2] == 4 &&
              items[3] == 5);
    ck_assert(count[1] == 4 && items[4] == 0 && items[5] == 1 && items[7] == 3);
    ck_assert(ratings[0] == 3.0f);
    /* N larger than the items: all unseen items, in the caller's stride. */
    uint32_t big_items[2 * 20], big_count[2];
    float big_ratings[2 * 20];
    ck_assert_int_eq(hogmf_recommend(x, &s, users, 2, 20, 1, big_items, big_ratings, big_count,
                                     &err),
                     HOGMF_OK);
    ck_assert(big_count[0] == 6 && big_count[1] == 8 && big_items[20] == 0 &&
              big_items[27] == 7);
    ck_assert_int_eq(hogmf_recommend(x, &s, users, 2, 0, 1, items, ratings, count, &err),
                     HOGMF_ERR_INVALID);
    uint32_t bad_user[] = {2};
    ck_assert_int_eq(hogmf_recommend(x, &s, bad_user, 1, 3, 1, items, ratings, count, &err),
                     HOGMF_ERR_INVALID);
    hogmf_model *y = hogmf_model_new(5, 8, 3);
    ck_assert_int_eq(hogmf_recommend(y, &s, users, 2, 3, 1, items, ratings, count, &err),
                     HOGMF_ERR_INVALID);
    hogmf_model_free(&y);
    hogmf_seen_free(&s);
    hogmf_ratings_free(&sa);
    hogmf_model_free(&x);
}
END_TEST

Suite *recommend_suite(void)
{
    Suite *s = suite_create("recommend");
    TCase *tc = tcase_create("recommend");
    tcase_add_loop_test(tc, test_topn_brute_force, 0,
                        (int)(sizeof topn_cases / sizeof topn_cases[0]));
    tcase_add_test(tc, test_seen_lists);
    tcase_add_test(tc, test_ties_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
