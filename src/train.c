/*
 * train.c - the training loop: parameter checks, initialisation, epochs of Hogwild SGD,
 * the evaluation pass after each epoch, early stopping on validation RMSE with the best
 * epoch restored, and the divergence guard. It reports through the callbacks; it never
 * prints. Checkpointing is not done here.
 */
#include "trainer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

hogmf_params hogmf_params_default(void)
{
    /* Chosen on the accuracy panel (MovieLens 100K, Epinions, Ciao, MovieTweetings and
     * synthetic sets), leave-one-set-out: see bench/README.md, "Defaults". */
    hogmf_params p;
    memset(&p, 0, sizeof p);
    p.k = 100;
    p.epochs = 100;
    p.lr = 0.05f;
    p.lr_decay = 0.05f; /* used by the decay schedule only */
    p.schedule_lr = HOGMF_LR_ADAGRAD;
    p.lambda_b = 0.03f;
    p.lambda_p = 0.03f;
    p.lambda_q = 0.03f;
    p.init_sd = 0.01f;
    p.threads = 0;
    p.seed = 1;
    p.tol = 1e-4;
    p.patience = 3;
    p.diverge_factor = 2.0;
    p.order = HOGMF_ORDER_BLOCKS;
    p.schedule = HOGMF_SCHEDULE_HOGWILD;
    p.pin = HOGMF_PIN_NONE;
    return p;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

hogmf_status hogmf__check_params(const hogmf_params *p, hogmf_error *err)
{
    if (p->k < 1 || p->k > 65536)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "factors: expected 1..65536, found %u",
                           p->k);
    if (p->epochs < 1)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "epochs: expected at least 1");
    if (!(p->lr > 0) || !isfinite(p->lr))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "learning rate: expected a positive number, found %g", p->lr);
    if (!(p->lambda_b >= 0 && p->lambda_p >= 0 && p->lambda_q >= 0) ||
        !isfinite(p->lambda_b + p->lambda_p + p->lambda_q))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "regularisation: expected non-negative numbers");
    if (!(p->lr_decay >= 0) || !isfinite(p->lr_decay))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "lr decay: expected a non-negative number");
    if ((unsigned)p->schedule_lr > HOGMF_LR_ADAGRAD || (unsigned)p->order > HOGMF_ORDER_BLOCKS ||
        (unsigned)p->schedule > HOGMF_SCHEDULE_BLOCKS || (unsigned)p->pin > HOGMF_PIN_SPREAD)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "unknown schedule, order or pinning value");
    if (p->deterministic != 0 && p->deterministic != 1)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "deterministic: expected 0 or 1, found %d",
                           p->deterministic);
    if (p->deterministic && p->order == HOGMF_ORDER_SHUFFLE)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "deterministic runs on the tile grid; it cannot be combined with "
                           "order shuffle");
    if (p->deterministic && p->schedule == HOGMF_SCHEDULE_BLOCKS)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "deterministic is a schedule of its own; it cannot be combined with "
                           "schedule blocks");
    if (!(p->l1_p >= 0 && p->l1_q >= 0) || !isfinite(p->l1_p + p->l1_q))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "L1: expected non-negative numbers");
    if (!(p->init_sd >= 0) || !isfinite(p->init_sd))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "init sd: expected a non-negative number");
    if (p->threads < 0 || p->threads > 1024)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "threads: expected 0..1024, found %d",
                           p->threads);
    if (!(p->tol >= 0 && p->tol < 1))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "tol: expected a number in [0, 1)");
    if (!(p->diverge_factor > 1))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "diverge factor: expected more than 1");
    return HOGMF_OK;
}

