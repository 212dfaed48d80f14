/*
 * mpi_train.c - the MPI mode: stratified SGD across P ranks (DSGD, Gemulla et al. 2011) with
 * Hogwild threads within each rank. Users are cut into P blocks, one per rank, and items into
 * P blocks, both balanced by rating count after a seeded random permutation. An epoch has P
 * sub-epochs; in each, rank r updates its user block against the item block it holds, then
 * every rank passes its item block (Q rows and biases) to rank r-1 and takes one from r+1, so
 * no two ranks ever hold the same item block. A second trip around the ring, overlapped with
 * the work, evaluates the masked RMSE. Each rank holds only its own rows of P and one or two
 * item blocks; rank 0 assembles the whole model only to write it. No networking of its own:
 * everything goes through MPI. Built only with `make MPI=1`.
 */
#define _POSIX_C_SOURCE 200809L
#include "mpi_train.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Message tags: one per array that travels with an item block, and the gather/scatter ones. */
enum { TAG_Q = 101, TAG_BI, TAG_GQ, TAG_GBI, TAG_P, TAG_BU, TAG_GP, TAG_GBU };

/* Seed salts of the MPI trainer (the factor rows' are internal.h's HOGMF_SALT_*). */
#define SALT_SHUF 0x53687566ull    /* "Shuf" */
#define SALT_UBLK 0x4D5055ull      /* "MPU": the user permutation */
#define SALT_IBLK 0x4D5049ull      /* "MPI": the item permutation */

/* The rows of one item block as they travel around the ring. Arrays hold icap rows. */
typedef struct item_buf {
    float *Q;        /* rows x stride item factors, 64-byte aligned */
    float *bi;       /* item biases */
    float *gq, *gbi; /* AdaGrad accumulators (NULL without AdaGrad) */
} item_buf;

struct hogmf_mpi_trainer {
    MPI_Comm comm;
    int rank, size;           /* this rank, P */
    MPI_Datatype row_t;       /* one factor row: stride floats */
    hogmf_params params;      /* copy; callbacks used on rank 0 only */
    int threads;              /* OpenMP threads of this rank */
    int sync;                 /* HOGMF_MPI_SYNC=1: a barrier before each ring step (timing) */
    uint32_t m, n, k, stride; /* global sizes */
    float mu, rmin, rmax;     /* global mean and range of the training ratings */
    uint64_t nnz, vnnz;       /* global training and validation ratings */
    uint64_t fingerprint;     /* of the training and validation ratings (checkpoints) */
    /* The partition, identical on every rank. Local row j of user block b is the global user
     * uperm[ustart[b] + j]; likewise for items. */
    uint32_t *ustart, *uperm, *istart, *iperm;
    uint32_t nu;   /* rows of this rank's user block */
    uint32_t icap; /* rows of the largest item block */
    /* This rank's training ratings in local indices, grouped by item block b:
     * x[xoff[b]..xoff[b+1]); each group has its own tile grid (NULL when not needed). */
    hogmf_rating *x;
    size_t *xoff;
    hogmf_grid **grid;
    uint64_t *gseed; /* per-group seed for the thread shuffles and tile orders */
    /* Validation ratings of this rank's users (and, on rank 0, of unknown users), grouped the
     * same way; group P holds those whose item is unknown. */
    hogmf_rating *vx;
    size_t *voff;
    /* Model blocks. */
    float *Pb, *bu, *gp, *gbu; /* this rank's user rows (nu), and AdaGrad accumulators */
    item_buf buf[2];           /* the item block held (buf[cur]) and the one arriving */
    int cur;
    uint32_t h;                /* ring position: rank r holds item block (r + h) mod P */
    MPI_Request req[8];
    int nreq;
    double bytes;              /* bytes sent so far in this epoch */
    /* Best epoch (early stopping): this rank's rows and the item block it held then. */
    int keep_best;
    float *bestP, *bestbu, *bestQ, *bestbi;
    uint32_t best_h;
    /* Training state, as in struct hogmf_trainer. */
    uint32_t epoch;
    float lr;
    double best_valid, best_valid_train, ref_valid, best_train, last_monitor;
    double last_train, last_valid; /* RMSEs of the last epoch */
    uint32_t since, best_epoch;
    int stop;
    uint32_t *user_ids, *item_ids; /* original ids (rank 0 only) */
    hogmf_mpi_rank_stats last;     /* this rank's figures of the last epoch */
};

/* ---------------------------------------------------------------- helpers */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t held_block(const hogmf_mpi_trainer *t)
{
    return (uint32_t)(((uint64_t)t->rank + t->h) % (uint64_t)t->size);
}

static uint32_t item_rows(const hogmf_mpi_trainer *t, uint32_t b)
{
    return t->istart[b + 1] - t->istart[b];
}

/* Order-independent hash of a set's ratings under their original ids, so that a checkpoint
 * is only resumed with the data it was written with. */
static uint64_t fingerprint(const hogmf_ratings *set)
{
    uint64_t sum = set ? set->nnz : 0;
    for (size_t j = 0; set && j < set->nnz; j++) {
        const hogmf_rating v = set->data[j];
        uint32_t rb;
        memcpy(&rb, &v.r, sizeof rb);
        uint64_t h = ((uint64_t)set->user_ids[v.u] << 32 | set->item_ids[v.i]) ^
                     ((uint64_t)rb * 0x9E3779B97F4A7C15ull);
        sum += hogmf__splitmix64(&h);
    }
    return sum;
}

/* Makes a status collective: every rank returns the lowest failing rank's error (its message
 * prefixed with the rank when that is not rank 0). */
static hogmf_status agree(MPI_Comm comm, int rank, hogmf_status st, hogmf_error *err)
{
    int mine = st != HOGMF_OK ? rank : INT_MAX, first = INT_MAX;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first == INT_MAX)
        return HOGMF_OK;
    hogmf_error e = {0};
    if (rank == first && err)
        e = *err;
    else if (rank == first)
        e.status = st;
    MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, first, comm);
    if (first != 0 && rank != first) {
        char msg[sizeof e.msg];
        snprintf(msg, sizeof msg, "rank %d: %.480s", first, e.msg);
        memcpy(e.msg, msg, sizeof msg);
    }
    if (err)
        *err = e;
    return e.status;
}

/* Threads for a rank: the parameter; else OMP_NUM_THREADS when set; else the cores this
 * process may use divided among the ranks on its node (so that `mpirun --bind-to none` with
 * two ranks on two cores gives one thread each). */
static int rank_threads(int requested, MPI_Comm comm)
{
    /* Collective, so every rank takes part whatever its environment says. */
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    if (requested > 0)
        return requested;
#ifdef _OPENMP
    if (getenv("OMP_NUM_THREADS"))
        return omp_get_max_threads();
    int nt = omp_get_num_procs() / (local > 0 ? local : 1);
    return nt < 1 ? 1 : nt;
#else
    return 1;
#endif
}


/* ---------------------------------------------------------------- the partition */

/* Cuts `count` rows into P blocks balanced by rating count: rows in a seeded random order
 * (so that blocks, and the P x P cells of the grid, are random samples whatever the id
 * order), each row going to the block in which the middle of its ratings falls. Fills
 * start[0..P], perm (rows of block b are perm[start[b]..start[b+1])), and blk/loc (block and
 * local index of each row). Identical on every rank. */
