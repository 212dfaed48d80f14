/*
 * check_names.c - string ids and sets from arrays (names.c, arrays.c, the reader's --ids and
 * --columns): a name table against a brute-force list, a set built from arrays equal field
 * by field to the set the reader builds from the same lines, string ids detected or asked
 * for, columns by number and by header name, and the model file's name section (version 3)
 * saved and loaded bit for bit, refused when corrupt; numeric models stay version 2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

static hogmf_status parse(const char *text, const hogmf_read_options *ro, hogmf_ratings *out,
                          hogmf_error *err)
{
    return hogmf_ratings_parse(text, strlen(text), "t.csv", ro, out, err);
}

START_TEST(test_names_table)
{
    hogmf_names *t = hogmf_names_new();
    hogmf_error err = {0};
    char buf[32];
    ck_assert_ptr_nonnull(t);
    /* 5000 names, each added twice: codes in order of first insertion. */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t j = 0; j < 5000; j++) {
            int len = snprintf(buf, sizeof buf, "id-%u", j * 7919u);
            uint32_t code = HOGMF_UNKNOWN;
            ck_assert_int_eq(hogmf_names_add(t, buf, (size_t)len, &code, &err), HOGMF_OK);
            ck_assert_msg(code == j, "pass %d: '%s' got code %u, expected %u", pass, buf, code, j);
        }
    ck_assert_uint_eq(hogmf_names_count(t), 5000);
    for (uint32_t j = 0; j < 5000; j++) {
        int len = snprintf(buf, sizeof buf, "id-%u", j * 7919u);
        size_t got_len;
        const char *s = hogmf_names_get(t, j, &got_len);
        ck_assert_msg(s && got_len == (size_t)len && !strcmp(s, buf), "code %u: '%s'", j, s);
        ck_assert_uint_eq(hogmf_names_find(t, buf, (size_t)len), j);
    }
    ck_assert_uint_eq(hogmf_names_find(t, "id-1", 4), HOGMF_UNKNOWN);
    ck_assert_ptr_null(hogmf_names_get(t, 5000, NULL));
    /* Refused names, and the table unchanged. */
    char long_name[1100];
    memset(long_name, 'x', sizeof long_name);
    uint32_t code;
    ck_assert_int_eq(hogmf_names_add(t, "", 0, &code, &err), HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_names_add(t, "a\tb", 3, &code, &err), HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "control byte"), "%s", err.msg);
    ck_assert_int_eq(hogmf_names_add(t, long_name, 1025, &code, &err), HOGMF_ERR_INVALID);
    ck_assert_int_eq(hogmf_names_add(t, long_name, 1024, &code, &err), HOGMF_OK);
    ck_assert_uint_eq(hogmf_names_count(t), 5001);
    /* Two references: the first free leaves the table alive. */
    hogmf_names *r = hogmf_names_ref(t);
    hogmf_names_free(&t);
    ck_assert_ptr_null(t);
    ck_assert_uint_eq(hogmf_names_find(r, "id-0", 4), 0);
    hogmf_names_free(&r);
    hogmf_names_free(&r); /* NULL: a no-op */
}
END_TEST

static void assert_same_set(const hogmf_ratings *a, const hogmf_ratings *b)
{
    ck_assert_uint_eq(a->nnz, b->nnz);
    ck_assert_uint_eq(a->m, b->m);
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_eq(a->duplicates, b->duplicates);
    ck_assert(a->rmin == b->rmin && a->rmax == b->rmax);
    for (size_t j = 0; j < a->nnz; j++)
        ck_assert_msg(a->data[j].u == b->data[j].u && a->data[j].i == b->data[j].i &&
                          a->data[j].r == b->data[j].r,
                      "rating %zu: (%u, %u, %g) vs (%u, %u, %g)", j, a->data[j].u, a->data[j].i,
                      (double)a->data[j].r, b->data[j].u, b->data[j].i, (double)b->data[j].r);
    ck_assert(!memcmp(a->user_ids, b->user_ids, a->m * sizeof *a->user_ids));
    ck_assert(!memcmp(a->item_ids, b->item_ids, a->n * sizeof *a->item_ids));
}

