/*
 * check_ratings.c - the ratings reader: every input format, auto-detected and forced, with
 * exact ids and values; line endings, BOM, blank lines and extreme ids; duplicates; one
 * malformed fixture per error class with its exact line; the memory parser; dense input;
 * write-then-read round trips. Splits and synthetic data are in check_gen.c.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"

/* Mirrors ratings.c: the longest accepted line and the read chunk. */
#define MAX_LINE ((size_t)1 << 20)
#define CHUNK_SIZE ((size_t)4 << 20)

/* ---------------------------------------------------------------- helpers */

static void write_bytes(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_msg(fwrite(data, 1, len, f) == len, "cannot write %s", path);
    ck_assert_msg(fclose(f) == 0, "cannot close %s", path);
}

/* Reads a whole file into a malloc'd buffer; *len gets its size. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ck_assert(buf != NULL);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert(buf != NULL);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Writes text to a fresh temporary file and reads it back; the path is copied to path. */
static hogmf_status read_text(const char *text, size_t len, const hogmf_read_options *opts,
                              hogmf_ratings *out, hogmf_error *err, char *path, size_t cap)
{
    snprintf(path, cap, "%s", temp_path(".txt"));
    write_bytes(path, text, len);
    hogmf_status st = hogmf_ratings_read(path, opts, out, err);
    unlink(path);
    return st;
}

