/*
 * check_dense.c - dense matrices for `hogmf impute`: commas, tabs and blanks, empty cells
 * and markers, CRLF and a byte order mark are read into the right cells; ragged rows, junk
 * and NaN are refused with their line; written then read back, known cells are exact.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

static const char *write_temp(const char *text, size_t len)
{
    const char *path = temp_path(".txt");
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    fclose(fp);
    return path;
}

/* Good matrices: text, marker, shape, delimiter, and the cells row by row ("-" missing). */
static const struct {
    const char *text;
    const char *missing;
    uint32_t m, n;
    char delim;
    const char *cells;
} good[] = {
    {"3,1,1,3,1\n1,2,,1,3\n", NULL, 2, 5, ',', "3 1 1 3 1 1 2 - 1 3"},
    {"1\tNA\t2.5\n-4\t5e-1\tNA\n", "NA", 2, 3, '\t', "1 - 2.5 -4 0.5 -"},
    {"\n  1 ? 3\n4   5 ?  \n\n \n", "?", 2, 3, ' ', "1 - 3 4 5 -"},
    {"\xEF\xBB\xBF" "1, 2\r\n , 4\r\n", NULL, 2, 2, ',', "1 2 - 4"},
    {"7\n8\n", NULL, 2, 1, ' ', "7 8"},
    {"0,1\n-1,0", "-1", 2, 2, ',', "0 1 - 0"},
};

START_TEST(test_dense_read_good)
{
    const char *path = write_temp(good[_i].text, strlen(good[_i].text));
    hogmf_dense d;
    hogmf_error err = {0};
    hogmf_status st = hogmf_dense_read(path, good[_i].missing, &d, &err);
    remove(path);
    ck_assert_msg(st == HOGMF_OK, "case %d: %s", _i, err.msg);
    ck_assert_msg(d.m == good[_i].m && d.n == good[_i].n, "case %d: %u x %u, expected %u x %u",
                  _i, d.m, d.n, good[_i].m, good[_i].n);
    ck_assert_msg(d.delim == good[_i].delim, "case %d: delimiter '%c'", _i, d.delim);
    const char *c = good[_i].cells;
    for (size_t j = 0; j < (size_t)d.m * d.n; j++) {
        while (*c == ' ')
            c++;
        if (*c == '-' && (c[1] == ' ' || c[1] == '\0')) {
            ck_assert_msg(!d.known[j] && isnan(d.x[j]), "case %d: cell %zu should be missing",
                          _i, j);
            c++;
        } else {
            char *end;
            float v = strtof(c, &end);
            ck_assert_msg(d.known[j] && d.x[j] == v, "case %d: cell %zu is %g (known %d), "
                          "expected %g", _i, j, (double)d.x[j], d.known[j], (double)v);
            c = end;
        }
    }
    hogmf_dense_free(&d);
    ck_assert_ptr_null(d.x);
}
END_TEST

/* Bad matrices: text, marker, status, line, phrase. */
static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *missing;
    hogmf_status status;
    uint64_t line;
    const char *phrase;
} bad[] = {
    {"1,2,3\n4,5,6\n7,8\n", 0, NULL, HOGMF_ERR_PARSE, 3, "expected 3 cells as in the first row, found 2"},
    {"1,2\n3,4,5\n", 0, NULL, HOGMF_ERR_PARSE, 2, "found more"},
    /* a blank line inside the matrix would shift every row after it */
    {"1,2\n3,4\n\n5,6\n", 0, NULL, HOGMF_ERR_PARSE, 3,
     "expected a row of the matrix, found a blank line (more rows follow on line 4)"},
    {"1 2\n3 x\n", 0, NULL, HOGMF_ERR_PARSE, 2, "cell 2: expected a finite number or an empty cell, found 'x'"},
    {"1,NA\nnan,2\n", 0, "NA", HOGMF_ERR_PARSE, 2, "or the missing marker 'NA', found 'nan'"},
    {"1,2\n3,1e999\n", 0, NULL, HOGMF_ERR_PARSE, 2, "found '1e999'"},
    {"1,2\n3,4\n5,6\n7\0,8\n", 17, NULL, HOGMF_ERR_PARSE, 4, "NUL byte"},
    {"", 0, NULL, HOGMF_ERR_EMPTY, 0, "no rows"},
    {"\n  \n", 0, NULL, HOGMF_ERR_EMPTY, 0, "no rows"},
};