START_TEST(test_from_arrays_equals_reader)
{
    /* Ids out of order, a repeated pair (the last one wins), large and small ids. */
    static const uint32_t users[] = {7, 3, 7, 4000000000u, 3, 7, 4294967295u};
    static const uint32_t items[] = {1, 1, 2, 5, 1, 1, 3000000};
    static const float r[] = {4, 2.5f, 3, 1, 5, 0.5f, 2};
    static const double ts[] = {1, 2, 3, 4, 5, 6, 7};
    const size_t nnz = 7;
    char text[512];
    size_t len = 0;
    for (size_t j = 0; j < nnz; j++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%u,%u,%g\n", users[j], items[j],
                                (double)r[j]);
    hogmf_ratings a, b;
    hogmf_error err = {0};
    ck_assert_int_eq(parse(text, NULL, &a, &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_ratings_from_arrays(users, items, r, ts, nnz, NULL, NULL, &b, &err),
                     HOGMF_OK);
    ck_assert_uint_eq(b.duplicates, 2);
    assert_same_set(&a, &b);
    hogmf_ratings_free(&b);
    /* The builder with a short hint grows and gives the same set. */
    hogmf_builder *bl;
    ck_assert_int_eq(hogmf_builder_new(1, NULL, NULL, &bl, &err), HOGMF_OK);
    for (size_t j = 0; j < nnz; j++)
        ck_assert_int_eq(hogmf_builder_add(bl, users[j], items[j], r[j], &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_builder_finish(&bl, &b, &err), HOGMF_OK);
    ck_assert_ptr_null(bl);
    assert_same_set(&a, &b);
    hogmf_ratings_free(&a);
    hogmf_ratings_free(&b);
}
END_TEST

START_TEST(test_from_arrays_refuses)
{
    uint32_t users[] = {1, 2, 3}, items[] = {1, 2, 3};
    float r[] = {1, 2, NAN};
    double ts[] = {1, INFINITY, 3};
    hogmf_ratings out;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_from_arrays(users, items, r, NULL, 3, NULL, NULL, &out, &err),
                     HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "ratings[2]: rating: expected a finite number"), "%s", err.msg);
    r[2] = 3;
    ck_assert_int_eq(hogmf_ratings_from_arrays(users, items, r, ts, 3, NULL, NULL, &out, &err),
                     HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "ratings[1]: timestamp"), "%s", err.msg);
    ck_assert_int_eq(hogmf_ratings_from_arrays(users, items, r, NULL, 0, NULL, NULL, &out, &err),
                     HOGMF_ERR_EMPTY);
    /* With a name table, ids must be its codes. */
    hogmf_names *t = hogmf_names_new();
    uint32_t code;
    ck_assert_int_eq(hogmf_names_add(t, "a", 1, &code, &err), HOGMF_OK);
    users[1] = 0;
    ck_assert_int_eq(hogmf_ratings_from_arrays(users, items, r, NULL, 3, t, NULL, &out, &err),
                     HOGMF_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "ratings[0]: user id: expected a code"), "%s", err.msg);
    ck_assert_ptr_null(out.data);
    hogmf_names_free(&t);
}
END_TEST

/* Reading ids: text, ids option, expected status, user names in dense order ("" numeric). */
static const struct {
    const char *text;
    hogmf_ids ids;
    hogmf_status status;
    uint64_t line;
    const char *users; /* space-separated names, or the message's phrase on failure */
} id_cases[] = {
    {"AX1,B1,3\nAX2,B1,4\nAX1,B2,5\n", HOGMF_IDS_AUTO, HOGMF_OK, 0, "AX1 AX2"},
    {"user,item,rating\n0451,X1,3\n12,X1,4\n", HOGMF_IDS_AUTO, HOGMF_OK, 0, "0451 12"},
    {"1,2,3\n10,2,4\n", HOGMF_IDS_STRING, HOGMF_OK, 0, "1 10"},
    {"1,2,3\n10,2,4\n", HOGMF_IDS_AUTO, HOGMF_OK, 0, ""},
    {"1,2,3\nu7,2,3\n", HOGMF_IDS_AUTO, HOGMF_ERR_PARSE, 2,
     "user id: expected a non-negative integer id, found 'u7' (the first line's ids were "
     "numbers; --ids string"},
    {"AX1\tB1\t3\n", HOGMF_IDS_NUMERIC, HOGMF_ERR_PARSE, 1,
     "user id: expected a non-negative integer id, found 'AX1'"},
    {"AX1\tB1\t3\n\tB1\t3\n", HOGMF_IDS_STRING, HOGMF_ERR_PARSE, 2, "expected 3 or 4 fields"},
};