/* Factors uniform on [-a, a] with a = init_sd sqrt(3) (standard deviation init_sd), each row
 * from its own seeded stream (row r, or global[r] when given) so the result does not depend
 * on the thread count or, under MPI, on the partition; the padding zero. Uniform rather than
 * normal: Box-Muller's log and cos per factor took 3 of the 3.5 seconds before the first
 * epoch on Epinions (296K items, k=100), and the shape of the starting noise did not show in
 * the validation RMSE. X is not written before (the trainer allocates it untouched), so each
 * thread first-touches the rows it initialises: on a NUMA machine the pages of P and Q
 * spread over the threads' nodes instead of all landing on the main thread's. */
void hogmf__init_rows(float *X, const uint32_t *global, uint32_t rows, uint32_t k,
                      uint32_t stride, float sd, uint64_t seed, uint64_t salt, int threads)
{
    (void)threads; /* unused without OpenMP */
    const float a = sd * 1.7320508f * 0x1.0p-31f;
#pragma omp parallel for num_threads(threads) schedule(static) default(none) \
    shared(X, global, rows, k, stride, seed, salt, a)
    for (uint32_t r = 0; r < rows; r++) {
        hogmf_rng g;
        hogmf__rng_seed(&g, seed ^ salt, global ? global[r] : r);
        float *x = X + (size_t)r * stride;
        for (uint32_t d = 0; d < k; d += 2) {
            const uint64_t b = hogmf__rng_next(&g); /* two signed 32-bit draws */
            x[d] = a * (float)(int32_t)(uint32_t)b;
            if (d + 1 < k)
                x[d + 1] = a * (float)(int32_t)(uint32_t)(b >> 32);
        }
        for (uint32_t d = k; d < stride; d++)
            x[d] = 0.0f;
    }
}

/* Biases start at their baseline estimates rather than at zero: HOGMF_BIAS_SWEEPS
 * alternating sweeps of the regularised least-squares fit of the biases alone,
 *   b_i = sum over i's ratings of (r - mu - b_u) / (n_i + HOGMF_BIAS_SHRINK),
 *   b_u = sum over u's ratings of (r - mu - b_i) / (n_u + HOGMF_BIAS_SHRINK),
 * as in Koren's baseline predictors; for the per-row adaptive rate only. Its bias steps shrink
 * with every step, so biases that start at zero end short of their values on sparse data or
 * a wide scale (lr 0.05, L2 0.05, 1 thread: Ciao 0.948 from zero, 0.940 from the baseline;
 * MovieTweetings 1.555 and 1.522; see bench/README.md). The plain rates reach the
 * biases on their own (the decay schedule moved by 0.0003 either way with a baseline start),
 * and on the tiny dense matrices of `impute` (constant rate, 2000 epochs) a baseline start
 * led k=2 to a worse fit (check_dense.c, test_impute_choose_k), so they start from zero.
 * With the grid, a thread owns whole item blocks (then whole user blocks), so there are no
 * races and every sum is added in the same order for any thread count. */
int hogmf__bias_baseline(const hogmf_rating *x, size_t nnz, uint32_t m, uint32_t n, float mu,
                         const hogmf_grid *g, int threads, float *bu, float *bi)
{
    const uint32_t G = g ? g->G : 1;
    double *su = calloc((size_t)m + 1, sizeof *su), *si = calloc((size_t)n + 1, sizeof *si);
    uint32_t *cu = calloc((size_t)m + 1, sizeof *cu), *ci = calloc((size_t)n + 1, sizeof *ci);
    size_t one[2] = {0, nnz};
    const size_t *start = g ? g->start : one;
    int rc = -1;
    if (!su || !si || !cu || !ci)
        goto done;
    memset(bu, 0, (size_t)m * sizeof *bu); /* the first item sweep reads them */
    (void)threads;                          /* unused without OpenMP */
    for (int sweep = 0; sweep < HOGMF_BIAS_SWEEPS; sweep++) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) default(none) \
    shared(x, start, G, bu, bi, si, ci, mu, sweep)
        for (uint32_t ib = 0; ib < G; ib++)
            for (uint32_t ub = 0; ub < G; ub++)
                for (size_t j = start[ub * G + ib]; j < start[ub * G + ib + 1]; j++) {
                    si[x[j].i] += (double)x[j].r - mu - bu[x[j].u];
                    ci[x[j].i] += sweep == 0;
                }
        for (uint32_t i = 0; i < n; i++) {
            bi[i] = (float)(si[i] / ((double)ci[i] + HOGMF_BIAS_SHRINK));
            si[i] = 0;
        }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) default(none) \
    shared(x, start, G, bu, bi, su, cu, mu, sweep)
        for (uint32_t ub = 0; ub < G; ub++)
            for (size_t j = start[ub * G]; j < start[ub * G + G]; j++) {
                su[x[j].u] += (double)x[j].r - mu - bi[x[j].i];
                cu[x[j].u] += sweep == 0;
            }
        for (uint32_t u = 0; u < m; u++) {
            bu[u] = (float)(su[u] / ((double)cu[u] + HOGMF_BIAS_SHRINK));
            su[u] = 0;
        }
    }
    rc = 0;
