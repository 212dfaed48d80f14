/*
 * check_interop.c - other tools' formats: a model exported as a LIBMF text model is parsed
 * here independently and LIBMF's prediction rule (P'[u] . Q'[i], b for rows marked F or out of
 * range) is checked against hogmf's; export then import gives the model back bit for bit; a
 * plain LIBMF model predicts p.q; malformed files are refused at the right line; CSV factor
 * tables hold the model's values.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "suites.h"

/* A model with sparse ids (so LIBMF rows without data exist), seeded values, no clipping. */
static hogmf_model *sample_model(uint32_t k)
{
    hogmf_model *m = hogmf_model_new(3, 4, k);
    ck_assert_ptr_nonnull(m);
    m->mu = 3.3f;
    m->rmin = -1e30f;
    m->rmax = 1e30f;
    uint64_t x = 12345;
    for (uint32_t u = 0; u < m->m; u++) {
        m->bu[u] = (float)((double)(hogmf__splitmix64(&x) >> 11) * 0x1.0p-53 - 0.5);
        for (uint32_t d = 0; d < k; d++)
            m->P[(size_t)u * m->stride + d] =
                (float)((double)(hogmf__splitmix64(&x) >> 11) * 0x1.0p-53 - 0.5);
    }
    for (uint32_t i = 0; i < m->n; i++) {
        m->bi[i] = (float)((double)(hogmf__splitmix64(&x) >> 11) * 0x1.0p-53 - 0.5);
        for (uint32_t d = 0; d < k; d++)
            m->Q[(size_t)i * m->stride + d] =
                (float)((double)(hogmf__splitmix64(&x) >> 11) * 0x1.0p-53 - 0.5);
    }
    const uint32_t uids[] = {5, 2, 9}, iids[] = {0, 7, 3, 4};
    memcpy(m->user_ids, uids, sizeof uids);
    memcpy(m->item_ids, iids, sizeof iids);
    hogmf__idmap_free(m->umap);
    hogmf__idmap_free(m->imap);
    m->umap = hogmf__idmap_from_ids(m->user_ids, m->m);
    m->imap = hogmf__idmap_from_ids(m->item_ids, m->n);
    ck_assert_ptr_nonnull(m->umap);
    ck_assert_ptr_nonnull(m->imap);
    return m;
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_int_eq(fputs(s, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

/* An independent reader of LIBMF's text model, as mf_load_model reads it: header pairs,
 * then rows "name flag values"; F rows are NaN. */
typedef struct ref_model {
    int fun, m, n, k;
    float b;
    double *P, *Q; /* NaN rows for F */
} ref_model;

static void ref_load(const char *path, ref_model *r)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char key[16];
    ck_assert_int_eq(fscanf(f, "%15s %d", key, &r->fun), 2);
    ck_assert_str_eq(key, "f");
    ck_assert_int_eq(fscanf(f, "%15s %d", key, &r->m), 2);
    ck_assert_str_eq(key, "m");
    ck_assert_int_eq(fscanf(f, "%15s %d", key, &r->n), 2);
    ck_assert_str_eq(key, "n");
    ck_assert_int_eq(fscanf(f, "%15s %d", key, &r->k), 2);
    ck_assert_str_eq(key, "k");
    ck_assert_int_eq(fscanf(f, "%15s %f", key, &r->b), 2);
    ck_assert_str_eq(key, "b");
    r->P = malloc(sizeof(double) * (size_t)r->m * (size_t)r->k);
    r->Q = malloc(sizeof(double) * (size_t)r->n * (size_t)r->k);
    for (int side = 0; side < 2; side++) {
        int rows = side ? r->n : r->m;
        double *M = side ? r->Q : r->P;
        for (int i = 0; i < rows; i++) {
            char name[32], flag[4], want[32];
            ck_assert_int_eq(fscanf(f, "%31s %3s", name, flag), 2);
            snprintf(want, sizeof want, "%c%d", side ? 'q' : 'p', i);
            ck_assert_str_eq(name, want);
            for (int d = 0; d < r->k; d++) {
                double v;
                ck_assert_int_eq(fscanf(f, "%lf", &v), 1);
                M[(size_t)i * r->k + d] = strcmp(flag, "F") == 0 ? NAN : v;
            }
        }
    }
    char extra[8];
    ck_assert_int_eq(fscanf(f, "%7s", extra), EOF);
    fclose(f);
}

/* mf_predict: b outside the matrix or when the product is NaN, else P[u] . Q[i]. */
static double ref_predict(const ref_model *r, int u, int i)
{
    if (u < 0 || u >= r->m || i < 0 || i >= r->n)
        return r->b;
    double z = 0;
    for (int d = 0; d < r->k; d++)
        z += r->P[(size_t)u * r->k + d] * r->Q[(size_t)i * r->k + d];
    return isnan(z) ? r->b : z;
}

START_TEST(test_export_matches_libmf_rule)
{
    hogmf_model *m = sample_model(5);
    const char *path = temp_path(".libmf");
    hogmf_error err = {0};
    ck_assert_msg(hogmf_model_write_libmf(m, path, &err) == HOGMF_OK, "%s", err.msg);
    ref_model r;
    ref_load(path, &r);
    ck_assert_int_eq(r.fun, 0);
    ck_assert_int_eq(r.m, 10); /* largest user id 9 */
    ck_assert_int_eq(r.n, 8);  /* largest item id 7 */
    ck_assert_int_eq(r.k, 5 + 3);
    ck_assert_float_eq(r.b, m->mu);
    /* Every (user, item) id pair, including ids the model lacks and ids beyond LIBMF's rows. */
    double maxdiff = 0;
    for (int uid = 0; uid <= 11; uid++) {
        for (int iid = 0; iid <= 9; iid++) {
            uint32_t u = hogmf_model_user_index(m, (uint32_t)uid);
            uint32_t i = hogmf_model_item_index(m, (uint32_t)iid);
            double want = hogmf_model_predict(m, u, i);
            double got = ref_predict(&r, uid, iid);
            /* LIBMF gives b when either row is unknown; hogmf adds the known bias. */
            if (u == HOGMF_UNKNOWN || i == HOGMF_UNKNOWN)
                want = m->mu;
            double diff = fabs(want - got);
            maxdiff = diff > maxdiff ? diff : maxdiff;
            ck_assert_msg(diff <= 1e-5, "user %d item %d: hogmf %.7f, LIBMF rule %.7f (diff %g)",
                          uid, iid, want, got, diff);
        }
    }
    fprintf(stderr, "interop: LIBMF export vs hogmf predictions: max difference %.3g\n",
            maxdiff);
    free(r.P);
    free(r.Q);
    unlink(path);
    hogmf_model_free(&m);
}
END_TEST

START_TEST(test_export_import_exact)
{
    hogmf_model *m = sample_model(7);
    m->rmin = 1.0f;
    m->rmax = 5.0f;
    const char *tmp = temp_path(".libmf");
    char path[4096];
    snprintf(path, sizeof path, "%s", tmp);
    hogmf_error err = {0};
    ck_assert_msg(hogmf_model_write_libmf(m, path, &err) == HOGMF_OK, "%s", err.msg);
    hogmf_model *b = NULL;
    ck_assert_msg(hogmf_model_read_libmf(path, 1.0f, 5.0f, &b, &err) == HOGMF_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(b->k, m->k);
    ck_assert_uint_eq(b->m, m->m);
    ck_assert_uint_eq(b->n, m->n);
    ck_assert_msg(memcmp(&b->mu, &m->mu, sizeof m->mu) == 0, "mu %.9g != %.9g",
                  (double)b->mu, (double)m->mu);
    for (uint32_t u = 0; u < m->m; u++) {
        uint32_t v = hogmf_model_user_index(b, m->user_ids[u]);
        ck_assert_msg(v != HOGMF_UNKNOWN, "user id %u lost", m->user_ids[u]);
        ck_assert_msg(b->bu[v] == m->bu[u], "user %u bias %.9g != %.9g", m->user_ids[u],
                      (double)b->bu[v], (double)m->bu[u]);
        ck_assert_msg(memcmp(b->P + (size_t)v * b->stride, m->P + (size_t)u * m->stride,
                             m->k * sizeof(float)) == 0,
                      "user %u factors differ", m->user_ids[u]);
    }
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t v = hogmf_model_item_index(b, m->item_ids[i]);
        ck_assert_msg(v != HOGMF_UNKNOWN, "item id %u lost", m->item_ids[i]);
        ck_assert_msg(b->bi[v] == m->bi[i], "item %u bias differs", m->item_ids[i]);
        ck_assert_msg(memcmp(b->Q + (size_t)v * b->stride, m->Q + (size_t)i * m->stride,
                             m->k * sizeof(float)) == 0,
                      "item %u factors differ", m->item_ids[i]);
    }
    /* Ids without data (user 0, item 1) stay unknown. */
    ck_assert_uint_eq(hogmf_model_user_index(b, 0), HOGMF_UNKNOWN);
    ck_assert_uint_eq(hogmf_model_item_index(b, 1), HOGMF_UNKNOWN);
    for (uint32_t uid = 0; uid < 12; uid++)
        for (uint32_t iid = 0; iid < 10; iid++) {
            float x = hogmf_model_predict(m, hogmf_model_user_index(m, uid),
                                          hogmf_model_item_index(m, iid));
            float y = hogmf_model_predict(b, hogmf_model_user_index(b, uid),
                                          hogmf_model_item_index(b, iid));
            ck_assert_msg(x == y, "user %u item %u: %.9g before, %.9g after the round trip",
                          uid, iid, (double)x, (double)y);
        }
    ck_assert_uint_eq(b->epochs_run, 0);
    ck_assert_uint_eq(b->nnz, 0);
    /* A second export is byte-identical to the first. */
    char path2[4096];
    snprintf(path2, sizeof path2, "%s", temp_path(".libmf"));
    ck_assert_msg(hogmf_model_write_libmf(b, path2, &err) == HOGMF_OK, "%s", err.msg);
    FILE *f1 = fopen(path, "rb"), *f2 = fopen(path2, "rb");
    ck_assert_ptr_nonnull(f1);
    ck_assert_ptr_nonnull(f2);
    int c1, c2;
    long at = 0;
    do {
        c1 = fgetc(f1);
        c2 = fgetc(f2);
        ck_assert_msg(c1 == c2, "re-export differs at byte %ld", at);
        at++;
    } while (c1 != EOF);
    fclose(f1);
    fclose(f2);
    unlink(path);
    unlink(path2);
    hogmf_model_free(&m);
    hogmf_model_free(&b);
}
END_TEST

/* LIBMF's README example: P has a row without data (F), b = 0.5. */
static const char readme_model[] = "f 0\n"
                                   "m 3\n"
                                   "n 2\n"
                                   "k 3\n"
                                   "b 0.5\n"
                                   "p0 T 1 3 5 \n"
                                   "p1 F 0 0 0 \n"
                                   "p2 T 2 4 6 \n"
                                   "q0 T -1 -3 -5 \n"
                                   "q1 T -2 -4 -6 \n";

START_TEST(test_import_plain_libmf)
{
    const char *path = temp_path(".libmf");
    write_text(path, readme_model);
    hogmf_model *b = NULL;
    hogmf_error err = {0};
    ck_assert_msg(hogmf_model_read_libmf(path, -FLT_MAX, FLT_MAX, &b, &err) == HOGMF_OK, "%s",
                  err.msg);
    ck_assert_uint_eq(b->m, 2); /* p1 had no data */
    ck_assert_uint_eq(b->n, 2);
    ck_assert_uint_eq(b->k, 4); /* one column for -b */
    /* By hand: p0.q0 = -1-9-25 = -35, p0.q1 = -2-12-30 = -44, p2.q0 = -2-12-30 = -44,
     * p2.q1 = -4-16-36 = -56; user 1 and anything out of range: b. */
    const struct {
        uint32_t u, i;
        float want;
    } cases[] = {{0, 0, -35}, {0, 1, -44}, {2, 0, -44}, {2, 1, -56},
                 {1, 0, 0.5f}, {1, 1, 0.5f}, {3, 0, 0.5f}, {0, 2, 0.5f}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float got = hogmf_model_predict(b, hogmf_model_user_index(b, cases[c].u),
                                        hogmf_model_item_index(b, cases[c].i));
        ck_assert_msg(fabsf(got - cases[c].want) <= 1e-5f * (1 + fabsf(cases[c].want)),
                      "user %u item %u: expected %g, found %.7g", cases[c].u, cases[c].i,
                      (double)cases[c].want, (double)got);
    }
    hogmf_model_free(&b);
    /* The same with a clipping range. */
    ck_assert_msg(hogmf_model_read_libmf(path, 1.0f, 5.0f, &b, &err) == HOGMF_OK, "%s", err.msg);
    ck_assert_float_eq(hogmf_model_predict(b, hogmf_model_user_index(b, 0),
                                           hogmf_model_item_index(b, 0)),
                       1.0f);
    hogmf_model_free(&b);
    ck_assert_int_eq(hogmf_model_read_libmf(path, 5.0f, 1.0f, &b, &err), HOGMF_ERR_INVALID);
    ck_assert_ptr_null(b);
    unlink(path);
}
END_TEST

START_TEST(test_import_old_format)
{
    /* LIBMF 1.x: no f, no b, no T/F. */
    const char *path = temp_path(".libmf");
    write_text(path, "m 2\nn 1\nk 2\np0 1 2 \np1 3 4 \nq0 0.5 0.25 \n");
    hogmf_model *b = NULL;
    hogmf_error err = {0};
    ck_assert_msg(hogmf_model_read_libmf(path, -FLT_MAX, FLT_MAX, &b, &err) == HOGMF_OK, "%s",
                  err.msg);
    ck_assert_float_eq_tol(hogmf_model_predict(b, 1, 0), 3 * 0.5f + 4 * 0.25f, 1e-6f);
    ck_assert_float_eq(b->mu, 0.0f);
    hogmf_model_free(&b);
    unlink(path);
}
END_TEST

/* Malformed LIBMF models: each is refused with HOGMF_ERR_FORMAT at the given line (0: a
 * message about the whole file) and a message containing `want`. */
static const struct {
    const char *name, *text;
    uint64_t line;
    const char *want;
} bad_models[] = {
    {"empty", "", 0, "expected header lines"},
    {"unknown key", "f 0\nx 3\n", 2, "found 'x'"},
    {"m not a number", "f 0\nm three\n", 2, "m: an integer"},
    {"k zero", "f 0\nm 1\nn 1\nk 0\n", 4, "k: an integer from 1"},
    {"b not finite", "f 0\nm 1\nn 1\nk 1\nb nan\n", 5, "b: a finite real number"},
    {"header junk", "f 0\nm 1 2\n", 2, "end of the header line"},
    {"binary model", "f 5\nm 1\nn 1\nk 1\nb 0\np0 T 1\nq0 T 1\n", 0, "real-valued"},
    {"truncated", "f 0\nm 2\nn 1\nk 1\nb 0\np0 T 1\np1 T 1\n", 8, "found the end of the file"},
    {"too many rows announced", "f 0\nm 1000\nn 1\nk 1\nb 0\np0 T 1\nq0 T 1\n", 0,
     "more than the file"},
    {"row out of order", "f 0\nm 2\nn 1\nk 1\nb 0\np1 T 1\np0 T 1\nq0 T 1\n", 6, "'p0'"},
    {"q before p", "f 0\nm 1\nn 1\nk 1\nb 0\nq0 T 1\np0 T 1\n", 6, "'p0'"},
    {"too few values", "f 0\nm 1\nn 1\nk 2\nb 0\np0 T 1\nq0 T 1 2\n", 6, "value 2 of 2 of p0"},
    {"too many values", "f 0\nm 1\nn 1\nk 1\nb 0\np0 T 1 2\nq0 T 1\n", 6, "1 values"},
    {"inf value", "f 0\nm 1\nn 1\nk 1\nb 0\np0 T 1\nq0 T inf\n", 7, "found 'inf'"},
    {"junk value", "f 0\nm 1\nn 1\nk 1\nb 0\np0 T 1x\nq0 T 1\n", 6, "found '1x'"},
    {"trailing junk", "f 0\nm 1\nn 1\nk 1\nb 0\np0 T 1\nq0 T 1\nextra\n", 8, "end of the file"},
    {"no data rows", "f 0\nm 1\nn 1\nk 1\nb 0\np0 F 0\nq0 T 1\n", 0, "at least one row"},
};

START_TEST(test_import_malformed)
{
    const char *path = temp_path(".libmf");
    write_text(path, bad_models[_i].text);
    hogmf_model *b = (hogmf_model *)1;
    hogmf_error err = {0};
    hogmf_status st = hogmf_model_read_libmf(path, -FLT_MAX, FLT_MAX, &b, &err);
    unlink(path);
    ck_assert_msg(st == HOGMF_ERR_FORMAT, "%s: expected HOGMF_ERR_FORMAT, found %d (%s)",
                  bad_models[_i].name, (int)st, err.msg);
    ck_assert_msg(b == NULL, "%s: *out not cleared", bad_models[_i].name);
    ck_assert_msg(err.line == bad_models[_i].line, "%s: expected line %llu, found %llu (%s)",
                  bad_models[_i].name, (unsigned long long)bad_models[_i].line,
                  (unsigned long long)err.line, err.msg);
    ck_assert_msg(strstr(err.msg, bad_models[_i].want) != NULL,
                  "%s: message '%s' does not contain '%s'", bad_models[_i].name, err.msg,
                  bad_models[_i].want);
    if (bad_models[_i].line) {
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "%s:%llu: ", path,
                 (unsigned long long)bad_models[_i].line);
        ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0,
                      "%s: message '%s' does not start with PATH:LINE", bad_models[_i].name,
                      err.msg);
    }
}
END_TEST

