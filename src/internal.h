/*
 * internal.h - private declarations shared by the library's stages: error helpers, the
 * seeded RNG, the id hash map, aligned allocation and the atomic output file.
 * Nothing here is part of the public API; the CLI uses it only through hogmf.h.
 */
#ifndef HOGMF_INTERNAL_H
#define HOGMF_INTERNAL_H

#include "hogmf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* ---------------------------------------------------------------- errors (error.c) */

/* Fills err (may be NULL) with status, line and a printf-style message; returns status. */
hogmf_status hogmf__fail(hogmf_error *err, hogmf_status status, uint64_t line, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
/* Sends a printf-style message to params->log when set. */
void hogmf__log(const hogmf_params *params, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- RNG (splitmix64, xoshiro) */

typedef struct hogmf_rng {
    uint64_t s[4];
} hogmf_rng;

static inline uint64_t hogmf__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Seeds a xoshiro256** stream from a seed and a stream number (thread, epoch, user...). */
static inline void hogmf__rng_seed(hogmf_rng *g, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int j = 0; j < 4; j++)
        g->s[j] = hogmf__splitmix64(&x);
}

static inline uint64_t hogmf__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t hogmf__rng_next(hogmf_rng *g)
{
    uint64_t *s = g->s;
    uint64_t result = hogmf__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = hogmf__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, bound) without modulo bias worth noticing (Lemire's multiply-shift). */
static inline uint64_t hogmf__rng_below(hogmf_rng *g, uint64_t bound)
{
    return (uint64_t)(((unsigned __int128)hogmf__rng_next(g) * bound) >> 64);
}

/* Uniform double in [0, 1). */
static inline double hogmf__rng_uniform(hogmf_rng *g)
{
    return (double)(hogmf__rng_next(g) >> 11) * 0x1.0p-53;
}

/* Standard normal (Box-Muller; the second value is thrown away for simplicity). */
static inline double hogmf__rng_normal(hogmf_rng *g)
{
    double u1 = hogmf__rng_uniform(g), u2 = hogmf__rng_uniform(g);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---------------------------------------------------------------- id map (idmap.c) */

/* Map from original 32-bit id to dense index: a direct table for ids below
 * HOGMF_IDMAP_DIRECT (real data sets mostly number from 1), an open-addressing hash for
 * the rest. */
#define HOGMF_IDMAP_DIRECT (1u << 22)
typedef struct hogmf_idmap {
    uint32_t *keys; /* cap slots; a slot is empty when vals[slot] == HOGMF_UNKNOWN */
    uint32_t *vals;
    size_t cap;     /* a power of two */
    size_t count;   /* ids in the hashed part */
    uint32_t *direct; /* dcap entries, HOGMF_UNKNOWN when absent */
    size_t dcap;
} hogmf_idmap;

hogmf_idmap *hogmf__idmap_new(size_t expected);
void hogmf__idmap_free(hogmf_idmap *map);
/* Index of id, or HOGMF_UNKNOWN. */
uint32_t hogmf__idmap_get_hashed(const hogmf_idmap *map, uint32_t id);
static inline uint32_t hogmf__idmap_get(const hogmf_idmap *map, uint32_t id)
{
    if (id < map->dcap)
        return map->direct[id];
    return id < HOGMF_IDMAP_DIRECT ? HOGMF_UNKNOWN : hogmf__idmap_get_hashed(map, id);
}
/* Index of id, inserting it as `next` when absent (*inserted set). -1 when out of memory. */
int hogmf__idmap_put_slow(hogmf_idmap *map, uint32_t id, uint32_t next, uint32_t *index,
                          int *inserted);
static inline int hogmf__idmap_put(hogmf_idmap *map, uint32_t id, uint32_t next,
                                   uint32_t *index, int *inserted)
{
    if (id < map->dcap && map->direct[id] != HOGMF_UNKNOWN) {
        *index = map->direct[id];
        *inserted = 0;
        return 0;
    }
    return hogmf__idmap_put_slow(map, id, next, index, inserted);
}
/* Builds a map from dense index -> id arrays (ids must be distinct). NULL on failure. */
hogmf_idmap *hogmf__idmap_from_ids(const uint32_t *ids, uint32_t count);

/* ---------------------------------------------------------------- memory */

/* 64-byte aligned, zeroed allocation of count*size bytes, overflow-checked; free with free(). */
void *hogmf__aligned_calloc(size_t count, size_t size);
/* The same, not written: the caller writes every byte, so that a large block's pages are
 * first touched (and placed, on NUMA machines) by the threads that write them. */
void *hogmf__aligned_alloc(size_t count, size_t size);
/* hogmf_model_new with P and Q not written (zero_factors = 0; the caller writes every float,
 * padding included) or zeroed (1). */
hogmf_model *hogmf__model_alloc(uint32_t m, uint32_t n, uint32_t k, int zero_factors);
/* Row stride in floats for k factors: k rounded up to a multiple of 16. */
static inline uint32_t hogmf__stride(uint32_t k) { return (k + 15u) & ~15u; }

/* ---------------------------------------------------------------- atomic output (fileio.c) */

/* A buffered output file written to a temporary name and renamed into place on commit. */
typedef struct hogmf_outfile {
    char *path;    /* final name */
    char *tmp;     /* temporary name in the same folder */
    int fd;
    int anon;      /* fd is an unnamed O_TMPFILE in the folder, linked as tmp at commit, so a
                    * process killed while writing leaves nothing behind */
    int linked;    /* tmp exists on disk */
    char *buf;
    size_t len, cap;
    int failed;    /* errno of the first failed write, 0 if none */
} hogmf_outfile;

hogmf_status hogmf__out_open(hogmf_outfile *f, const char *path, hogmf_error *err);
/* Opens path for reading when it is a regular file (a FIFO is refused without waiting for a
 * writer); *size is its size. HOGMF_ERR_IO with a message otherwise. */
hogmf_status hogmf__open_regular(const char *path, int *fd, uint64_t *size, hogmf_error *err);
/* Appends bytes (buffered). Errors are remembered and reported by commit. */
void hogmf__out_write(hogmf_outfile *f, const void *data, size_t len);
/* Ensures `need` free bytes in the buffer and returns a pointer to them; advance with
 * hogmf__out_advance after writing. */
char *hogmf__out_reserve(hogmf_outfile *f, size_t need);
static inline void hogmf__out_advance(hogmf_outfile *f, size_t n) { f->len += n; }
/* Flushes, fsyncs, renames into place and fsyncs the folder. On any failure removes the
 * temporary file, leaves an existing file at path untouched and returns HOGMF_ERR_IO. */
hogmf_status hogmf__out_commit(hogmf_outfile *f, hogmf_error *err);
/* Discards a file that will not be committed. */
void hogmf__out_abort(hogmf_outfile *f);

/* Writes the decimal form of v into p; returns the number of characters. */
size_t hogmf__fmt_u32(char *p, uint32_t v);
/* Shortest decimal form of a float that reads back to the same float (at most 16 chars). */
size_t hogmf__fmt_float(char *p, float v);

/* ---------------------------------------------------------------- the SGD kernel (sgd.c) */

/* One SGD step on rating r for user row p (bias *bu) and item row q (bias *bi), k factors.
 * Both rows are updated from their old values. Returns the error e = r - r_hat (unclipped). */
float hogmf__sgd_update(float *restrict p, float *restrict q, float *restrict bu,
                        float *restrict bi, float mu, float r, uint32_t k, float lr,
                        float lambda_b, float lambda_p, float lambda_q);

/* Unclipped prediction mu + bu + bi + p.q for k factors. */
float hogmf__dot(const float *restrict p, const float *restrict q, uint32_t k);

/* What a pass of SGD steps needs besides the ratings. */
typedef struct hogmf_sgd_ctx {
    float *P, *Q, *bu, *bi;  /* the model's arrays */
    uint32_t stride, k;      /* padded row length and factors */
    float mu, lr;            /* global mean, learning rate of this epoch */
    float lambda_b, lambda_p, lambda_q; /* L2 */
    float l1_p, l1_q;        /* L1 (soft threshold); 0 for none */
    int nonneg;              /* project factors onto >= 0 */
    float *gp, *gq, *gbu, *gbi; /* AdaGrad accumulators per row; NULL for a plain rate */
} hogmf_sgd_ctx;

typedef enum hogmf_isa { HOGMF_ISA_PORTABLE = 0, HOGMF_ISA_AVX2 = 1, HOGMF_ISA_AVX512 = 2 } hogmf_isa;

/* Applies the step to x[start..hi) then x[lo..start) (lo <= start < hi, or lo == hi). */
typedef void (*hogmf_sgd_range_fn)(const hogmf_sgd_ctx *c, const hogmf_rating *x, size_t lo,
                                   size_t hi, size_t start);

/* The fastest loop for c on this machine (the general loop when L1 or nonneg is on, or for
 * AdaGrad without AVX2); *isa (may be NULL) tells which. */
hogmf_sgd_range_fn hogmf__sgd_select(const hogmf_sgd_ctx *c, hogmf_isa *isa);
const char *hogmf__isa_name(hogmf_isa isa);
/* The instruction set the plain step uses on this machine (cpuid, once); HOGMF_ISA=portable
 * or avx2 in the environment lowers it (for benchmarks and tests). */
hogmf_isa hogmf__isa(void);
/* Sets flush-to-zero and denormals-are-zero in each of `threads` OpenMP threads. */
void hogmf__flush_denormals(int threads);

/* ---------------------------------------------------------------- schedules (schedule.c) */

/* The ratings cut into a G x G grid of tiles by user block and item block, after a random
 * permutation of users and items; blocks are balanced by rating count. The ratings array is
 * reordered once so that each tile is contiguous. */
typedef struct hogmf_grid {
    uint32_t G;       /* tiles per side */
    size_t *start;    /* G*G + 1 offsets into the ratings, tile t = ub * G + ib */
    uint32_t *ublock; /* m: block of each user */
    uint32_t *iblock; /* n: block of each item */
    uint32_t *rounds; /* 6G: scratch of the deterministic schedule's epoch */
} hogmf_grid;

/* With params.deterministic the grid side does not depend on the thread count, so that the
 * tiles, and with them the model, do not either: the cache budget's side (as for one thread),
 * but at least this, so that up to 16 threads find ready tiles in the rounds. */
#define HOGMF_DETERMINISTIC_MIN_SIDE 33u

/* Tiles per side of the grid for m users and n items (rows of `stride` floats), nnz ratings
 * and `threads` threads: cache budget, load balance, at least 2T+1, at most max_side. */
uint32_t hogmf__grid_side(uint32_t m, uint32_t n, uint32_t stride, size_t nnz, int threads,
                          uint32_t max_side);
/* Builds the grid (reorders x in place, O(nnz)). NULL when out of memory. */
hogmf_grid *hogmf__grid_build(hogmf_rating *x, size_t nnz, uint32_t m, uint32_t n, uint32_t G,
                              uint64_t seed);
void hogmf__grid_free(hogmf_grid *g);

/* The order of an epoch of the hogwild schedule (malloc'd, a permutation of 0..G*G-1; NULL
 * when out of memory): G runs of G tiles, run r all of one user block (the blocks in a random
 * order), each run's item blocks in a random order. A thread takes a whole run. */
uint32_t *hogmf__tile_order(uint32_t G, uint64_t seed, uint32_t epoch);

/* The deterministic schedule's epoch as G rounds of G tiles, a Latin square: fills perm[0..3G)
 * from seed and epoch; hogmf__round_tile(perm, G, r, b) is then round r's tile of user block
 * b. The tiles of a round share no user or item block; the rounds hold every tile once. */
void hogmf__round_perms(uint32_t G, uint64_t seed, uint32_t epoch, uint32_t *perm);
static inline size_t hogmf__round_tile(const uint32_t *perm, uint32_t G, uint32_t r, uint32_t b)
{
    /* item block: a seeded relabelling of (shift of b + shift of r) mod G */
    return (size_t)b * G + perm[2 * (size_t)G + (perm[b] + perm[G + r]) % G];
}
/* One epoch of the deterministic schedule with the step fn: the threads run the tiles in any
 * distribution, each from its seeded offset, a tile of round r only after the tiles of round
 * r - 1 of its user block and of its item block have ended, so that every row is updated in
 * round order and the result does not depend on the thread count or on timing. */
void hogmf__epoch_rounds(const hogmf_sgd_ctx *c, hogmf_sgd_range_fn fn, hogmf_rating *x,
                         const hogmf_grid *grid, int threads, uint64_t seed, uint32_t epoch);

/* One epoch over x[0..nnz) with the given order and schedule, or deterministic rounds when
 * deterministic is set (grid needed for the order HOGMF_ORDER_BLOCKS, the schedule
 * HOGMF_SCHEDULE_BLOCKS and deterministic). Threads from `threads`. */
void hogmf__run_epoch(const hogmf_sgd_ctx *c, hogmf_rating *x, size_t nnz,
                      const hogmf_grid *grid, hogmf_order order, hogmf_schedule schedule,
                      int deterministic, int threads, uint64_t seed, uint32_t epoch);

/* ---------------------------------------------------------------- evaluation (eval.c) */

/* Sum of squared and absolute errors of clipped predictions over samples whose u and i are
 * model indices (either may be HOGMF_UNKNOWN), the same bit for bit for every thread count
 * (fixed chunks added in order). *nonfinite counts non-finite or runaway unclipped
 * predictions. Reads the samples in the order given: tile order keeps the rows in cache. */
void hogmf__eval_sums(const hogmf_model *model, const hogmf_rating *samples, size_t nnz,
                      int threads, double *sse, double *sae, size_t *nonfinite);

/* Copy of a set's ratings with u and i translated into the model's dense indices
 * (HOGMF_UNKNOWN where absent). Returns NULL when out of memory. *unknown counts them. */
hogmf_rating *hogmf__remap(const hogmf_model *model, const hogmf_ratings *set, size_t *unknown);

/* Binds the `threads` OpenMP threads one per usable core (topo.c). Returns 0, or -1 after
 * reporting through params->log when some could not be bound (they stay unbound). */
int hogmf__pin_threads(hogmf_pin pin, int threads, const hogmf_params *params);

/* Seed salts of the initial factor rows, shared by train.c and the MPI trainer so that a row
 * starts from the same numbers in both modes. */
#define HOGMF_SALT_USERS 0x5573657273ull /* "Users" */
#define HOGMF_SALT_ITEMS 0x4974656D73ull /* "Items" */
/* Writes rows x stride floats of X: k factors uniform with standard deviation sd from the
 * stream of row r (global[r] when global is given) and zero padding (train.c). */
void hogmf__init_rows(float *X, const uint32_t *global, uint32_t rows, uint32_t k,
                      uint32_t stride, float sd, uint64_t seed, uint64_t salt, int threads);

/* The baseline estimates the biases start from (train.c init_biases): alternating sweeps
 * and the shrinkage, in ratings, towards zero. */
#define HOGMF_BIAS_SWEEPS 2
#define HOGMF_BIAS_SHRINK 5.0
/* Writes the baseline estimates of bu[0..m) and bi[0..n) for the ratings x[0..nnz) (model
 * indices) with mean mu. With a grid (x in its tile order) the sweeps run on `threads`
 * threads; without one (NULL) on one. The sums are in double and in an order that does not
 * depend on the thread count. Returns 0, or -1 when out of memory (bu and bi untouched). */
int hogmf__bias_baseline(const hogmf_rating *x, size_t nnz, uint32_t m, uint32_t n, float mu,
                         const hogmf_grid *g, int threads, float *bu, float *bi);

/* Checks every training parameter against its documented range (train.c); the MPI driver
 * uses the same checks. */
hogmf_status hogmf__check_params(const hogmf_params *p, hogmf_error *err);

/* The decisions after an epoch, shared by the single-process and the MPI trainers (train.c).
 * hogmf__check_divergence returns HOGMF_ERR_DIVERGED with a message naming the learning rate
 * when predictions went non-finite (nonfinite > 0) or an RMSE grew past diverge_factor times
 * its best so far (valid_rmse is ignored without validation), else HOGMF_OK. */
hogmf_status hogmf__check_divergence(const hogmf_params *p, uint32_t epoch, size_t nonfinite,
                                     double train_rmse, double best_train, int has_valid,
                                     double valid_rmse, double best_valid, hogmf_error *err);
/* The best training RMSE as the divergence guard compares with it: never below 1% of the
 * ratings' range, so that a model that fits its ratings almost exactly (RMSE 1e-7 growing to
 * 3e-7 on a tiny matrix with --reg 0) is not taken for one that diverged. */
static inline double hogmf__divergence_floor(float rmin, float rmax, double best_train)
{
    const double range = (double)rmax - (double)rmin, floor = 0.01 * (range > 1.0 ? range : 1.0);
    return best_train > floor ? best_train : floor;
}
/* Bold driver: the next learning rate (x1.05 after an improvement of the monitored RMSE,
 * x0.5 otherwise); updates *last_monitor. */
float hogmf__bold_driver(float lr, double monitor, double *last_monitor);
/* Patience bookkeeping: resets *since when valid_rmse improves on *ref_valid by a relative
 * tol. Returns 1 (stop) when patience epochs have passed without such an improvement and
 * valid_rmse is above *ref_valid by a relative tol (the curve turned upwards), or when twice
 * patience epochs have passed (a flat curve); 0 with patience 0. */
int hogmf__patience_spent(const hogmf_params *p, double valid_rmse, double *ref_valid,
                          uint32_t *since);

/* Threads to use for a parameter value (0 = all available). */
int hogmf__threads(int requested);

/* ---------------------------------------------------------------- small text files (dense.c) */

/* Reads a whole file ("-": standard input) into *buf, NUL-terminated, length in *len (free
 * with free()). HOGMF_ERR_IO with "PATH: ..." or HOGMF_ERR_NOMEM. For the dense matrix and
 * fold-in readers; ratings files have their own streaming reader. */
hogmf_status hogmf__read_text(const char *path, char **buf, size_t *len, hogmf_error *err);

/* ---------------------------------------------------------------- string ids (names.c) */

/* The model file's optional name section (format version 3): its size for a model with
 * string ids, writing it into p (that many bytes), and reading p[0..len) into the model's
 * tables (HOGMF_ERR_FORMAT "PATH: not a valid hogmf model: ..." when malformed). */
size_t hogmf__names_section_bytes(const hogmf_model *model);
void hogmf__names_section_write(const hogmf_model *model, unsigned char *p);
hogmf_status hogmf__names_section_read(hogmf_model *model, const unsigned char *p, size_t len,
                                       const char *path, hogmf_error *err);

/* Removes all but the last occurrence of each (u, i) pair, keeping the order (ratings.c);
 * the reader and hogmf_builder_finish share it. */
hogmf_status hogmf__remove_duplicates(hogmf_ratings *r, hogmf_error *err, const char *name);

/* ---------------------------------------------------------------- test seams (ratings.c) */

/* When set (tests only), hogmf_ratings_read calls it after every read() of the file with
 * the bytes read so far, so a test can change the file at a chosen moment. */
extern void (*hogmf__test_after_read)(int fd, uint64_t raw_bytes);

/* When set (tests only), hogmf__run_epoch (schedule.c) applies the ratings through it instead
 * of the loop hogmf__sgd_select picks, so a test sees which thread of which team applies
 * which ratings (it may call the real loop itself). */
extern hogmf_sgd_range_fn hogmf__test_range;

#endif /* HOGMF_INTERNAL_H */