static void partition(const uint32_t *counts, uint32_t count, uint64_t nnz, uint32_t P,
                      uint64_t seed, uint64_t salt, uint32_t *start, uint32_t *perm,
                      uint32_t *blk, uint32_t *loc)
{
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, salt);
    for (uint32_t j = 0; j < count; j++)
        perm[j] = j;
    for (uint32_t j = count; j > 1; j--) {
        uint32_t s = (uint32_t)hogmf__rng_below(&g, j);
        uint32_t tmp = perm[j - 1];
        perm[j - 1] = perm[s];
        perm[s] = tmp;
    }
    uint64_t cum = 0;
    for (uint32_t b = 0; b <= P; b++)
        start[b] = 0;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t r = perm[j];
        uint64_t b = (2 * cum + counts[r]) * (uint64_t)P / (2 * nnz);
        blk[r] = b < P ? (uint32_t)b : P - 1;
        start[blk[r] + 1]++;
        cum += counts[r];
    }
    for (uint32_t b = 0; b < P; b++)
        start[b + 1] += start[b];
    /* blk is non-decreasing along perm, so perm is already grouped by block. */
    for (uint32_t j = 0; j < count; j++)
        loc[perm[j]] = j - start[blk[perm[j]]];
}

/* ---------------------------------------------------------------- set-up */

void hogmf_mpi_trainer_free(hogmf_mpi_trainer **tp)
{
    if (!tp || !*tp)
        return;
    hogmf_mpi_trainer *t = *tp;
    if (t->grid)
        for (int b = 0; b < t->size; b++)
            hogmf__grid_free(t->grid[b]);
    free(t->grid);
    free(t->gseed);
    free(t->ustart);
    free(t->uperm);
    free(t->istart);
    free(t->iperm);
    free(t->x);
    free(t->xoff);
    free(t->vx);
    free(t->voff);
    free(t->Pb);
    free(t->bu);
    free(t->gp);
    free(t->gbu);
    for (int j = 0; j < 2; j++) {
        free(t->buf[j].Q);
        free(t->buf[j].bi);
        free(t->buf[j].gq);
        free(t->buf[j].gbi);
    }
    free(t->bestP);
    free(t->bestbu);
    free(t->bestQ);
    free(t->bestbi);
    free(t->user_ids);
    free(t->item_ids);
    if (t->row_t != MPI_DATATYPE_NULL)
        MPI_Type_free(&t->row_t);
    free(t);
    *tp = NULL;
}

/* Everything of set-up that can fail locally; the caller makes the outcome collective. */
static hogmf_status setup_local(hogmf_mpi_trainer *t, const hogmf_ratings *train,
                                const hogmf_ratings *valid, hogmf_error *err)
{
    const hogmf_params *params = &t->params;
    const uint32_t P = (uint32_t)t->size, r = (uint32_t)t->rank;
    const uint32_t m = t->m, n = t->n, stride = t->stride;
    hogmf_status st = HOGMF_ERR_NOMEM;
    uint32_t *ucount = calloc(m, sizeof *ucount), *icount = calloc(n, sizeof *icount);
    uint32_t *ublk = malloc((size_t)m * sizeof *ublk), *uloc = malloc((size_t)m * sizeof *uloc);
    uint32_t *iblk = malloc((size_t)n * sizeof *iblk), *iloc = malloc((size_t)n * sizeof *iloc);
    size_t *next = calloc(P + 1, sizeof *next);
    hogmf_idmap *umap = NULL, *imap = NULL;
    t->ustart = malloc((P + 1) * sizeof *t->ustart);
    t->istart = malloc((P + 1) * sizeof *t->istart);
    t->uperm = malloc((size_t)m * sizeof *t->uperm);
    t->iperm = malloc((size_t)n * sizeof *t->iperm);
    t->xoff = calloc(P + 1, sizeof *t->xoff);
    t->voff = calloc(P + 2, sizeof *t->voff);
    t->grid = calloc(P, sizeof *t->grid);
    t->gseed = malloc(P * sizeof *t->gseed);
    if (!ucount || !icount || !ublk || !uloc || !iblk || !iloc || !next || !t->ustart ||
        !t->istart || !t->uperm || !t->iperm || !t->xoff || !t->voff || !t->grid || !t->gseed)
        goto fail;

    t->fingerprint = fingerprint(train) ^ hogmf__rotl(fingerprint(valid), 17);

    /* Partition users and items. */
    for (size_t j = 0; j < train->nnz; j++) {
        ucount[train->data[j].u]++;
        icount[train->data[j].i]++;
    }
    partition(ucount, m, train->nnz, P, params->seed, SALT_UBLK, t->ustart, t->uperm, ublk,
              uloc);
    partition(icount, n, train->nnz, P, params->seed, SALT_IBLK, t->istart, t->iperm, iblk,
              iloc);
    t->nu = t->ustart[r + 1] - t->ustart[r];
    t->icap = 1;
    for (uint32_t b = 0; b < P; b++)
        if (item_rows(t, b) > t->icap)
            t->icap = item_rows(t, b);

    /* Keep this rank's ratings, grouped by item block (a stable counting sort). */
    for (size_t j = 0; j < train->nnz; j++)
        if (ublk[train->data[j].u] == r)
            t->xoff[iblk[train->data[j].i] + 1]++;
    for (uint32_t b = 0; b < P; b++)
        t->xoff[b + 1] += t->xoff[b];
    t->x = malloc((t->xoff[P] ? t->xoff[P] : 1) * sizeof *t->x);
    if (!t->x)
        goto fail;
    memcpy(next, t->xoff, (P + 1) * sizeof *next);
    for (size_t j = 0; j < train->nnz; j++) {
        const hogmf_rating v = train->data[j];
        if (ublk[v.u] != r)
            continue;
        hogmf_rating w = {uloc[v.u], iloc[v.i], v.r};
        t->x[next[iblk[v.i]]++] = w;
    }
    /* One shuffle per group, as train.c shuffles once, then the grid of each group. */
    for (uint32_t b = 0; b < P; b++) {
        uint64_t z = params->seed ^ ((uint64_t)(r + 1) * 0x9E3779B97F4A7C15ull) ^
                     ((uint64_t)(b + 1) * 0xC2B2AE3D27D4EB4Full);
        t->gseed[b] = hogmf__splitmix64(&z);
        hogmf_rng g;
        hogmf__rng_seed(&g, params->seed ^ SALT_SHUF, ((uint64_t)r << 32) | b);
        hogmf_rating *x = t->x + t->xoff[b];
        size_t cnt = t->xoff[b + 1] - t->xoff[b];
        for (size_t j = cnt; j > 1; j--) {
            size_t s = (size_t)hogmf__rng_below(&g, j);
            hogmf_rating tmp = x[j - 1];
            x[j - 1] = x[s];
            x[s] = tmp;
        }
        if (cnt > 0 && (params->order == HOGMF_ORDER_BLOCKS ||
                        params->schedule == HOGMF_SCHEDULE_BLOCKS)) {
            /* The rule of train.c, at most 256 per side here: a rank keeps one grid per item
             * group. */
            uint32_t G = hogmf__grid_side(t->nu, item_rows(t, b), stride, cnt, t->threads, 256);
            t->grid[b] = hogmf__grid_build(x, cnt, t->nu, item_rows(t, b), G, t->gseed[b]);
            if (!t->grid[b])
                goto fail;
        }
    }

    /* Validation ratings: ids through the training maps, as hogmf__remap does. A rating of
     * an unknown user belongs to rank 0; one of an unknown item goes to group P. */
    size_t vunknown = 0;
    if (valid && valid->nnz > 0) {
        umap = hogmf__idmap_from_ids(train->user_ids, m);
        imap = hogmf__idmap_from_ids(train->item_ids, n);
        uint32_t *vu = malloc(((size_t)valid->m + 1) * sizeof *vu);
        uint32_t *vi = malloc(((size_t)valid->n + 1) * sizeof *vi);
        if (!umap || !imap || !vu || !vi) {
            free(vu);
            free(vi);
            goto fail;
        }
        for (uint32_t u = 0; u < valid->m; u++)
            vu[u] = hogmf__idmap_get(umap, valid->user_ids[u]);
        for (uint32_t i = 0; i < valid->n; i++)
            vi[i] = hogmf__idmap_get(imap, valid->item_ids[i]);
        for (size_t j = 0; j < valid->nnz; j++) {
            uint32_t gu = vu[valid->data[j].u], gi = vi[valid->data[j].i];
            vunknown += gu == HOGMF_UNKNOWN || gi == HOGMF_UNKNOWN;
            uint32_t owner = gu == HOGMF_UNKNOWN ? 0 : ublk[gu];
            if (owner == r)
                t->voff[(gi == HOGMF_UNKNOWN ? P : iblk[gi]) + 1]++;
        }
        for (uint32_t b = 0; b <= P; b++)
            t->voff[b + 1] += t->voff[b];
        t->vx = malloc((t->voff[P + 1] ? t->voff[P + 1] : 1) * sizeof *t->vx);
        size_t *vnext = malloc((P + 2) * sizeof *vnext);
        if (!t->vx || !vnext) {
            free(vu);
            free(vi);
            free(vnext);
            goto fail;
        }
        memcpy(vnext, t->voff, (P + 2) * sizeof *vnext);
        for (size_t j = 0; j < valid->nnz; j++) {
            uint32_t gu = vu[valid->data[j].u], gi = vi[valid->data[j].i];
            uint32_t owner = gu == HOGMF_UNKNOWN ? 0 : ublk[gu];
            if (owner != r)
                continue;
            hogmf_rating w = {gu == HOGMF_UNKNOWN ? HOGMF_UNKNOWN : uloc[gu],
                              gi == HOGMF_UNKNOWN ? HOGMF_UNKNOWN : iloc[gi], valid->data[j].r};
            t->vx[vnext[gi == HOGMF_UNKNOWN ? P : iblk[gi]]++] = w;
        }
        free(vu);
        free(vi);
        free(vnext);
        t->vnnz = valid->nnz;
    }
    if (vunknown && r == 0)
        hogmf__log(params, 1,
                   "%zu validation ratings have a user or item not in the training data; "
                   "they are predicted from the mean and the known biases",
                   vunknown);

    /* Model blocks: this rank's users and, to start, item block r. */
    const size_t urows = t->nu ? t->nu : 1;
    t->Pb = hogmf__aligned_calloc(urows * stride, sizeof(float));
    t->bu = hogmf__aligned_calloc(urows, sizeof(float));
    for (int j = 0; j < 2; j++) {
        t->buf[j].Q = hogmf__aligned_calloc((size_t)t->icap * stride, sizeof(float));
        t->buf[j].bi = hogmf__aligned_calloc(t->icap, sizeof(float));
        if (!t->buf[j].Q || !t->buf[j].bi)
            goto fail;
    }
    if (!t->Pb || !t->bu)
        goto fail;
    if (params->schedule_lr == HOGMF_LR_ADAGRAD) {
        /* Accumulators start at 1, as in train.c; item ones travel with their block. */
        t->gp = malloc(urows * sizeof(float));
        t->gbu = malloc(urows * sizeof(float));
        if (!t->gp || !t->gbu)
            goto fail;
        for (size_t u = 0; u < urows; u++)
            t->gp[u] = t->gbu[u] = 1.0f;
        for (int j = 0; j < 2; j++) {
            t->buf[j].gq = malloc((size_t)t->icap * sizeof(float));
            t->buf[j].gbi = malloc((size_t)t->icap * sizeof(float));
            if (!t->buf[j].gq || !t->buf[j].gbi)
                goto fail;
            for (uint32_t i = 0; i < t->icap; i++)
                t->buf[j].gq[i] = t->buf[j].gbi[i] = 1.0f;
        }
    }
    hogmf__init_rows(t->Pb, t->uperm + t->ustart[r], t->nu, t->k, stride, params->init_sd,
                     params->seed, HOGMF_SALT_USERS, t->threads);
    hogmf__init_rows(t->buf[0].Q, t->iperm + t->istart[r], item_rows(t, r), t->k, stride,
                     params->init_sd, params->seed, HOGMF_SALT_ITEMS, t->threads);

    t->keep_best = t->vnnz > 0 && params->patience > 0;
    if (t->keep_best) {
        t->bestP = hogmf__aligned_calloc(urows * stride, sizeof(float));
        t->bestbu = hogmf__aligned_calloc(urows, sizeof(float));
        t->bestQ = hogmf__aligned_calloc((size_t)t->icap * stride, sizeof(float));
        t->bestbi = hogmf__aligned_calloc(t->icap, sizeof(float));
        if (!t->bestP || !t->bestbu || !t->bestQ || !t->bestbi)
            goto fail;
    }
    if (r == 0) {
        t->user_ids = malloc((size_t)m * sizeof *t->user_ids);
        t->item_ids = malloc((size_t)n * sizeof *t->item_ids);
        if (!t->user_ids || !t->item_ids)
            goto fail;
        memcpy(t->user_ids, train->user_ids, (size_t)m * sizeof *t->user_ids);
        memcpy(t->item_ids, train->item_ids, (size_t)n * sizeof *t->item_ids);
    }
    st = HOGMF_OK;
fail:
    if (st != HOGMF_OK)
        hogmf__fail(err, st, 0,
                    "train: out of memory setting up %u users x %u items x %u factors on %d "
                    "ranks",
                    m, n, t->k, t->size);
    hogmf__idmap_free(umap);
    hogmf__idmap_free(imap);
    free(ucount);
    free(icount);
    free(ublk);
    free(uloc);
    free(iblk);
    free(iloc);
    free(next);
    return st;
}

