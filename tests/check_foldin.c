/*
 * check_foldin.c - fold-in against independent references: the solution zeroes the gradient
 * of the ridge objective (checked in double, not by re-solving), a planted user is recovered
 * from exact ratings, unknown items and known users are skipped and counted, the fold-in
 * file round-trips bit for bit and its malformed lines are refused with their line number,
 * and the model with the rows added predicts mu + bu + bi + p.q for the new users.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

/* A model of m users, n items, k factors with random biases and factors; ids u*10+1 and
 * i*10+2 so that dense indices and ids differ. */
static hogmf_model *random_model(uint32_t m, uint32_t n, uint32_t k, uint64_t seed)
{
    hogmf_model *x = hogmf_model_new(m, n, k);
    ck_assert_ptr_nonnull(x);
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, 1);
    x->mu = 3.5f;
    x->rmin = 1;
    x->rmax = 5;
    for (uint32_t u = 0; u < m; u++) {
        x->user_ids[u] = u * 10 + 1;
        x->bu[u] = 0.2f * (float)hogmf__rng_normal(&g);
        for (uint32_t d = 0; d < k; d++)
            x->P[(size_t)u * x->stride + d] = 0.5f * (float)hogmf__rng_normal(&g);
    }
    for (uint32_t i = 0; i < n; i++) {
        x->item_ids[i] = i * 10 + 2;
        x->bi[i] = 0.3f * (float)hogmf__rng_normal(&g);
        for (uint32_t d = 0; d < k; d++)
            x->Q[(size_t)i * x->stride + d] = 0.5f * (float)hogmf__rng_normal(&g);
    }
    hogmf__idmap_free(x->umap);
    hogmf__idmap_free(x->imap);
    x->umap = hogmf__idmap_from_ids(x->user_ids, m);
    x->imap = hogmf__idmap_from_ids(x->item_ids, n);
    x->params.lambda_p = 0.05f;
    x->params.lambda_b = 0.02f;
    return x;
}

/* Gradient of sum_j (y_j - b - q_j.p)^2 + lp |p|^2 + lb b^2 at (p, b), in double;
 * returns its largest absolute component relative to the largest term's size. */
static double ridge_gradient(const hogmf_model *x, const uint32_t *items, const float *r,
                             size_t c, double lp, double lb, const float *p, float b)
{
    const uint32_t k = x->k;
    double g[65] = {0}, scale = 1;
    for (size_t j = 0; j < c; j++) {
        const float *q = x->Q + (size_t)items[j] * x->stride;
        double pred = b, y = (double)r[j] - x->mu - x->bi[items[j]];
        for (uint32_t d = 0; d < k; d++)
            pred += (double)q[d] * p[d];
        double e = y - pred;
        for (uint32_t d = 0; d < k; d++)
            g[d] += -2 * e * q[d];
        g[k] += -2 * e;
        scale = fmax(scale, fabs(y));
    }
    for (uint32_t d = 0; d < k; d++)
        g[d] += 2 * lp * p[d];
    g[k] += 2 * lb * b;
    double worst = 0;
    for (uint32_t d = 0; d <= k; d++)
        worst = fmax(worst, fabs(g[d]));
    return worst / scale;
}

START_TEST(test_foldin_zero_gradient)
{
    static const uint32_t ks[] = {1, 5, 17, 40};
    uint32_t k = ks[_i];
    hogmf_model *x = random_model(4, 30, k, 3 + k);
    uint32_t items[12];
    float r[12];
    hogmf_rng g;
    hogmf__rng_seed(&g, 5, k);
    for (int j = 0; j < 12; j++) {
        items[j] = (uint32_t)hogmf__rng_below(&g, 30);
        r[j] = 1.0f + (float)hogmf__rng_below(&g, 5);
    }
    float *p = hogmf__aligned_calloc(x->stride, sizeof(float));
    float b;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_foldin_user(x, items, r, 12, 0.3f, 0.1f, p, &b, &err), HOGMF_OK);
    double gmax = ridge_gradient(x, items, r, 12, 0.3, 0.1, p, b);
    ck_assert_msg(gmax < 1e-4, "k=%u: gradient at the fold-in solution %g, expected ~0", k,
                  gmax);
    for (uint32_t d = k; d < x->stride; d++)
        ck_assert_msg(p[d] == 0.0f, "k=%u: padding %u is %g", k, d, (double)p[d]);
    /* The check can fail: a perturbed solution has a clearly non-zero gradient. */
    p[0] += 0.05f;
    ck_assert(ridge_gradient(x, items, r, 12, 0.3, 0.1, p, b) > 1e-3);
    free(p);
    hogmf_model_free(&x);
}
END_TEST