done:
    free(su);
    free(si);
    free(cu);
    free(ci);
    return rc;
}

/* memcpy of n bytes on `threads` threads, in 1 MiB pieces: the best-epoch copy of P and Q is
 * tens of MB at 10M ratings and runs after every improving epoch, where one thread spent
 * milliseconds of the time to a model. */
static void copy_parallel(void *dst, const void *src, size_t n, int threads)
{
    const size_t piece = (size_t)1 << 20, pieces = (n + piece - 1) / piece;
    (void)threads; /* unused without OpenMP */
#pragma omp parallel for num_threads(threads) schedule(static) default(none) \
    shared(dst, src, n, piece, pieces) if (pieces > 1)
    for (size_t j = 0; j < pieces; j++) {
        const size_t lo = j * piece, len = n - lo < piece ? n - lo : piece;
        memcpy((char *)dst + lo, (const char *)src + lo, len);
    }
}

/* Copies the model's parameters into the best-epoch copy (to_model = 0) or back. */
static void best_copy(hogmf_trainer *t, int to_model)
{
    hogmf_model *m = t->model;
    size_t np = (size_t)m->m * m->stride * sizeof(float);
    size_t nq = (size_t)m->n * m->stride * sizeof(float);
    if (to_model) {
        copy_parallel(m->P, t->bestP, np, t->threads);
        copy_parallel(m->Q, t->bestQ, nq, t->threads);
        memcpy(m->bu, t->bestbu, m->m * sizeof(float));
        memcpy(m->bi, t->bestbi, m->n * sizeof(float));
    } else {
        copy_parallel(t->bestP, m->P, np, t->threads);
        copy_parallel(t->bestQ, m->Q, nq, t->threads);
        memcpy(t->bestbu, m->bu, m->m * sizeof(float));
        memcpy(t->bestbi, m->bi, m->n * sizeof(float));
    }
}

void hogmf_trainer_free(hogmf_trainer **tp)
{
    if (!tp || !*tp)
        return;
    hogmf_trainer *t = *tp;
    if (t->old_u && t->old_i && t->train) { /* give the ratings their own numbers back */
        for (size_t j = 0; j < t->train->nnz; j++) {
            t->train->data[j].u = t->old_u[t->train->data[j].u];
            t->train->data[j].i = t->old_i[t->train->data[j].i];
        }
    }
    free(t->old_u);
    free(t->old_i);
    free(t->vx);
    free(t->bestP);
    free(t->bestQ);
    free(t->bestbu);
    free(t->bestbi);
    free(t->gp);
    free(t->gq);
    free(t->gbu);
    free(t->gbi);
    hogmf__grid_free(t->grid);
    hogmf_model_free(&t->model);
    free(t);
    *tp = NULL;
}

/* New dense index for each of `count` rows: rows of block 0 first, then block 1, ..., in
 * their old order within a block. */
