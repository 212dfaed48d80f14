/*
 * schedule.c - which thread applies which rating when: the Hogwild epoch (lock-free, racy
 * by design) in two orders - a full per-thread reshuffle every epoch, or a grid of tiles
 * visited row by row (a thread keeps one user block for a whole row) in a new random order
 * from random offsets with no data movement - the block-scheduled epoch, in which a
 * thread only takes a tile whose user block and item block no other thread holds (no race
 * at all), and the deterministic epoch: seeded rounds of tiles that share no block, each
 * tile after its blocks' tiles of the round before, so the result does not depend on the
 * thread count. The update itself is in sgd.c.
 */
#include "internal.h"

#include <sched.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---------------------------------------------------------------- the grid */

/* Assigns each of `count` rows to one of G blocks: rows in a random order, cut where the
 * running rating count crosses multiples of nnz / G, so blocks hold similar numbers of
 * ratings whatever the id order. */
static int assign_blocks(uint32_t *block, const uint32_t *counts, uint32_t count, size_t nnz,
                         uint32_t G, hogmf_rng *g)
{
    uint32_t *perm = malloc((size_t)count * sizeof *perm);
    if (!perm)
        return -1;
    for (uint32_t j = 0; j < count; j++)
        perm[j] = j;
    for (uint32_t j = count; j > 1; j--) {
        uint32_t s = (uint32_t)hogmf__rng_below(g, j);
        uint32_t t = perm[j - 1];
        perm[j - 1] = perm[s];
        perm[s] = t;
    }
    size_t cum = 0;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t r = perm[j];
        uint64_t b = nnz ? (uint64_t)cum * G / nnz : 0;
        block[r] = b < G ? (uint32_t)b : G - 1;
        cum += counts[r];
    }
    free(perm);
    return 0;
}

/* Tiles per side: enough that one tile's rows of P and Q fit in a cache budget (HOGMF_TILE_KB,
 * default 512 KiB, half the L2 of the reference machine's cores); with several threads at
 * least 16 per thread, since the hogwild schedule hands out whole rows of tiles and the last
 * rows leave threads idle for about T / (2G) of the epoch (k = 32, 2 threads: 1.78x with G = 9,
 * 1.94x with G = 35); but not so many that tiles hold fewer than about 1000 ratings; and at
 * least 2T+1, so the block schedule always finds a free tile. At most max_side. */
uint32_t hogmf__grid_side(uint32_t m, uint32_t n, uint32_t stride, size_t nnz, int threads,
                          uint32_t max_side)
{
    uint64_t budget = 512u << 10;
    const char *env = getenv("HOGMF_TILE_KB");
    if (env && atoi(env) > 0)
        budget = (uint64_t)atoi(env) << 10;
    uint64_t row_bytes = (uint64_t)stride * sizeof(float);
    uint64_t biggest = (uint64_t)(m > n ? m : n) * row_bytes;
    uint64_t G = (biggest + budget - 1) / budget;
    if (threads > 1 && G < 16 * (uint64_t)threads)
        G = 16 * (uint64_t)threads;
    while (G > 1 && nnz / (G * G) < 1000)
        G--;
    uint64_t need = 2 * (uint64_t)threads + 1;
    if (G < need)
        G = need;
    return G > max_side ? max_side : (uint32_t)G;
}