START_TEST(test_foldin_recovers_planted_user)
{
    const uint32_t k = 4, n = 40;
    hogmf_model *x = random_model(2, n, k, 11);
    x->rmin = -100;
    x->rmax = 100;
    const float truth[4] = {0.7f, -0.4f, 0.2f, 1.1f}, tb = -0.3f;
    uint32_t items[20];
    float r[20];
    for (uint32_t j = 0; j < 20; j++) {
        items[j] = 2 * j;
        const float *q = x->Q + (size_t)items[j] * x->stride;
        r[j] = x->mu + x->bi[items[j]] + tb;
        for (uint32_t d = 0; d < k; d++)
            r[j] += q[d] * truth[d];
    }
    float p[16], b;
    ck_assert_int_eq(hogmf_foldin_user(x, items, r, 20, 1e-6f, 0, p, &b, NULL), HOGMF_OK);
    double maxdiff = fabs((double)b - tb);
    for (uint32_t d = 0; d < k; d++)
        maxdiff = fmax(maxdiff, fabs((double)p[d] - truth[d]));
    ck_assert_msg(maxdiff < 1e-3, "planted user: max difference %g", maxdiff);
    /* Unknown items are skipped: adding some changes nothing. */
    uint32_t items2[22];
    float r2[22], p2[16], b2;
    memcpy(items2, items, sizeof items);
    memcpy(r2, r, sizeof r);
    items2[20] = HOGMF_UNKNOWN;
    items2[21] = n + 5;
    r2[20] = r2[21] = 5;
    ck_assert_int_eq(hogmf_foldin_user(x, items2, r2, 22, 1e-6f, 0, p2, &b2, NULL), HOGMF_OK);
    ck_assert(b2 == b && !memcmp(p2, p, k * sizeof *p));
    /* No known item: zeros. */
    ck_assert_int_eq(hogmf_foldin_user(x, items2 + 20, r2 + 20, 2, 0.1f, 0.1f, p2, &b2, NULL),
                     HOGMF_OK);
    ck_assert(b2 == 0 && p2[0] == 0 && p2[3] == 0);
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_foldin_user(x, items, r, 20, 0, 0, p, &b, &err), HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_foldin_user(x, items, r, 20, 0.1f, -1, p, &b, &err),
                     HOGMF_ERR_INVALID);
    r[3] = NAN;
    ck_assert_int_eq(hogmf_foldin_user(x, items, r, 20, 0.1f, 0.1f, p, &b, &err),
                     HOGMF_ERR_INVALID);
    hogmf_model_free(&x);
}
END_TEST

/* Ratings: user 11 (dense 1, known to the model), new users 7 and 8; item 999 unknown. */
static const char new_users[] = "7\t2\t4\n11\t12\t5\n7\t32\t2\n8\t12\t3\n7\t999\t1\n"
                                "8\t52\t5\n7\t72\t4\n";

static void read_text(const char *text, hogmf_ratings *out)
{
    hogmf_error err = {0};
    ck_assert_msg(hogmf_ratings_parse(text, strlen(text), "mem", NULL, out, &err) == HOGMF_OK,
                  "%s", err.msg);
}