static uint64_t bits_of(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* ---------------------------------------------------------------- formats */

typedef struct triple {
    uint32_t user, item;
    float r;
} triple;

typedef struct format_case {
    const char *name;
    const char *text;
    hogmf_format format; /* what it is, for forcing and for the detection check */
    size_t nnz;
    uint32_t m, n;
    uint32_t user_ids[4], item_ids[4]; /* in order of first appearance */
    triple want[5];                    /* in file order */
    float rmin, rmax;
} format_case;

static const format_case format_cases[] = {
    {"movielens u.data (tsv)",
     "196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n22\t377\t-2.25\t878887116\n"
     "196\t51\t1e0\t880606923\n",
     HOGMF_FORMAT_TSV, 4, 3, 4, {196, 186, 22}, {242, 302, 377, 51},
     {{196, 242, 3.0f}, {186, 302, 3.5f}, {22, 377, -2.25f}, {196, 51, 1.0f}}, -2.25f, 3.5f},
    {"movielens ratings.dat (::)",
     "1::1193::5::978300760\n1::661::3.5::978302109\n2::1193::-2.25::978301968\n"
     "3::3408::25e-1::978300275\n",
     HOGMF_FORMAT_DAT, 4, 3, 3, {1, 2, 3}, {1193, 661, 3408},
     {{1, 1193, 5.0f}, {1, 661, 3.5f}, {2, 1193, -2.25f}, {3, 3408, 2.5f}}, -2.25f, 5.0f},
    {"csv with header",
     "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,-2.25,1260759179\n"
     "7,31,1e0,1260759182\n",
     HOGMF_FORMAT_CSV, 3, 2, 2, {1, 7}, {31, 1029},
     {{1, 31, 2.5f}, {1, 1029, -2.25f}, {7, 31, 1.0f}}, -2.25f, 2.5f},
    {"csv without header",
     "1,31,2.5\n2, 31 ,4.0\n1,40,-2.25\n5,40,1E+0\n",
     HOGMF_FORMAT_CSV, 4, 3, 2, {1, 2, 5}, {31, 40},
     {{1, 31, 2.5f}, {2, 31, 4.0f}, {1, 40, -2.25f}, {5, 40, 1.0f}}, -2.25f, 4.0f},
    {"libmf whitespace",
     "0 0 3.5\n0   5\t-2.25\n  3 0 1e0\n9 5 0.5 \n",
     HOGMF_FORMAT_LIBMF, 4, 3, 2, {0, 3, 9}, {0, 5},
     {{0, 0, 3.5f}, {0, 5, -2.25f}, {3, 0, 1.0f}, {9, 5, 0.5f}}, -2.25f, 3.5f},
};
#define N_FORMAT_CASES (int)(sizeof format_cases / sizeof format_cases[0])

/* Checks a set against a case; `how` names the way it was read. */
static void check_case(const format_case *c, const char *how, const hogmf_ratings *r)
{
    ck_assert_msg(r->nnz == c->nnz, "%s (%s): nnz: expected %zu, found %zu", c->name, how,
                  c->nnz, r->nnz);
    ck_assert_msg(r->m == c->m && r->n == c->n, "%s (%s): expected m=%u n=%u, found m=%u n=%u",
                  c->name, how, c->m, c->n, r->m, r->n);
    ck_assert_msg(r->format == c->format, "%s (%s): format: expected %s, found %s", c->name,
                  how, hogmf_format_name(c->format), hogmf_format_name(r->format));
    ck_assert_msg(r->duplicates == 0, "%s (%s): %zu duplicates", c->name, how, r->duplicates);
    for (uint32_t u = 0; u < c->m; u++)
        ck_assert_msg(r->user_ids[u] == c->user_ids[u],
                      "%s (%s): user_ids[%u]: expected %u, found %u", c->name, how, u,
                      c->user_ids[u], r->user_ids[u]);
    for (uint32_t i = 0; i < c->n; i++)
        ck_assert_msg(r->item_ids[i] == c->item_ids[i],
                      "%s (%s): item_ids[%u]: expected %u, found %u", c->name, how, i,
                      c->item_ids[i], r->item_ids[i]);
    for (size_t j = 0; j < c->nnz; j++) {
        const hogmf_rating *x = &r->data[j];
        ck_assert_msg(x->u < r->m && x->i < r->n, "%s (%s): rating %zu: index out of range",
                      c->name, how, j);
        ck_assert_msg(r->user_ids[x->u] == c->want[j].user &&
                          r->item_ids[x->i] == c->want[j].item && x->r == c->want[j].r,
                      "%s (%s): rating %zu: expected (%u, %u, %g), found (%u, %u, %g)", c->name,
                      how, j, c->want[j].user, c->want[j].item, (double)c->want[j].r,
                      r->user_ids[x->u], r->item_ids[x->i], (double)x->r);
    }
    ck_assert_msg(r->rmin == c->rmin && r->rmax == c->rmax,
                  "%s (%s): range: expected [%g, %g], found [%g, %g]", c->name, how,
                  (double)c->rmin, (double)c->rmax, (double)r->rmin, (double)r->rmax);
}

START_TEST(test_format)
{
    const format_case *c = &format_cases[_i];
    size_t len = strlen(c->text);
    for (int forced = 0; forced < 2; forced++) {
        hogmf_read_options o = hogmf_read_options_default();
        o.format = forced ? c->format : HOGMF_FORMAT_AUTO;
        const char *mode = forced ? "forced" : "auto";
        hogmf_ratings r;
        hogmf_error err;
        char path[4096], how[64];
        hogmf_status st = read_text(c->text, len, &o, &r, &err, path, sizeof path);
        snprintf(how, sizeof how, "read, %s", mode);
        ck_assert_msg(st == HOGMF_OK, "%s (%s): status %d: %s", c->name, how, (int)st, err.msg);
        check_case(c, how, &r);
        ck_assert_msg(r.bytes == len, "%s (%s): bytes: expected %zu, found %llu", c->name, how,
                      len, (unsigned long long)r.bytes);
        hogmf_ratings_free(&r);

        snprintf(how, sizeof how, "parse, %s", mode);
        st = hogmf_ratings_parse(c->text, len, "mem", &o, &r, &err);
        ck_assert_msg(st == HOGMF_OK, "%s (%s): status %d: %s", c->name, how, (int)st, err.msg);
        check_case(c, how, &r);
        hogmf_ratings_free(&r);
    }
}
END_TEST

START_TEST(test_forced_wrong_format)
{
    /* A TSV file forced to DAT has one field per line: rejected on line 1, not guessed. */
    const char *text = "1\t2\t3\n";
    hogmf_read_options o = hogmf_read_options_default();
    o.format = HOGMF_FORMAT_DAT;
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(text, strlen(text), "tsv-as-dat", &o, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_PARSE && err.line == 1,
                  "tsv forced to dat: expected PARSE on line 1, found status %d line %llu: %s",
                  (int)st, (unsigned long long)err.line, err.msg);
    ck_assert_msg(strstr(err.msg, "fields") != NULL, "tsv forced to dat: message '%s'", err.msg);
    ck_assert_msg(r.data == NULL && r.nnz == 0, "tsv forced to dat: output not left empty");

    o.format = (hogmf_format)99;
    st = hogmf_ratings_parse(text, strlen(text), "bad-format", &o, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID, "format 99: expected INVALID, found %d: %s", (int)st,
                  err.msg);
}
END_TEST

START_TEST(test_format_names)
{
    static const char *names[] = {"auto", "tsv", "dat", "csv", "libmf"};
    for (int f = 0; f < 5; f++) {
        hogmf_format got = (hogmf_format)-1;
        ck_assert_msg(hogmf_format_parse(names[f], &got) == 0 && got == (hogmf_format)f,
                      "hogmf_format_parse(\"%s\"): expected %d, found %d", names[f], f,
                      (int)got);
        ck_assert_msg(strcmp(hogmf_format_name((hogmf_format)f), names[f]) == 0,
                      "hogmf_format_name(%d): expected %s, found %s", f, names[f],
                      hogmf_format_name((hogmf_format)f));
    }
    hogmf_format got;
    ck_assert_msg(hogmf_format_parse("TSV", &got) == -1, "\"TSV\" accepted");
    ck_assert_msg(hogmf_format_parse("", &got) == -1, "\"\" accepted");
}
END_TEST

/* ---------------------------------------------------------------- line-level details */

typedef struct text_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen(text) */
    hogmf_format format;
    size_t nnz;
    uint32_t m, n;
    uint32_t user_ids[3], item_ids[3];
    triple want[3];
} text_case;