START_TEST(test_dense_read_bad)
{
    size_t len = bad[_i].len ? bad[_i].len : strlen(bad[_i].text);
    const char *path = write_temp(bad[_i].text, len);
    char saved[4096];
    snprintf(saved, sizeof saved, "%s", path);
    hogmf_dense d;
    hogmf_error err = {0};
    hogmf_status st = hogmf_dense_read(saved, bad[_i].missing, &d, &err);
    remove(saved);
    ck_assert_msg(st == bad[_i].status, "case %d: status %d, expected %d (%s)", _i, st,
                  bad[_i].status, err.msg);
    ck_assert_msg(err.line == bad[_i].line, "case %d: line %llu, expected %llu (%s)", _i,
                  (unsigned long long)err.line, (unsigned long long)bad[_i].line, err.msg);
    char prefix[4200];
    if (bad[_i].line)
        snprintf(prefix, sizeof prefix, "%s:%llu: ", saved, (unsigned long long)bad[_i].line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", saved);
    ck_assert_msg(!strncmp(err.msg, prefix, strlen(prefix)), "case %d: '%s' does not start "
                  "with '%s'", _i, err.msg, prefix);
    ck_assert_msg(strstr(err.msg, bad[_i].phrase), "case %d: '%s' lacks '%s'", _i, err.msg,
                  bad[_i].phrase);
    ck_assert_ptr_null(d.x);
}
END_TEST

START_TEST(test_dense_write_read_back)
{
    const float x[6] = {3, 0.1f, -2.75f, 1.0f / 3.0f, 1e-7f, 123456.789f};
    const unsigned char exact[6] = {1, 1, 1, 0, 1, 0};
    const char delims[] = {',', '\t', ' '};
    for (int t = 0; t < 3; t++) {
        const char *path = temp_path(".csv");
        char saved[4096];
        snprintf(saved, sizeof saved, "%s", path);
        hogmf_error err = {0};
        ck_assert_int_eq(hogmf_dense_write(saved, x, exact, 2, 3, delims[t], 3, &err),
                         HOGMF_OK);
        hogmf_dense d;
        ck_assert_msg(hogmf_dense_read(saved, NULL, &d, &err) == HOGMF_OK, "%s", err.msg);
        remove(saved);
        ck_assert(d.m == 2 && d.n == 3 && d.delim == delims[t]);
        for (int c = 0; c < 6; c++) {
            ck_assert(d.known[c]);
            if (exact[c])
                ck_assert_msg(d.x[c] == x[c], "delim %d cell %d: %.9g read back as %.9g", t, c,
                              (double)x[c], (double)d.x[c]);
            else
                ck_assert_msg(fabs(d.x[c] - x[c]) <= 0.005 * fabs(x[c]),
                              "delim %d cell %d: 3 digits of %.9g read back as %.9g", t, c,
                              (double)x[c], (double)d.x[c]);
        }
        hogmf_dense_free(&d);
    }
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_dense_write(temp_path(".csv"), x, exact, 2, 3, ',', 0, &err),
                     HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_dense_write(temp_path(".csv"), x, exact, 2, 3, ';', 4, &err),
                     HOGMF_ERR_INVALID);
}
END_TEST

/* A planted rank-2 matrix (12 x 10, a fifth of the cells missing): k = 1 cannot fit it, so
 * the cross-validated choice is at least 2 and k = 2 is much better than k = 1; candidates
 * above the smaller side (12, 16) are not tried. */
START_TEST(test_impute_choose_k)
{
    enum { M = 12, N = 10 };
    float x[M * N];
    unsigned char known[M * N];
    for (int u = 0; u < M; u++)
        for (int i = 0; i < N; i++) {
            double a = 1 + 0.3 * u, b = 1 + 0.2 * ((u * 7) % 5), c = 1 + 0.25 * i,
                   d = 1 + 0.3 * ((i * 3) % 4);
            x[u * N + i] = (float)(a * c - b * d + 4);
            known[u * N + i] = (u * N + i) % 5 != 2;
        }
    hogmf_ratings set;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_from_dense(x, known, M, N, &set, &err), HOGMF_OK);
    hogmf_params p = hogmf_impute_params_default();
    double rmse[HOGMF_IMPUTE_KS];
    uint32_t k = 0, folds = 0;
    ck_assert_msg(hogmf_impute_choose_k(&set, M, N, &p, &k, rmse, &folds, &err) == HOGMF_OK,
                  "%s", err.msg);
    ck_assert_uint_eq(folds, 5);
    ck_assert_msg(k >= 2, "chose k = %u (RMSE k=1 %g, k=2 %g)", k, rmse[0], rmse[1]);
    ck_assert_msg(rmse[1] < 0.5 * rmse[0], "RMSE k=1 %g, k=2 %g", rmse[0], rmse[1]);
    ck_assert(isnan(rmse[6]) && isnan(rmse[7]));
    hogmf_ratings_free(&set);
}
END_TEST

Suite *dense_suite(void)
{
    Suite *s = suite_create("dense");
    TCase *tc = tcase_create("dense");
    tcase_add_loop_test(tc, test_dense_read_good, 0, (int)(sizeof good / sizeof good[0]));
    tcase_add_loop_test(tc, test_dense_read_bad, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_dense_write_read_back);
    tcase_add_test(tc, test_impute_choose_k);
    suite_add_tcase(s, tc);
    return s;
}
