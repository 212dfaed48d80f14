/*
 * check_schedule.c - the grid and the tile orders of schedule.c: every rating lands in the
 * tile of its user block and item block and in no other, the blocks hold similar rating
 * counts, the epoch's tile order is a permutation, and with T threads it keeps the tiles
 * that run at the same time on distinct user and item blocks, counted against the rate of
 * such conflicts that a uniformly random order has (1 - (1 - 1/G)^2 per pair).
 */
#include <stdlib.h>

#include "internal.h"
#include "suites.h"

/* Conflicts of a tile order: pairs (tile, one of the `window` tiles before it) that share a
 * user block or an item block. */
static size_t conflicts(const uint32_t *order, uint32_t G, size_t window)
{
    size_t n = (size_t)G * G, c = 0;
    for (size_t p = 0; p < n; p++)
        for (size_t w = 1; w <= window && w <= p; w++) {
            uint32_t a = order[p], b = order[p - w];
            if (a / G == b / G || a % G == b % G)
                c++;
        }
    return c;
}

static const struct {
    uint32_t G;
    int threads;
} orders[] = {{1, 1}, {2, 1}, {5, 2}, {9, 1}, {9, 2}, {9, 4}, {33, 16}, {64, 8}};

START_TEST(test_tile_order_is_a_permutation)
{
    uint32_t G = orders[_i].G;
    size_t n = (size_t)G * G;
    for (uint32_t epoch = 1; epoch <= 3; epoch++) {
        uint32_t *order = hogmf__tile_order(G, orders[_i].threads, 7, epoch);
        ck_assert_ptr_nonnull(order);
        unsigned char *seen = calloc(n, 1);
        ck_assert_ptr_nonnull(seen);
        for (size_t p = 0; p < n; p++) {
            ck_assert_uint_lt(order[p], n);
            ck_assert_msg(!seen[order[p]], "tile %u twice (G=%u, T=%d)", order[p], G,
                          orders[_i].threads);
            seen[order[p]] = 1;
        }
        free(seen);
        free(order);
    }
}
END_TEST

/* With T threads a tile should share no block with the T tiles before it. A random order
 * (what one thread gets) has about n T (2/G - 1/G^2) such pairs; the reordered one may only
 * have a few, near the end of the epoch where the tiles left to choose from run out. */
START_TEST(test_tile_order_separates_concurrent_tiles)
{
    static const struct {
        uint32_t G;
        int T;
    } cases[] = {{9, 2}, {17, 2}, {9, 4}, {33, 16}, {64, 8}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t G = cases[c].G;
        size_t T = (size_t)cases[c].T, n = (size_t)G * G;
        double pair = 2.0 / G - 1.0 / ((double)G * G);
        double expected = 0; /* conflicts of a random order */
        for (size_t w = 1; w <= T; w++)
            expected += (double)(n - w) * pair;
        uint32_t *random = hogmf__tile_order(G, 1, 11, 2);
        uint32_t *spread = hogmf__tile_order(G, cases[c].T, 11, 2);
        ck_assert_ptr_nonnull(random);
        ck_assert_ptr_nonnull(spread);
        size_t cr = conflicts(random, G, T), cs = conflicts(spread, G, T);
        /* The counter itself sees the random order's conflicts... */
        ck_assert_msg(cr > 0.7 * expected && cr < 1.3 * expected,
                      "G=%u T=%zu: random order has %zu conflicts, expected about %.0f", G, T,
                      cr, expected);
        /* ... and the threads' order has almost none: under 1 in 20 of those. */
        ck_assert_msg(cs * 20 < cr, "G=%u T=%zu: %zu conflicts against %zu of a random order",
                      G, T, cs, cr);
        free(random);
        free(spread);
    }
}
END_TEST

/* The same seed and epoch give the same order; another epoch a different one. */
START_TEST(test_tile_order_depends_on_seed_and_epoch_only)
{
    uint32_t G = 9;
    uint32_t *a = hogmf__tile_order(G, 2, 5, 3), *b = hogmf__tile_order(G, 2, 5, 3);
    uint32_t *c = hogmf__tile_order(G, 2, 5, 4);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    size_t same = 0;
    for (size_t p = 0; p < (size_t)G * G; p++) {
        ck_assert_uint_eq(a[p], b[p]);
        same += a[p] == c[p];
    }
    ck_assert_uint_lt(same, 20); /* a random pair of permutations of 81 agrees in ~1 place */
    free(a);
    free(b);
    free(c);
}
END_TEST