static const text_case text_cases[] = {
    {"crlf line endings", "1\t2\t3\r\n4\t5\t4.5\r\n", 0, HOGMF_FORMAT_TSV, 2, 2, 2, {1, 4},
     {2, 5}, {{1, 2, 3.0f}, {4, 5, 4.5f}}},
    {"crlf csv with header", "user,item,rating\r\n1,2,3\r\n4,5,4.5\r\n", 0, HOGMF_FORMAT_CSV, 2,
     2, 2, {1, 4}, {2, 5}, {{1, 2, 3.0f}, {4, 5, 4.5f}}},
    {"missing final newline", "1\t2\t3\n4\t5\t4.5", 0, HOGMF_FORMAT_TSV, 2, 2, 2, {1, 4}, {2, 5},
     {{1, 2, 3.0f}, {4, 5, 4.5f}}},
    {"missing final newline after crlf", "1,2,3\r\n4,5,4.5\r", 0, HOGMF_FORMAT_CSV, 2, 2, 2,
     {1, 4}, {2, 5}, {{1, 2, 3.0f}, {4, 5, 4.5f}}},
    {"utf-8 bom before a csv header", "\xEF\xBB\xBFuserId,movieId,rating\n1,2,3\n", 0,
     HOGMF_FORMAT_CSV, 1, 1, 1, {1}, {2}, {{1, 2, 3.0f}}},
    {"utf-8 bom before data", "\xEF\xBB\xBF" "8\t9\t0.5\n", 0, HOGMF_FORMAT_TSV, 1, 1, 1, {8},
     {9}, {{8, 9, 0.5f}}},
    {"blank lines", "\n\n1 2 3\n   \n\t\n\r\n4 5 4.5\n\n", 0, HOGMF_FORMAT_LIBMF, 2, 2, 2,
     {1, 4}, {2, 5}, {{1, 2, 3.0f}, {4, 5, 4.5f}}},
    {"ids up to 4294967295", "4294967295\t4294967295\t5\n0\t0\t1\n+12\t4294967294\t2\n", 0,
     HOGMF_FORMAT_TSV, 3, 3, 3, {4294967295u, 0, 12}, {4294967295u, 0, 4294967294u},
     {{4294967295u, 4294967295u, 5.0f}, {0, 0, 1.0f}, {12, 4294967294u, 2.0f}}},
    {"sparse ids", "7::4000000000::3\n4000000000::7::2\n7::7::1\n", 0, HOGMF_FORMAT_DAT, 3, 2, 2,
     {7, 4000000000u}, {4000000000u, 7},
     {{7, 4000000000u, 3.0f}, {4000000000u, 7, 2.0f}, {7, 7, 1.0f}}},
};
#define N_TEXT_CASES (int)(sizeof text_cases / sizeof text_cases[0])

START_TEST(test_text)
{
    const text_case *c = &text_cases[_i];
    size_t len = c->len ? c->len : strlen(c->text);
    for (int via_file = 0; via_file < 2; via_file++) {
        const char *how = via_file ? "read" : "parse";
        hogmf_ratings r;
        hogmf_error err;
        char path[4096];
        hogmf_status st = via_file ? read_text(c->text, len, NULL, &r, &err, path, sizeof path)
                                   : hogmf_ratings_parse(c->text, len, "mem", NULL, &r, &err);
        ck_assert_msg(st == HOGMF_OK, "%s (%s): status %d: %s", c->name, how, (int)st, err.msg);
        ck_assert_msg(r.nnz == c->nnz && r.m == c->m && r.n == c->n,
                      "%s (%s): expected nnz=%zu m=%u n=%u, found nnz=%zu m=%u n=%u", c->name,
                      how, c->nnz, c->m, c->n, r.nnz, r.m, r.n);
        ck_assert_msg(r.format == c->format, "%s (%s): format: expected %s, found %s", c->name,
                      how, hogmf_format_name(c->format), hogmf_format_name(r.format));
        for (uint32_t u = 0; u < c->m; u++)
            ck_assert_msg(r.user_ids[u] == c->user_ids[u],
                          "%s (%s): user_ids[%u]: expected %u, found %u", c->name, how, u,
                          c->user_ids[u], r.user_ids[u]);
        for (uint32_t i = 0; i < c->n; i++)
            ck_assert_msg(r.item_ids[i] == c->item_ids[i],
                          "%s (%s): item_ids[%u]: expected %u, found %u", c->name, how, i,
                          c->item_ids[i], r.item_ids[i]);
        for (size_t j = 0; j < c->nnz; j++) {
            const hogmf_rating *x = &r.data[j];
            ck_assert_msg(r.user_ids[x->u] == c->want[j].user &&
                              r.item_ids[x->i] == c->want[j].item && x->r == c->want[j].r,
                          "%s (%s): rating %zu: expected (%u, %u, %g), found (%u, %u, %g)",
                          c->name, how, j, c->want[j].user, c->want[j].item,
                          (double)c->want[j].r, r.user_ids[x->u], r.item_ids[x->i],
                          (double)x->r);
        }
        hogmf_ratings_free(&r);
    }
}
END_TEST

START_TEST(test_error_line_after_blank_lines)
{
    /* Blank and CRLF lines count: the bad id is on line 5. */
    const char *text = "\n1 2 3\r\n\r\n   \nx 2 3\n";
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(text, strlen(text), "blanks.txt", NULL, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_PARSE && err.line == 5,
                  "blank lines: expected PARSE on line 5, found status %d line %llu: %s", (int)st,
                  (unsigned long long)err.line, err.msg);
    ck_assert_msg(strncmp(err.msg, "blanks.txt:5: user id", 21) == 0,
                  "blank lines: message '%s'", err.msg);
}
END_TEST

/* ---------------------------------------------------------------- duplicates and options */

/* (1,10) on lines 1, 3 and 6; (2,10) on lines 2 and 5; (1,20) once, on line 4. */
static const char dup_text[] = "1 10 1\n2 10 2\n1 10 3\n1 20 4\n2 10 5\n1 10 6\n";