START_TEST(test_read_string_ids)
{
    hogmf_read_options ro = hogmf_read_options_default();
    ro.ids = id_cases[_i].ids;
    hogmf_ratings set;
    hogmf_error err = {0};
    hogmf_status st = parse(id_cases[_i].text, &ro, &set, &err);
    ck_assert_msg(st == id_cases[_i].status, "case %d: status %d (%s)", _i, st, err.msg);
    if (st != HOGMF_OK) {
        ck_assert_msg(err.line == id_cases[_i].line && strstr(err.msg, id_cases[_i].users),
                      "case %d: line %llu, message '%s'", _i, (unsigned long long)err.line,
                      err.msg);
        return;
    }
    if (!id_cases[_i].users[0]) {
        ck_assert_ptr_null(set.user_names);
        hogmf_ratings_free(&set);
        return;
    }
    char names[256] = "";
    for (uint32_t u = 0; u < set.m; u++) {
        const char *s = hogmf_names_get(set.user_names, set.user_ids[u], NULL);
        ck_assert_ptr_nonnull(s);
        strcat(names, u ? " " : "");
        strcat(names, s);
    }
    ck_assert_msg(!strcmp(names, id_cases[_i].users), "case %d: users '%s'", _i, names);
    hogmf_ratings_free(&set);
}
END_TEST

START_TEST(test_read_columns)
{
    static const char text[] = "ts,score,asin,reviewer\n"
                               "100,4,B01,AX1\n"
                               "101,2.5,B02,AX2\n";
    hogmf_read_options ro = hogmf_read_options_default();
    hogmf_error err = {0};
    char spec[64] = "reviewer,asin,score,ts";
    ck_assert_int_eq(hogmf_read_options_columns(&ro, spec, &err), 0);
    hogmf_ratings set;
    ck_assert_msg(parse(text, &ro, &set, &err) == HOGMF_OK, "%s", err.msg);
    ck_assert_uint_eq(set.nnz, 2);
    ck_assert_str_eq(hogmf_names_get(set.user_names, set.user_ids[set.data[1].u], NULL), "AX2");
    ck_assert_str_eq(hogmf_names_get(set.item_names, set.item_ids[set.data[1].i], NULL), "B02");
    ck_assert(set.data[1].r == 2.5f);
    hogmf_ratings_free(&set);
    /* By number: the same set (the header is skipped as a CSV header). */
    strcpy(spec, "4,3,2");
    ro = hogmf_read_options_default();
    ck_assert_int_eq(hogmf_read_options_columns(&ro, spec, &err), 0);
    ck_assert_int_eq(ro.columns[0], 4);
    ck_assert_int_eq(ro.columns[3], 0);
    ck_assert_msg(parse(text, &ro, &set, &err) == HOGMF_OK, "%s", err.msg);
    ck_assert_uint_eq(set.nnz, 2);
    ck_assert(set.data[0].r == 4.0f);
    hogmf_ratings_free(&set);
    /* Numeric ids in a wider file, no header: columns 3 and 1, rating 2. */
    ro = hogmf_read_options_default();
    strcpy(spec, "3,1,2");
    ck_assert_int_eq(hogmf_read_options_columns(&ro, spec, &err), 0);
    ck_assert_msg(parse("5,4.5,17,x,y\n6,1,18,x\n", &ro, &set, &err) == HOGMF_OK, "%s", err.msg);
    ck_assert_ptr_null(set.user_names);
    ck_assert_uint_eq(set.user_ids[0], 17);
    ck_assert_uint_eq(set.item_ids[1], 6);
    ck_assert(set.data[0].r == 4.5f);
    hogmf_ratings_free(&set);
    /* A missing header name, and a line too short for the columns. */
    ro = hogmf_read_options_default();
    strcpy(spec, "reviewer,nope,score");
    ck_assert_int_eq(hogmf_read_options_columns(&ro, spec, &err), 0);
    ck_assert_int_eq(parse(text, &ro, &set, &err), HOGMF_ERR_PARSE);
    ck_assert_msg(err.line == 1 && strstr(err.msg, "item column 'nope' is not in the header"),
                  "%s", err.msg);
    ro = hogmf_read_options_default();
    strcpy(spec, "4,3,2");
    ck_assert_int_eq(hogmf_read_options_columns(&ro, spec, &err), 0);
    ck_assert_int_eq(parse("ts,score,asin,reviewer\n1,2,B\n", &ro, &set, &err), HOGMF_ERR_PARSE);
    ck_assert_msg(err.line == 2 && strstr(err.msg, "expected at least 4 fields"), "%s", err.msg);
    /* A zeroed options struct is the default layout. */
    hogmf_read_options zero;
    memset(&zero, 0, sizeof zero);
    ck_assert_msg(parse("1,2,3\n4,5,6,7\n", &zero, &set, &err) == HOGMF_OK, "%s", err.msg);
    ck_assert_uint_eq(set.nnz, 2);
    ck_assert(set.data[1].r == 6.0f);
    hogmf_ratings_free(&set);
    /* Bad specifications. */
    static const char *const bad[] = {"1", "0,1,2", "-,1,2", "1,2,3,4,5", "1,,2", "1,2,99"};
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        ro = hogmf_read_options_default();
        strcpy(spec, bad[j]);
        ck_assert_msg(hogmf_read_options_columns(&ro, spec, &err) == -1 &&
                          strstr(err.msg, "--columns"),
                      "'%s' accepted (%s)", bad[j], err.msg);
    }
}
END_TEST