static uint32_t *block_order(const uint32_t *block, uint32_t count, uint32_t G)
{
    uint32_t *next = calloc((size_t)G + 1, sizeof *next);
    uint32_t *index = malloc(((size_t)count + 1) * sizeof *index);
    if (!next || !index) {
        free(next);
        free(index);
        return NULL;
    }
    for (uint32_t r = 0; r < count; r++)
        next[block[r] + 1]++;
    for (uint32_t b = 0; b < G; b++)
        next[b + 1] += next[b];
    for (uint32_t r = 0; r < count; r++)
        index[r] = next[block[r]]++;
    free(next);
    return index;
}

/* Renumbers users and items inside the trainer so that each grid block is a contiguous
 * range of rows. Without it the rows of one block are scattered, so the biases (16 to a
 * cache line) of blocks that two threads update at the same time share cache lines and
 * every update moves lines between cores: on the 10M bench set, k=32, two threads ran at
 * 1.03x one thread before and 1.87x after. The model gets its ids in the new order; the
 * ratings set keeps its ids, and its u, i fields hold the new numbers until the trainer is
 * freed, which puts the old ones back. */
static int renumber_by_block(hogmf_trainer *t, hogmf_ratings *train)
{
    hogmf_model *model = t->model;
    const hogmf_grid *g = t->grid;
    uint32_t *nu = block_order(g->ublock, model->m, g->G);
    uint32_t *ni = block_order(g->iblock, model->n, g->G);
    t->old_u = malloc(((size_t)model->m + 1) * sizeof *t->old_u);
    t->old_i = malloc(((size_t)model->n + 1) * sizeof *t->old_i);
    int rc = -1;
    if (!nu || !ni || !t->old_u || !t->old_i)
        goto done;
    for (uint32_t u = 0; u < model->m; u++) {
        t->old_u[nu[u]] = u;
        model->user_ids[nu[u]] = train->user_ids[u];
    }
    for (uint32_t i = 0; i < model->n; i++) {
        t->old_i[ni[i]] = i;
        model->item_ids[ni[i]] = train->item_ids[i];
    }
    for (size_t j = 0; j < train->nnz; j++) {
        train->data[j].u = nu[train->data[j].u];
        train->data[j].i = ni[train->data[j].i];
    }
    hogmf__idmap_free(model->umap);
    hogmf__idmap_free(model->imap);
    model->umap = hogmf__idmap_from_ids(model->user_ids, model->m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, model->n);
    rc = model->umap && model->imap ? 0 : -1;
done:
    free(nu);
    free(ni);
    return rc;
}

/* Puts the validation ratings (model rows) in the training ratings' tile order once: by
 * tile of (user block, item block), then by user, with unknown users or items last, so the
 * evaluation after each epoch finds its rows in cache as it does for the training set. Two
 * stable counting sorts (user, then tile). Only the order of the sum changes; left as it is
 * when out of memory. */
static size_t valid_key(const hogmf_trainer *t, hogmf_rating a, int by_tile)
{
    const hogmf_grid *g = t->grid;
    const uint32_t m = t->model->m, n = t->model->n;
    if (!by_tile)
        return a.u < m ? a.u : m;
    if (a.u >= m || a.i >= n)
        return (size_t)g->G * g->G;
    return (size_t)g->ublock[t->old_u[a.u]] * g->G + g->iblock[t->old_i[a.i]];
}