START_TEST(test_import_missing_file)
{
    hogmf_model *b = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_model_read_libmf("/nonexistent/model.txt", 0, 5, &b, &err),
                     HOGMF_ERR_IO);
    ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_export_id_too_large)
{
    hogmf_model *m = sample_model(2);
    m->user_ids[0] = 3000000000u;
    hogmf__idmap_free(m->umap);
    m->umap = hogmf__idmap_from_ids(m->user_ids, m->m);
    hogmf_error err = {0};
    const char *path = temp_path(".libmf");
    ck_assert_int_eq(hogmf_model_write_libmf(m, path, &err), HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "3000000000") != NULL, "%s", err.msg);
    ck_assert_int_eq(access(path, F_OK), -1);
    hogmf_model_free(&m);
}
END_TEST

START_TEST(test_csv)
{
    hogmf_model *m = sample_model(3);
    m->rmin = 0.5f;
    m->rmax = 5.0f;
    char prefix[4096], path[4200];
    snprintf(prefix, sizeof prefix, "%s", temp_path(""));
    hogmf_error err = {0};
    ck_assert_msg(hogmf_model_write_csv(m, prefix, &err) == HOGMF_OK, "%s", err.msg);
    for (int side = 0; side < 2; side++) {
        snprintf(path, sizeof path, "%s_%s.csv", prefix, side ? "items" : "users");
        FILE *f = fopen(path, "r");
        ck_assert_msg(f != NULL, "%s missing", path);
        char line[4096];
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_str_eq(line, side ? "item,bias,f1,f2,f3\n" : "user,bias,f1,f2,f3\n");
        uint32_t rows = side ? m->n : m->m;
        for (uint32_t r = 0; r < rows; r++) {
            ck_assert_msg(fgets(line, sizeof line, f) != NULL, "%s: row %u missing", path, r);
            unsigned id;
            float bias, v[3];
            int got = sscanf(line, "%u,%f,%f,%f,%f", &id, &bias, &v[0], &v[1], &v[2]);
            ck_assert_msg(got == 5, "%s: row %u: '%s'", path, r, line);
            ck_assert_uint_eq(id, side ? m->item_ids[r] : m->user_ids[r]);
            ck_assert_msg(bias == (side ? m->bi[r] : m->bu[r]), "%s: row %u bias", path, r);
            const float *want = (side ? m->Q : m->P) + (size_t)r * m->stride;
            for (int d = 0; d < 3; d++)
                ck_assert_msg(v[d] == want[d], "%s: row %u f%d: expected %.9g, found %.9g", path,
                              r, d + 1, (double)want[d], (double)v[d]);
        }
        ck_assert_ptr_null(fgets(line, sizeof line, f));
        fclose(f);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s_global.csv", prefix);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char head[128];
    float mu, lo, hi;
    unsigned k, users, items;
    ck_assert_int_eq(fscanf(f, "%127s %f,%f,%f,%u,%u,%u", head, &mu, &lo, &hi, &k, &users,
                            &items),
                     7);
    fclose(f);
    unlink(path);
    ck_assert_str_eq(head, "mu,rmin,rmax,k,users,items");
    ck_assert_float_eq(mu, m->mu);
    ck_assert_float_eq(lo, 0.5f);
    ck_assert_float_eq(hi, 5.0f);
    ck_assert_uint_eq(k, 3);
    ck_assert_uint_eq(users, 3);
    ck_assert_uint_eq(items, 4);
    hogmf_model_free(&m);
}
END_TEST

Suite *interop_suite(void)
{
    Suite *s = suite_create("interop");
    TCase *tc = tcase_create("libmf");
    tcase_add_test(tc, test_export_matches_libmf_rule);
    tcase_add_test(tc, test_export_import_exact);
    tcase_add_test(tc, test_import_plain_libmf);
    tcase_add_test(tc, test_import_old_format);
    tcase_add_loop_test(tc, test_import_malformed, 0,
                        (int)(sizeof bad_models / sizeof bad_models[0]));
    tcase_add_test(tc, test_import_missing_file);
    tcase_add_test(tc, test_export_id_too_large);
    suite_add_tcase(s, tc);
    TCase *csv = tcase_create("csv");
    tcase_add_test(csv, test_csv);
    suite_add_tcase(s, csv);
    return s;
}
