/*
 * check_gen.c - synthetic data and splits: hogmf_gen_write is deterministic for a seed and
 * writes exactly the requested distinct half-star ratings with skewed item popularity;
 * hogmf_ratings_split takes exactly round(f * nnz) test ratings, partitions the set, keeps
 * file order, is seeded, and renumbers each part to the ids it holds.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

/* ---------------------------------------------------------------- helpers */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
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

static hogmf_gen_params small_params(uint64_t seed)
{
    hogmf_gen_params gp = hogmf_gen_params_default();
    gp.users = 200;
    gp.items = 1000;
    gp.ratings = 5000;
    gp.rank = 5;
    gp.seed = seed;
    return gp;
}

/* Generates into a fresh temporary file whose path is copied to path. */
static void gen_to(const hogmf_gen_params *gp, char *path, size_t cap)
{
    snprintf(path, cap, "%s", temp_path(".ratings"));
    hogmf_error err;
    hogmf_status st = hogmf_gen_write(gp, path, &err);
    ck_assert_msg(st == HOGMF_OK, "gen %ux%u x %llu seed %llu: status %d: %s", gp->users,
                  gp->items, (unsigned long long)gp->ratings, (unsigned long long)gp->seed,
                  (int)st, err.msg);
}

/* Generates and reads back a set. */
static void gen_read(const hogmf_gen_params *gp, hogmf_ratings *out)
{
    char path[4096];
    gen_to(gp, path, sizeof path);
    hogmf_error err;
    hogmf_status st = hogmf_ratings_read(path, NULL, out, &err);
    unlink(path);
    ck_assert_msg(st == HOGMF_OK, "read back gen seed %llu: status %d: %s",
                  (unsigned long long)gp->seed, (int)st, err.msg);
}