static void sort_valid_by_tile(hogmf_trainer *t)
{
    const size_t tiles = (size_t)t->grid->G * t->grid->G, vnnz = t->vnnz;
    const size_t buckets = (t->model->m > tiles ? t->model->m : tiles) + 2;
    size_t *cnt = malloc(buckets * sizeof *cnt);
    hogmf_rating *tmp = malloc((vnnz ? vnnz : 1) * sizeof *tmp);
    for (int pass = 0; cnt && tmp && pass < 2; pass++) {
        hogmf_rating *from = pass ? tmp : t->vx, *to = pass ? t->vx : tmp;
        memset(cnt, 0, buckets * sizeof *cnt);
        for (size_t j = 0; j < vnnz; j++)
            cnt[valid_key(t, from[j], pass) + 1]++;
        for (size_t b = 1; b < buckets; b++)
            cnt[b] += cnt[b - 1];
        for (size_t j = 0; j < vnnz; j++)
            to[cnt[valid_key(t, from[j], pass)]++] = from[j];
    }
    free(cnt);
    free(tmp);
}

hogmf_status hogmf_trainer_new(hogmf_ratings *train, const hogmf_ratings *valid,
                               const hogmf_params *params, hogmf_trainer **out, hogmf_error *err)
{
    *out = NULL;
    hogmf_status st = hogmf__check_params(params, err);
    if (st != HOGMF_OK)
        return st;
    if (train->nnz == 0)
        return hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "train: no ratings");
    hogmf_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "train: out of memory");
    t->params = *params;
    t->threads = hogmf__threads(params->threads);
    t->train = train;
    t->lr = params->lr;
    hogmf__pin_threads(params->pin, t->threads, params);
    t->best_valid = t->ref_valid = t->best_train = INFINITY;
    t->best_valid_train = NAN;
    /* P and Q untouched here: hogmf__init_rows writes them from the threads. */
    hogmf_model *model = t->model = hogmf__model_alloc(train->m, train->n, params->k, 0);
    if (!model) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0,
                         "train: out of memory for %u users x %u items x %u factors", train->m,
                         train->n, params->k);
        goto fail;
    }
    memcpy(model->user_ids, train->user_ids, (size_t)train->m * sizeof(uint32_t));
    memcpy(model->item_ids, train->item_ids, (size_t)train->n * sizeof(uint32_t));
    model->user_names = hogmf_names_ref(train->user_names); /* string ids: codes as the set's */
    model->item_names = hogmf_names_ref(train->item_names);
    hogmf__idmap_free(model->umap);
    hogmf__idmap_free(model->imap);
    model->umap = hogmf__idmap_from_ids(model->user_ids, model->m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, model->n);
    if (!model->umap || !model->imap) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0, "train: repeated ids in the id arrays");
        goto fail;
    }
    model->params = *params;
    model->params.log = NULL;
    model->params.on_epoch = NULL;
    model->params.ctx = NULL;
    model->nnz = train->nnz;

    double sum = 0;
    float rmin = train->data[0].r, rmax = rmin;
    for (size_t j = 0; j < train->nnz; j++) {
        float r = train->data[j].r;
        sum += r;
        rmin = r < rmin ? r : rmin;
        rmax = r > rmax ? r : rmax;
    }
    model->mu = (float)(sum / (double)train->nnz);
    model->rmin = rmin;
    model->rmax = rmax;

    /* --order shuffle: one global shuffle, so the per-thread chunks are random subsets even
     * when the file is sorted by user; each epoch then reorders within the chunks. The tile
     * grid needs none: it deals the ratings into tiles by random user and item blocks and
     * sorts each tile by user, so a shuffle would only reorder a user's ratings inside a
     * tile, which the validation RMSE did not notice (10M bench set, 10 epochs: 0.65641 with
     * it, 0.65646 without at k=32; 0.64983 and 0.64981 at k=128), while it cost 0.2 s of the
     * 2.5 s of a whole 10-epoch run at 10M ratings. */
    const int gridded =
        params->order == HOGMF_ORDER_BLOCKS || params->schedule == HOGMF_SCHEDULE_BLOCKS;
    if (!gridded) {
        hogmf_rng g;
        hogmf__rng_seed(&g, params->seed, 0x53687566ull /* "Shuf" */);
        hogmf_rating *x = train->data;
        for (size_t j = train->nnz; j > 1; j--) {
            size_t s = (size_t)hogmf__rng_below(&g, j);
            hogmf_rating tmp = x[j - 1];
            x[j - 1] = x[s];
            x[s] = tmp;
        }
    }

    if (gridded) {
        uint32_t G = hogmf__grid_side(model->m, model->n, model->stride, train->nnz,
                                      params->deterministic ? 1 : t->threads, 1024);
        if (params->deterministic && G < HOGMF_DETERMINISTIC_MIN_SIDE)
            G = HOGMF_DETERMINISTIC_MIN_SIDE;
        t->grid = hogmf__grid_build(train->data, train->nnz, model->m, model->n, G, params->seed);
        if (!t->grid || renumber_by_block(t, train) != 0) {
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "train: out of memory for the grid");
            goto fail;
        }
    }
    if (params->schedule_lr == HOGMF_LR_ADAGRAD &&
        hogmf__bias_baseline(train->data, train->nnz, model->m, model->n, model->mu, t->grid,
                             t->threads, model->bu, model->bi) != 0) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "train: out of memory");
        goto fail;
    }
    hogmf__init_rows(model->P, NULL, model->m, model->k, model->stride, params->init_sd,
                     params->seed, HOGMF_SALT_USERS, t->threads);
    hogmf__init_rows(model->Q, NULL, model->n, model->k, model->stride, params->init_sd,
                     params->seed, HOGMF_SALT_ITEMS, t->threads);
    if (params->schedule_lr == HOGMF_LR_ADAGRAD) {
        t->gp = malloc((size_t)model->m * sizeof(float));
        t->gq = malloc((size_t)model->n * sizeof(float));
        t->gbu = malloc((size_t)model->m * sizeof(float));
        t->gbi = malloc((size_t)model->n * sizeof(float));
        if (!t->gp || !t->gq || !t->gbu || !t->gbi) {
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "train: out of memory");
            goto fail;
        }
        /* Accumulators start at 1, as LIBMF's do, so the first steps use the plain rate. */
        for (uint32_t u = 0; u < model->m; u++)
            t->gp[u] = t->gbu[u] = 1.0f;
        for (uint32_t i = 0; i < model->n; i++)
            t->gq[i] = t->gbi[i] = 1.0f;
    }
    t->last_monitor = INFINITY;

    if (valid && valid->nnz > 0) {
        size_t vunknown = 0;
        t->vx = hogmf__remap(model, valid, &vunknown);
        if (!t->vx) {
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "train: out of memory");
            goto fail;
        }
        t->vnnz = valid->nnz;
        if (t->grid)
            sort_valid_by_tile(t);
        if (vunknown)
            hogmf__log(params, 1,
                       "%zu validation ratings have a user or item not in the training data; "
                       "they are predicted from the mean and the known biases",
                       vunknown);
    }
    t->keep_best = t->vx && params->patience > 0;
    if (t->keep_best) {
        t->bestP = hogmf__aligned_calloc((size_t)model->m * model->stride, sizeof(float));
        t->bestQ = hogmf__aligned_calloc((size_t)model->n * model->stride, sizeof(float));
        t->bestbu = hogmf__aligned_calloc(model->m, sizeof(float));
        t->bestbi = hogmf__aligned_calloc(model->n, sizeof(float));
        if (!t->bestP || !t->bestQ || !t->bestbu || !t->bestbi) {
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0,
                             "train: out of memory for the best-epoch copy");
            goto fail;
        }
    }
    *out = t;
    return HOGMF_OK;