/* Every rating ends up in the tile of its blocks, the multiset of ratings is unchanged, and
 * the blocks hold about nnz / G ratings each (within the largest row's count). */
START_TEST(test_grid_puts_each_rating_in_its_tile)
{
    enum { M = 300, N = 200, NNZ = 20000, G = 6 };
    hogmf_rating *x = malloc(NNZ * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t s = 42, sum_before = 0;
    uint32_t ucount[M] = {0}, icount[N] = {0};
    for (size_t j = 0; j < NNZ; j++) {
        /* Skewed users and items: squares of uniforms. */
        double a = (double)(hogmf__splitmix64(&s) >> 11) / 9007199254740992.0;
        double b = (double)(hogmf__splitmix64(&s) >> 11) / 9007199254740992.0;
        x[j].u = (uint32_t)(a * a * M);
        x[j].i = (uint32_t)(b * b * N);
        x[j].r = (float)(j % 5 + 1);
        ucount[x[j].u]++;
        icount[x[j].i]++;
        sum_before += (uint64_t)x[j].u * 1000003u + x[j].i * 7919u + (uint64_t)x[j].r;
    }
    hogmf_grid *grid = hogmf__grid_build(x, NNZ, M, N, G, 3);
    ck_assert_ptr_nonnull(grid);
    ck_assert_uint_eq(grid->G, G);
    ck_assert_uint_eq(grid->start[0], 0);
    ck_assert_uint_eq(grid->start[G * G], NNZ);
    uint64_t sum_after = 0;
    size_t ublock_n[G] = {0}, iblock_n[G] = {0};
    for (size_t t = 0; t < (size_t)G * G; t++) {
        ck_assert_uint_le(grid->start[t], grid->start[t + 1]);
        for (size_t j = grid->start[t]; j < grid->start[t + 1]; j++) {
            ck_assert_uint_lt(grid->ublock[x[j].u], G);
            ck_assert_uint_lt(grid->iblock[x[j].i], G);
            ck_assert_uint_eq((size_t)grid->ublock[x[j].u] * G + grid->iblock[x[j].i], t);
            ublock_n[t / G]++;
            iblock_n[t % G]++;
            sum_after += (uint64_t)x[j].u * 1000003u + x[j].i * 7919u + (uint64_t)x[j].r;
        }
    }
    ck_assert_uint_eq(sum_after, sum_before);
    uint32_t umax = 0, imax = 0;
    for (int r = 0; r < M; r++)
        umax = ucount[r] > umax ? ucount[r] : umax;
    for (int r = 0; r < N; r++)
        imax = icount[r] > imax ? icount[r] : imax;
    for (int b = 0; b < G; b++) {
        ck_assert_msg(ublock_n[b] + umax + 1 >= NNZ / G && ublock_n[b] <= NNZ / G + umax + 1,
                      "user block %d holds %zu ratings, want %d +- %u", b, ublock_n[b],
                      NNZ / G, umax);
        ck_assert_msg(iblock_n[b] + imax + 1 >= NNZ / G && iblock_n[b] <= NNZ / G + imax + 1,
                      "item block %d holds %zu ratings, want %d +- %u", b, iblock_n[b],
                      NNZ / G, imax);
    }
    hogmf__grid_free(grid);
    free(x);
}
END_TEST

Suite *schedule_suite(void)
{
    Suite *s = suite_create("schedule");
    TCase *tc = tcase_create("schedule");
    tcase_add_loop_test(tc, test_tile_order_is_a_permutation, 0,
                        (int)(sizeof orders / sizeof orders[0]));
    tcase_add_test(tc, test_tile_order_separates_concurrent_tiles);
    tcase_add_test(tc, test_tile_order_depends_on_seed_and_epoch_only);
    tcase_add_test(tc, test_grid_puts_each_rating_in_its_tile);
    suite_add_tcase(s, tc);
    return s;
}