static uint64_t pair_key(const hogmf_ratings *r, size_t j)
{
    return (uint64_t)r->user_ids[r->data[j].u] << 32 | r->item_ids[r->data[j].i];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_size_desc(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x > y ? -1 : x < y;
}

/* ---------------------------------------------------------------- hogmf_gen_write */

static const hogmf_format gen_formats[] = {HOGMF_FORMAT_CSV, HOGMF_FORMAT_TSV,
                                           HOGMF_FORMAT_DAT, HOGMF_FORMAT_LIBMF};

START_TEST(test_gen_deterministic)
{
    hogmf_format fmt = gen_formats[_i];
    const char *fname = hogmf_format_name(fmt);
    hogmf_gen_params gp = small_params(5);
    gp.format = fmt;
    char a[4096], b[4096], c[4096];
    gen_to(&gp, a, sizeof a);
    gen_to(&gp, b, sizeof b);
    gp.seed = 6;
    gen_to(&gp, c, sizeof c);
    size_t la, lb, lc;
    char *da = slurp(a, &la), *db = slurp(b, &lb), *dc = slurp(c, &lc);
    ck_assert_msg(la > 0 && la == lb && memcmp(da, db, la) == 0,
                  "gen %s seed 5 twice: files differ (%zu and %zu bytes)", fname, la, lb);
    ck_assert_msg(la != lc || memcmp(da, dc, la) != 0,
                  "gen %s seeds 5 and 6: files are identical", fname);

    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_read(a, NULL, &r, &err);
    ck_assert_msg(st == HOGMF_OK, "gen %s: read back: %s", fname, err.msg);
    ck_assert_msg(r.format == fmt, "gen %s: detected as %s", fname, hogmf_format_name(r.format));
    ck_assert_msg(r.nnz == gp.ratings && r.duplicates == 0,
                  "gen %s: expected %llu ratings and no duplicates, found %zu and %zu", fname,
                  (unsigned long long)gp.ratings, r.nnz, r.duplicates);
    hogmf_ratings_free(&r);
    unlink(a);
    unlink(b);
    unlink(c);
    free(da);
    free(db);
    free(dc);
}
END_TEST

/* Checks a generated set: exact count, no duplicates, half stars, ids in range. */
static void check_generated(const hogmf_gen_params *gp, const hogmf_ratings *r)
{
    ck_assert_msg(r->nnz == gp->ratings, "gen %ux%u: expected %llu ratings, found %zu",
                  gp->users, gp->items, (unsigned long long)gp->ratings, r->nnz);
    ck_assert_msg(r->duplicates == 0, "gen %ux%u: %zu duplicate pairs", gp->users, gp->items,
                  r->duplicates);
    ck_assert_msg(r->m <= gp->users && r->n <= gp->items,
                  "gen %ux%u: m=%u n=%u exceed the requested sizes", gp->users, gp->items, r->m,
                  r->n);
    for (uint32_t u = 0; u < r->m; u++)
        ck_assert_msg(r->user_ids[u] >= 1 && r->user_ids[u] <= gp->users,
                      "gen %ux%u: user id %u outside 1..%u", gp->users, gp->items,
                      r->user_ids[u], gp->users);
    for (uint32_t i = 0; i < r->n; i++)
        ck_assert_msg(r->item_ids[i] >= 1 && r->item_ids[i] <= gp->items,
                      "gen %ux%u: item id %u outside 1..%u", gp->users, gp->items,
                      r->item_ids[i], gp->items);
    for (size_t j = 0; j < r->nnz; j++) {
        float v = r->data[j].r, twice = 2.0f * v;
        ck_assert_msg(twice == floorf(twice) && v >= 0.5f && v <= 5.0f,
                      "gen %ux%u: rating %zu = %g is not a half star in 0.5..5", gp->users,
                      gp->items, j, (double)v);
    }
}

START_TEST(test_gen_reads_back)
{
    hogmf_gen_params gp = small_params(7);
    char path[4096];
    gen_to(&gp, path, sizeof path);
    size_t len;
    char *text = slurp(path, &len);
    static const char header[] = "userId,movieId,rating,timestamp\n";
    ck_assert_msg(len > sizeof header && memcmp(text, header, sizeof header - 1) == 0,
                  "gen csv: expected the header '%s' on line 1, found '%.40s'",
                  "userId,movieId,rating,timestamp", text);
    free(text);

    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_read(path, NULL, &r, &err);
    unlink(path);
    ck_assert_msg(st == HOGMF_OK, "gen csv: read back: %s", err.msg);
    ck_assert_msg(r.format == HOGMF_FORMAT_CSV, "gen csv: detected as %s",
                  hogmf_format_name(r.format));
    check_generated(&gp, &r);
    /* Users are written in id order, so dense user indices follow the ids. */
    for (uint32_t u = 1; u < r.m; u++)
        ck_assert_msg(r.user_ids[u] > r.user_ids[u - 1],
                      "gen csv: users not in id order at %u (%u after %u)", u, r.user_ids[u],
                      r.user_ids[u - 1]);

    /* Popularity is skewed: the top 10% of the catalogue holds well over 10% of ratings. */
    size_t *count = calloc(gp.items, sizeof *count);
    ck_assert(count != NULL);
    for (size_t j = 0; j < r.nnz; j++)
        count[r.item_ids[r.data[j].i] - 1]++;
    qsort(count, gp.items, sizeof *count, cmp_size_desc);
    size_t top = 0;
    for (uint32_t i = 0; i < gp.items / 10; i++)
        top += count[i];
    double share = (double)top / (double)r.nnz;
    ck_assert_msg(share > 0.30,
                  "gen %ux%u x %llu: top 10%% of items hold %.3f of ratings, expected > 0.30",
                  gp.users, gp.items, (unsigned long long)gp.ratings, share);
    free(count);
    hogmf_ratings_free(&r);
}
END_TEST

typedef struct gen_size {
    uint32_t users, items;
    uint64_t ratings;
} gen_size;

/* Small and odd shapes, up to the documented limit of users*items/2 ratings. */
static const gen_size gen_sizes[] = {
    {200, 100, 5000}, {2, 3, 3}, {3, 1, 1}, {1, 2, 1}, {4, 5, 10}, {5, 7, 17}, {40, 9, 180},
};
#define N_GEN_SIZES (int)(sizeof gen_sizes / sizeof gen_sizes[0])

START_TEST(test_gen_sizes)
{
    hogmf_gen_params gp = hogmf_gen_params_default();
    gp.users = gen_sizes[_i].users;
    gp.items = gen_sizes[_i].items;
    gp.ratings = gen_sizes[_i].ratings;
    gp.rank = 3;
    gp.seed = 11;
    hogmf_ratings r;
    gen_read(&gp, &r);
    check_generated(&gp, &r);
    hogmf_ratings_free(&r);
}
END_TEST

START_TEST(test_gen_invalid)
{
    static const struct {
        const char *name;
        uint32_t users, items;
        uint64_t ratings;
        uint32_t rank;
        double noise_sd;
    } cases[] = {
        {"no users", 0, 10, 1, 3, 0.5},
        {"no items", 10, 0, 1, 3, 0.5},
        {"no ratings", 10, 10, 0, 3, 0.5},
        {"more than half the cells", 10, 10, 51, 3, 0.5},
        {"rank above 1024", 10, 10, 5, 1025, 0.5},
        {"negative noise", 10, 10, 5, 3, -1.0},
        {"NaN noise", 10, 10, 5, 3, NAN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hogmf_gen_params gp = hogmf_gen_params_default();
        gp.users = cases[c].users;
        gp.items = cases[c].items;
        gp.ratings = cases[c].ratings;
        gp.rank = cases[c].rank;
        gp.noise_sd = cases[c].noise_sd;
        const char *path = temp_path(".ratings");
        hogmf_error err;
        hogmf_status st = hogmf_gen_write(&gp, path, &err);
        ck_assert_msg(st == HOGMF_ERR_INVALID, "gen, %s: expected INVALID, found %d: %s",
                      cases[c].name, (int)st, err.msg);
        ck_assert_msg(access(path, F_OK) != 0, "gen, %s: wrote %s anyway", cases[c].name, path);
    }
}
END_TEST

/* ---------------------------------------------------------------- hogmf_ratings_split */

/* Checks that a part is renumbered densely in order of first appearance (so every id has a
 * rating) and that its range is its own. */
static void check_compact(const hogmf_ratings *p, const char *what)
{
    uint32_t next_u = 0, next_i = 0;
    for (size_t j = 0; j < p->nnz; j++) {
        uint32_t u = p->data[j].u, i = p->data[j].i;
        ck_assert_msg(u <= next_u && i <= next_i,
                      "%s: rating %zu has index (%u, %u) out of first-appearance order", what, j,
                      u, i);
        next_u += u == next_u;
        next_i += i == next_i;
    }
    ck_assert_msg(next_u == p->m && next_i == p->n,
                  "%s: m=%u n=%u but only %u users and %u items have ratings", what, p->m, p->n,
                  next_u, next_i);
    for (size_t j = 0; j < p->nnz; j++) {
        float v = p->data[j].r;
        ck_assert_msg(v >= p->rmin && v <= p->rmax, "%s: rating %g outside [%g, %g]", what,
                      (double)v, (double)p->rmin, (double)p->rmax);
    }
}

/* Checks that train and test partition src: every src rating is in exactly one part, with
 * its rating, and each part is in src's order. */
static void check_partition(const hogmf_ratings *src, const hogmf_ratings *train,
                            const hogmf_ratings *test, const char *what)
{
    ck_assert_msg(train->nnz + test->nnz == src->nnz,
                  "%s: train %zu + test %zu != %zu ratings", what, train->nnz, test->nnz,
                  src->nnz);
    uint64_t *keys = malloc(src->nnz * sizeof *keys);
    size_t *pos = malloc(src->nnz * sizeof *pos);
    unsigned char *seen = calloc(src->nnz, 1);
    ck_assert(keys && pos && seen);
    for (size_t j = 0; j < src->nnz; j++)
        keys[j] = pair_key(src, j);
    qsort(keys, src->nnz, sizeof *keys, cmp_u64);
    for (size_t j = 1; j < src->nnz; j++)
        ck_assert_msg(keys[j] != keys[j - 1], "%s: source has a duplicate pair", what);
    /* pos[k]: position in src of the pair keys[k]. */
    for (size_t j = 0; j < src->nnz; j++) {
        uint64_t k = pair_key(src, j);
        uint64_t *hit = bsearch(&k, keys, src->nnz, sizeof *keys, cmp_u64);
        pos[hit - keys] = j;
    }
    const hogmf_ratings *parts[2] = {train, test};
    for (int p = 0; p < 2; p++) {
        const hogmf_ratings *r = parts[p];
        size_t last = 0;
        for (size_t j = 0; j < r->nnz; j++) {
            uint64_t k = pair_key(r, j);
            uint64_t *hit = bsearch(&k, keys, src->nnz, sizeof *keys, cmp_u64);
            ck_assert_msg(hit != NULL, "%s: %s pair (%u, %u) is not in the source", what,
                          p ? "test" : "train", (uint32_t)(k >> 32), (uint32_t)k);
            size_t at = (size_t)(hit - keys), s = pos[at];
            ck_assert_msg(!seen[at], "%s: pair (%u, %u) is in both parts (or twice)", what,
                          (uint32_t)(k >> 32), (uint32_t)k);
            seen[at] = 1;
            ck_assert_msg(r->data[j].r == src->data[s].r,
                          "%s: pair (%u, %u): rating %g, expected %g", what,
                          (uint32_t)(k >> 32), (uint32_t)k, (double)r->data[j].r,
                          (double)src->data[s].r);
            ck_assert_msg(j == 0 || s > last, "%s: %s is not in source order at %zu", what,
                          p ? "test" : "train", j);
            last = s;
        }
    }
    free(keys);
    free(pos);
    free(seen);
}

typedef struct split_case {
    double fraction;
    size_t ntest; /* round(fraction * 5000) */
} split_case;

static const split_case split_cases[] = {
    {0.0, 0}, {0.1, 500}, {0.2, 1000}, {0.25, 1250}, {0.5, 2500}, {0.9998, 4999},
};
#define N_SPLIT_CASES (int)(sizeof split_cases / sizeof split_cases[0])

START_TEST(test_split)
{
    const split_case *c = &split_cases[_i];
    hogmf_gen_params gp = small_params(21);
    hogmf_ratings src, train, test;
    gen_read(&gp, &src);
    ck_assert(src.nnz == 5000);
    hogmf_error err;
    hogmf_status st = hogmf_ratings_split(&src, c->fraction, 99, &train, &test, &err);
    ck_assert_msg(st == HOGMF_OK, "split %g: status %d: %s", c->fraction, (int)st, err.msg);
    ck_assert_msg(test.nnz == c->ntest, "split %g of 5000: expected %zu test ratings, found %zu",
                  c->fraction, c->ntest, test.nnz);
    char what[64];
    snprintf(what, sizeof what, "split %g", c->fraction);
    check_partition(&src, &train, &test, what);
    snprintf(what, sizeof what, "split %g, train", c->fraction);
    check_compact(&train, what);
    snprintf(what, sizeof what, "split %g, test", c->fraction);
    check_compact(&test, what);
    ck_assert_msg(train.format == src.format && test.format == src.format,
                  "split %g: parts lost the format", c->fraction);
    if (c->ntest == 0) {
        /* Nothing moved: train is src, ids and order included. */
        ck_assert_msg(train.m == src.m && train.n == src.n &&
                          memcmp(train.user_ids, src.user_ids, src.m * sizeof *src.user_ids) ==
                              0 &&
                          memcmp(train.item_ids, src.item_ids, src.n * sizeof *src.item_ids) ==
                              0 &&
                          memcmp(train.data, src.data, src.nnz * sizeof *src.data) == 0,
                      "split 0: train differs from the source");
        ck_assert_msg(test.m == 0 && test.n == 0, "split 0: test has m=%u n=%u", test.m,
                      test.n);
    }
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&test);
    hogmf_ratings_free(&src);
}
END_TEST

START_TEST(test_split_rounding)
{
    /* 7 ratings: 0.5 * 7 = 3.5 rounds to 4; 0.25 * 7 = 1.75 to 2; 0.1 * 7 = 0.7 to 1. */
    const char *text = "1 1 1\n1 2 2\n2 1 3\n3 3 4\n4 1 5\n4 2 1\n5 5 2\n";
    static const split_case cases[] = {{0.5, 4}, {0.25, 2}, {0.1, 1}, {0.07, 0}, {0.93, 7}};
    hogmf_ratings src, train, test;
    hogmf_error err;
    ck_assert(hogmf_ratings_parse(text, strlen(text), "seven", NULL, &src, &err) == HOGMF_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hogmf_status st = hogmf_ratings_split(&src, cases[c].fraction, 1, &train, &test, &err);
        ck_assert_msg(st == HOGMF_OK, "split %g of 7: %s", cases[c].fraction, err.msg);
        ck_assert_msg(test.nnz == cases[c].ntest && train.nnz == 7 - cases[c].ntest,
                      "split %g of 7: expected %zu test ratings, found %zu (train %zu)",
                      cases[c].fraction, cases[c].ntest, test.nnz, train.nnz);
        check_partition(&src, &train, &test, "split of 7");
        check_compact(&train, "split of 7, train");
        check_compact(&test, "split of 7, test");
        hogmf_ratings_free(&train);
        hogmf_ratings_free(&test);
    }
    hogmf_ratings_free(&src);
}
END_TEST

/* The test part's pairs, sorted. */
static uint64_t *test_keys(const hogmf_ratings *test)
{
    uint64_t *k = malloc((test->nnz ? test->nnz : 1) * sizeof *k);
    ck_assert(k != NULL);
    for (size_t j = 0; j < test->nnz; j++)
        k[j] = pair_key(test, j);
    qsort(k, test->nnz, sizeof *k, cmp_u64);
    return k;
}

START_TEST(test_split_seeded)
{
    hogmf_gen_params gp = small_params(22);
    hogmf_ratings src, train[3], test[3];
    gen_read(&gp, &src);
    static const uint64_t seeds[3] = {7, 7, 8};
    hogmf_error err;
    uint64_t *keys[3];
    for (int s = 0; s < 3; s++) {
        hogmf_status st = hogmf_ratings_split(&src, 0.2, seeds[s], &train[s], &test[s], &err);
        ck_assert_msg(st == HOGMF_OK, "split seed %llu: %s", (unsigned long long)seeds[s],
                      err.msg);
        keys[s] = test_keys(&test[s]);
    }
    size_t bytes = test[0].nnz * sizeof *keys[0];
    ck_assert_msg(test[1].nnz == test[0].nnz && memcmp(keys[0], keys[1], bytes) == 0 &&
                      train[0].nnz == train[1].nnz &&
                      memcmp(train[0].data, train[1].data,
                             train[0].nnz * sizeof *train[0].data) == 0,
                  "split seed 7 twice: different results");
    ck_assert_msg(test[2].nnz == test[0].nnz, "split seed 8: %zu test ratings, expected %zu",
                  test[2].nnz, test[0].nnz);
    size_t common = 0;
    for (size_t a = 0, b = 0; a < test[0].nnz && b < test[2].nnz;) {
        if (keys[0][a] == keys[2][b]) {
            common++;
            a++;
            b++;
        } else if (keys[0][a] < keys[2][b]) {
            a++;
        } else {
            b++;
        }
    }
    /* Independent 20% draws share about 20% of their pairs (200 of 1000). */
    ck_assert_msg(common < test[0].nnz / 2,
                  "split seeds 7 and 8: %zu of %zu test pairs in common, expected about %zu",
                  common, test[0].nnz, test[0].nnz / 5);
    for (int s = 0; s < 3; s++) {
        free(keys[s]);
        hogmf_ratings_free(&train[s]);
        hogmf_ratings_free(&test[s]);
    }
    hogmf_ratings_free(&src);
}
END_TEST

START_TEST(test_split_uniform)
{
    /* 20 ratings, 5 to test, 2000 seeds: each position is picked about 500 times (sd 19). */
    enum { NNZ = 20, SEEDS = 2000 };
    char text[NNZ * 16];
    size_t len = 0;
    for (int j = 0; j < NNZ; j++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d %d %d\n", j, j, j % 5 + 1);
    hogmf_ratings src, train, test;
    hogmf_error err;
    ck_assert(hogmf_ratings_parse(text, len, "twenty", NULL, &src, &err) == HOGMF_OK);
    unsigned hits[NNZ] = {0};
    for (uint64_t seed = 0; seed < SEEDS; seed++) {
        ck_assert(hogmf_ratings_split(&src, 0.25, seed, &train, &test, &err) == HOGMF_OK);
        ck_assert(test.nnz == 5);
        for (size_t j = 0; j < test.nnz; j++)
            hits[test.user_ids[test.data[j].u]]++;
        hogmf_ratings_free(&train);
        hogmf_ratings_free(&test);
    }
    for (int j = 0; j < NNZ; j++)
        ck_assert_msg(hits[j] >= 400 && hits[j] <= 600,
                      "split 0.25 over %d seeds: rating %d went to test %u times, expected "
                      "500 +- 100",
                      SEEDS, j, hits[j]);
    hogmf_ratings_free(&src);
}
END_TEST

START_TEST(test_split_invalid)
{
    const char *text = "1 1 1\n1 2 2\n";
    hogmf_ratings src, train, test;
    hogmf_error err;
    ck_assert(hogmf_ratings_parse(text, strlen(text), "two", NULL, &src, &err) == HOGMF_OK);
    static const double bad[] = {1.0, -0.1, 1.5, NAN, INFINITY};
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        hogmf_status st = hogmf_ratings_split(&src, bad[c], 1, &train, &test, &err);
        ck_assert_msg(st == HOGMF_ERR_INVALID, "split %g: expected INVALID, found %d", bad[c],
                      (int)st);
        ck_assert_msg(train.data == NULL && test.data == NULL && train.nnz == 0 &&
                          test.nnz == 0,
                      "split %g: outputs not left empty", bad[c]);
    }
    hogmf_ratings_free(&src);
}
END_TEST

/* ---------------------------------------------------------------- suite */

Suite *gen_suite(void)
{
    Suite *s = suite_create("gen");

    TCase *tc = tcase_create("gen");
    tcase_add_loop_test(tc, test_gen_deterministic, 0, 4);
    tcase_add_test(tc, test_gen_reads_back);
    tcase_add_loop_test(tc, test_gen_sizes, 0, N_GEN_SIZES);
    tcase_add_test(tc, test_gen_invalid);
    suite_add_tcase(s, tc);

    tc = tcase_create("split");
    tcase_add_loop_test(tc, test_split, 0, N_SPLIT_CASES);
    tcase_add_test(tc, test_split_rounding);
    tcase_add_test(tc, test_split_seeded);
    tcase_add_test(tc, test_split_uniform);
    tcase_add_test(tc, test_split_invalid);
    suite_add_tcase(s, tc);

    return s;
}