START_TEST(test_duplicates_last_wins)
{
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(dup_text, strlen(dup_text), "dups", NULL, &r, &err);
    ck_assert_msg(st == HOGMF_OK, "dups: status %d: %s", (int)st, err.msg);
    ck_assert_msg(r.duplicates == 3, "dups: duplicates: expected 3, found %zu", r.duplicates);
    ck_assert_msg(r.nnz == 3 && r.m == 2 && r.n == 2,
                  "dups: expected nnz=3 m=2 n=2, found nnz=%zu m=%u n=%u", r.nnz, r.m, r.n);
    ck_assert_msg(r.user_ids[0] == 1 && r.user_ids[1] == 2 && r.item_ids[0] == 10 &&
                      r.item_ids[1] == 20,
                  "dups: ids not in order of first appearance");
    /* Survivors stay where their last occurrence was: lines 4, 5, 6. */
    static const triple want[] = {{1, 20, 4.0f}, {2, 10, 5.0f}, {1, 10, 6.0f}};
    for (size_t j = 0; j < 3; j++) {
        const hogmf_rating *x = &r.data[j];
        ck_assert_msg(r.user_ids[x->u] == want[j].user && r.item_ids[x->i] == want[j].item &&
                          x->r == want[j].r,
                      "dups: rating %zu: expected (%u, %u, %g), found (%u, %u, %g)", j,
                      want[j].user, want[j].item, (double)want[j].r, r.user_ids[x->u],
                      r.item_ids[x->i], (double)x->r);
    }
    ck_assert_msg(r.rmin == 4.0f && r.rmax == 6.0f,
                  "dups: range from the survivors: expected [4, 6], found [%g, %g]",
                  (double)r.rmin, (double)r.rmax);
    hogmf_ratings_free(&r);
    ck_assert_msg(r.data == NULL && r.user_ids == NULL && r.nnz == 0, "free did not clear");
    hogmf_ratings_free(&r); /* a cleared set is a no-op */
}
END_TEST

START_TEST(test_duplicates_many_users)
{
    /* 50 users x 40 items, every pair written twice (second pass rating + 100): each kept
     * rating must be the second one, in the second pass's order. */
    size_t cap = 50 * 40 * 2 * 24, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    for (int pass = 0; pass < 2; pass++)
        for (int u = 0; u < 50; u++)
            for (int i = 0; i < 40; i++)
                len += (size_t)snprintf(text + len, cap - len, "%d,%d,%d\n", 1000 + u * 7 % 50,
                                        (i * 13) % 40, pass * 100 + u);
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(text, len, "dups2", NULL, &r, &err);
    ck_assert_msg(st == HOGMF_OK, "dups2: status %d: %s", (int)st, err.msg);
    ck_assert_msg(r.nnz == 2000 && r.duplicates == 2000,
                  "dups2: expected nnz=2000 duplicates=2000, found %zu, %zu", r.nnz,
                  r.duplicates);
    size_t j = 0;
    for (int u = 0; u < 50; u++)
        for (int i = 0; i < 40; i++, j++) {
            const hogmf_rating *x = &r.data[j];
            ck_assert_msg(r.user_ids[x->u] == (uint32_t)(1000 + u * 7 % 50) &&
                              r.item_ids[x->i] == (uint32_t)((i * 13) % 40) &&
                              x->r == (float)(100 + u),
                          "dups2: rating %zu: found (%u, %u, %g)", j, r.user_ids[x->u],
                          r.item_ids[x->i], (double)x->r);
        }
    hogmf_ratings_free(&r);
    free(text);
}
END_TEST

START_TEST(test_keep_duplicates)
{
    hogmf_read_options o = hogmf_read_options_default();
    o.keep_duplicates = 1;
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(dup_text, strlen(dup_text), "dups", &o, &r, &err);
    ck_assert_msg(st == HOGMF_OK, "keep dups: status %d: %s", (int)st, err.msg);
    ck_assert_msg(r.nnz == 6 && r.duplicates == 0 && r.m == 2 && r.n == 2,
                  "keep dups: expected nnz=6 duplicates=0 m=2 n=2, found %zu %zu %u %u", r.nnz,
                  r.duplicates, r.m, r.n);
    static const triple want[] = {{1, 10, 1.0f}, {2, 10, 2.0f}, {1, 10, 3.0f},
                                  {1, 20, 4.0f}, {2, 10, 5.0f}, {1, 10, 6.0f}};
    for (size_t j = 0; j < 6; j++) {
        const hogmf_rating *x = &r.data[j];
        ck_assert_msg(r.user_ids[x->u] == want[j].user && r.item_ids[x->i] == want[j].item &&
                          x->r == want[j].r,
                      "keep dups: rating %zu: expected (%u, %u, %g), found (%u, %u, %g)", j,
                      want[j].user, want[j].item, (double)want[j].r, r.user_ids[x->u],
                      r.item_ids[x->i], (double)x->r);
    }
    hogmf_ratings_free(&r);
}
END_TEST