hogmf_grid *hogmf__grid_build(hogmf_rating *x, size_t nnz, uint32_t m, uint32_t n, uint32_t G,
                              uint64_t seed)
{
    hogmf_grid *grid = calloc(1, sizeof *grid);
    uint32_t *ub = malloc((size_t)m * sizeof *ub), *ib = malloc((size_t)n * sizeof *ib);
    uint32_t *uc = calloc(m, sizeof *uc), *ic = calloc(n, sizeof *ic);
    size_t tiles = (size_t)G * G;
    size_t *next = malloc(tiles * sizeof *next);
    if (grid) {
        grid->start = calloc(tiles + 1, sizeof *grid->start);
        grid->rounds = malloc(6 * ((size_t)G + 1) * sizeof *grid->rounds);
    }
    if (!grid || !grid->start || !grid->rounds || !ub || !ib || !uc || !ic || !next || G == 0)
        goto fail;
    grid->G = G;
    for (size_t j = 0; j < nnz; j++) {
        uc[x[j].u]++;
        ic[x[j].i]++;
    }
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, 0x47726964ull /* "Grid" */);
    if (assign_blocks(ub, uc, m, nnz, G, &g) != 0 || assign_blocks(ib, ic, n, nnz, G, &g) != 0)
        goto fail;
    for (size_t j = 0; j < nnz; j++)
        grid->start[(size_t)ub[x[j].u] * G + ib[x[j].i] + 1]++;
    for (size_t t = 0; t < tiles; t++) {
        grid->start[t + 1] += grid->start[t];
        next[t] = grid->start[t];
    }
    /* In-place bucket sort (American flag): each swap puts one rating into its tile. */
    for (size_t t = 0; t < tiles; t++) {
        while (next[t] < grid->start[t + 1]) {
            hogmf_rating v = x[next[t]];
            size_t tv = (size_t)ub[v.u] * G + ib[v.i];
            if (tv == t) {
                next[t]++;
            } else {
                x[next[t]] = x[next[tv]];
                x[next[tv]++] = v;
            }
        }
    }
    /* Inside a tile: ratings sorted by user, then read as W = 8 interleaved lanes. A user's
     * next rating then comes 8 updates later, while its row of P is still in L1, yet no two
     * neighbouring updates share a row (which would chain them through store forwarding).
     * Measured on the 10M bench set, one thread: k=32 78 vs 61 Mupd/s unsorted, k=128 21.5
     * vs 20.4 (README, Results). HOGMF_TILE_LANES=0 keeps the order the ratings were dealt in (W=1: sorted).
     * The sort is a counting sort on the user's rank inside its block (stable, so a user's
     * ratings keep the order they were dealt in): O(len) per tile where qsort took a third of the
     * set-up time. */
    {
        const char *env = getenv("HOGMF_TILE_LANES");
        long lw = env ? strtol(env, NULL, 10) : 8;
        int W = lw < 0 ? 0 : lw > INT_MAX ? INT_MAX : (int)lw;
        size_t maxlen = 0;
        for (size_t t = 0; t < tiles; t++)
            if (grid->start[t + 1] - grid->start[t] > maxlen)
                maxlen = grid->start[t + 1] - grid->start[t];
        /* rank[u]: u's position among the users of its block; bsize[b]: users in block b */
        uint32_t *rank = W > 0 ? malloc(((size_t)m + 1) * sizeof *rank) : NULL;
        size_t *bsize = W > 0 ? calloc((size_t)G + 1, sizeof *bsize) : NULL;
        hogmf_rating *tmp = W > 0 ? malloc((maxlen ? maxlen : 1) * sizeof *tmp) : NULL;
        size_t *cnt = NULL;
        if (rank && bsize && tmp) {
            size_t most = 0;
            for (uint32_t u = 0; u < m; u++) {
                rank[u] = (uint32_t)bsize[ub[u]]++;
                most = bsize[ub[u]] > most ? bsize[ub[u]] : most;
            }
            cnt = malloc((most + 1) * sizeof *cnt);
        }
        if (W > 0 && !cnt) {
            free(rank);
            free(bsize);
            free(tmp);
            goto fail;
        }
        for (size_t t = 0; cnt && t < tiles; t++) {
            hogmf_rating *a = x + grid->start[t];
            size_t len = grid->start[t + 1] - grid->start[t], users = bsize[t / G];
            if (len == 0)
                continue;
            memset(cnt, 0, (users + 1) * sizeof *cnt);
            for (size_t j = 0; j < len; j++)
                cnt[rank[a[j].u] + 1]++;
            for (size_t r = 0; r < users; r++)
                cnt[r + 1] += cnt[r];
            for (size_t j = 0; j < len; j++)
                tmp[cnt[rank[a[j].u]]++] = a[j];
            /* Read the sorted run as W interleaved lanes: neighbours in the new order are
             * about len/W apart in user order, a user's next rating comes W steps later. */
            size_t lanes = (size_t)W < len ? (size_t)W : len; /* more lanes: the same order */
            size_t rows = (len + lanes - 1) / lanes, o = 0;
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < lanes; c++) {
                    size_t src = c * rows + r;
                    if (src < len)
                        a[o++] = tmp[src];
                }
        }
        free(cnt);
        free(rank);
        free(bsize);
        free(tmp);
    }
    grid->ublock = ub;
    grid->iblock = ib;
    free(uc);
    free(ic);
    free(next);
    return grid;