START_TEST(test_foldin_compute)
{
    hogmf_model *x = random_model(3, 10, 6, 21);
    hogmf_ratings set;
    read_text(new_users, &set);
    hogmf_foldin f;
    size_t known = 99, unknown = 99;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_foldin_compute(x, &set, 0.05f, 0.02f, 2, &f, &known, &unknown, &err),
                     HOGMF_OK);
    ck_assert_uint_eq(known, 1);
    ck_assert_uint_eq(unknown, 1);
    ck_assert_uint_eq(f.m, 2);
    ck_assert_uint_eq(f.k, 6);
    ck_assert_uint_eq(f.n, 10);
    ck_assert_uint_eq(f.model_crc, hogmf_model_fingerprint(x));
    ck_assert(f.user_ids[0] == 7 && f.user_ids[1] == 8);
    ck_assert(f.count[0] == 3 && f.count[1] == 2);
    /* Each row is the single-user solve with the same penalties. */
    const uint32_t it7[] = {0, 3, 7}, it8[] = {1, 5};
    const float r7[] = {4, 2, 4}, r8[] = {3, 5};
    float p[16], b;
    ck_assert_int_eq(hogmf_foldin_user(x, it7, r7, 3, 0.05f, 0.02f, p, &b, NULL), HOGMF_OK);
    ck_assert(b == f.bu[0] && !memcmp(p, f.P, 16 * sizeof(float)));
    ck_assert_int_eq(hogmf_foldin_user(x, it8, r8, 2, 0.05f, 0.02f, p, &b, NULL), HOGMF_OK);
    ck_assert(b == f.bu[1] && !memcmp(p, f.P + f.stride, 16 * sizeof(float)));
    hogmf_foldin_free(&f);
    hogmf_ratings_free(&set);

    /* Nobody new: HOGMF_ERR_EMPTY. */
    read_text("11\t2\t4\n21\t12\t5\n", &set);
    ck_assert_int_eq(hogmf_foldin_compute(x, &set, 0.05f, 0.02f, 1, &f, NULL, NULL, &err),
                     HOGMF_ERR_EMPTY);
    hogmf_ratings_free(&set);
    hogmf_model_free(&x);
}
END_TEST

START_TEST(test_foldin_save_load_and_apply)
{
    hogmf_model *x = random_model(3, 10, 6, 31);
    hogmf_ratings set;
    read_text(new_users, &set);
    hogmf_foldin f, g;
    ck_assert_int_eq(hogmf_foldin_compute(x, &set, 0.05f, 0.02f, 1, &f, NULL, NULL, NULL),
                     HOGMF_OK);
    const char *path = temp_path(".foldin");
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_foldin_save(&f, path, &err), HOGMF_OK);
    ck_assert_msg(hogmf_foldin_load(path, &g, &err) == HOGMF_OK, "%s", err.msg);
    remove(path);
    ck_assert(g.m == f.m && g.k == f.k && g.n == f.n && g.stride == f.stride &&
              g.model_crc == f.model_crc);
    ck_assert(!memcmp(g.user_ids, f.user_ids, f.m * sizeof *f.user_ids));
    ck_assert(!memcmp(g.count, f.count, f.m * sizeof *f.count));
    ck_assert(!memcmp(g.bu, f.bu, f.m * sizeof *f.bu));
    ck_assert_msg(!memcmp(g.P, f.P, (size_t)f.m * f.stride * sizeof *f.P),
                  "factors differ after save and load");

    hogmf_model *y = NULL;
    ck_assert_int_eq(hogmf_model_add_foldin(x, &g, &y, &err), HOGMF_OK);
    ck_assert_uint_eq(y->m, x->m + 2);
    for (uint32_t u = 0; u < x->m; u++)
        for (uint32_t i = 0; i < x->n; i++)
            ck_assert(hogmf_model_predict(y, u, i) == hogmf_model_predict(x, u, i));
    for (uint32_t j = 0; j < 2; j++) {
        uint32_t u = hogmf_model_user_index(y, g.user_ids[j]);
        ck_assert_uint_eq(u, x->m + j);
        for (uint32_t i = 0; i < x->n; i++) {
            double ref = x->mu + g.bu[j] + x->bi[i];
            for (uint32_t d = 0; d < x->k; d++)
                ref += (double)g.P[(size_t)j * g.stride + d] * x->Q[(size_t)i * x->stride + d];
            ref = fmin(fmax(ref, x->rmin), x->rmax);
            ck_assert_msg(fabs(hogmf_model_predict(y, u, i) - ref) < 1e-5,
                          "new user %u item %u: %g, expected %g", g.user_ids[j], i,
                          (double)hogmf_model_predict(y, u, i), ref);
        }
    }
    hogmf_model_free(&y);
    /* Another model (one item factor changed) is refused. */
    x->Q[3] += 0.5f;
    ck_assert_int_eq(hogmf_model_add_foldin(x, &g, &y, &err), HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "another model"), "message: %s", err.msg);
    ck_assert_ptr_null(y);
    hogmf_foldin_free(&f);
    hogmf_foldin_free(&g);
    hogmf_ratings_free(&set);
    hogmf_model_free(&x);
}
END_TEST