fail:
    hogmf_trainer_free(&t);
    return st;
}

int hogmf_trainer_done(const hogmf_trainer *t)
{
    return t->stop || t->epoch >= t->params.epochs;
}

hogmf_status hogmf__check_divergence(const hogmf_params *p, uint32_t epoch, size_t nonfinite,
                                     double train_rmse, double best_train, int has_valid,
                                     double valid_rmse, double best_valid, hogmf_error *err)
{
    const char *why = NULL;
    if (nonfinite || !isfinite(train_rmse))
        why = "predictions became infinite or NaN";
    else if (train_rmse > p->diverge_factor * best_train)
        why = "the training RMSE grew past twice its best";
    else if (has_valid && valid_rmse > p->diverge_factor * best_valid)
        why = "the validation RMSE grew past twice its best";
    if (!why)
        return HOGMF_OK;
    /* A quarter of the rate, unless that is below the smallest --lr the CLI takes. */
    const double lr_min = 1e-12, next = (double)p->lr / 4;
    if (next < lr_min)
        return hogmf__fail(err, HOGMF_ERR_DIVERGED, 0,
                           "training diverged at epoch %u with learning rate %g: %s; the "
                           "learning rate is near its minimum (%g): check the ratings' scale "
                           "and --init-sd, or raise the regularisation",
                           epoch, (double)p->lr, why, lr_min);
    return hogmf__fail(err, HOGMF_ERR_DIVERGED, 0,
                       "training diverged at epoch %u with learning rate %g: %s; "
                       "try a smaller learning rate such as --lr %g",
                       epoch, (double)p->lr, why, next);
}