hogmf_status hogmf_mpi_trainer_new(MPI_Comm comm, const hogmf_ratings *train,
                                   const hogmf_ratings *valid, const hogmf_params *params,
                                   hogmf_mpi_trainer **out, hogmf_error *err)
{
    *out = NULL;
    hogmf_error e = {0};
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    hogmf_status st = hogmf__check_params(params, &e);
    if (st == HOGMF_OK && params->deterministic)
        st = hogmf__fail(&e, HOGMF_ERR_INVALID, 0,
                         "train: --deterministic is not supported under MPI (the ranks' "
                         "blocks and their exchange follow the rank count); train in one "
                         "process for a model that does not depend on the thread count");
    if (st == HOGMF_OK && train->nnz == 0)
        st = hogmf__fail(&e, HOGMF_ERR_EMPTY, 0, "train: no ratings");
    if (st == HOGMF_OK && (train->m > INT_MAX || train->n > INT_MAX))
        st = hogmf__fail(&e, HOGMF_ERR_INVALID, 0,
                         "train: the MPI mode handles at most %d users and items", INT_MAX);
    hogmf_mpi_trainer *t = NULL;
    if (st == HOGMF_OK && !(t = calloc(1, sizeof *t)))
        st = hogmf__fail(&e, HOGMF_ERR_NOMEM, 0, "train: out of memory");
    if (t) {
        t->row_t = MPI_DATATYPE_NULL;
        t->comm = comm;
        t->rank = rank;
        t->size = size;
        t->params = *params;
        t->m = train->m;
        t->n = train->n;
        t->k = params->k;
        t->stride = hogmf__stride(params->k);
        t->nnz = train->nnz;
        t->lr = params->lr;
        t->best_valid = t->ref_valid = t->best_train = t->last_monitor = INFINITY;
        t->best_valid_train = t->last_train = t->last_valid = NAN;
    }
    /* Every rank reaches the collectives below whatever happened so far. */
    int threads = rank_threads(params->threads, comm);
    if (t) {
        t->threads = threads;
        const char *sync = getenv("HOGMF_MPI_SYNC");
        t->sync = sync && !strcmp(sync, "1");
        MPI_Type_contiguous((int)t->stride, MPI_FLOAT, &t->row_t);
        MPI_Type_commit(&t->row_t);
        st = setup_local(t, train, valid, &e);
    }
    st = agree(comm, rank, st, &e);
    if (st != HOGMF_OK) {
        hogmf_mpi_trainer_free(&t);
        if (err)
            *err = e;
        return st;
    }
    /* The global mean and range come from the ranks' own ratings. */
    double sum = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < t->xoff[size]; j++) {
        float v = t->x[j].r;
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_DOUBLE, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_FLOAT, MPI_MIN, comm);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_FLOAT, MPI_MAX, comm);
    t->mu = (float)(sum / (double)t->nnz);
    t->rmin = lo;
    t->rmax = hi;
    /* With the adaptive rate biases start at their baseline estimates, as in train.c (the
     * plain rates start them at zero). Every rank holds the whole training set, so each
     * computes them all (the same numbers everywhere) and keeps the rows of its user block
     * and of the item block it starts with. */
    if (params->schedule_lr == HOGMF_LR_ADAGRAD) {
        float *bu0 = malloc(((size_t)t->m + 1) * sizeof *bu0);
        float *bi0 = malloc(((size_t)t->n + 1) * sizeof *bi0);
        if (!bu0 || !bi0 || hogmf__bias_baseline(train->data, train->nnz, t->m, t->n, t->mu,
                                                 NULL, 1, bu0, bi0) != 0) {
            st = hogmf__fail(&e, HOGMF_ERR_NOMEM, 0, "train: out of memory");
        } else {
            for (uint32_t j = 0; j < t->nu; j++)
                t->bu[j] = bu0[t->uperm[t->ustart[rank] + j]];
            for (uint32_t j = 0; j < item_rows(t, (uint32_t)rank); j++)
                t->buf[0].bi[j] = bi0[t->iperm[t->istart[rank] + j]];
        }
        free(bu0);
        free(bi0);
    }
    st = agree(comm, rank, st, &e);
    if (st != HOGMF_OK) {
        hogmf_mpi_trainer_free(&t);
        if (err)
            *err = e;
        return st;
    }
    if (params->pin != HOGMF_PIN_NONE && rank == 0)
        hogmf__log(params, 1, "under MPI, threads are not pinned by hogmf; bind ranks with "
                              "mpirun (--bind-to, --map-by) instead");
    *out = t;
    return HOGMF_OK;
}

