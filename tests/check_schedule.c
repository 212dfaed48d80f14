/*
 * check_schedule.c - the grid and the epochs of schedule.c: every rating lands in the tile of
 * its user block and item block and in no other, the blocks hold similar rating counts, the
 * hogwild tile order is runs of one user block each in a seeded random order (uniform against
 * counted frequencies), and an epoch of either schedule applies every rating exactly once,
 * with one thread and with several (checked on ratings that share no user or item, where one
 * step from zero leaves b_u = lr r exactly and a second step would not).
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "suites.h"

static const uint32_t sides[] = {1, 2, 5, 9, 33, 64};

START_TEST(test_tile_order_is_runs_of_one_user_block)
{
    uint32_t G = sides[_i];
    size_t n = (size_t)G * G;
    for (uint32_t epoch = 1; epoch <= 3; epoch++) {
        uint32_t *order = hogmf__tile_order(G, 7, epoch);
        ck_assert_ptr_nonnull(order);
        unsigned char *seen = calloc(n, 1);
        ck_assert_ptr_nonnull(seen);
        for (size_t p = 0; p < n; p++) {
            ck_assert_uint_lt(order[p], n);
            ck_assert_msg(!seen[order[p]], "tile %u twice (G=%u)", order[p], G);
            seen[order[p]] = 1;
            /* run p / G is one user block: the first tile's */
            ck_assert_uint_eq(order[p] / G, order[p - p % G] / G);
        }
        free(seen);
        free(order);
    }
}
END_TEST

/* Same seed and epoch: the same order. Over epochs, the user block of the first run and the
 * first item block of each run are uniform (each of G = 5 values 1/5 of 400 times, within
 * +-50%, where a fixed or biased order puts all of them on one value), and neighbouring runs
 * do not share their item order. */
START_TEST(test_tile_order_is_random_and_seeded)
{
    enum { G = 5, EPOCHS = 400 };
    uint32_t *a = hogmf__tile_order(9, 5, 3), *b = hogmf__tile_order(9, 5, 3);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    for (size_t p = 0; p < 81; p++)
        ck_assert_uint_eq(a[p], b[p]);
    free(a);
    free(b);
    unsigned first_row[G] = {0}, first_col[G] = {0}, same_runs = 0;
    for (uint32_t e = 1; e <= EPOCHS; e++) {
        uint32_t *o = hogmf__tile_order(G, 11, e);
        ck_assert_ptr_nonnull(o);
        first_row[o[0] / G]++;
        first_col[o[G] % G]++; /* the second run's first item block */
        int same = 1;
        for (uint32_t c = 0; c < G; c++)
            same &= o[c] % G == o[G + c] % G;
        same_runs += (unsigned)same;
        free(o);
    }
    for (int v = 0; v < G; v++) {
        ck_assert_msg(first_row[v] > EPOCHS / G / 2 && first_row[v] < EPOCHS / G * 3 / 2,
                      "user block %d first in %u of %d epochs", v, first_row[v], EPOCHS);
        ck_assert_msg(first_col[v] > EPOCHS / G / 2 && first_col[v] < EPOCHS / G * 3 / 2,
                      "item block %d first in %u of %d epochs", v, first_col[v], EPOCHS);
    }
    /* 5! = 120 orders: two runs agree in about 400/120 epochs, not in most of them */
    ck_assert_uint_lt(same_runs, 20);
}
END_TEST

/* NNZ ratings, rating j of user j and item (7 j) mod NNZ: no two share a row. */
START_TEST(test_epoch_applies_every_rating_once)
{
    enum { NNZ = 6007, G = 12 };
    static const struct {
        hogmf_schedule schedule;
        int threads;
    } runs[] = {{HOGMF_SCHEDULE_HOGWILD, 1}, {HOGMF_SCHEDULE_HOGWILD, 3},
                {HOGMF_SCHEDULE_BLOCKS, 1},  {HOGMF_SCHEDULE_BLOCKS, 3}};
    hogmf_rating *x = malloc(NNZ * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (uint32_t j = 0; j < NNZ; j++) {
        x[j].u = j;
        x[j].i = (uint32_t)((7ull * j) % NNZ);
        x[j].r = (float)(j % 9) * 0.5f + 1.0f;
    }
    hogmf_grid *grid = hogmf__grid_build(x, NNZ, NNZ, NNZ, G, 9);
    ck_assert_ptr_nonnull(grid);
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        hogmf_model *m = hogmf_model_new(NNZ, NNZ, 4); /* P, Q and the biases all zero */
        ck_assert_ptr_nonnull(m);
        const float lr = 0.1f;
        hogmf_sgd_ctx c = {.P = m->P, .Q = m->Q, .bu = m->bu, .bi = m->bi,
                           .stride = m->stride, .k = m->k, .mu = 0.0f, .lr = lr};
        hogmf__run_epoch(&c, x, NNZ, grid, HOGMF_ORDER_BLOCKS, runs[k].schedule,
                         runs[k].threads, 5, 1);
        for (uint32_t j = 0; j < NNZ; j++) {
            float want = lr * x[j].r; /* e = r from zero; twice would give lr r (2 - 2 lr) */
            ck_assert_msg(fabsf(m->bu[x[j].u] - want) <= 1e-6f * want &&
                              fabsf(m->bi[x[j].i] - want) <= 1e-6f * want,
                          "schedule %d, %d threads: rating %u applied wrongly (b_u %.7f, b_i "
                          "%.7f, want %.7f)",
                          (int)runs[k].schedule, runs[k].threads, j, (double)m->bu[x[j].u],
                          (double)m->bi[x[j].i], (double)want);
        }
        hogmf_model_free(&m);
    }
    hogmf__grid_free(grid);
    free(x);
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
    tcase_add_loop_test(tc, test_tile_order_is_runs_of_one_user_block, 0,
                        (int)(sizeof sides / sizeof sides[0]));
    tcase_add_test(tc, test_tile_order_is_random_and_seeded);
    tcase_add_test(tc, test_epoch_applies_every_rating_once);
    tcase_add_test(tc, test_grid_puts_each_rating_in_its_tile);
    suite_add_tcase(s, tc);
    return s;
}