float hogmf__bold_driver(float lr, double monitor, double *last_monitor)
{
    lr *= monitor < *last_monitor ? 1.05f : 0.5f;
    *last_monitor = monitor;
    return lr;
}

int hogmf__patience_spent(const hogmf_params *p, double valid_rmse, double *ref_valid,
                          uint32_t *since)
{
    if (valid_rmse < *ref_valid * (1.0 - p->tol)) {
        *ref_valid = valid_rmse;
        *since = 0;
        return 0;
    }
    ++*since;
    if (!p->patience)
        return 0;
    /* Overfitting: no gain for `patience` epochs and the curve has turned upwards. A curve
     * that only sits flat (within tol of its reference) gets twice as long: while the factors
     * grow from their small initial values the validation RMSE can rest on a plateau for a
     * few epochs and then fall again (MovieLens 100K u4 with the old defaults sat at 0.938
     * for epochs 4-8, then fell to 0.902). */
    const int rising = valid_rmse > *ref_valid * (1.0 + p->tol);
    return *since >= p->patience && (rising || *since >= 2 * p->patience);
}

hogmf_status hogmf_trainer_epoch(hogmf_trainer *t, hogmf_epoch_stats *stats, hogmf_error *err)
{
    const hogmf_params *params = &t->params;
    hogmf_model *model = t->model;
    const hogmf_ratings *train = t->train;
    if (hogmf_trainer_done(t))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "train: no epochs left");
    const uint32_t epoch = t->epoch + 1;
    float lr = t->lr;
    if (params->schedule_lr == HOGMF_LR_DECAY) /* inverse time: lr / (1 + decay (t - 1)) */
        lr = params->lr / (1.0f + params->lr_decay * (float)(epoch - 1));
    hogmf_sgd_ctx c = {model->P, model->Q, model->bu, model->bi, model->stride, model->k,
                       model->mu, lr, params->lambda_b, params->lambda_p, params->lambda_q,
                       params->l1_p, params->l1_q, params->nonneg, t->gp, t->gq, t->gbu, t->gbi};
    double t0 = now_seconds();
    hogmf__run_epoch(&c, train->data, train->nnz, t->grid, params->order, params->schedule,
                     params->deterministic, t->threads, params->seed, epoch);
    double secs = now_seconds() - t0;

    hogmf_epoch_stats es = {0};
    es.epoch = epoch;
    es.lr = lr;
    es.epoch_seconds = secs;
    es.updates_per_second = secs > 0 ? (double)train->nnz / secs : 0;
    double sse, sae;
    size_t bad = 0, vbad = 0;
    hogmf__eval_sums(model, train->data, train->nnz, t->threads, &sse, &sae, &bad);
    es.train_rmse = sqrt(sse / (double)train->nnz);
    es.train_mae = sae / (double)train->nnz;
    es.valid_rmse = es.valid_mae = NAN;
    if (t->vx) {
        hogmf__eval_sums(model, t->vx, t->vnnz, t->threads, &sse, &sae, &vbad);
        es.valid_rmse = sqrt(sse / (double)t->vnnz);
        es.valid_mae = sae / (double)t->vnnz;
    }
    t->epoch = epoch;
    model->epochs_run = epoch;
    if (stats)
        *stats = es;

    hogmf_status st = hogmf__check_divergence(
        params, epoch, bad + vbad, es.train_rmse,
        hogmf__divergence_floor(model->rmin, model->rmax, t->best_train), t->vx != NULL,
        es.valid_rmse, t->best_valid, err);
    if (st != HOGMF_OK)
        return st;
    if (es.train_rmse < t->best_train)
        t->best_train = es.train_rmse;
    if (params->schedule_lr == HOGMF_LR_BOLD) /* on the validation RMSE, else the training */
        t->lr = hogmf__bold_driver(t->lr, t->vx ? es.valid_rmse : es.train_rmse,
                                   &t->last_monitor);
    if (t->vx) {
        if (es.valid_rmse < t->best_valid) {
            t->best_valid = es.valid_rmse;
            t->best_valid_train = es.train_rmse;
            t->best_epoch = epoch;
            if (t->keep_best)
                best_copy(t, 0);
        }
        if (hogmf__patience_spent(params, es.valid_rmse, &t->ref_valid, &t->since))
            t->stop = 1;
    }
    model->train_rmse = es.train_rmse;
    model->valid_rmse = es.valid_rmse;
    model->best_epoch = epoch;
    return HOGMF_OK;
}