/* ---------------------------------------------------------------- the ring */

/* Starts passing the held item block to rank r-1 and receiving the next from rank r+1. */
static void shift_start(hogmf_mpi_trainer *t)
{
    const int P = t->size;
    const uint32_t b = held_block(t), bn = (b + 1) % (uint32_t)P;
    const int nb = (int)item_rows(t, b), nbn = (int)item_rows(t, bn);
    const int to = (t->rank + P - 1) % P, from = (t->rank + 1) % P;
    item_buf *s = &t->buf[t->cur], *d = &t->buf[t->cur ^ 1];
    MPI_Request *q = t->req;
    int nr = 0;
    MPI_Irecv(d->Q, nbn, t->row_t, from, TAG_Q, t->comm, &q[nr++]);
    MPI_Irecv(d->bi, nbn, MPI_FLOAT, from, TAG_BI, t->comm, &q[nr++]);
    MPI_Isend(s->Q, nb, t->row_t, to, TAG_Q, t->comm, &q[nr++]);
    MPI_Isend(s->bi, nb, MPI_FLOAT, to, TAG_BI, t->comm, &q[nr++]);
    double per_row = (double)t->stride + 1;
    if (s->gq) {
        MPI_Irecv(d->gq, nbn, MPI_FLOAT, from, TAG_GQ, t->comm, &q[nr++]);
        MPI_Irecv(d->gbi, nbn, MPI_FLOAT, from, TAG_GBI, t->comm, &q[nr++]);
        MPI_Isend(s->gq, nb, MPI_FLOAT, to, TAG_GQ, t->comm, &q[nr++]);
        MPI_Isend(s->gbi, nb, MPI_FLOAT, to, TAG_GBI, t->comm, &q[nr++]);
        per_row += 2;
    }
    t->nreq = nr;
    t->bytes += (double)nb * per_row * sizeof(float);
}

static void shift_wait(hogmf_mpi_trainer *t)
{
    MPI_Waitall(t->nreq, t->req, MPI_STATUSES_IGNORE);
    t->nreq = 0;
    t->cur ^= 1;
    t->h = (t->h + 1) % (uint32_t)t->size;
}

/* ---------------------------------------------------------------- epochs */

int hogmf_mpi_trainer_done(const hogmf_mpi_trainer *t)
{
    return t->stop || t->epoch >= t->params.epochs;
}

uint32_t hogmf_mpi_trainer_epochs(const hogmf_mpi_trainer *t) { return t->epoch; }
int hogmf_mpi_trainer_threads(const hogmf_mpi_trainer *t) { return t->threads; }
int hogmf_mpi_trainer_ranks(const hogmf_mpi_trainer *t) { return t->size; }

/* Adds the error sums of ratings x[0..cnt) against this rank's users and item block b held
 * in `ib`, through a model-shaped view for hogmf__eval_sums. */
static void eval_group(hogmf_mpi_trainer *t, const hogmf_rating *x, size_t cnt,
                       const item_buf *ib, uint32_t b, double *sums)
{
    if (cnt == 0)
        return;
    hogmf_model v;
    memset(&v, 0, sizeof v);
    v.m = t->nu;
    v.n = b < (uint32_t)t->size ? item_rows(t, b) : 0;
    v.k = t->k;
    v.stride = t->stride;
    v.mu = t->mu;
    v.rmin = t->rmin;
    v.rmax = t->rmax;
    v.P = t->Pb;
    v.Q = ib->Q;
    v.bu = t->bu;
    v.bi = ib->bi;
    /* In slices, with MPI_Testall between them while a ring step is in flight: most MPI
     * transports move a large message only inside MPI calls, so without these the transfer
     * would wait for shift_wait instead of overlapping the evaluation. */
    enum { SLICE = 1 << 18 };
    for (size_t lo = 0; lo < cnt; lo += SLICE) {
        size_t len = cnt - lo < SLICE ? cnt - lo : SLICE;
        double se, ae;
        size_t bad;
        hogmf__eval_sums(&v, x + lo, len, t->threads, &se, &ae, &bad);
        sums[0] += se;
        sums[1] += ae;
        sums[2] += (double)bad;
        if (t->nreq) {
            int done;
            MPI_Testall(t->nreq, t->req, &done, MPI_STATUSES_IGNORE);
        }
    }
}

/* Copies this rank's rows into the best-epoch copy. */
static void best_save(hogmf_mpi_trainer *t)
{
    const uint32_t nb = item_rows(t, held_block(t));
    memcpy(t->bestP, t->Pb, (size_t)t->nu * t->stride * sizeof(float));
    memcpy(t->bestbu, t->bu, (size_t)t->nu * sizeof(float));
    memcpy(t->bestQ, t->buf[t->cur].Q, (size_t)nb * t->stride * sizeof(float));
    memcpy(t->bestbi, t->buf[t->cur].bi, (size_t)nb * sizeof(float));
    t->best_h = t->h;
}