START_TEST(test_allow_no_rating)
{
    static const char *texts[] = {"1 10\n2 20 3.5\n3 10\n", "1,10\n2,20,3.5\n3,10\n",
                                  "1::10\n2::20::3.5::978300760\n3::10\n"};
    for (int t = 0; t < 3; t++) {
        const char *text = texts[t];
        hogmf_read_options o = hogmf_read_options_default();
        o.allow_no_rating = 1;
        hogmf_ratings r;
        hogmf_error err;
        hogmf_status st = hogmf_ratings_parse(text, strlen(text), "norating", &o, &r, &err);
        ck_assert_msg(st == HOGMF_OK, "no rating, text %d: status %d: %s", t, (int)st, err.msg);
        ck_assert_msg(r.nnz == 3 && r.m == 3 && r.n == 2,
                      "no rating, text %d: expected nnz=3 m=3 n=2, found %zu %u %u", t, r.nnz,
                      r.m, r.n);
        ck_assert_msg(isnan(r.data[0].r) && r.data[1].r == 3.5f && isnan(r.data[2].r),
                      "no rating, text %d: expected (NAN, 3.5, NAN), found (%g, %g, %g)", t,
                      (double)r.data[0].r, (double)r.data[1].r, (double)r.data[2].r);
        ck_assert_msg(r.user_ids[r.data[2].u] == 3 && r.item_ids[r.data[2].i] == 10,
                      "no rating, text %d: third line's ids", t);
        hogmf_ratings_free(&r);

        /* Without the option a 2-field line is an error on line 1. */
        st = hogmf_ratings_parse(text, strlen(text), "norating", NULL, &r, &err);
        ck_assert_msg(st == HOGMF_ERR_PARSE && err.line == 1,
                      "no rating, text %d, default options: expected PARSE on line 1, found %d "
                      "line %llu",
                      t, (int)st, (unsigned long long)err.line);
        ck_assert_msg(strstr(err.msg, "expected 3 or 4 fields") != NULL,
                      "no rating, text %d: message '%s'", t, err.msg);
    }
    /* A single field is still an error with the option. */
    hogmf_read_options o = hogmf_read_options_default();
    o.allow_no_rating = 1;
    hogmf_ratings r;
    hogmf_error err;
    const char *one = "1 10\n7\n";
    hogmf_status st = hogmf_ratings_parse(one, strlen(one), "one", &o, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_PARSE && err.line == 2,
                  "one field with allow_no_rating: expected PARSE on line 2, found %d line %llu",
                  (int)st, (unsigned long long)err.line);
}
END_TEST

/* ---------------------------------------------------------------- malformed fixtures */

typedef struct bad_case {
    const char *file;
    hogmf_status status;
    uint64_t line;        /* 0 for a whole-file error (HOGMF_ERR_EMPTY) */
    const char *expected; /* a word the message must contain */
} bad_case;

static const bad_case bad_cases[] = {
    {"bad_user_id.txt", HOGMF_ERR_PARSE, 3, "user id: expected a non-negative integer"},
    {"bad_item_id.csv", HOGMF_ERR_PARSE, 3, "item id: expected a non-negative integer"},
    {"bad_rating.txt", HOGMF_ERR_PARSE, 3, "rating: expected a finite real number"},
    {"bad_missing_field.txt", HOGMF_ERR_PARSE, 3, "expected 3 or 4 fields"},
    {"bad_extra_field.txt", HOGMF_ERR_PARSE, 3, "expected 3 or 4 fields"},
    {"bad_nan.txt", HOGMF_ERR_PARSE, 3, "not NaN"},
    {"bad_inf.txt", HOGMF_ERR_PARSE, 3, "infinity"},
    {"bad_negative_id.txt", HOGMF_ERR_PARSE, 3, "negative"},
    {"bad_id_overflow.txt", HOGMF_ERR_PARSE, 3, "at most 4294967295"},
    {"bad_rating_overflow.txt", HOGMF_ERR_PARSE, 3, "range of a double"},
    {"bad_rating_float_range.txt", HOGMF_ERR_PARSE, 3, "range of a float"},
    {"bad_empty.txt", HOGMF_ERR_EMPTY, 0, "expected at least one rating"},
    {"bad_header_only.csv", HOGMF_ERR_EMPTY, 0, "only a header"},
    {"bad_nul.txt", HOGMF_ERR_PARSE, 3, "expected text, found a NUL byte"},
    {"bad_trailing_junk.txt", HOGMF_ERR_PARSE, 3, "expected a finite real number, found '3.5x'"},
    {"bad_binary.txt", HOGMF_ERR_PARSE, 3,
     "expected text, found binary data (byte 0x1a in column 6)"},
};
#define N_BAD_CASES (int)(sizeof bad_cases / sizeof bad_cases[0])