hogmf_status hogmf_trainer_finish(hogmf_trainer *t, hogmf_model **out, hogmf_error *err)
{
    (void)err;
    *out = NULL;
    hogmf_model *model = t->model;
    if (t->stop)
        hogmf__log(&t->params, 0,
                   "stopped after epoch %u: validation RMSE has not improved by %g for %u "
                   "epochs; keeping epoch %u (%.6f)",
                   t->epoch, t->params.tol, t->since, t->best_epoch, t->best_valid);
    if (t->keep_best && t->best_epoch && t->best_epoch != t->epoch) {
        best_copy(t, 1);
        model->best_epoch = t->best_epoch;
        model->valid_rmse = t->best_valid;
        model->train_rmse = t->best_valid_train;
    }
    t->model = NULL;
    *out = model;
    return HOGMF_OK;
}

const hogmf_model *hogmf_trainer_model(const hogmf_trainer *t)
{
    return t->model;
}

hogmf_status hogmf_train(hogmf_ratings *train, const hogmf_ratings *valid,
                         const hogmf_params *params, hogmf_model **out, hogmf_error *err)
{
    *out = NULL;
    hogmf_trainer *t = NULL;
    hogmf_status st = hogmf_trainer_new(train, valid, params, &t, err);
    while (st == HOGMF_OK && !hogmf_trainer_done(t)) {
        hogmf_epoch_stats es;
        st = hogmf_trainer_epoch(t, &es, err);
        if (st == HOGMF_OK && params->on_epoch && params->on_epoch(params->ctx, &es))
            st = hogmf__fail(err, HOGMF_ERR_STOPPED, 0, "training stopped after epoch %u",
                             es.epoch);
    }
    if (st == HOGMF_OK || st == HOGMF_ERR_STOPPED) {
        hogmf_error ferr = {0};
        hogmf_status fst = hogmf_trainer_finish(t, out, &ferr);
        if (fst != HOGMF_OK) {
            if (err)
                *err = ferr;
            st = fst;
        }
    }
    hogmf_trainer_free(&t);
    return st;
}