fail:
    free(ub);
    free(ib);
    free(uc);
    free(ic);
    free(next);
    hogmf__grid_free(grid);
    return NULL;
}

void hogmf__grid_free(hogmf_grid *g)
{
    if (!g)
        return;
    free(g->start);
    free(g->ublock);
    free(g->iblock);
    free(g->rounds);
    free(g);
}

/* ---------------------------------------------------------------- epochs */

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Hogwild, full reshuffle: each thread reshuffles its contiguous chunk every epoch. */
static void epoch_shuffle(const hogmf_sgd_ctx *c, hogmf_sgd_range_fn fn, hogmf_rating *x,
                          size_t nnz, int threads, uint64_t seed, uint32_t epoch)
{
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) shared(c, fn, x, nnz, seed, epoch)
    {
        int t = thread_id(), nt = thread_count();
        size_t lo = nnz * (size_t)t / (size_t)nt, hi = nnz * (size_t)(t + 1) / (size_t)nt;
        hogmf_rng g;
        hogmf__rng_seed(&g, seed, ((uint64_t)epoch << 20) | (uint64_t)t);
        /* Each thread reshuffles only its own chunk: no two threads touch the same rating. */
        for (size_t j = hi; j > lo + 1; j--) {
            size_t s = lo + (size_t)hogmf__rng_below(&g, j - lo);
            hogmf_rating tmp = x[j - 1];
            x[j - 1] = x[s];
            x[s] = tmp;
        }
        if (hi > lo)
            fn(c, x, lo, hi, lo);
    }
}

/* A random start inside tile t for this epoch. */
static size_t tile_offset(const hogmf_grid *grid, size_t t, uint64_t seed, uint32_t epoch)
{
    size_t lo = grid->start[t], hi = grid->start[t + 1];
    if (hi == lo)
        return lo;
    uint64_t h = seed ^ ((uint64_t)epoch << 32) ^ (t * 0x9E3779B97F4A7C15ull);
    return lo + (size_t)(hogmf__splitmix64(&h) % (hi - lo));
}

static void shuffle_u32(uint32_t *a, size_t n, hogmf_rng *g)
{
    for (size_t t = n; t > 1; t--) {
        size_t s = (size_t)hogmf__rng_below(g, t);
        uint32_t tmp = a[t - 1];
        a[t - 1] = a[s];
        a[s] = tmp;
    }
}

/* The epoch's tile order, as G runs of G tiles: run r holds the tiles of user block rb[r]
 * (rb a random permutation of the user blocks) with its item blocks in a random order of
 * their own. A thread takes a whole run, so its user block's rows of P stay in its cache for
 * G tiles while only the (smaller) item blocks pass through; with tiles in a random order
 * every tile brought its rows of P in again. Measured on the 10M bench set, one thread:
 * k = 128 42 against 36.5M updates/s, and lower validation RMSE per epoch at k = 32 and 128
 * (bench/README.md). Returns NULL when out of memory (the caller then uses the identity). */