/* Checks status, line and message of a rejected input named `name`. */
static void check_rejected(const bad_case *c, const char *how, const char *name,
                           hogmf_status st, const hogmf_error *err, const hogmf_ratings *r)
{
    ck_assert_msg(st == c->status, "%s (%s): expected status %d (%s), found %d: %s", c->file,
                  how, (int)c->status, hogmf_strerror(c->status), (int)st, err->msg);
    ck_assert_msg(err->status == st, "%s (%s): err.status %d differs from the returned %d",
                  c->file, how, (int)err->status, (int)st);
    ck_assert_msg(err->line == c->line, "%s (%s): line: expected %llu, found %llu: %s", c->file,
                  how, (unsigned long long)c->line, (unsigned long long)err->line, err->msg);
    char prefix[4200];
    if (c->line)
        snprintf(prefix, sizeof prefix, "%s:%llu: ", name, (unsigned long long)c->line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", name);
    ck_assert_msg(strncmp(err->msg, prefix, strlen(prefix)) == 0,
                  "%s (%s): message should start with '%s': '%s'", c->file, how, prefix,
                  err->msg);
    ck_assert_msg(strstr(err->msg, c->expected) != NULL,
                  "%s (%s): message should contain '%s': '%s'", c->file, how, c->expected,
                  err->msg);
    ck_assert_msg(r->data == NULL && r->user_ids == NULL && r->item_ids == NULL && r->nnz == 0,
                  "%s (%s): output not left empty on failure", c->file, how);
}

START_TEST(test_bad_fixture)
{
    const bad_case *c = &bad_cases[_i];
    char path[4096];
    snprintf(path, sizeof path, "%s", fixture(c->file));
    hogmf_ratings r;
    hogmf_error err;
    memset(&err, 0, sizeof err);
    hogmf_status st = hogmf_ratings_read(path, NULL, &r, &err);
    check_rejected(c, "read", path, st, &err, &r);

    /* The memory parser gives the same status, line and message. */
    size_t len;
    char *buf = slurp(path, &len);
    hogmf_error err2;
    memset(&err2, 0, sizeof err2);
    st = hogmf_ratings_parse(buf, len, path, NULL, &r, &err2);
    check_rejected(c, "parse", path, st, &err2, &r);
    ck_assert_msg(strcmp(err.msg, err2.msg) == 0,
                  "%s: read and parse messages differ: '%s' vs '%s'", c->file, err.msg,
                  err2.msg);
    free(buf);
}
END_TEST

START_TEST(test_io_errors)
{
    hogmf_ratings r;
    hogmf_error err;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", temp_path(".d"));
    ck_assert_msg(mkdir(dir, 0700) == 0, "cannot create %s", dir);
    hogmf_status st = hogmf_ratings_read(dir, NULL, &r, &err);
    rmdir(dir);
    ck_assert_msg(st == HOGMF_ERR_IO && err.line == 0,
                  "directory %s: expected IO with line 0, found %d line %llu: %s", dir, (int)st,
                  (unsigned long long)err.line, err.msg);
    ck_assert_msg(strncmp(err.msg, dir, strlen(dir)) == 0 && strstr(err.msg, "directory"),
                  "directory %s: message '%s'", dir, err.msg);
    ck_assert_msg(r.data == NULL && r.nnz == 0, "directory: output not left empty");

    const char *missing = fixture("no_such_file.txt");
    st = hogmf_ratings_read(missing, NULL, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && err.line == 0,
                  "missing %s: expected IO with line 0, found %d line %llu: %s", missing,
                  (int)st, (unsigned long long)err.line, err.msg);
    ck_assert_msg(strncmp(err.msg, missing, strlen(missing)) == 0,
                  "missing %s: message '%s'", missing, err.msg);
}
END_TEST

/* ---------------------------------------------------------------- long lines */

typedef struct long_case {
    const char *name;
    size_t prefix_blank; /* blank lines after line 1, to place the long line in the buffer */
    size_t length;       /* bytes of the long line, without its newline */
    int ok;
} long_case;

/* The long line is blanks then a valid "4\t5\t6", so only its length can reject it. */
static const long_case long_cases[] = {
    {"exactly 1 MiB", 1, MAX_LINE, 1},
    {"1 MiB + 1", 1, MAX_LINE + 1, 0},
    {"2 MiB, inside the first read", 1, 2 * MAX_LINE, 0},
    {"6 MiB, across reads", 1, 6 * MAX_LINE, 0},
    /* Line 1 and the blank lines fill the first chunk exactly, so the 1 MiB line ends at the
     * end of the read buffer with its newline not yet read: still accepted. */
    {"exactly 1 MiB at the end of the buffer", CHUNK_SIZE - 6, MAX_LINE, 1},
    {"1 MiB + 1 at the end of the buffer", CHUNK_SIZE - 6, MAX_LINE + 1, 0},
};
#define N_LONG_CASES (int)(sizeof long_cases / sizeof long_cases[0])

START_TEST(test_long_line)
{
    const long_case *c = &long_cases[_i];
    size_t len = 6 + c->prefix_blank + c->length + 1 + 6;
    char *text = malloc(len);
    ck_assert(text != NULL);
    memcpy(text, "1\t2\t3\n", 6);
    memset(text + 6, '\n', c->prefix_blank);
    char *l = text + 6 + c->prefix_blank;
    memset(l, ' ', c->length - 5);
    memcpy(l + c->length - 5, "4\t5\t6\n7\t8\t9\n", 12);
    uint64_t long_line = 2 + c->prefix_blank;
    for (int via_file = 0; via_file < 2; via_file++) {
        const char *how = via_file ? "read" : "parse";
        char path[4096];
        hogmf_ratings r;
        hogmf_error err;
        hogmf_status st = via_file ? read_text(text, len, NULL, &r, &err, path, sizeof path)
                                   : hogmf_ratings_parse(text, len, "long", NULL, &r, &err);
        const char *name = via_file ? path : "long";
        if (c->ok) {
            ck_assert_msg(st == HOGMF_OK, "%s (%s): status %d: %s", c->name, how, (int)st,
                          err.msg);
            ck_assert_msg(r.nnz == 3 && r.data[1].r == 6.0f && r.data[2].r == 9.0f,
                          "%s (%s): expected 3 ratings, found %zu", c->name, how, r.nnz);
            hogmf_ratings_free(&r);
            continue;
        }
        ck_assert_msg(st == HOGMF_ERR_PARSE && err.line == long_line,
                      "%s (%s): expected PARSE on line %llu, found %d line %llu: %s", c->name,
                      how, (unsigned long long)long_line, (int)st, (unsigned long long)err.line,
                      err.msg);
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "%s:%llu: ", name, (unsigned long long)long_line);
        ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0 &&
                          strstr(err.msg, "expected a line of at most 1048576 bytes"),
                      "%s (%s): message '%s'", c->name, how, err.msg);
    }
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- dense input */