/* Malformed fold-in files: contents, the line named, a phrase of the message. */
static const struct {
    const char *text;
    uint64_t line;
    const char *phrase;
} bad_files[] = {
    {"", 1, "expected the header"},
    {"user item rating\n1 2 3\n", 1, "expected the header"},
    {"hogmf-foldin 2 k=2 items=5 model=0000abcd users=1\n7 1 0.5 1 2\n", 1, "header"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=2\n7 1 0.5 1 2\n8 1 0.5 1\n", 3,
     "factor 2 of 2"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=2\n7 1 0.5 1 2\n8 1 0.5 1 2 3\n", 3,
     "expected 2 factors, found more"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=1\nx7 1 0.5 1 2\n", 2, "user id"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=1\n7 1 nan 1 2\n", 2, "bias"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=1\n7 1 0.5 1 2x\n", 2, "factor 2 of 2"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=3\n7 1 0.5 1 2\n8 1 0.5 1 2\n", 3,
     "expected 3 users"},
    {"hogmf-foldin 1 k=2 items=5 model=0000abcd users=1\n7 1 0.5 1 2\n8 1 0.5 1 2\n", 3,
     "no more lines"},
    {"hogmf-foldin 1 k=64 items=5 model=0000abcd users=4000000000\n7 1 0.5 1 2\n", 1,
     "the header says 4000000000 users"},
};

START_TEST(test_foldin_bad_file)
{
    const char *path = temp_path(".foldin");
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs(bad_files[_i].text, fp);
    fclose(fp);
    hogmf_foldin f;
    hogmf_error err = {0};
    hogmf_status st = hogmf_foldin_load(path, &f, &err);
    remove(path);
    ck_assert_msg(st == HOGMF_ERR_PARSE, "case %d: status %d (%s)", _i, st, err.msg);
    ck_assert_msg(err.line == bad_files[_i].line, "case %d: line %llu, expected %llu (%s)", _i,
                  (unsigned long long)err.line, (unsigned long long)bad_files[_i].line,
                  err.msg);
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s:%llu: ", path, (unsigned long long)bad_files[_i].line);
    ck_assert_msg(!strncmp(err.msg, prefix, strlen(prefix)), "case %d: message '%s' does not "
                  "start with '%s'", _i, err.msg, prefix);
    ck_assert_msg(strstr(err.msg, bad_files[_i].phrase), "case %d: message '%s' lacks '%s'", _i,
                  err.msg, bad_files[_i].phrase);
    ck_assert_ptr_null(f.P);
}
END_TEST

START_TEST(test_foldin_duplicate_user_and_missing_file)
{
    const char *path = temp_path(".foldin");
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs("hogmf-foldin 1 k=1 items=5 model=0000abcd users=2\n7 1 0.5 1\n7 2 0.5 1\n", fp);
    fclose(fp);
    hogmf_foldin f;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_foldin_load(path, &f, &err), HOGMF_ERR_PARSE);
    ck_assert_msg(strstr(err.msg, "appears twice"), "message: %s", err.msg);
    remove(path);
    ck_assert_int_eq(hogmf_foldin_load(path, &f, &err), HOGMF_ERR_IO);
    ck_assert_msg(strstr(err.msg, path), "message does not name the file: %s", err.msg);
}
END_TEST

Suite *foldin_suite(void)
{
    Suite *s = suite_create("foldin");
    TCase *tc = tcase_create("foldin");
    tcase_add_loop_test(tc, test_foldin_zero_gradient, 0, 4);
    tcase_add_test(tc, test_foldin_recovers_planted_user);
    tcase_add_test(tc, test_foldin_compute);
    tcase_add_test(tc, test_foldin_save_load_and_apply);
    tcase_add_loop_test(tc, test_foldin_bad_file, 0,
                        (int)(sizeof bad_files / sizeof bad_files[0]));
    tcase_add_test(tc, test_foldin_duplicate_user_and_missing_file);
    suite_add_tcase(s, tc);
    return s;
}