uint32_t *hogmf__tile_order(uint32_t G, uint64_t seed, uint32_t epoch)
{
    const size_t tiles = (size_t)G * G;
    uint32_t *order = malloc(tiles * sizeof *order);
    uint32_t *rb = malloc(((size_t)G + 1) * sizeof *rb);
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, ((uint64_t)epoch << 20) | 0xFFFFFull);
    if (!order || !rb) {
        free(order);
        free(rb);
        return NULL;
    }
    for (uint32_t j = 0; j < G; j++)
        rb[j] = j;
    shuffle_u32(rb, G, &g);
    for (uint32_t r = 0; r < G; r++) {
        uint32_t *run = order + (size_t)r * G;
        for (uint32_t c = 0; c < G; c++)
            run[c] = rb[r] * G + c;
        shuffle_u32(run, G, &g);
    }
    free(rb);
    return order;
}

/* Hogwild over tiles: threads take the runs of hogmf__tile_order dynamically, and each goes
 * through its run's tiles. With several threads, a thread about to start a tile takes
 * instead the first tile later in its run whose item block no other thread is working in
 * (busy[b] counts the threads in item block b; relaxed atomics, a stale count only costs
 * speed): two threads in one item block would pass its rows of Q between their caches at
 * every update (measured on 2 cores, k = 32: 1.65x instead of 1.94x one thread's speed).
 * When every remaining tile of the run is busy the next is taken anyway; Hogwild allows it.
 * One thread follows the order exactly, so its result depends only on the seed. */
/* The count of threads working in one item block, one counter per cache line: packed, each
 * tile's two updates of its own block's counter also took the line holding the other
 * threads' counters away from them (2M ratings, k = 32, two threads: G = 32, so 2048 such
 * updates in an epoch of about 10 ms). */
typedef struct busy_count {
    atomic_uint n;
    char pad[64 - sizeof(atomic_uint)];
} busy_count;

static void epoch_tiles(const hogmf_sgd_ctx *c, hogmf_sgd_range_fn fn, hogmf_rating *x,
                        const hogmf_grid *grid, int threads, uint64_t seed, uint32_t epoch)
{
    const uint32_t G = grid->G;
    uint32_t *order = hogmf__tile_order(G, seed, epoch);
    busy_count *busy = threads > 1 ? hogmf__aligned_calloc(G, sizeof *busy) : NULL;
    if (busy)
        for (uint32_t b = 0; b < G; b++)
            atomic_init(&busy[b].n, 0);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) default(none) \
    shared(c, fn, x, grid, order, busy, G, seed, epoch)
    for (uint32_t r = 0; r < G; r++) {
        uint32_t *run = order ? order + (size_t)r * G : NULL; /* this thread's alone */
        for (uint32_t s = 0; s < G; s++) {
            size_t t = run ? run[s] : (size_t)r * G + s;
            if (run && busy) {
                for (uint32_t j = s; j < G; j++)
                    if (atomic_load_explicit(&busy[run[j] % G].n, memory_order_relaxed) == 0) {
                        t = run[j];
                        run[j] = run[s];
                        run[s] = (uint32_t)t;
                        break;
                    }
                atomic_fetch_add_explicit(&busy[t % G].n, 1, memory_order_relaxed);
            }
            size_t lo = grid->start[t], hi = grid->start[t + 1];
            if (hi > lo)
                fn(c, x, lo, hi, tile_offset(grid, t, seed, epoch));
            if (run && busy)
                atomic_fetch_sub_explicit(&busy[t % G].n, 1, memory_order_relaxed);
        }
    }
    free(busy);
    free(order);
}

/* Block schedule: a thread takes a tile not yet done this epoch whose user block and item
 * block are both free, so no two threads ever touch the same row of P or Q. Having finished a
 * tile it keeps its user block and takes the next free tile of the same block if there is
 * one (its rows of P are still in its cache, as in the hogwild runs), else lets the block go
 * and picks again anywhere. */