hogmf_status hogmf_mpi_trainer_epoch(hogmf_mpi_trainer *t, hogmf_epoch_stats *stats,
                                     hogmf_error *err)
{
    const hogmf_params *params = &t->params;
    const int P = t->size;
    if (hogmf_mpi_trainer_done(t))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "train: no epochs left");
    const uint32_t epoch = t->epoch + 1;
    float lr = t->lr;
    if (params->schedule_lr == HOGMF_LR_DECAY) /* inverse time: lr / (1 + decay (t - 1)) */
        lr = params->lr / (1.0f + params->lr_decay * (float)(epoch - 1));
    hogmf_mpi_rank_stats rs = {0};
    rs.threads = t->threads;
    rs.users = t->nu;
    rs.items = item_rows(t, held_block(t));
    rs.updates = (double)t->xoff[P];
    t->bytes = 0;

    /* SGD: P sub-epochs; between them the item blocks move one step around the ring. */
    double w0 = now_seconds();
    for (int s = 0; s < P; s++) {
        const uint32_t b = held_block(t);
        item_buf *ib = &t->buf[t->cur];
        hogmf_sgd_ctx c = {.P = t->Pb, .Q = ib->Q, .bu = t->bu, .bi = ib->bi,
                           .stride = t->stride, .k = t->k, .mu = t->mu, .lr = lr,
                           .lambda_b = params->lambda_b, .lambda_p = params->lambda_p,
                           .lambda_q = params->lambda_q, .l1_p = params->l1_p,
                           .l1_q = params->l1_q, .nonneg = params->nonneg, .gp = t->gp,
                           .gq = ib->gq, .gbu = t->gbu, .gbi = ib->gbi};
        const size_t lo = t->xoff[b], cnt = t->xoff[b + 1] - lo;
        double c0 = now_seconds();
        if (cnt > 0)
            hogmf__run_epoch(&c, t->x + lo, cnt, t->grid[b], params->order, params->schedule, 0,
                             t->threads, t->gseed[b], epoch);
        double c1 = now_seconds();
        rs.compute_seconds += c1 - c0;
        if (s + 1 < P) {
            if (t->sync) {
                MPI_Barrier(t->comm);
                double c2 = now_seconds();
                rs.sync_seconds += c2 - c1;
                c1 = c2;
            }
            shift_start(t);
            shift_wait(t);
            rs.comm_seconds += now_seconds() - c1;
        }
    }
    double wall = now_seconds() - w0;

    /* Evaluation: each item block visits every rank once more; the next block travels while
     * this one is evaluated (both only read it). */
    double e0 = now_seconds();
    double sums[6] = {0}; /* train sse, sae, bad; validation sse, sae, bad */
    for (int s = 0; s < P; s++) {
        const uint32_t b = held_block(t);
        const item_buf *ib = &t->buf[t->cur];
        if (s + 1 < P)
            shift_start(t);
        eval_group(t, t->x + t->xoff[b], t->xoff[b + 1] - t->xoff[b], ib, b, sums);
        if (t->vx) {
            eval_group(t, t->vx + t->voff[b], t->voff[b + 1] - t->voff[b], ib, b, sums + 3);
            if (s == 0)
                eval_group(t, t->vx + t->voff[P], t->voff[P + 1] - t->voff[P], ib,
                           (uint32_t)P, sums + 3);
        }
        if (s + 1 < P) {
            double c0 = now_seconds();
            if (t->sync) {
                MPI_Barrier(t->comm);
                double c2 = now_seconds();
                rs.sync_seconds += c2 - c0;
                c0 = c2;
            }
            shift_wait(t);
            rs.eval_comm_seconds += now_seconds() - c0;
        }
    }
    rs.eval_seconds = now_seconds() - e0;
    rs.bytes_sent = t->bytes;
    t->last = rs;
    MPI_Allreduce(MPI_IN_PLACE, sums, 6, MPI_DOUBLE, MPI_SUM, t->comm);
    MPI_Allreduce(MPI_IN_PLACE, &wall, 1, MPI_DOUBLE, MPI_MAX, t->comm);

    hogmf_epoch_stats es = {0};
    es.epoch = epoch;
    es.lr = lr;
    es.epoch_seconds = wall;
    es.updates_per_second = wall > 0 ? (double)t->nnz / wall : 0;
    es.train_rmse = sqrt(sums[0] / (double)t->nnz);
    es.train_mae = sums[1] / (double)t->nnz;
    es.valid_rmse = es.valid_mae = NAN;
    if (t->vnnz) {
        es.valid_rmse = sqrt(sums[3] / (double)t->vnnz);
        es.valid_mae = sums[4] / (double)t->vnnz;
    }
    t->epoch = epoch;
    t->last_train = es.train_rmse;
    t->last_valid = es.valid_rmse;
    if (stats)
        *stats = es;

    /* From here on as hogmf_trainer_epoch; every rank sees the same numbers. */
    hogmf_status st = hogmf__check_divergence(
        params, epoch, (size_t)(sums[2] + sums[5]), es.train_rmse,
        hogmf__divergence_floor(t->rmin, t->rmax, t->best_train), t->vnnz > 0,
        es.valid_rmse, t->best_valid, err);
    if (st != HOGMF_OK)
        return st;
    if (es.train_rmse < t->best_train)
        t->best_train = es.train_rmse;
    if (params->schedule_lr == HOGMF_LR_BOLD) /* on the validation RMSE, else the training */
        t->lr = hogmf__bold_driver(t->lr, t->vnnz ? es.valid_rmse : es.train_rmse,
                                   &t->last_monitor);
    if (t->vnnz) {
        if (es.valid_rmse < t->best_valid) {
            t->best_valid = es.valid_rmse;
            t->best_valid_train = es.train_rmse;
            t->best_epoch = epoch;
            if (t->keep_best)
                best_save(t);
        }
        if (hogmf__patience_spent(params, es.valid_rmse, &t->ref_valid, &t->since)) {
            t->stop = 1;
            if (t->best_epoch != epoch && t->rank == 0)
                hogmf__log(params, 0,
                           "stopping after epoch %u: validation RMSE has not improved by %g "
                           "for %u epochs; restoring epoch %u (%.6f)",
                           epoch, params->tol, t->since, t->best_epoch, t->best_valid);
        }
    }
    return HOGMF_OK;
}

void hogmf_mpi_trainer_rank_stats(const hogmf_mpi_trainer *t, hogmf_mpi_rank_stats *all)
{
    enum { NF = sizeof(hogmf_mpi_rank_stats) / sizeof(double) };
    MPI_Gather(&t->last, NF, MPI_DOUBLE, all, NF, MPI_DOUBLE, 0, t->comm);
}

/* ---------------------------------------------------------------- gather and scatter */

/* Where one rank's rows live: its user block, and the item block it holds at ring position
 * h, in the current or the best-epoch arrays. */
typedef struct rows_src {
    float *P, *bu, *Q, *bi;
    uint32_t h;
} rows_src;

/* which: ROWS_CURRENT, ROWS_BEST, or the AdaGrad accumulators as biases-only rows
 * (ROWS_ACC_FACTORS: gp and gq; ROWS_ACC_BIASES: gbu and gbi), which checkpoints keep in two
 * model files of their own (see hogmf_mpi_trainer_save). */
enum { ROWS_CURRENT = 0, ROWS_BEST = 1, ROWS_ACC_FACTORS = 2, ROWS_ACC_BIASES = 3 };

static rows_src rows_of(hogmf_mpi_trainer *t, int which)
{
    rows_src s;
    const item_buf *b = &t->buf[t->cur];
    switch (which) {
    case ROWS_BEST: s = (rows_src){t->bestP, t->bestbu, t->bestQ, t->bestbi, t->best_h}; break;
    case ROWS_ACC_FACTORS: s = (rows_src){NULL, t->gp, NULL, b->gq, t->h}; break;
    case ROWS_ACC_BIASES: s = (rows_src){NULL, t->gbu, NULL, b->gbi, t->h}; break;
    default: s = (rows_src){t->Pb, t->bu, b->Q, b->bi, t->h}; break;
    }
    return s;
}

/* A model of the global sizes with the training ids (rank 0), or NULL. */
static hogmf_model *new_full_model(const hogmf_mpi_trainer *t, uint32_t k)
{
    hogmf_model *model = hogmf_model_new(t->m, t->n, k);
    if (!model)
        return NULL;
    memcpy(model->user_ids, t->user_ids, (size_t)t->m * sizeof(uint32_t));
    memcpy(model->item_ids, t->item_ids, (size_t)t->n * sizeof(uint32_t));
    hogmf__idmap_free(model->umap);
    hogmf__idmap_free(model->imap);
    model->umap = hogmf__idmap_from_ids(model->user_ids, model->m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, model->n);
    if (!model->umap || !model->imap) {
        hogmf_model_free(&model);
        return NULL;
    }
    model->params = t->params;
    model->params.log = NULL;
    model->params.on_epoch = NULL;
    model->params.ctx = NULL;
    model->nnz = t->nnz;
    model->mu = t->mu;
    model->rmin = t->rmin;
    model->rmax = t->rmax;
    model->epochs_run = t->epoch;
    model->best_epoch = t->epoch;
    return model;
}