/* A small string-id model trained on one thread. */
static hogmf_model *train_named(hogmf_ratings *set)
{
    static const char text[] = "AX1,B1,3\nAX2,B1,4\nAX1,B2,5\nAX3,B2,1\nAX3,B3,2\nAX2,B3,4\n";
    hogmf_error err = {0};
    ck_assert_int_eq(parse(text, NULL, set, &err), HOGMF_OK);
    hogmf_params p = hogmf_params_default();
    p.k = 3;
    p.epochs = 4;
    p.threads = 1;
    hogmf_model *model = NULL;
    ck_assert_msg(hogmf_train(set, NULL, &p, &model, &err) == HOGMF_OK, "%s", err.msg);
    return model;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc(*len);
    ck_assert_uint_eq(fread(buf, 1, *len, fp), *len);
    fclose(fp);
    return buf;
}

START_TEST(test_model_names_round_trip)
{
    hogmf_ratings set;
    hogmf_model *model = train_named(&set);
    hogmf_error err = {0};
    ck_assert_ptr_nonnull(model->user_names);
    ck_assert_uint_eq(hogmf_model_user_index_name(model, "AX2", 3),
                      hogmf_model_user_index(model, 1)); /* AX2 is code 1 */
    ck_assert_uint_eq(hogmf_model_item_index_name(model, "nope", 4), HOGMF_UNKNOWN);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", temp_path(".bin"));
    snprintf(b, sizeof b, "%s", temp_path(".bin"));
    ck_assert_int_eq(hogmf_model_save(model, a, &err), HOGMF_OK);
    hogmf_model *loaded = NULL;
    ck_assert_msg(hogmf_model_load(a, &loaded, &err) == HOGMF_OK, "%s", err.msg);
    for (uint32_t u = 0; u < model->m; u++)
        ck_assert_str_eq(hogmf_model_user_name(loaded, u), hogmf_model_user_name(model, u));
    for (uint32_t i = 0; i < model->n; i++)
        ck_assert_str_eq(hogmf_model_item_name(loaded, i), hogmf_model_item_name(model, i));
    for (uint32_t u = 0; u < model->m; u++)
        for (uint32_t i = 0; i < model->n; i++)
            ck_assert(hogmf_model_predict(loaded, u, i) == hogmf_model_predict(model, u, i));
    ck_assert_int_eq(hogmf_model_save(loaded, b, &err), HOGMF_OK);
    size_t la, lb;
    unsigned char *fa = slurp(a, &la), *fb = slurp(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert(!memcmp(fa, fb, la));
    ck_assert_uint_eq(fa[8], 3); /* version 3: the name section */
    /* Factors copied without padding. */
    float *P = malloc((size_t)model->m * model->k * sizeof *P);
    hogmf_model_copy_factors(model, 0, P);
    for (uint32_t u = 0; u < model->m; u++)
        for (uint32_t d = 0; d < model->k; d++)
            ck_assert(P[u * model->k + d] == model->P[(size_t)u * model->stride + d]);
    free(P);
    /* Corrupt or cut name sections are refused; so is a flipped body byte. */
    for (int kind = 0; kind < 3; kind++) {
        FILE *fp = fopen(b, "wb");
        size_t len = kind == 1 ? la - 5 : la;
        unsigned char save = fa[la - 6];
        if (kind == 0)
            fa[la - 6] ^= 0x20; /* a byte of the last name */
        ck_assert_uint_eq(fwrite(fa, 1, len, fp), len);
        fclose(fp);
        fa[la - 6] = save;
        if (kind == 2) { /* a version 2 header over a file with a name section */
            fp = fopen(b, "r+b");
            fseek(fp, 8, SEEK_SET);
            fputc(2, fp);
            fclose(fp);
        }
        hogmf_model *bad = NULL;
        ck_assert_int_eq(hogmf_model_load(b, &bad, &err), HOGMF_ERR_FORMAT);
        ck_assert_ptr_null(bad);
        ck_assert_msg(strstr(err.msg, "not a valid hogmf model"), "kind %d: %s", kind, err.msg);
    }
    free(fa);
    free(fb);
    remove(a);
    remove(b);
    hogmf_model_free(&loaded);
    hogmf_model_free(&model);
    hogmf_ratings_free(&set);
}
END_TEST

START_TEST(test_numeric_model_stays_version_2)
{
    hogmf_ratings set;
    hogmf_error err = {0};
    ck_assert_int_eq(parse("1,1,3\n2,1,4\n1,2,5\n", NULL, &set, &err), HOGMF_OK);
    hogmf_params p = hogmf_params_default();
    p.k = 2;
    p.epochs = 2;
    p.threads = 1;
    hogmf_model *model = NULL;
    ck_assert_int_eq(hogmf_train(&set, NULL, &p, &model, &err), HOGMF_OK);
    ck_assert_ptr_null(model->user_names);
    const char *path = temp_path(".bin");
    ck_assert_int_eq(hogmf_model_save(model, path, &err), HOGMF_OK);
    size_t len;
    unsigned char *f = slurp(path, &len);
    ck_assert_uint_eq(f[8], 2);
    ck_assert_ptr_null(hogmf_model_user_name(model, 0));
    free(f);
    remove(path);
    hogmf_model_free(&model);
    hogmf_ratings_free(&set);
}
END_TEST

START_TEST(test_second_file_gets_the_model_codes)
{
    hogmf_ratings set, test;
    hogmf_model *model = train_named(&set);
    hogmf_read_options ro = hogmf_read_options_default();
    ro.ids = HOGMF_IDS_STRING;
    ro.user_names = model->user_names;
    ro.item_names = model->item_names;
    hogmf_error err = {0};
    ck_assert_int_eq(parse("AX3,B1,2\nNEW,B3,4\n", &ro, &test, &err), HOGMF_OK);
    uint32_t u = hogmf_model_user_index(model, test.user_ids[test.data[0].u]);
    ck_assert_uint_eq(u, hogmf_model_user_index_name(model, "AX3", 3));
    ck_assert_uint_eq(hogmf_model_user_index(model, test.user_ids[test.data[1].u]), HOGMF_UNKNOWN);
    double rmse;
    size_t unknown;
    ck_assert_int_eq(hogmf_evaluate(model, &test, 1, &rmse, NULL, &unknown, &err), HOGMF_OK);
    ck_assert_uint_eq(unknown, 1);
    /* The same file read with its own tables: translated by name, the same evaluation. */
    hogmf_ratings own;
    ck_assert_int_eq(parse("AX3,B1,2\nNEW,B3,4\n", NULL, &own, &err), HOGMF_OK);
    ck_assert_ptr_ne(own.user_names, model->user_names);
    double rmse2;
    size_t unknown2;
    ck_assert_int_eq(hogmf_evaluate(model, &own, 1, &rmse2, NULL, &unknown2, &err), HOGMF_OK);
    ck_assert_msg(rmse2 == rmse && unknown2 == 1, "own tables: rmse %.17g vs %.17g", rmse2, rmse);
    hogmf_ratings_free(&own);
    hogmf_ratings_free(&test);
    hogmf_model_free(&model);
    hogmf_ratings_free(&set);
}
END_TEST

Suite *names_suite(void)
{
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_names_table);
    tcase_add_test(tc, test_from_arrays_equals_reader);
    tcase_add_test(tc, test_from_arrays_refuses);
    tcase_add_loop_test(tc, test_read_string_ids, 0, (int)(sizeof id_cases / sizeof id_cases[0]));
    tcase_add_test(tc, test_read_columns);
    tcase_add_test(tc, test_model_names_round_trip);
    tcase_add_test(tc, test_numeric_model_stays_version_2);
    tcase_add_test(tc, test_second_file_gets_the_model_codes);
    suite_add_tcase(s, tc);
    return s;
}