static void epoch_blocks(const hogmf_sgd_ctx *c, hogmf_sgd_range_fn fn, hogmf_rating *x,
                         const hogmf_grid *grid, int threads, uint64_t seed, uint32_t epoch)
{
    const uint32_t G = grid->G;
    const size_t tiles = (size_t)G * G;
    unsigned char *done = calloc(tiles, 1), *row_busy = calloc(G, 1), *col_busy = calloc(G, 1);
    size_t remaining = tiles;
    if (!done || !row_busy || !col_busy) {
        free(done);
        free(row_busy);
        free(col_busy);
        epoch_tiles(c, fn, x, grid, 1, seed, epoch); /* fall back to one thread: no race */
        return;
    }
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) \
    shared(c, fn, x, grid, G, tiles, done, row_busy, col_busy, remaining, seed, epoch)
    {
        hogmf_rng g;
        hogmf__rng_seed(&g, seed, ((uint64_t)epoch << 20) | 0x80000ull | (uint64_t)thread_id());
        size_t prev = tiles; /* the tile just done; its user block is still held */
        for (;;) {
            size_t take = tiles;
            int finished = 0;
#pragma omp critical(hogmf_block_scheduler)
            {
                if (prev < tiles) {
                    size_t b = prev / G;
                    col_busy[prev % G] = 0;
                    size_t s = (size_t)hogmf__rng_below(&g, G);
                    for (size_t j = 0; j < G; j++) {
                        size_t t = b * G + (s + j) % G;
                        if (!done[t] && !col_busy[t % G]) {
                            take = t;
                            break;
                        }
                    }
                    if (take == tiles)
                        row_busy[b] = 0;
                }
                if (take == tiles && remaining == 0) {
                    finished = 1;
                } else if (take == tiles) {
                    size_t s = (size_t)hogmf__rng_below(&g, tiles);
                    for (size_t j = 0; j < tiles; j++) {
                        size_t t = (s + j) % tiles;
                        if (!done[t] && !row_busy[t / G] && !col_busy[t % G]) {
                            take = t;
                            break;
                        }
                    }
                }
                if (take < tiles) {
                    done[take] = 1;
                    row_busy[take / G] = col_busy[take % G] = 1;
                    remaining--;
                }
            }
            prev = take;
            if (finished)
                break;
            if (take == tiles) { /* every free tile is blocked by another thread's rows */
                sched_yield();
                continue;
            }
            size_t lo = grid->start[take], hi = grid->start[take + 1];
            if (hi > lo)
                fn(c, x, lo, hi, tile_offset(grid, take, seed, epoch));
        }
    }
    free(done);
    free(row_busy);
    free(col_busy);
}

hogmf_sgd_range_fn hogmf__test_range;

/* Deterministic rounds. The square is the cyclic one, (a + b) mod G, with its rows, its
 * rounds and its item blocks relabelled by three seeded permutations: perm[0..G) shifts user
 * block b, perm[G..2G) round r, perm[2G..3G) names the item block. A user block thus meets
 * the item blocks in a new random order each epoch, as in the hogwild runs, but every round
 * is a set of tiles that no two threads can contend for. */
void hogmf__round_perms(uint32_t G, uint64_t seed, uint32_t epoch, uint32_t *perm)
{
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, ((uint64_t)epoch << 20) | 0xD0000ull);
    for (uint32_t j = 0; j < 3 * G; j++)
        perm[j] = j % G;
    for (uint32_t part = 0; part < 3; part++)
        shuffle_u32(perm + (size_t)part * G, G, &g);
}