/* Copies rows between a local block (rows in local order) and a full array (global rows
 * listed in `global`); to_full selects the direction. */
static void move_rows(float *full, float *block, const uint32_t *global, uint32_t rows,
                      uint32_t width, int to_full)
{
    for (uint32_t j = 0; j < rows; j++) {
        float *f = full + (size_t)global[j] * width, *b = block + (size_t)j * width;
        if (to_full)
            memcpy(f, b, (size_t)width * sizeof(float));
        else
            memcpy(b, f, (size_t)width * sizeof(float));
    }
}

/* Moves every rank's rows of `which` (ROWS_*) into `model` on rank 0 (to_model = 1), or the
 * rows of `model` on rank 0 out to every rank (to_model = 0). The caller has made sure rank 0
 * holds a model; tmp buffers are rank 0's. Returns HOGMF_OK or HOGMF_ERR_NOMEM, collectively. */
static hogmf_status exchange(hogmf_mpi_trainer *t, hogmf_model *model, int which,
                             int to_model, hogmf_error *err)
{
    const int P = t->size;
    rows_src me = rows_of(t, which);
    const int factors = me.P != NULL; /* the accumulators have biases-only rows */
    hogmf_status st = HOGMF_OK;
    float *tP = NULL, *tb = NULL;
    uint32_t umax = 1;
    if (t->rank == 0) {
        for (int q = 0; q < P; q++)
            if (t->ustart[q + 1] - t->ustart[q] > umax)
                umax = t->ustart[q + 1] - t->ustart[q];
        uint32_t cap = umax > t->icap ? umax : t->icap;
        tP = hogmf__aligned_calloc((size_t)cap * t->stride, sizeof(float));
        tb = hogmf__aligned_calloc(cap, sizeof(float));
        if (!tP || !tb)
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0,
                             "train: out of memory for a block of %u rows", cap);
    }
    st = agree(t->comm, t->rank, st, err);
    if (st != HOGMF_OK)
        goto done;
    for (int q = 0; q < P; q++) {
        const uint32_t *ug = t->uperm + t->ustart[q];
        const int nu = (int)(t->ustart[q + 1] - t->ustart[q]);
        const uint32_t b = (uint32_t)(((uint64_t)q + me.h) % (uint64_t)P);
        const uint32_t *ig = t->iperm + t->istart[b];
        const int nb = (int)item_rows(t, b);
        if (t->rank == 0) {
            /* Rank 0's own rows are moved in place; others' go through tP and tb. */
            float *xP = q == 0 ? me.P : tP, *xbu = q == 0 ? me.bu : tb;
            if (to_model) {
                if (q != 0) {
                    if (factors)
                        MPI_Recv(xP, nu, t->row_t, q, TAG_P, t->comm, MPI_STATUS_IGNORE);
                    MPI_Recv(xbu, nu, MPI_FLOAT, q, TAG_BU, t->comm, MPI_STATUS_IGNORE);
                }
                if (factors)
                    move_rows(model->P, xP, ug, (uint32_t)nu, t->stride, 1);
                move_rows(model->bu, xbu, ug, (uint32_t)nu, 1, 1);
            } else {
                if (factors)
                    move_rows(model->P, xP, ug, (uint32_t)nu, t->stride, 0);
                move_rows(model->bu, xbu, ug, (uint32_t)nu, 1, 0);
                if (q != 0) {
                    if (factors)
                        MPI_Send(xP, nu, t->row_t, q, TAG_P, t->comm);
                    MPI_Send(xbu, nu, MPI_FLOAT, q, TAG_BU, t->comm);
                }
            }
            float *xQ = q == 0 ? me.Q : tP, *xbi = q == 0 ? me.bi : tb;
            if (to_model) {
                if (q != 0) {
                    if (factors)
                        MPI_Recv(xQ, nb, t->row_t, q, TAG_Q, t->comm, MPI_STATUS_IGNORE);
                    MPI_Recv(xbi, nb, MPI_FLOAT, q, TAG_BI, t->comm, MPI_STATUS_IGNORE);
                }
                if (factors)
                    move_rows(model->Q, xQ, ig, (uint32_t)nb, t->stride, 1);
                move_rows(model->bi, xbi, ig, (uint32_t)nb, 1, 1);
            } else {
                if (factors)
                    move_rows(model->Q, xQ, ig, (uint32_t)nb, t->stride, 0);
                move_rows(model->bi, xbi, ig, (uint32_t)nb, 1, 0);
                if (q != 0) {
                    if (factors)
                        MPI_Send(xQ, nb, t->row_t, q, TAG_Q, t->comm);
                    MPI_Send(xbi, nb, MPI_FLOAT, q, TAG_BI, t->comm);
                }
            }
        } else if (q == t->rank) {
            if (to_model) {
                if (factors)
                    MPI_Send(me.P, nu, t->row_t, 0, TAG_P, t->comm);
                MPI_Send(me.bu, nu, MPI_FLOAT, 0, TAG_BU, t->comm);
                if (factors)
                    MPI_Send(me.Q, nb, t->row_t, 0, TAG_Q, t->comm);
                MPI_Send(me.bi, nb, MPI_FLOAT, 0, TAG_BI, t->comm);
            } else {
                if (factors)
                    MPI_Recv(me.P, nu, t->row_t, 0, TAG_P, t->comm, MPI_STATUS_IGNORE);
                MPI_Recv(me.bu, nu, MPI_FLOAT, 0, TAG_BU, t->comm, MPI_STATUS_IGNORE);
                if (factors)
                    MPI_Recv(me.Q, nb, t->row_t, 0, TAG_Q, t->comm, MPI_STATUS_IGNORE);
                MPI_Recv(me.bi, nb, MPI_FLOAT, 0, TAG_BI, t->comm, MPI_STATUS_IGNORE);
            }
        }
    }
done:
    free(tP);
    free(tb);
    return st;
}

/* Gathers the rows of `which` (ROWS_*) into a new model on rank 0. */
static hogmf_status gather_model(hogmf_mpi_trainer *t, int which, hogmf_model **out,
                                 hogmf_error *err)
{
    *out = NULL;
    hogmf_model *model = NULL;
    hogmf_status st = HOGMF_OK;
    const uint32_t k = which >= ROWS_ACC_FACTORS ? 1 : t->k; /* accumulators: biases only */
    if (t->rank == 0 && !(model = new_full_model(t, k)))
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0,
                         "train: out of memory for %u users x %u items x %u factors on rank 0",
                         t->m, t->n, t->k);
    st = agree(t->comm, t->rank, st, err);
    if (st == HOGMF_OK)
        st = exchange(t, model, which, 1, err);
    if (st != HOGMF_OK) {
        hogmf_model_free(&model);
        return st;
    }
    *out = model;
    return HOGMF_OK;
}

hogmf_status hogmf_mpi_trainer_finish(hogmf_mpi_trainer *t, hogmf_model **out,
                                      hogmf_error *err)
{
    hogmf_error e = {0};
    const int best = t->keep_best && t->best_epoch && t->best_epoch != t->epoch;
    hogmf_status st = gather_model(t, best ? ROWS_BEST : ROWS_CURRENT, out, &e);
    if (st != HOGMF_OK) {
        if (err)
            *err = e;
        return st;
    }
    hogmf_model *model = *out;
    if (model) {
        if (best) {
            model->best_epoch = t->best_epoch;
            model->valid_rmse = t->best_valid;
            model->train_rmse = t->best_valid_train;
        } else {
            model->best_epoch = t->epoch;
            model->train_rmse = t->last_train;
            model->valid_rmse = t->last_valid;
        }
    }
    return HOGMF_OK;
}

/* ---------------------------------------------------------------- checkpoints */

#define STATE_MAGIC "hogmf-mpi-checkpoint 1"