START_TEST(test_from_dense)
{
    /* 3 x 4; row 1 is entirely unobserved but its user is kept. */
    const float x[12] = {1.0f, NAN, 2.5f, NAN,  /* user 0 */
                         NAN,  NAN, NAN,  NAN,  /* user 1 */
                         -3.0f, 4.0f, NAN, 0.0f};
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_from_dense(x, NULL, 3, 4, &r, &err);
    ck_assert_msg(st == HOGMF_OK, "dense: status %d: %s", (int)st, err.msg);
    ck_assert_msg(r.nnz == 5 && r.m == 3 && r.n == 4,
                  "dense: expected nnz=5 m=3 n=4, found %zu %u %u", r.nnz, r.m, r.n);
    for (uint32_t u = 0; u < 3; u++)
        ck_assert_msg(r.user_ids[u] == u, "dense: user_ids[%u] = %u", u, r.user_ids[u]);
    for (uint32_t i = 0; i < 4; i++)
        ck_assert_msg(r.item_ids[i] == i, "dense: item_ids[%u] = %u", i, r.item_ids[i]);
    static const triple want[] = {
        {0, 0, 1.0f}, {0, 2, 2.5f}, {2, 0, -3.0f}, {2, 1, 4.0f}, {2, 3, 0.0f}};
    for (size_t j = 0; j < 5; j++)
        ck_assert_msg(r.data[j].u == want[j].user && r.data[j].i == want[j].item &&
                          r.data[j].r == want[j].r,
                      "dense: rating %zu: expected (%u, %u, %g), found (%u, %u, %g)", j,
                      want[j].user, want[j].item, (double)want[j].r, r.data[j].u, r.data[j].i,
                      (double)r.data[j].r);
    ck_assert_msg(r.rmin == -3.0f && r.rmax == 4.0f, "dense: range [%g, %g]", (double)r.rmin,
                  (double)r.rmax);
    ck_assert_msg(r.duplicates == 0, "dense: duplicates %zu", r.duplicates);
    hogmf_ratings_free(&r);

    /* With a mask, NaN cells outside it are ignored and masked-out values are unobserved. */
    const unsigned char mask[12] = {0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 7};
    st = hogmf_ratings_from_dense(x, mask, 3, 4, &r, &err);
    ck_assert_msg(st == HOGMF_OK, "dense+mask: status %d: %s", (int)st, err.msg);
    ck_assert_msg(r.nnz == 3 && r.m == 3 && r.n == 4,
                  "dense+mask: expected nnz=3 m=3 n=4, found %zu %u %u", r.nnz, r.m, r.n);
    ck_assert_msg(r.data[0].u == 0 && r.data[0].i == 2 && r.data[0].r == 2.5f &&
                      r.data[1].u == 2 && r.data[1].i == 0 && r.data[1].r == -3.0f &&
                      r.data[2].u == 2 && r.data[2].i == 3 && r.data[2].r == 0.0f,
                  "dense+mask: wrong cells");
    hogmf_ratings_free(&r);

    /* A masked NaN or infinity is invalid; nothing observed is empty; zero sizes invalid. */
    const unsigned char mask_nan[12] = {0, 1};
    st = hogmf_ratings_from_dense(x, mask_nan, 3, 4, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID, "dense, masked NaN: expected INVALID, found %d",
                  (int)st);
    const float inf[2] = {1.0f, INFINITY};
    st = hogmf_ratings_from_dense(inf, NULL, 1, 2, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID, "dense, infinity: expected INVALID, found %d",
                  (int)st);
    const float none[2] = {NAN, NAN};
    st = hogmf_ratings_from_dense(none, NULL, 1, 2, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_EMPTY, "dense, all NaN: expected EMPTY, found %d", (int)st);
    const unsigned char zero_mask[12] = {0};
    st = hogmf_ratings_from_dense(x, zero_mask, 3, 4, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_EMPTY, "dense, empty mask: expected EMPTY, found %d", (int)st);
    st = hogmf_ratings_from_dense(x, NULL, 0, 4, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID, "dense, m = 0: expected INVALID, found %d", (int)st);
    ck_assert_msg(r.data == NULL && r.nnz == 0, "dense: output not left empty on failure");
}
END_TEST

/* ---------------------------------------------------------------- write and read back */

static const hogmf_format write_formats[] = {HOGMF_FORMAT_TSV, HOGMF_FORMAT_CSV,
                                             HOGMF_FORMAT_DAT, HOGMF_FORMAT_LIBMF};

/* Checks that b holds exactly a's ids and ratings (bit for bit), in a's order. */
static void check_same(const hogmf_ratings *a, const hogmf_ratings *b, const char *what)
{
    ck_assert_msg(a->nnz == b->nnz && a->m == b->m && a->n == b->n,
                  "%s: expected nnz=%zu m=%u n=%u, found %zu %u %u", what, a->nnz, a->m, a->n,
                  b->nnz, b->m, b->n);
    ck_assert_msg(memcmp(a->user_ids, b->user_ids, (size_t)a->m * sizeof *a->user_ids) == 0,
                  "%s: user ids differ", what);
    ck_assert_msg(memcmp(a->item_ids, b->item_ids, (size_t)a->n * sizeof *a->item_ids) == 0,
                  "%s: item ids differ", what);
    for (size_t j = 0; j < a->nnz; j++) {
        const hogmf_rating *x = &a->data[j], *y = &b->data[j];
        ck_assert_msg(x->u == y->u && x->i == y->i && bits_of(x->r) == bits_of(y->r),
                      "%s: rating %zu: expected (%u, %u, %.9g), found (%u, %u, %.9g)", what, j,
                      a->user_ids[x->u], a->item_ids[x->i], (double)x->r, b->user_ids[y->u],
                      b->item_ids[y->i], (double)y->r);
    }
    ck_assert_msg(bits_of(a->rmin) == bits_of(b->rmin) && bits_of(a->rmax) == bits_of(b->rmax),
                  "%s: range differs", what);
}