/* The rounds without a barrier between them: round r's tile of user block b may start as
 * soon as b's tile of round r - 1 and the round r - 1 tile of its item block have ended
 * (udone and idone count the rounds each block has finished; urun marks a user block with a
 * tile running). Every row of P, Q, the biases and the AdaGrad sums is then updated by the
 * tiles of its block in round order, and a tile reads exactly what it would read with a
 * barrier after every round: the same arithmetic in the same order whatever the thread count
 * and the timing, and no race, since a block's next tile is taken only after its current one
 * has ended. Without the barriers a thread that the host preempts stalls only the tiles that
 * wait for its blocks: on the 2-core VM shared with other jobs (k = 32, 1M ratings, epochs
 * interleaved) 2 threads ran a median 2.0M updates/s with a barrier after each round and
 * 7.6M without, one thread 15M and 14M. A thread that ends a tile takes its user block's next
 * round when it is ready (its rows of P are still in its cache), else the first ready tile
 * from a point of its own. The lowest unfinished round always has a ready tile, so the epoch
 * cannot stall. */
void hogmf__epoch_rounds(const hogmf_sgd_ctx *c, hogmf_sgd_range_fn fn, hogmf_rating *x,
                         const hogmf_grid *grid, int threads, uint64_t seed, uint32_t epoch)
{
    const uint32_t G = grid->G;
    uint32_t *perm = grid->rounds;
    uint32_t *udone = perm + 3 * (size_t)G, *idone = udone + G, *urun = idone + G;
    hogmf__round_perms(G, seed, epoch, perm);
    memset(udone, 0, 3 * (size_t)G * sizeof *udone);
    size_t remaining = (size_t)G * G;
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) \
    shared(c, fn, x, grid, perm, udone, idone, urun, remaining, G, seed, epoch)
    {
        uint32_t prev = G; /* the user block of the tile just ended, G for none */
        uint32_t from = (uint32_t)((uint64_t)thread_id() * G / (uint64_t)thread_count());
        size_t prev_tile = 0;
        for (;;) {
            uint32_t take = G;
            size_t tile = 0;
            int finished = 0;
#pragma omp critical(hogmf_rounds)
            {
                if (prev < G) {
                    udone[prev]++;
                    idone[prev_tile % G]++;
                    urun[prev] = 0;
                    remaining--;
                }
                if (remaining == 0)
                    finished = 1;
                for (uint32_t j = 0; !finished && j < G; j++) {
                    uint32_t b = prev < G ? (prev + j) % G : (from + j) % G;
                    uint32_t r = udone[b];
                    if (urun[b] || r == G)
                        continue;
                    size_t t = hogmf__round_tile(perm, G, r, b);
                    if (idone[t % G] == r) {
                        take = b;
                        tile = t;
                        urun[b] = 1;
                        break;
                    }
                }
            }
            if (finished)
                break;
            prev = take;
            prev_tile = tile;
            if (take == G) { /* every ready tile is taken: wait for one to end */
                sched_yield();
                continue;
            }
            size_t lo = grid->start[tile], hi = grid->start[tile + 1];
            if (hi > lo)
                fn(c, x, lo, hi, tile_offset(grid, tile, seed, epoch));
        }
    }
}

void hogmf__run_epoch(const hogmf_sgd_ctx *c, hogmf_rating *x, size_t nnz,
                      const hogmf_grid *grid, hogmf_order order, hogmf_schedule schedule,
                      int deterministic, int threads, uint64_t seed, uint32_t epoch)
{
    hogmf_sgd_range_fn fn = hogmf__test_range ? hogmf__test_range : hogmf__sgd_select(c, NULL);
    hogmf__flush_denormals(threads);
    if (deterministic && grid)
        hogmf__epoch_rounds(c, fn, x, grid, threads, seed, epoch);
    else if (schedule == HOGMF_SCHEDULE_BLOCKS && grid)
        epoch_blocks(c, fn, x, grid, threads, seed, epoch);
    else if (order == HOGMF_ORDER_BLOCKS && grid)
        epoch_tiles(c, fn, x, grid, threads, seed, epoch);
    else
        epoch_shuffle(c, fn, x, nnz, threads, seed, epoch);
}