/* The scalars of a checkpoint, sent from rank 0 to every rank as bytes. */
typedef struct ckpt_state {
    double lr, best_valid, best_valid_train, ref_valid, best_train, last_monitor, last_train,
        last_valid;
    uint64_t nnz, seed, fingerprint;
    uint32_t m, n, k, ranks, epoch, since, best_epoch, stop, h, best_h, have_best;
} ckpt_state;

static ckpt_state state_of(const hogmf_mpi_trainer *t)
{
    ckpt_state s = {
        .lr = t->lr, .best_valid = t->best_valid, .best_valid_train = t->best_valid_train,
        .ref_valid = t->ref_valid, .best_train = t->best_train,
        .last_monitor = t->last_monitor, .last_train = t->last_train,
        .last_valid = t->last_valid, .nnz = t->nnz, .seed = t->params.seed,
        .fingerprint = t->fingerprint, .m = t->m,
        .n = t->n, .k = t->k, .ranks = (uint32_t)t->size, .epoch = t->epoch,
        .since = t->since, .best_epoch = t->best_epoch, .stop = (uint32_t)t->stop, .h = t->h,
        .best_h = t->best_h, .have_best = t->keep_best && t->best_epoch > 0};
    return s;
}

/* The lines of the state file, "name value": value kinds 0 u32, 1 u64, 2 double (hex). */
static const struct {
    const char *name;
    size_t off;
    int kind;
} state_fields[] = {
    {"ranks", offsetof(ckpt_state, ranks), 0},
    {"users", offsetof(ckpt_state, m), 0},
    {"items", offsetof(ckpt_state, n), 0},
    {"factors", offsetof(ckpt_state, k), 0},
    {"ratings", offsetof(ckpt_state, nnz), 1},
    {"seed", offsetof(ckpt_state, seed), 1},
    {"data", offsetof(ckpt_state, fingerprint), 1},
    {"epoch", offsetof(ckpt_state, epoch), 0},
    {"ring", offsetof(ckpt_state, h), 0},
    {"best_ring", offsetof(ckpt_state, best_h), 0},
    {"have_best", offsetof(ckpt_state, have_best), 0},
    {"best_epoch", offsetof(ckpt_state, best_epoch), 0},
    {"since", offsetof(ckpt_state, since), 0},
    {"stop", offsetof(ckpt_state, stop), 0},
    {"lr", offsetof(ckpt_state, lr), 2},
    {"best_valid", offsetof(ckpt_state, best_valid), 2},
    {"best_valid_train", offsetof(ckpt_state, best_valid_train), 2},
    {"ref_valid", offsetof(ckpt_state, ref_valid), 2},
    {"best_train", offsetof(ckpt_state, best_train), 2},
    {"last_monitor", offsetof(ckpt_state, last_monitor), 2},
    {"last_train", offsetof(ckpt_state, last_train), 2},
    {"last_valid", offsetof(ckpt_state, last_valid), 2},
};
enum { NSTATE = sizeof state_fields / sizeof state_fields[0] };

/* Formats the state as text (doubles in hex, so they read back exactly). Returns the length. */
static size_t state_format(const ckpt_state *s, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "%s\n", STATE_MAGIC);
    for (int j = 0; j < NSTATE && len < cap; j++) {
        const char *p = (const char *)s + state_fields[j].off;
        if (state_fields[j].kind == 0)
            len += (size_t)snprintf(buf + len, cap - len, "%s %u\n", state_fields[j].name,
                                    *(const uint32_t *)p);
        else if (state_fields[j].kind == 1)
            len += (size_t)snprintf(buf + len, cap - len, "%s %llu\n", state_fields[j].name,
                                    (unsigned long long)*(const uint64_t *)p);
        else
            len += (size_t)snprintf(buf + len, cap - len, "%s %a\n", state_fields[j].name,
                                    *(const double *)p);
    }
    return len < cap ? len : cap;
}