START_TEST(test_write_roundtrip)
{
    hogmf_format fmt = write_formats[_i];
    const char *fname = hogmf_format_name(fmt);
    /* Sparse and extreme ids; FLT_MAX in its printed form, 0.1, 1/3 and values that need
     * all nine digits. */
    const char *text = "4294967295\t7\t3.5\n7\t4000000000\t-2.25\n0\t0\t0.1\n12\t7\t1e-7\n"
                       "7\t7\t3.40282347e38\n7\t0\t-3.4028235e38\n0\t4000000000\t123456.789\n"
                       "12\t0\t-0.333333343\n4294967295\t0\t1234567\n";
    hogmf_ratings a, b;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(text, strlen(text), "src", NULL, &a, &err);
    ck_assert_msg(st == HOGMF_OK, "round trip source: %s", err.msg);
    char path[4096], what[64];
    snprintf(path, sizeof path, "%s", temp_path(".ratings"));
    st = hogmf_ratings_write(&a, path, fmt, &err);
    ck_assert_msg(st == HOGMF_OK, "write %s to %s: status %d: %s", fname, path, (int)st,
                  err.msg);
    st = hogmf_ratings_read(path, NULL, &b, &err);
    ck_assert_msg(st == HOGMF_OK, "read back %s: status %d: %s", fname, (int)st, err.msg);
    ck_assert_msg(b.format == fmt, "read back %s: detected %s", fname,
                  hogmf_format_name(b.format));
    snprintf(what, sizeof what, "round trip %s", fname);
    check_same(&a, &b, what);
    hogmf_ratings_free(&b);
    hogmf_ratings_free(&a);

    /* Arbitrary finite floats (every exponent, subnormals included) through the same format. */
    enum { M = 40, N = 50 };
    float *x = malloc(sizeof(float) * M * N);
    ck_assert(x != NULL);
    uint64_t s = 0x9E3779B97F4A7C15ull + (uint64_t)_i;
    for (size_t c = 0; c < (size_t)M * N; c++) {
        uint32_t bits;
        do {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            bits = (uint32_t)(s >> 32);
        } while (((bits >> 23) & 0xff) == 0xff || bits == 0x80000000u);
        memcpy(&x[c], &bits, sizeof bits);
    }
    x[0] = FLT_MAX; /* written as 3.40282347e+38, just above FLT_MAX as a double */
    x[1] = -FLT_MAX;
    x[2] = 1.40129846e-45f; /* the smallest subnormal */
    st = hogmf_ratings_from_dense(x, NULL, M, N, &a, &err);
    ck_assert_msg(st == HOGMF_OK, "random floats: %s", err.msg);
    st = hogmf_ratings_write(&a, path, fmt, &err);
    ck_assert_msg(st == HOGMF_OK, "write random floats as %s: %s", fname, err.msg);
    st = hogmf_ratings_read(path, NULL, &b, &err);
    ck_assert_msg(st == HOGMF_OK, "read back random floats as %s: %s", fname, err.msg);
    snprintf(what, sizeof what, "round trip of random floats as %s", fname);
    check_same(&a, &b, what);
    hogmf_ratings_free(&b);

    /* AUTO writes the set's own format (from_dense sets CSV). */
    st = hogmf_ratings_write(&a, path, HOGMF_FORMAT_AUTO, &err);
    ck_assert_msg(st == HOGMF_OK, "write auto: %s", err.msg);
    st = hogmf_ratings_read(path, NULL, &b, &err);
    ck_assert_msg(st == HOGMF_OK && b.format == a.format,
                  "write auto: expected format %s, found %s", hogmf_format_name(a.format),
                  hogmf_format_name(b.format));
    hogmf_ratings_free(&b);
    hogmf_ratings_free(&a);
    unlink(path);
    free(x);
}
END_TEST

START_TEST(test_write_fails_cleanly)
{
    const char *text = "1 2 3\n";
    hogmf_ratings a;
    hogmf_error err;
    ck_assert(hogmf_ratings_parse(text, strlen(text), "src", NULL, &a, &err) == HOGMF_OK);
    const char *path = fixture("no_such_dir/out.tsv");
    hogmf_status st = hogmf_ratings_write(&a, path, HOGMF_FORMAT_TSV, &err);
    ck_assert_msg(st == HOGMF_ERR_IO, "write to %s: expected IO, found %d", path, (int)st);
    hogmf_ratings_free(&a);
}
END_TEST

/* ---------------------------------------------------------------- suite */

Suite *ratings_suite(void)
{
    Suite *s = suite_create("ratings");

    TCase *tc = tcase_create("formats");
    tcase_add_loop_test(tc, test_format, 0, N_FORMAT_CASES);
    tcase_add_test(tc, test_forced_wrong_format);
    tcase_add_test(tc, test_format_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("lines");
    tcase_add_loop_test(tc, test_text, 0, N_TEXT_CASES);
    tcase_add_test(tc, test_error_line_after_blank_lines);
    suite_add_tcase(s, tc);

    tc = tcase_create("duplicates");
    tcase_add_test(tc, test_duplicates_last_wins);
    tcase_add_test(tc, test_duplicates_many_users);
    tcase_add_test(tc, test_keep_duplicates);
    tcase_add_test(tc, test_allow_no_rating);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_loop_test(tc, test_bad_fixture, 0, N_BAD_CASES);
    tcase_add_test(tc, test_io_errors);
    tcase_add_loop_test(tc, test_long_line, 0, N_LONG_CASES);
    suite_add_tcase(s, tc);

    tc = tcase_create("dense");
    tcase_add_test(tc, test_from_dense);
    suite_add_tcase(s, tc);

    tc = tcase_create("write");
    tcase_add_loop_test(tc, test_write_roundtrip, 0, 4);
    tcase_add_test(tc, test_write_fails_cleanly);
    suite_add_tcase(s, tc);

    return s;
}
