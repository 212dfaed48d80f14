/*
 * check_schedule.c - the grid and the epochs of schedule.c: every rating lands in the tile of
 * its user block and item block and in no other, the blocks hold similar rating counts, the
 * hogwild tile order is runs of one user block each in a seeded random order (uniform against
 * counted frequencies), and an epoch of either schedule applies every rating exactly once,
 * with one thread and with several (checked on ratings that share no user or item, where one
 * step from zero leaves b_u = lr r exactly and a second step would not), and an epoch runs on
 * the team of threads asked for, each thread applying its share, the tile orders one whole
 * tile per call and the block schedule never two threads in one user or item block (seen
 * through the hogmf__test_range hook). The deterministic schedule's rounds form a seeded
 * Latin square, and its epoch is watched from inside the step: no two tiles of one user or
 * item block ever run at the same time, and a tile starts only when the tiles of the rounds
 * before it of its user block and of its item block have all ended (so every row is updated
 * in round order, as with a barrier after each round).
 */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"
#include "suites.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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
        hogmf_order order;
        hogmf_schedule schedule;
        int deterministic;
        int threads;
    } runs[] = {{HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD, 0, 1},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD, 0, 3},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_BLOCKS, 0, 1},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_BLOCKS, 0, 3},
                {HOGMF_ORDER_SHUFFLE, HOGMF_SCHEDULE_HOGWILD, 0, 1},
                {HOGMF_ORDER_SHUFFLE, HOGMF_SCHEDULE_HOGWILD, 0, 3},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD, 1, 1},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD, 1, 3}};
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
        hogmf__run_epoch(&c, x, NNZ, grid, runs[k].order, runs[k].schedule,
                         runs[k].deterministic, runs[k].threads, 5, 1);
        for (uint32_t j = 0; j < NNZ; j++) {
            float want = lr * x[j].r; /* e = r from zero; twice would give lr r (2 - 2 lr) */
            ck_assert_msg(fabsf(m->bu[x[j].u] - want) <= 1e-6f * want &&
                              fabsf(m->bi[x[j].i] - want) <= 1e-6f * want,
                          "order %d, schedule %d%s, %d threads: rating %u applied wrongly "
                          "(b_u %.7f, b_i %.7f, want %.7f)",
                          (int)runs[k].order, (int)runs[k].schedule,
                          runs[k].deterministic ? " deterministic" : "", runs[k].threads, j,
                          (double)m->bu[x[j].u],
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

/* ---------------------------------------------------------------- who does the work */

/* What the hook (hogmf__test_range) saw during one epoch. Each check runs in its own
 * process, so plain statics are fresh. */
enum { MAX_T = 8, MAX_CALLS = 4096 };
static const hogmf_grid *seen_grid;  /* the grid whose tiles the calls should be */
static int hold_tiles;               /* mark a tile's blocks busy while it runs */
static atomic_int seen_team[MAX_T];  /* team size seen by thread t (0: never ran) */
static atomic_size_t seen_work[MAX_T]; /* ratings applied by thread t */
static atomic_int seen_calls;
typedef struct span {
    size_t lo, hi;
} span;
static span seen_span[MAX_CALLS];   /* the ratings of each call */
static atomic_int ublock_busy[64], iblock_busy[64], overlaps, bad_thread;
static atomic_int arrived;           /* threads that made their first call */
static int team_wanted;              /* threads the epoch was asked for */

static void observe(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                    size_t start)
{
    int t = 0, nt = 1;
#ifdef _OPENMP
    t = omp_get_thread_num();
    nt = omp_get_num_threads();
#endif
    if (t < 0 || t >= MAX_T) {
        atomic_fetch_add(&bad_thread, 1);
        return;
    }
    /* A thread's first call waits (up to 2 s) for the other threads' first calls, so that
     * with a dynamic schedule no thread can take all the work before another has started:
     * each then holds one piece of work. */
    if (atomic_exchange(&seen_team[t], nt) == 0) {
        atomic_fetch_add(&arrived, 1);
        struct timespec tick = {0, 1000000};
        for (int w = 0; w < 2000 && atomic_load(&arrived) < team_wanted; w++)
            nanosleep(&tick, NULL);
    }
    atomic_fetch_add(&seen_work[t], hi - lo);
    int n = atomic_fetch_add(&seen_calls, 1);
    if (n < MAX_CALLS) {
        seen_span[n].lo = lo;
        seen_span[n].hi = hi;
    }
    uint32_t ub = 0, ib = 0;
    if (hold_tiles && seen_grid) {
        /* The tile is the one that starts at lo (tiles are contiguous and non-empty here);
         * its blocks must not be held by another thread. The pause widens the window in
         * which a wrong schedule would let two threads share a block. */
        const uint32_t G = seen_grid->G;
        uint32_t tile = 0;
        while (tile + 1 < G * G && seen_grid->start[tile + 1] <= lo)
            tile++;
        ub = tile / G;
        ib = tile % G;
        if (atomic_fetch_add(&ublock_busy[ub], 1) != 0 || atomic_fetch_add(&iblock_busy[ib], 1) != 0)
            atomic_fetch_add(&overlaps, 1);
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
    hogmf__sgd_select(c, NULL)(c, x, lo, hi, start);
    if (hold_tiles && seen_grid) {
        atomic_fetch_sub(&ublock_busy[ub], 1);
        atomic_fetch_sub(&iblock_busy[ib], 1);
    }
}

static int cmp_span(const void *a, const void *b)
{
    size_t x = ((const span *)a)->lo, y = ((const span *)b)->lo;
    return x < y ? -1 : x > y;
}

/* An epoch on 3 threads runs on a team of 3 and each thread applies ratings: for the shuffle
 * order thread t applies exactly its chunk [nnz t / 3, nnz (t + 1) / 3); for the tile orders
 * every call is one whole tile and every non-empty tile is called once; under the block
 * schedule no two threads ever hold the same user block or item block at once. */
START_TEST(test_epoch_runs_on_the_threads_asked_for)
{
    enum { NNZ = 6007, G = 12, T = 3 };
    static const struct {
        hogmf_order order;
        hogmf_schedule schedule;
    } runs[] = {{HOGMF_ORDER_SHUFFLE, HOGMF_SCHEDULE_HOGWILD},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD},
                {HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_BLOCKS}};
    const hogmf_order order = runs[_i].order;
    const hogmf_schedule schedule = runs[_i].schedule;
#ifndef _OPENMP
    (void)order;
    (void)schedule;
    skip_check("schedule: threads observed: built without OpenMP, every epoch runs on one");
    return;
#endif
    hogmf_rating *x = malloc(NNZ * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (uint32_t j = 0; j < NNZ; j++) {
        x[j].u = j % 701;
        x[j].i = (uint32_t)((7ull * j) % 509);
        x[j].r = 3.0f;
    }
    hogmf_grid *grid = hogmf__grid_build(x, NNZ, 701, 509, G, 9);
    ck_assert_ptr_nonnull(grid);
    hogmf_model *m = hogmf_model_new(701, 509, 4);
    ck_assert_ptr_nonnull(m);
    hogmf_sgd_ctx c = {.P = m->P, .Q = m->Q, .bu = m->bu, .bi = m->bi, .stride = m->stride,
                       .k = m->k, .mu = 3.0f, .lr = 0.01f};
    seen_grid = grid;
    team_wanted = T;
    hold_tiles = schedule == HOGMF_SCHEDULE_BLOCKS;
    hogmf__test_range = observe;
    hogmf__run_epoch(&c, x, NNZ, grid, order, schedule, 0, T, 5, 1);
    hogmf__test_range = NULL;
    ck_assert_int_eq(atomic_load(&bad_thread), 0);
    size_t total = 0;
    for (int t = 0; t < MAX_T; t++) {
        const int team = atomic_load(&seen_team[t]);
        const size_t work = atomic_load(&seen_work[t]);
        if (t < T) {
            ck_assert_msg(team == T, "order %d, schedule %d: thread %d saw a team of %d, want %d",
                          (int)order, (int)schedule, t, team, T);
            ck_assert_msg(work > 0, "order %d, schedule %d: thread %d applied no rating",
                          (int)order, (int)schedule, t);
            if (order == HOGMF_ORDER_SHUFFLE)
                ck_assert_msg(work == (size_t)NNZ * (t + 1) / T - (size_t)NNZ * t / T,
                              "shuffle: thread %d applied %zu ratings, want its chunk of %zu", t,
                              work, (size_t)NNZ * (t + 1) / T - (size_t)NNZ * t / T);
        } else {
            ck_assert_msg(team == 0 && work == 0, "thread %d ran in a team of %d threads", t, T);
        }
        total += work;
    }
    ck_assert_uint_eq(total, NNZ);
    const int calls = atomic_load(&seen_calls);
    ck_assert_int_le(calls, MAX_CALLS);
    if (order == HOGMF_ORDER_SHUFFLE) {
        ck_assert_int_eq(calls, T);
    } else {
        /* the non-empty tiles in order of their start, against the calls sorted alike */
        size_t ntiles = 0;
        qsort(seen_span, (size_t)calls, sizeof *seen_span, cmp_span);
        for (size_t t = 0; t < (size_t)G * G; t++) {
            if (grid->start[t + 1] == grid->start[t])
                continue;
            ck_assert_msg(ntiles < (size_t)calls && seen_span[ntiles].lo == grid->start[t] &&
                              seen_span[ntiles].hi == grid->start[t + 1],
                          "order %d, schedule %d: tile %zu [%zu, %zu) was not one call", (int)order,
                          (int)schedule, t, grid->start[t], grid->start[t + 1]);
            ntiles++;
        }
        ck_assert_msg(calls == (int)ntiles, "%d calls for %zu non-empty tiles", calls, ntiles);
        /* A schedule that let two threads share a block does so only when their timing meets;
         * more epochs (other tile orders) make one epoch's luck unlikely to hide it (the
         * mutant that drops the item-block check survived a single epoch once in a while). */
        for (uint32_t e = 2; hold_tiles && e <= 9; e++) {
            hogmf__test_range = observe;
            hogmf__run_epoch(&c, x, NNZ, grid, order, schedule, 0, T, 5, e);
            hogmf__test_range = NULL;
        }
        ck_assert_msg(atomic_load(&overlaps) == 0,
                      "block schedule: %d times a thread took a tile whose user or item block "
                      "another thread held",
                      atomic_load(&overlaps));
    }
    hogmf_model_free(&m);
    hogmf__grid_free(grid);
    free(x);
}
END_TEST

/* ---------------------------------------------------------------- deterministic rounds */

/* Round r of an epoch is the G tiles hogmf__round_tile(perm, G, r, b), b = 0..G-1: tile b
 * must be in user block b, the round's item blocks all differ, and the G rounds hold every
 * tile exactly once. */
START_TEST(test_rounds_are_a_latin_square)
{
    uint32_t G = sides[_i];
    size_t n = (size_t)G * G;
    uint32_t *perm = malloc(3 * (size_t)G * sizeof *perm);
    unsigned char *seen = malloc(n), *col = malloc(G);
    ck_assert(perm && seen && col);
    for (uint32_t epoch = 1; epoch <= 3; epoch++) {
        hogmf__round_perms(G, 13, epoch, perm);
        memset(seen, 0, n);
        for (uint32_t r = 0; r < G; r++) {
            memset(col, 0, G);
            for (uint32_t b = 0; b < G; b++) {
                size_t t = hogmf__round_tile(perm, G, r, b);
                ck_assert_msg(t < n && t / G == b, "G=%u epoch %u round %u: tile %zu of user "
                              "block %u is in user block %zu", G, epoch, r, t, b, t / G);
                ck_assert_msg(!col[t % G], "G=%u epoch %u round %u: item block %zu twice", G,
                              epoch, r, t % G);
                col[t % G] = 1;
                ck_assert_msg(!seen[t], "G=%u epoch %u: tile %zu in two rounds", G, epoch, t);
                seen[t] = 1;
            }
        }
    }
    free(perm);
    free(seen);
    free(col);
}
END_TEST

/* The same seed and epoch give the same rounds; over epochs the item block that user block 0
 * meets in round 0, and the user block whose first round holds item block 0, are uniform
 * (each of G = 5 values 1/5 of 400 times, within +-50%), so the squares are not one fixed
 * square relabelled. */
START_TEST(test_rounds_are_random_and_seeded)
{
    enum { G = 5, EPOCHS = 400 };
    uint32_t a[3 * 9], b[3 * 9], p[3 * G];
    hogmf__round_perms(9, 5, 3, a);
    hogmf__round_perms(9, 5, 3, b);
    for (uint32_t r = 0; r < 9; r++)
        for (uint32_t u = 0; u < 9; u++)
            ck_assert_uint_eq(hogmf__round_tile(a, 9, r, u), hogmf__round_tile(b, 9, r, u));
    unsigned first_item[G] = {0}, partner[G] = {0}, same_next = 0;
    for (uint32_t e = 1; e <= EPOCHS; e++) {
        hogmf__round_perms(G, 11, e, p);
        first_item[hogmf__round_tile(p, G, 0, 0) % G]++;
        for (uint32_t u = 0; u < G; u++)
            if (hogmf__round_tile(p, G, 0, u) % G == 0)
                partner[u]++;
        /* user block 0's item block in round 1 is not always the one after round 0's */
        same_next +=
            hogmf__round_tile(p, G, 1, 0) % G == (hogmf__round_tile(p, G, 0, 0) + 1) % G;
    }
    for (int v = 0; v < G; v++) {
        ck_assert_msg(first_item[v] > EPOCHS / G / 2 && first_item[v] < EPOCHS / G * 3 / 2,
                      "item block %d first for user block 0 in %u of %d epochs", v,
                      first_item[v], EPOCHS);
        ck_assert_msg(partner[v] > EPOCHS / G / 2 && partner[v] < EPOCHS / G * 3 / 2,
                      "user block %d meets item block 0 first in %u of %d epochs", v,
                      partner[v], EPOCHS);
    }
    ck_assert_uint_lt(same_next, EPOCHS / 2);
}
END_TEST

/* What the watching step below sees of the epoch being run. */
enum { WATCH_G = 8 };
static struct {
    const hogmf_grid *grid;
    uint32_t round_of[WATCH_G * WATCH_G]; /* tile -> its round, from hogmf__round_tile */
    atomic_int ubusy[WATCH_G], ibusy[WATCH_G]; /* tiles of each block running now */
    atomic_int uend[WATCH_G], iend[WATCH_G];   /* tiles of each block that have ended */
    atomic_int runs[WATCH_G * WATCH_G];        /* times each tile was run */
    atomic_int overlaps, early, bad_start;     /* violations seen */
    atomic_int threads_seen;                   /* bit t: OpenMP thread t ran a tile */
} watch;

/* A step that applies nothing: it checks that its blocks have ended the rounds before its
 * own, marks them busy and checks that no other thread holds them, waits a little so that
 * tiles that could overlap do, and marks them free and one round further. */
static void watching_step(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo, size_t hi,
                          size_t start)
{
    (void)c;
    const hogmf_grid *g = watch.grid;
    uint32_t ub = g->ublock[x[lo].u], ib = g->iblock[x[lo].i];
    size_t t = (size_t)ub * WATCH_G + ib;
    uint32_t r = watch.round_of[t];
    if (start < lo || start >= hi || g->start[t] != lo || g->start[t + 1] != hi)
        atomic_fetch_add(&watch.bad_start, 1);
    if ((uint32_t)atomic_load(&watch.uend[ub]) != r ||
        (uint32_t)atomic_load(&watch.iend[ib]) != r)
        atomic_fetch_add(&watch.early, 1);
    int busy_u = atomic_fetch_add(&watch.ubusy[ub], 1);
    int busy_i = atomic_fetch_add(&watch.ibusy[ib], 1);
    if (busy_u || busy_i)
        atomic_fetch_add(&watch.overlaps, 1);
#ifdef _OPENMP
    atomic_fetch_or(&watch.threads_seen, 1 << (omp_get_thread_num() & 15));
#endif
    for (int j = 0; j < 20; j++)
        sched_yield();
    atomic_fetch_sub(&watch.ubusy[ub], 1);
    atomic_fetch_sub(&watch.ibusy[ib], 1);
    atomic_fetch_add(&watch.runs[t], 1);
    atomic_fetch_add(&watch.uend[ub], 1);
    atomic_fetch_add(&watch.iend[ib], 1);
}

START_TEST(test_rounds_never_overlap)
{
    enum { M = 400, N = 300, NNZ = 16000, THREADS = 4 };
    hogmf_rating *x = malloc(NNZ * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t s = 99;
    for (size_t j = 0; j < NNZ; j++) {
        x[j].u = (uint32_t)(hogmf__splitmix64(&s) % M);
        x[j].i = (uint32_t)(hogmf__splitmix64(&s) % N);
        x[j].r = 3.0f;
    }
    hogmf_grid *grid = hogmf__grid_build(x, NNZ, M, N, WATCH_G, 4);
    ck_assert_ptr_nonnull(grid);
    for (size_t t = 0; t < (size_t)WATCH_G * WATCH_G; t++)
        ck_assert_msg(grid->start[t + 1] > grid->start[t], "tile %zu is empty", t);
    hogmf_sgd_ctx c = {0};
    for (uint32_t epoch = 1; epoch <= 3; epoch++) {
        memset(&watch, 0, sizeof watch);
        watch.grid = grid;
        uint32_t perm[3 * WATCH_G];
        hogmf__round_perms(WATCH_G, 8, epoch, perm);
        for (uint32_t r = 0; r < WATCH_G; r++)
            for (uint32_t b = 0; b < WATCH_G; b++)
                watch.round_of[hogmf__round_tile(perm, WATCH_G, r, b)] = r;
        hogmf__epoch_rounds(&c, watching_step, x, grid, THREADS, 8, epoch);
        ck_assert_msg(atomic_load(&watch.overlaps) == 0,
                      "epoch %u: %d tiles ran beside another tile of their user or item block",
                      epoch, atomic_load(&watch.overlaps));
        ck_assert_msg(atomic_load(&watch.early) == 0,
                      "epoch %u: %d tiles started before their blocks' earlier rounds had "
                      "ended", epoch,
                      atomic_load(&watch.early));
        ck_assert_msg(atomic_load(&watch.bad_start) == 0,
                      "epoch %u: a tile ran outside its range", epoch);
        for (size_t t = 0; t < (size_t)WATCH_G * WATCH_G; t++)
            ck_assert_msg(atomic_load(&watch.runs[t]) == 1, "epoch %u: tile %zu ran %d times",
                          epoch, t, atomic_load(&watch.runs[t]));
#ifdef _OPENMP
        /* the check means something only if several threads took tiles */
        ck_assert_msg(__builtin_popcount((unsigned)atomic_load(&watch.threads_seen)) > 1,
                      "epoch %u: only one thread ran tiles", epoch);
#endif
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
    tcase_add_loop_test(tc, test_epoch_runs_on_the_threads_asked_for, 0, 3);
    tcase_add_loop_test(tc, test_rounds_are_a_latin_square, 0,
                        (int)(sizeof sides / sizeof sides[0]));
    tcase_add_test(tc, test_rounds_are_random_and_seeded);
    tcase_add_test(tc, test_rounds_never_overlap);
    suite_add_tcase(s, tc);
    return s;
}