/* Parses a state file's text; every field must appear once with a valid value. */
static hogmf_status state_parse(char *text, const char *name, ckpt_state *s, hogmf_error *err)
{
    memset(s, 0, sizeof *s);
    unsigned char seen[NSTATE] = {0};
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    if (!line || strcmp(line, STATE_MAGIC) != 0)
        return hogmf__fail(err, HOGMF_ERR_FORMAT, 1, "%s:1: expected '%s'", name, STATE_MAGIC);
    uint64_t lineno = 1;
    while ((line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        char *sp = strchr(line, ' ');
        int j = 0;
        if (sp) {
            *sp = '\0';
            for (j = 0; j < NSTATE && strcmp(state_fields[j].name, line); j++)
                ;
        }
        if (!sp || j == NSTATE || seen[j])
            return hogmf__fail(err, HOGMF_ERR_FORMAT, lineno, "%s:%llu: unexpected line '%s'",
                               name, (unsigned long long)lineno, line);
        seen[j] = 1;
        char *v = sp + 1, *end = NULL;
        char *p = (char *)s + state_fields[j].off;
        errno = 0;
        if (state_fields[j].kind == 2) {
            *(double *)p = strtod(v, &end);
        } else {
            unsigned long long x = strtoull(v, &end, 10);
            if (*v == '-' || (state_fields[j].kind == 0 && x > UINT32_MAX))
                errno = ERANGE;
            if (state_fields[j].kind == 0)
                *(uint32_t *)p = (uint32_t)x;
            else
                *(uint64_t *)p = (uint64_t)x;
        }
        if (errno || end == v || *end)
            return hogmf__fail(err, HOGMF_ERR_FORMAT, lineno, "%s:%llu: %s: bad value '%s'",
                               name, (unsigned long long)lineno, state_fields[j].name, v);
    }
    for (int j = 0; j < NSTATE; j++)
        if (!seen[j])
            return hogmf__fail(err, HOGMF_ERR_FORMAT, 0, "%s: no '%s' line", name,
                               state_fields[j].name);
    return HOGMF_OK;
}

/* path + suffix in a new string, or NULL. */
static char *path_with(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *p = malloc(a + b + 1);
    if (p) {
        memcpy(p, path, a);
        memcpy(p + a, suffix, b + 1);
    }
    return p;
}

/* Gathers the rows of `which` (ROWS_*) and writes them as a model file on rank 0. */
static hogmf_status save_model_file(hogmf_mpi_trainer *t, int which, const char *path,
                                    hogmf_error *err)
{
    hogmf_model *model = NULL;
    hogmf_status st = gather_model(t, which, &model, err);
    if (st != HOGMF_OK)
        return st;
    if (model) {
        const int best = which == ROWS_BEST;
        model->best_epoch = best ? t->best_epoch : t->epoch;
        model->train_rmse = best ? t->best_valid_train : t->last_train;
        model->valid_rmse = best ? t->best_valid : t->last_valid;
        st = hogmf_model_save(model, path, err);
        hogmf_model_free(&model);
    }
    return agree(t->comm, t->rank, st, err);
}

hogmf_status hogmf_mpi_trainer_save(hogmf_mpi_trainer *t, const char *path, hogmf_error *err)
{
    hogmf_error e = {0};
    hogmf_status st = HOGMF_OK;
    char *best_path = path_with(path, ".best"), *state_path = path_with(path, ".state");
    if (!best_path || !state_path)
        st = hogmf__fail(&e, HOGMF_ERR_NOMEM, 0, "checkpoint: out of memory");
    char *acc_path[2] = {path_with(path, ".adagrad-factors"), path_with(path, ".adagrad-biases")};
    if (!acc_path[0] || !acc_path[1])
        st = hogmf__fail(&e, HOGMF_ERR_NOMEM, 0, "checkpoint: out of memory");
    st = agree(t->comm, t->rank, st, &e);
    const ckpt_state s = state_of(t);
    if (st == HOGMF_OK)
        st = save_model_file(t, ROWS_CURRENT, path, &e);
    if (st == HOGMF_OK && s.have_best)
        st = save_model_file(t, ROWS_BEST, best_path, &e);
    for (int j = 0; j < 2 && t->gp && st == HOGMF_OK; j++)
        st = save_model_file(t, ROWS_ACC_FACTORS + j, acc_path[j], &e);
    if (st == HOGMF_OK) {
        /* Written last: a resume only trusts a state file, and it names the epoch the model
         * files must hold. */
        if (t->rank == 0) {
            char text[2048];
            size_t len = state_format(&s, text, sizeof text);
            st = hogmf_write_file_atomic(state_path, text, len, &e);
        }
        st = agree(t->comm, t->rank, st, &e);
    }
    free(best_path);
    free(state_path);
    free(acc_path[0]);
    free(acc_path[1]);
    if (st != HOGMF_OK && err)
        *err = e;
    return st;
}

/* Rank 0: reads the state file and checks it, and the model file(s), against this run. */
static hogmf_status resume_read(hogmf_mpi_trainer *t, const char *path, ckpt_state *s,
                                hogmf_model **cur, hogmf_model **best, hogmf_model **acc,
                                hogmf_error *err)
{
    char *state_path = path_with(path, ".state"), *best_path = path_with(path, ".best");
    char *acc_path[2] = {path_with(path, ".adagrad-factors"), path_with(path, ".adagrad-biases")};
    char *text = NULL;
    hogmf_status st = HOGMF_OK;
    FILE *f = NULL;
    if (!state_path || !best_path) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "resume: out of memory");
        goto done;
    }
    if (!(f = fopen(state_path, "rb"))) {
        if (errno == ENOENT)
            st = hogmf__fail(err, HOGMF_ERR_IO, 0,
                             "%s: not a checkpoint of an MPI run (%s is missing); a "
                             "single-process checkpoint resumes only without mpirun",
                             path, state_path);
        else
            st = hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: %s", state_path, strerror(errno));
        goto done;
    }
    text = calloc(1, 4096);
    size_t len = text ? fread(text, 1, 4095, f) : 0;
    if (!text || ferror(f) || len == 4095) {
        st = hogmf__fail(err, text ? HOGMF_ERR_FORMAT : HOGMF_ERR_NOMEM, 0,
                         "%s: not a checkpoint state file", state_path);
        goto done;
    }
    if ((st = state_parse(text, state_path, s, err)) != HOGMF_OK)
        goto done;
    const ckpt_state me = state_of(t);
    if (s->ranks != me.ranks) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "%s: written by %u ranks, this run has %u; resume with mpirun -np %u",
                         state_path, s->ranks, me.ranks, s->ranks);
        goto done;
    }
    if (s->m != me.m || s->n != me.n || s->nnz != me.nnz || s->fingerprint != me.fingerprint ||
        s->h >= me.ranks || s->best_h >= me.ranks) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "%s: the checkpoint is of other training or validation data (%u "
                         "users, %u items, %llu ratings; this run has %u, %u, %llu)",
                         state_path, s->m, s->n, (unsigned long long)s->nnz, me.m, me.n,
                         (unsigned long long)me.nnz);
        goto done;
    }
    if (s->k != me.k || s->seed != me.seed) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "%s: the checkpoint has k=%u seed=%llu; this run has k=%u seed=%llu",
                         state_path, s->k, (unsigned long long)s->seed, me.k,
                         (unsigned long long)me.seed);
        goto done;
    }
    /* The model, the best epoch's when kept, and with AdaGrad its accumulators. */
    const char *files[4] = {path, s->have_best ? best_path : NULL, t->gp ? acc_path[0] : NULL,
                            t->gp ? acc_path[1] : NULL};
    hogmf_model **dest[4] = {cur, best, &acc[0], &acc[1]};
    for (int j = 0; j < 4; j++) {
        const char *p = files[j];
        if (!p)
            continue;
        if (!acc_path[0] || !acc_path[1]) {
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "resume: out of memory");
            goto done;
        }
        hogmf_model **mp = dest[j];
        if ((st = hogmf_model_load(p, mp, err)) != HOGMF_OK)
            goto done;
        const hogmf_model *md = *mp;
        uint32_t want = j == 1 ? s->best_epoch : s->epoch;
        if (md->m != t->m || md->n != t->n || md->k != (j >= 2 ? 1 : t->k) ||
            memcmp(md->user_ids, t->user_ids, (size_t)t->m * sizeof(uint32_t)) ||
            memcmp(md->item_ids, t->item_ids, (size_t)t->n * sizeof(uint32_t))) {
            st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                             "%s: the model's sizes or ids differ from the training data", p);
            goto done;
        }
        const hogmf_params *a = &md->params, *b = &t->params;
        if (a->lr != b->lr || a->lr_decay != b->lr_decay || a->lambda_b != b->lambda_b ||
            a->lambda_p != b->lambda_p || a->lambda_q != b->lambda_q ||
            a->init_sd != b->init_sd || a->schedule_lr != b->schedule_lr) {
            st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                             "%s: trained with --lr %g --lr-decay %g --reg-bias %g --reg-p %g "
                             "--reg-q %g --init-sd %g and learning-rate schedule %d; resume "
                             "with the same options",
                             p, (double)a->lr, (double)a->lr_decay, (double)a->lambda_b,
                             (double)a->lambda_p, (double)a->lambda_q, (double)a->init_sd,
                             (int)a->schedule_lr);
            goto done;
        }
        if (md->best_epoch != want) {
            st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                             "%s: holds epoch %u but %s names epoch %u (an interrupted "
                             "checkpoint?)",
                             p, md->best_epoch, state_path, want);
            goto done;
        }
    }
done:
    if (f)
        fclose(f);
    free(text);
    free(state_path);
    free(best_path);
    free(acc_path[0]);
    free(acc_path[1]);
    return st;
}

hogmf_status hogmf_mpi_trainer_resume(hogmf_mpi_trainer *t, const char *path,
                                      hogmf_error *err)
{
    hogmf_error e = {0};
    ckpt_state s;
    memset(&s, 0, sizeof s);
    hogmf_model *cur = NULL, *best = NULL, *acc[2] = {NULL, NULL};
    hogmf_status st = HOGMF_OK;
    if (t->epoch != 0)
        st = hogmf__fail(&e, HOGMF_ERR_INVALID, 0, "resume: training has already started");
    else if (t->rank == 0)
        st = resume_read(t, path, &s, &cur, &best, acc, &e);
    st = agree(t->comm, t->rank, st, &e);
    if (st != HOGMF_OK)
        goto done;
    MPI_Bcast(&s, (int)sizeof s, MPI_BYTE, 0, t->comm);
    if (s.have_best && !t->keep_best) {
        /* Checkpointed with early stopping, resumed without: the best copy is not needed. */
        s.have_best = 0;
    }
    t->h = s.h;
    if ((st = exchange(t, cur, ROWS_CURRENT, 0, &e)) != HOGMF_OK)
        goto done;
    for (int j = 0; j < 2 && t->gp; j++)
        if ((st = exchange(t, acc[j], ROWS_ACC_FACTORS + j, 0, &e)) != HOGMF_OK)
            goto done;
    if (s.have_best) {
        t->best_h = s.best_h;
        if ((st = exchange(t, best, ROWS_BEST, 0, &e)) != HOGMF_OK)
            goto done;
    }
    t->epoch = s.epoch;
    t->lr = (float)s.lr;
    t->best_valid = s.best_valid;
    t->best_valid_train = s.best_valid_train;
    t->ref_valid = s.ref_valid;
    t->best_train = s.best_train;
    t->last_monitor = s.last_monitor;
    t->last_train = s.last_train;
    t->last_valid = s.last_valid;
    t->since = s.since;
    t->best_epoch = s.best_epoch;
    t->stop = (int)s.stop;
done:
    hogmf_model_free(&cur);
    hogmf_model_free(&best);
    hogmf_model_free(&acc[0]);
    hogmf_model_free(&acc[1]);
    if (st != HOGMF_OK && err)
        *err = e;
    return st;
}
