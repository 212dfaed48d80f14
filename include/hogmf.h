/*
 * hogmf.h - the only public header of hogmf: biased matrix factorization trained with
 * Hogwild-style lock-free parallel SGD on explicit ratings.
 *
 *   r_hat(u, i) = mu + bu[u] + bi[i] + P[u] . Q[i]      (clipped to the training range)
 *
 * The library never prints and never exits: every fallible call returns a hogmf_status and
 * fills a hogmf_error owned by the caller; progress goes through optional callbacks.
 */
#ifndef HOGMF_H
#define HOGMF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HOGMF_VERSION_MAJOR 0
#define HOGMF_VERSION_MINOR 1
#define HOGMF_VERSION_PATCH 0
#define HOGMF_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- status and errors */

/* Status codes. Values are append-only; they never change meaning. */
typedef enum hogmf_status {
    HOGMF_OK = 0,
    HOGMF_ERR_IO = 1,       /* a file could not be opened, read, written or renamed */
    HOGMF_ERR_PARSE = 2,    /* a ratings file has a malformed line (see hogmf_error.line) */
    HOGMF_ERR_NOMEM = 3,    /* an allocation failed */
    HOGMF_ERR_INVALID = 4,  /* an argument or parameter is out of its documented range */
    HOGMF_ERR_FORMAT = 5,   /* a model file is corrupt, truncated or of another version */
    HOGMF_ERR_DIVERGED = 6, /* training produced NaN/Inf or an exploding validation error */
    HOGMF_ERR_EMPTY = 7,    /* a ratings file holds no ratings */
    HOGMF_ERR_STOPPED = 8   /* the epoch callback asked training to stop */
} hogmf_status;

/* What went wrong, in compiler style: "ratings.csv:1041: item id: expected ...". */
typedef struct hogmf_error {
    hogmf_status status; /* the status that was returned */
    uint64_t line;       /* 1-based line of a parse error; 0 when not about a line */
    char msg[512];       /* complete human-readable message, NUL-terminated */
} hogmf_error;

/* Returns a static English description of a status code (never NULL). */
const char *hogmf_strerror(hogmf_status status);

/* ---------------------------------------------------------------- string ids (names.c) */

/* A table of string ids (Amazon ASINs, ISBNs, Yelp ids): code -> string and string ->
 * code, codes 0, 1, 2, ... in order of insertion. With string ids, a ratings set's and a
 * model's numeric ids (user_ids, item_ids) are codes into their table, so every other
 * function works on numbers unchanged; only reading, printing and saving look at strings.
 * Tables are reference-counted: sets split from a set, and models trained on it, share it.
 * A name is 1..1024 bytes without control bytes (below 32, or 127). */
typedef struct hogmf_names hogmf_names;

/* A new empty table with one reference, or NULL when out of memory. */
hogmf_names *hogmf_names_new(void);
/* Adds a reference to t (may be NULL) and returns t. */
hogmf_names *hogmf_names_ref(hogmf_names *t);
/* Drops a reference and sets *t to NULL; the table is freed with its last reference. NULL or
 * *NULL is a no-op. */
void hogmf_names_free(hogmf_names **t);
/* Number of names (the next code); 0 for NULL. */
uint32_t hogmf_names_count(const hogmf_names *t);
/* Code of the len bytes at s, adding them as a new code when absent. Returns HOGMF_OK;
 * HOGMF_ERR_INVALID for an empty, too long or control-byte name or a full table (2^32 - 2
 * names); HOGMF_ERR_NOMEM. Messages start "id 'NAME': ". */
hogmf_status hogmf_names_add(hogmf_names *t, const char *s, size_t len, uint32_t *code,
                             hogmf_error *err);
/* Code of the len bytes at s, or HOGMF_UNKNOWN (also for a NULL table). */
uint32_t hogmf_names_find(const hogmf_names *t, const char *s, size_t len);
/* The name of a code, NUL-terminated, its length in *len (may be NULL); NULL when the code is
 * out of range. Valid until the next hogmf_names_add on the table. */
const char *hogmf_names_get(const hogmf_names *t, uint32_t code, size_t *len);

/* ---------------------------------------------------------------- ratings */

/* One observed rating. u and i are dense indices into the owning set's id arrays. */
typedef struct hogmf_rating {
    uint32_t u; /* dense user index, 0..m-1 */
    uint32_t i; /* dense item index, 0..n-1 */
    float r;    /* the rating */
} hogmf_rating;

/* Input formats; HOGMF_FORMAT_AUTO detects one from the first data line. */
typedef enum hogmf_format {
    HOGMF_FORMAT_AUTO = 0,
    HOGMF_FORMAT_TSV = 1,   /* MovieLens u.data: user TAB item TAB rating [TAB timestamp] */
    HOGMF_FORMAT_DAT = 2,   /* MovieLens ratings.dat: user::item::rating[::timestamp] */
    HOGMF_FORMAT_CSV = 3,   /* user,item,rating[,timestamp], optional header line */
    HOGMF_FORMAT_LIBMF = 4  /* LIBMF text: user item rating, any blanks between */
} hogmf_format;

/* Parses "auto", "tsv", "dat", "csv" or "libmf". Returns 0 and sets *out, or -1. */
int hogmf_format_parse(const char *name, hogmf_format *out);
/* Returns the name of a format ("tsv", ...). */
const char *hogmf_format_name(hogmf_format format);

/* A set of ratings with its own id maps: user u of the set has the original id
 * user_ids[u]. Ids are numbered densely in order of first appearance in the file. */
typedef struct hogmf_ratings {
    hogmf_rating *data;  /* nnz ratings; order: file order, duplicates removed */
    size_t nnz;          /* number of ratings */
    uint32_t m;          /* number of distinct users */
    uint32_t n;          /* number of distinct items */
    uint32_t *user_ids;  /* m original user ids */
    uint32_t *item_ids;  /* n original item ids */
    float rmin, rmax;    /* smallest and largest rating (0 and 0 when empty) */
    size_t duplicates;   /* (user, item) pairs seen again; the last one was kept */
    hogmf_format format; /* the format that was read */
    uint64_t bytes;      /* size of the input in bytes */
    /* String ids (NULL for numeric ones): user_ids[u] is then the code of user u's name in
     * user_names (hogmf_names_get); a reference owned by the set. */
    hogmf_names *user_names, *item_names;
} hogmf_ratings;

/* How ids are read. */
typedef enum hogmf_ids {
    HOGMF_IDS_AUTO = 0,    /* strings when the first data line's ids are not numbers */
    HOGMF_IDS_NUMERIC = 1, /* non-negative integers up to 2^32 - 1 */
    HOGMF_IDS_STRING = 2   /* any name (see hogmf_names), numbers included, as text */
} hogmf_ids;

/* Options for reading a ratings file. */
typedef struct hogmf_read_options {
    hogmf_format format;   /* HOGMF_FORMAT_AUTO to detect */
    int allow_no_rating;   /* 1: lines of "user item" are accepted with r = NAN (predict) */
    int keep_duplicates;   /* 1: keep every line in file order (predict); 0: last one wins */
    /* Optional progress callback, called after each chunk read (a few MB) with the bytes of
     * the file consumed so far and its size in bytes (0 when unknown: standard input, a
     * pipe). Only hogmf_ratings_read calls it; NULL (the default) for none. */
    void (*progress)(void *ctx, uint64_t bytes_done, uint64_t bytes_total);
    void *progress_ctx;    /* passed to progress */
    uint64_t max_memory;   /* bytes the reader may hold (hogmf_estimate_read_memory of the
                            * ratings so far, checked as it grows): above it, stop with
                            * HOGMF_ERR_INVALID; 0 (the default) for no limit */
    /* Ids: HOGMF_IDS_AUTO takes strings when the first data line's user or item id is not a
     * non-negative integer (a later non-numeric id is then an error that names --ids). */
    hogmf_ids ids;
    /* String ids are coded in these tables when set (a model's, so that a second file gets
     * the codes the model was trained with; new names are added), else in new ones. The set
     * takes a reference. Ignored for numeric ids. */
    hogmf_names *user_names, *item_names;
    /* 1-based columns of the user, item, rating and timestamp fields (0: none; no rating
     * only with allow_no_rating); other columns are skipped. All 0 (the default, and a
     * zeroed struct): user, item, rating[, timestamp] and nothing more. Columns named in a
     * header line are set by hogmf_read_options_columns. */
    int columns[4];
    const char *column_names[4]; /* header names to find in the first line, or NULL (owned by
                                  * the caller); a name overrides the column of its slot */
} hogmf_read_options;

/* Returns the default read options: automatic format, ratings required, last one wins,
 * automatic ids, the first three (or four) columns. */
hogmf_read_options hogmf_read_options_default(void);

/* Parses a --columns value into opts: "USER,ITEM,RATING[,TIMESTAMP]", each a 1-based column
 * number or a header name (the file's first line must then be a header), "-" for no rating
 * or timestamp. Returns 0, or -1 with a message in err. Names point into spec. */
int hogmf_read_options_columns(hogmf_read_options *opts, char *spec, hogmf_error *err);

/* Parses "auto", "numeric" or "string". Returns 0 and sets *out, or -1. */
int hogmf_ids_parse(const char *name, hogmf_ids *out);

/* Reads a ratings file. path "-" reads standard input. On success returns HOGMF_OK and fills
 * *out (free with hogmf_ratings_free). A malformed line gives HOGMF_ERR_PARSE with err->line
 * and a message "PATH:LINE: FIELD: expected ..., found '...'"; a file with no ratings gives
 * HOGMF_ERR_EMPTY; I/O failure HOGMF_ERR_IO. *out is left empty on failure. gzip input
 * (recognised by its magic bytes, whatever the name) is decompressed on the fly; corrupt or
 * truncated gzip data, a read error and a regular file that shrinks while it is read give
 * HOGMF_ERR_IO, a line with control bytes (binary data) HOGMF_ERR_PARSE. */
hogmf_status hogmf_ratings_read(const char *path, const hogmf_read_options *opts,
                                hogmf_ratings *out, hogmf_error *err);

/* What reading a ratings file will take, estimated from its size and its first MiB. */
typedef struct hogmf_read_estimate {
    uint64_t file_bytes; /* size on disk; 0 when unknown (standard input, a pipe) */
    uint64_t text_bytes; /* estimated decompressed size (file_bytes unless gzip) */
    uint64_t nnz;        /* estimated ratings (lines); 0 when unknown */
    uint64_t memory;     /* estimated peak bytes of hogmf_ratings_read; 0 when unknown */
    int compressed;      /* 1: gzip */
} hogmf_read_estimate;

/* Fills *out for path without reading more than its first MiB; everything is 0 ("unknown")
 * for "-" and for files that are not regular. Returns HOGMF_OK, or HOGMF_ERR_IO when the file
 * cannot be opened or read (the same message hogmf_ratings_read would give). */
hogmf_status hogmf_ratings_estimate(const char *path, hogmf_read_estimate *out,
                                    hogmf_error *err);
/* Estimated peak bytes to read nnz ratings with hogmf_ratings_read. */
uint64_t hogmf_estimate_read_memory(uint64_t nnz);

/* The same on a memory buffer; name is used in messages. */
hogmf_status hogmf_ratings_parse(const char *buf, size_t len, const char *name,
                                 const hogmf_read_options *opts, hogmf_ratings *out,
                                 hogmf_error *err);

/* Builds a ratings set from a dense m x n row-major matrix: cell (u, i) is observed when
 * mask is NULL and x is not NaN, or when mask[u*n+i] is non-zero. Ids are 0..m-1 and 0..n-1
 * (users and items with no observed cell are kept). Returns HOGMF_OK, HOGMF_ERR_NOMEM,
 * HOGMF_ERR_EMPTY (no observed cell) or HOGMF_ERR_INVALID (non-finite observed value). */
hogmf_status hogmf_ratings_from_dense(const float *x, const unsigned char *mask, uint32_t m,
                                      uint32_t n, hogmf_ratings *out, hogmf_error *err);

/* Builds a ratings set from arrays, as hogmf_ratings_read builds one from a file with the
 * same lines in the same order: users[j], items[j] are original numeric ids, numbered densely in order of first appearance; a repeated (user, item) pair
 * keeps its last rating (counted in duplicates); timestamps (may be NULL) are checked for
 * being finite and not stored, as the reader does. format is HOGMF_FORMAT_AUTO, bytes 0.
 * With user_names (item_names) not NULL the ids are codes into that table (string ids);
 * the set takes a reference. Returns HOGMF_OK; HOGMF_ERR_EMPTY (nnz == 0);
 * HOGMF_ERR_INVALID with "ratings[J]: ..." for a non-finite rating or timestamp or (string
 * ids) a code not in the table; HOGMF_ERR_NOMEM. */
hogmf_status hogmf_ratings_from_arrays(const uint32_t *users, const uint32_t *items,
                                       const float *ratings, const double *timestamps,
                                       size_t nnz, hogmf_names *user_names,
                                       hogmf_names *item_names, hogmf_ratings *out,
                                       hogmf_error *err);

/* The same one rating at a time, for bindings that convert their arrays' types on the fly
 * (no copy of the input): hogmf_builder_new reserves nnz_hint ratings (the exact count
 * allocates once), hogmf_builder_add appends one (the checks of from_arrays, with J the
 * index of the call), hogmf_builder_finish hands over the set (duplicates removed) and frees
 * the builder, hogmf_builder_free frees an unfinished one (NULL-safe, clears *b). */
typedef struct hogmf_builder hogmf_builder;
hogmf_status hogmf_builder_new(size_t nnz_hint, hogmf_names *user_names,
                               hogmf_names *item_names, hogmf_builder **out, hogmf_error *err);
hogmf_status hogmf_builder_add(hogmf_builder *b, uint32_t user, uint32_t item, float r,
                               hogmf_error *err);
hogmf_status hogmf_builder_finish(hogmf_builder **b, hogmf_ratings *out, hogmf_error *err);
void hogmf_builder_free(hogmf_builder **b);

/* Splits src into two new sets: exactly round(test_fraction * nnz) ratings chosen uniformly
 * at random (seeded) go to *test, the rest to *train; both keep src's order and are
 * renumbered to the ids they hold. test_fraction in [0, 1). */
hogmf_status hogmf_ratings_split(const hogmf_ratings *src, double test_fraction, uint64_t seed,
                                 hogmf_ratings *train, hogmf_ratings *test, hogmf_error *err);

/* Writes a ratings set as text in the given format (AUTO means the set's own format), with
 * original ids (string ids as their names, except in the LIBMF format, whose ids are numbers:
 * their codes); atomically (temporary file, fsync, rename). */
hogmf_status hogmf_ratings_write(const hogmf_ratings *r, const char *path, hogmf_format format,
                                 hogmf_error *err);

/* Frees a ratings set and clears it; a cleared or zeroed set is a no-op. */
void hogmf_ratings_free(hogmf_ratings *r);

/* ---------------------------------------------------------------- parameters */

/* Log callback: level 0 info, 1 warning. The message has no trailing newline. */
typedef void (*hogmf_log_fn)(void *ctx, int level, const char *msg);

/* Per-epoch statistics handed to the epoch callback. */
typedef struct hogmf_epoch_stats {
    uint32_t epoch;            /* 1-based */
    double train_rmse;         /* masked RMSE on the training ratings (clipped predictions) */
    double train_mae;          /* masked MAE on the training ratings */
    double valid_rmse;         /* on the validation ratings; NAN without validation */
    double valid_mae;          /* NAN without validation */
    double epoch_seconds;      /* wall time of the SGD pass only */
    double updates_per_second; /* ratings updated per wall second of the SGD pass */
    float lr;                  /* learning rate used in this epoch */
} hogmf_epoch_stats;

/* Epoch callback: return 0 to go on, non-zero to stop training (HOGMF_ERR_STOPPED). */
typedef int (*hogmf_epoch_fn)(void *ctx, const hogmf_epoch_stats *stats);

/* Learning-rate schedules. */
typedef enum hogmf_lr_schedule {
    HOGMF_LR_CONSTANT = 0, /* lr every epoch */
    HOGMF_LR_DECAY = 1,    /* lr / (1 + lr_decay (t - 1)) */
    HOGMF_LR_BOLD = 2,     /* bold driver: x1.05 while the monitored RMSE improves, x0.5 if not */
    HOGMF_LR_ADAGRAD = 3   /* per-row adaptive rate lr / sqrt(G), G the row's mean squared
                            * gradient accumulated since the start (as LIBMF) */
} hogmf_lr_schedule;

/* How the training ratings are ordered within an epoch. */
typedef enum hogmf_order {
    HOGMF_ORDER_SHUFFLE = 0, /* each thread reshuffles its chunk every epoch */
    HOGMF_ORDER_BLOCKS = 1   /* cut once into a grid of tiles (user block x item block); each
                              * epoch a thread takes a whole row of tiles (one user block), the
                              * rows and the tiles in a row in a new random order, each tile
                              * from a random offset (no data movement) */
} hogmf_order;

/* Parallel schedules. */
typedef enum hogmf_schedule {
    HOGMF_SCHEDULE_HOGWILD = 0, /* lock-free updates from all threads (racy by design) */
    HOGMF_SCHEDULE_BLOCKS = 1   /* a grid of blocks; threads take blocks whose row and column
                                 * blocks no other thread holds (no race) */
} hogmf_schedule;

/* Thread pinning. */
typedef enum hogmf_pin {
    HOGMF_PIN_NONE = 0,
    HOGMF_PIN_COMPACT = 1, /* one thread per core, cores filled in order */
    HOGMF_PIN_SPREAD = 2   /* one thread per core, spread across packages and caches */
} hogmf_pin;

/* Training parameters; start from hogmf_params_default(). Fields are only ever appended. */
typedef struct hogmf_params {
    uint32_t k;            /* latent factors per user and item, >= 1 */
    uint32_t epochs;       /* maximum passes over the training ratings, >= 1 */
    float lr;              /* SGD learning rate of the first epoch, > 0 */
    float lr_decay;        /* epoch t uses lr / (1 + lr_decay (t - 1)); 0 keeps lr constant */
    float lambda_b;        /* L2 regularisation of the biases, >= 0 */
    float lambda_p;        /* L2 regularisation of P (user factors), >= 0 */
    float lambda_q;        /* L2 regularisation of Q (item factors), >= 0 */
    float init_sd;         /* standard deviation of the initial factors, >= 0 */
    int threads;           /* OpenMP threads for SGD and evaluation; 0: all available */
    uint64_t seed;         /* seeds initialisation and shuffling */
    double tol;            /* early stopping: relative validation improvement that counts */
    uint32_t patience;     /* stop after this many epochs without such improvement; 0: never */
    double diverge_factor; /* diverged when valid RMSE > this times the best so far */
    hogmf_lr_schedule schedule_lr; /* learning-rate schedule */
    float l1_p, l1_q;      /* L1 regularisation of P and Q (soft threshold), >= 0 */
    int nonneg;            /* 1: factors are kept non-negative (projected after each step) */
    hogmf_order order;     /* ordering of the ratings within an epoch */
    hogmf_schedule schedule; /* parallel schedule */
    hogmf_pin pin;         /* thread pinning */
    int deterministic;     /* 1: seeded rounds of tiles that share no user or item block, a
                            * tile after its blocks' tiles of the rounds before, so the model
                            * is bit-identical for any thread count (needs order blocks and
                            * schedule hogwild) */
    hogmf_log_fn log;      /* optional */
    hogmf_epoch_fn on_epoch; /* optional */
    void *ctx;             /* passed to log and on_epoch */
} hogmf_params;

/* Returns the defaults, chosen on a panel of data sets, leave-one-set-out (bench/README.md). */
hogmf_params hogmf_params_default(void);

/* The fraction of the training ratings that the CLI (train, cv) and the Python package hold
 * out for early stopping when no validation set is given and patience > 0: the default
 * per-row adaptive rate reaches its best epoch in 5-40 epochs and overfits after it, so
 * running every epoch is the worse default. */
#define HOGMF_DEFAULT_HOLDOUT 0.05

/* ---------------------------------------------------------------- the model */

/* Sentinel for "not in the model" from the id lookups. */
#define HOGMF_UNKNOWN UINT32_MAX

/* A trained model. Factor rows are padded to `stride` floats (a multiple of 16) and 64-byte
 * aligned; the padding is zero. All arrays belong to the model. */
typedef struct hogmf_model {
    uint32_t m, n;       /* users, items */
    uint32_t k;          /* factors */
    uint32_t stride;     /* floats per row of P and Q */
    float mu;            /* mean of the training ratings */
    float rmin, rmax;    /* predictions are clipped to [rmin, rmax] */
    float *P;            /* m x stride user factors */
    float *Q;            /* n x stride item factors */
    float *bu;           /* m user biases */
    float *bi;           /* n item biases */
    uint32_t *user_ids;  /* m original user ids (dense index -> id) */
    uint32_t *item_ids;  /* n original item ids */
    hogmf_params params; /* what it was trained with (callbacks cleared) */
    uint64_t nnz;        /* training ratings */
    uint32_t epochs_run; /* epochs actually run */
    uint32_t best_epoch; /* epoch whose parameters the model holds */
    double train_rmse;   /* at best_epoch */
    double valid_rmse;   /* at best_epoch; NAN without validation */
    struct hogmf_idmap *umap, *imap; /* id -> dense index, private */
    /* String ids (NULL for numeric): user_ids[u] is the code of user u's name; references
     * owned by the model, saved in the model file (format version 3). */
    hogmf_names *user_names, *item_names;
} hogmf_model;

/* Allocates a model of m users, n items and k factors with zero parameters and ids 0..m-1 and
 * 0..n-1. Returns NULL when out of memory or when the sizes are zero or too large. */
hogmf_model *hogmf_model_new(uint32_t m, uint32_t n, uint32_t k);

/* Frees a model and sets *model to NULL; NULL or *NULL is a no-op. */
void hogmf_model_free(hogmf_model **model);

/* Dense index of an original user (item) id, or HOGMF_UNKNOWN. */
uint32_t hogmf_model_user_index(const hogmf_model *model, uint32_t user_id);
uint32_t hogmf_model_item_index(const hogmf_model *model, uint32_t item_id);

/* Dense index of a user (item) by string id, or HOGMF_UNKNOWN (also for numeric models). */
uint32_t hogmf_model_user_index_name(const hogmf_model *model, const char *name, size_t len);
uint32_t hogmf_model_item_index_name(const hogmf_model *model, const char *name, size_t len);

/* Model index of user u (item i) of a ratings set: by name when the set has string ids coded
 * in another table than the model's, else by numeric id; HOGMF_UNKNOWN when absent (also
 * when one of them has string ids and the other not). Evaluation, recommendation's seen
 * lists and fold-in translate sets this way. */
uint32_t hogmf_model_set_user_index(const hogmf_model *model, const hogmf_ratings *set,
                                    uint32_t u);
uint32_t hogmf_model_set_item_index(const hogmf_model *model, const hogmf_ratings *set,
                                    uint32_t i);

/* The string id of dense user u (item i), NUL-terminated, or NULL for a numeric model or an
 * index out of range. */
const char *hogmf_model_user_name(const hogmf_model *model, uint32_t u);
const char *hogmf_model_item_name(const hogmf_model *model, uint32_t i);

/* Copies the factors without the row padding: items == 0 gives P into out[m * k], else Q
 * into out[n * k], row-major. Biases and ids are the model's bu, bi, user_ids, item_ids. */
void hogmf_model_copy_factors(const hogmf_model *model, int items, float *out);

/* Sets (or, with NULL, clears) the model's string id tables, taking references; the
 * numeric ids must be codes into them. Returns HOGMF_OK or HOGMF_ERR_INVALID when an id is
 * not a code of its table (the model is left unchanged). */
hogmf_status hogmf_model_set_names(hogmf_model *model, hogmf_names *user_names,
                                   hogmf_names *item_names, hogmf_error *err);

/* Prediction for dense indices, clipped to [rmin, rmax]. Either index may be HOGMF_UNKNOWN:
 * then mu plus whatever bias is known. */
float hogmf_model_predict(const hogmf_model *model, uint32_t u, uint32_t i);

/* Saves in the binary format (little-endian, magic, version, sizes, id maps, CRC-32),
 * atomically: temporary file in the same folder, fsync, rename. A model with string ids is
 * written as version 3: the version 2 layout followed by a section with the name tables
 * and its own CRC-32 (older readers refuse it by its version); others stay version 2. */
hogmf_status hogmf_model_save(const hogmf_model *model, const char *path, hogmf_error *err);

/* Loads a model; every size is checked against the file size and the checksum before any
 * allocation sized by the header. HOGMF_ERR_FORMAT for a corrupt or foreign file. */
hogmf_status hogmf_model_load(const char *path, hogmf_model **out, hogmf_error *err);

/* ---------------------------------------------------------------- training and evaluation */

/* Trains a model on `train`, evaluating on `valid` (may be NULL) after every epoch. No copy
 * of `train` is made: its ratings are reordered in place (its ids are not touched). The
 * model may number users and items differently from the set; use its id maps.
 * Validation ratings of users or items not in `train` are predicted from mu and the known
 * biases. With patience > 0 and validation, stops when validation RMSE has not improved by a
 * relative `tol` for `patience` epochs and returns the best epoch's model.
 * Returns HOGMF_OK and *out; HOGMF_ERR_DIVERGED (message names the learning rate);
 * HOGMF_ERR_STOPPED (callback asked; *out holds the best model so far); others on failure. */
hogmf_status hogmf_train(hogmf_ratings *train, const hogmf_ratings *valid,
                         const hogmf_params *params, hogmf_model **out, hogmf_error *err);

/* The same loop one epoch at a time, for callers that checkpoint, report or coordinate
 * between epochs. hogmf_trainer_new sets up (train is reordered in place and must outlive
 * the trainer; while the trainer lives, the u and i fields of its ratings hold the model's
 * row numbers, and hogmf_trainer_free puts the set's own numbers back); hogmf_trainer_epoch runs one epoch and fills *stats (may be NULL), returning
 * HOGMF_ERR_DIVERGED as hogmf_train does; hogmf_trainer_done is 1 when the epochs are used
 * up or early stopping triggered; hogmf_trainer_finish hands over the model (the best epoch's
 * when it was kept), after which only hogmf_trainer_free may be called. */
typedef struct hogmf_trainer hogmf_trainer;
hogmf_status hogmf_trainer_new(hogmf_ratings *train, const hogmf_ratings *valid,
                               const hogmf_params *params, hogmf_trainer **out,
                               hogmf_error *err);
hogmf_status hogmf_trainer_epoch(hogmf_trainer *t, hogmf_epoch_stats *stats, hogmf_error *err);
int hogmf_trainer_done(const hogmf_trainer *t);
/* The model as it is now (owned by the trainer). */
const hogmf_model *hogmf_trainer_model(const hogmf_trainer *t);
hogmf_status hogmf_trainer_finish(hogmf_trainer *t, hogmf_model **out, hogmf_error *err);
/* Writes the model hogmf_trainer_finish would hand over now to path (hogmf_model_save),
 * leaving the trainer as it was, so that a checkpoint can still be written when this fails
 * or is interrupted. Returns what hogmf_model_save returns. */
hogmf_status hogmf_trainer_save_model(const hogmf_trainer *t, const char *path,
                                      hogmf_error *err);
void hogmf_trainer_free(hogmf_trainer **t);

/* ---------------------------------------------------------------- checkpoints and resources */

/* Saves the whole training state between epochs (model, best-epoch copy, AdaGrad sums,
 * counters, learning rate, the current order of the training ratings, the parameters and a
 * fingerprint of the training and validation data) atomically to path, with magic, version,
 * sizes and a CRC-32. Not the ratings themselves. Returns HOGMF_OK, HOGMF_ERR_IO (the old
 * file at path is left intact), HOGMF_ERR_NOMEM or HOGMF_ERR_INVALID (after finish). */
hogmf_status hogmf_checkpoint_save(const hogmf_trainer *t, const char *path, hogmf_error *err);

/* A trainer that continues from a checkpoint: train and valid must be the sets the
 * checkpoint was written with (read again from the same files) and params the same training
 * parameters, except epochs (the limit may be raised or lowered), threads and pin, which may
 * differ. With the same thread count (any, with params.deterministic), the run then
 * continues bit for bit as if it had never stopped. The file is untrusted: magic, version, sizes against the file size and the CRC
 * are checked in a streaming pass before anything is allocated, and allocations are sized by
 * train, never by the file. Returns HOGMF_OK and *out; HOGMF_ERR_FORMAT for a corrupt,
 * truncated or foreign file; HOGMF_ERR_INVALID when it belongs to other data or parameters
 * (the message names the difference); HOGMF_ERR_IO, HOGMF_ERR_NOMEM. On failure train's
 * ratings keep their contents, but the order of a set that passed the checks may change. */
hogmf_status hogmf_trainer_resume(hogmf_ratings *train, const hogmf_ratings *valid,
                                  const hogmf_params *params, const char *path,
                                  hogmf_trainer **out, hogmf_error *err);

/* What a checkpoint file holds, from its header, after the whole file was verified. */
typedef struct hogmf_checkpoint_info {
    uint32_t version;      /* format version */
    uint64_t file_bytes;   /* size of the file */
    uint32_t m, n, k;      /* users, items, factors */
    uint64_t nnz;          /* training ratings */
    uint64_t valid_nnz;    /* validation ratings (0 without) */
    uint32_t epoch;        /* epochs completed */
    int stopped;           /* early stopping had triggered */
    uint32_t threads;      /* threads of the run that wrote it */
    float lr;              /* learning rate of the next epoch */
    double train_rmse;     /* after the last epoch */
    double valid_rmse;     /* after the last epoch; NAN without validation */
    uint32_t best_epoch;   /* epoch of the best validation RMSE (0 without validation) */
    double best_valid_rmse;/* INFINITY before any */
    hogmf_params params;   /* the training parameters (callbacks NULL) */
} hogmf_checkpoint_info;

/* Verifies a checkpoint file (magic, version, sizes, CRC; no allocation sized by it) and
 * fills *out. HOGMF_OK, HOGMF_ERR_FORMAT, HOGMF_ERR_IO or HOGMF_ERR_NOMEM. */
hogmf_status hogmf_checkpoint_inspect(const char *path, hogmf_checkpoint_info *out,
                                      hogmf_error *err);

/* Estimated peak bytes of a training job once its ratings are loaded: the ratings (nnz
 * training and valid_nnz validation ratings, m users, n items), the model, the validation
 * copy, the best-epoch copy (validation with patience), AdaGrad sums, the grid and the
 * buffer of the model file at the end. An estimate for refusing jobs, not an exact count. */
uint64_t hogmf_estimate_memory(uint64_t nnz, uint32_t m, uint32_t n, uint64_t valid_nnz,
                               const hogmf_params *params);

/* Masked evaluation of a model on a ratings set (ids translated through the model's maps;
 * with string ids, read the set with the model's name tables in hogmf_read_options so that
 * its codes are the model's).
 * Fills rmse and mae (either pointer may be NULL) and the count of ratings whose user or
 * item is unknown to the model. threads as in hogmf_params. Returns HOGMF_OK or
 * HOGMF_ERR_EMPTY / HOGMF_ERR_NOMEM. */
hogmf_status hogmf_evaluate(const hogmf_model *model, const hogmf_ratings *set, int threads,
                            double *rmse, double *mae, size_t *unknown, hogmf_error *err);

/* ---------------------------------------------------------------- cross-validation (cv.c) */

/* Deals nnz ratings into `folds` folds (2..1000): a seeded random permutation dealt round
 * robin, so fold sizes differ by at most one. Fills fold[0..nnz) with 0..folds-1. Returns
 * HOGMF_OK, HOGMF_ERR_INVALID (folds out of range or more folds than ratings) or
 * HOGMF_ERR_NOMEM. */
hogmf_status hogmf_cv_folds(size_t nnz, uint32_t folds, uint64_t seed, uint32_t *fold,
                            hogmf_error *err);

/* Splits src by a mask: rating j goes to *test when in_test[j] is non-zero, else to *train.
 * Both keep src's order and are renumbered to the ids they hold (as hogmf_ratings_split);
 * either may end up empty. Returns HOGMF_OK or HOGMF_ERR_NOMEM (both left empty). */
hogmf_status hogmf_ratings_partition(const hogmf_ratings *src, const unsigned char *in_test,
                                     hogmf_ratings *train, hogmf_ratings *test,
                                     hogmf_error *err);

/* Mean and sample standard deviation (n - 1 in the denominator; 0 when n < 2) of x[0..n),
 * accumulated in double. NAN and NAN when n == 0. */
void hogmf_mean_sd(const double *x, size_t n, double *mean, double *sd);

/* ---------------------------------------------------------------- fold-in (foldin.c) */

/* Factor rows computed for users who are not in a model, from a few of their ratings, with
 * the model's Q, item biases and mu held fixed: for each user the ridge regression
 *   min_{p, b}  sum_i (r_i - mu - bi[i] - b - q_i . p)^2 + lambda_p |p|^2 + lambda_b b^2
 * solved in closed form (Cholesky of a (k+1) x (k+1) system). */
typedef struct hogmf_foldin {
    uint32_t m;         /* users folded in */
    uint32_t k;         /* factors (the model's) */
    uint32_t stride;    /* floats per row of P, a multiple of 16 */
    uint32_t n;         /* items of the model the rows were computed with */
    uint32_t model_crc; /* hogmf_model_fingerprint() of that model; checked when applied */
    uint32_t *user_ids; /* m original user ids */
    uint32_t *count;    /* m: ratings of items known to the model each row was computed from */
    float *bu;          /* m user biases */
    float *P;           /* m x stride rows, 64-byte aligned, padding zero */
} hogmf_foldin;

/* CRC-32 of what fold-in rows depend on: k, n, mu, the item ids, the item biases and Q. */
uint32_t hogmf_model_fingerprint(const hogmf_model *model);

/* Folds in one user: items[0..count) are dense item indices of the model (HOGMF_UNKNOWN
 * entries are skipped) with ratings r[0..count). Writes the k factors to p[0..k) (p must
 * hold the model's stride floats; the padding is zeroed) and the bias to *bu. With no known
 * item both are zero. lambda_p > 0 and lambda_b >= 0 are absolute penalties (not per
 * rating). Returns HOGMF_OK, HOGMF_ERR_INVALID (a lambda out of range, a non-finite rating)
 * or HOGMF_ERR_NOMEM. */
hogmf_status hogmf_foldin_user(const hogmf_model *model, const uint32_t *items, const float *r,
                               size_t count, float lambda_p, float lambda_b, float *p,
                               float *bu, hogmf_error *err);

/* Folds in every user of `set` who is not in the model, in parallel over users (threads as
 * in hogmf_params), each as hogmf_foldin_user with the same absolute penalties (a prior
 * that counts for less as a user's ratings grow; about 2 and 3 suit the default training
 * options on MovieLens, see bench/foldin.sh). Users already in the model are skipped and
 * counted in *known (may be NULL); ratings of items unknown to the model are skipped and
 * counted in *unknown_items (may be NULL). Fills *out (free with hogmf_foldin_free);
 * HOGMF_ERR_EMPTY when no user is left to fold in. */
hogmf_status hogmf_foldin_compute(const hogmf_model *model, const hogmf_ratings *set,
                                  float lambda_p, float lambda_b, int threads,
                                  hogmf_foldin *out, size_t *known, size_t *unknown_items,
                                  hogmf_error *err);

/* Writes a fold-in file (text, documented in the README) atomically; floats are written in
 * their shortest form that reads back to the same float, so save then load is exact. */
hogmf_status hogmf_foldin_save(const hogmf_foldin *f, const char *path, hogmf_error *err);

/* Reads a fold-in file. A malformed line gives HOGMF_ERR_PARSE with "PATH:LINE: ...". */
hogmf_status hogmf_foldin_load(const char *path, hogmf_foldin *out, hogmf_error *err);

/* Frees the arrays and clears *f; a cleared or zeroed one is a no-op. */
void hogmf_foldin_free(hogmf_foldin *f);

/* Returns in *out a new model: `model` plus the fold-in users (a user already in the model
 * gets the fold-in row instead of its own). HOGMF_ERR_INVALID when the fold-in rows were
 * computed with another model (k, n or fingerprint differ); HOGMF_ERR_NOMEM. */
hogmf_status hogmf_model_add_foldin(const hogmf_model *model, const hogmf_foldin *f,
                                    hogmf_model **out, hogmf_error *err);

/* ---------------------------------------------------------------- top-N (recommend.c) */

/* Per model user, the sorted item indices to leave out of the recommendations (items the
 * user has rated). CSR: user u's items are items[ptr[u] .. ptr[u+1]). */
typedef struct hogmf_seen {
    uint32_t m;      /* users (the model's) */
    size_t *ptr;     /* m + 1 offsets */
    uint32_t *items; /* ptr[m] dense item indices, ascending and distinct within a user */
} hogmf_seen;

/* Builds the seen lists from the ratings of sets[0..nsets) (ids translated through the
 * model's maps; ratings of unknown users or items are ignored). Returns HOGMF_OK or
 * HOGMF_ERR_NOMEM; free with hogmf_seen_free. */
hogmf_status hogmf_seen_build(const hogmf_model *model, const hogmf_ratings *const *sets,
                              size_t nsets, hogmf_seen *out, hogmf_error *err);
void hogmf_seen_free(hogmf_seen *s);

/* Top-N for the dense users users[0..nusers), in parallel over users (threads as in
 * hogmf_params): for each, the N items with the highest prediction that are not in its
 * seen list (seen may be NULL), best first; ties go to the lower item index. Ranking uses
 * the unclipped prediction; the reported rating is hogmf_model_predict's, bit for bit. Fills
 * items[j*N ...] and ratings[j*N ...] for user j, and count[j] = min(N, unseen items).
 * Returns HOGMF_OK, HOGMF_ERR_INVALID (N == 0, a user index out of range) or
 * HOGMF_ERR_NOMEM. */
hogmf_status hogmf_recommend(const hogmf_model *model, const hogmf_seen *seen,
                             const uint32_t *users, uint32_t nusers, uint32_t N, int threads,
                             uint32_t *items, float *ratings, uint32_t *count,
                             hogmf_error *err);

/* ---------------------------------------------------------------- dense matrices (dense.c) */

/* A dense matrix read from text, with the cells that were missing marked. */
typedef struct hogmf_dense {
    uint32_t m, n;        /* rows, columns */
    float *x;             /* m x n row-major; NAN where missing */
    unsigned char *known; /* m x n; 1 where the cell held a number */
    char delim;           /* ',' '\t' or ' ' (runs of blanks), as detected */
} hogmf_dense;

/* Reads a dense matrix: one row per line, cells separated by commas, else tabs, else runs
 * of blanks (detected from the first row). A cell is missing when it is empty or equals
 * `missing` (may be NULL: only empty cells); every other cell must be a finite number.
 * Every row must have as many cells as the first; blank lines are skipped; "-" reads
 * standard input. HOGMF_ERR_PARSE with "PATH:LINE: ..." for a malformed row;
 * HOGMF_ERR_EMPTY when there is no row; free with hogmf_dense_free. */
hogmf_status hogmf_dense_read(const char *path, const char *missing, hogmf_dense *out,
                              hogmf_error *err);

/* Writes an m x n matrix atomically, separated by delim (' ' for blanks); cells with
 * exact[c] non-zero (exact may be NULL: none) in their shortest exact form, the others
 * with `digits` significant digits (1..9). */
hogmf_status hogmf_dense_write(const char *path, const float *x, const unsigned char *exact,
                               uint32_t m, uint32_t n, char delim, int digits,
                               hogmf_error *err);
void hogmf_dense_free(hogmf_dense *d);

/* Completing a dense matrix (impute.c; `hogmf impute` and the Python package). The training
 * defaults for small matrices: k = 1, 2000 epochs at a constant lr 0.05, regularisation
 * 0.001, init_sd 0.1, no early stopping, one thread. */
hogmf_params hogmf_impute_params_default(void);

/* The k candidates hogmf_impute_choose_k tries, in order. */
#define HOGMF_IMPUTE_KS 8
extern const uint32_t hogmf_impute_ks[HOGMF_IMPUTE_KS]; /* 1, 2, 3, 4, 6, 8, 12, 16 */

/* Picks k among hogmf_impute_ks (those at most min(m, n)) by the mean RMSE of 5-fold
 * cross-validation of the known cells (fewer folds with fewer than 5 cells; seeded by
 * p->seed), each fold trained with p but k. Sets *k (p->k when fewer than 2 cells), rmse[j]
 * for candidate j (NAN: not tried, INFINITY: diverged, skipped) and *folds (0: not tried).
 * Returns HOGMF_OK, or the status of a fold that failed other than by diverging. */
hogmf_status hogmf_impute_choose_k(const hogmf_ratings *known, uint32_t m, uint32_t n,
                                   const hogmf_params *p, uint32_t *k,
                                   double rmse[HOGMF_IMPUTE_KS], uint32_t *folds,
                                   hogmf_error *err);

/* ---------------------------------------------------------------- tuning (tune.c) */

/* One tuning trial: the parameters tried and the result on the validation set. */
typedef struct hogmf_trial {
    uint32_t index;      /* 0-based, in the order the trials were generated */
    hogmf_params params; /* callbacks cleared; epochs is the budget, not the best epoch */
    double valid_rmse;   /* lowest mean validation RMSE over the splits at any epoch;
                          * INFINITY when diverged */
    uint32_t best_epoch; /* the epoch of that lowest mean (0 when diverged) */
    double seconds;      /* wall time of the trial */
    uint32_t rung;       /* hogmf_auto_search: the rung (0-based) of this report; 0 in tune */
    uint32_t epochs_run; /* hogmf_auto_search: epochs run so far (patience may end it early) */
} hogmf_trial;

/* Called after every trial in trial order, from the calling thread; non-zero stops. */
typedef int (*hogmf_trial_fn)(void *ctx, const hogmf_trial *trial, const hogmf_trial *best);

/* What to search and how long. Start from hogmf_tune_params_default(). */
typedef struct hogmf_tune_params {
    hogmf_params base;     /* fixed: epochs (maximum), patience, tol, init_sd, seed, ... */
    uint32_t trials;       /* stop after this many trials; 0: no limit (seconds must be set) */
    double seconds;        /* stop starting batches after this many seconds; 0: no limit */
    uint32_t batch;        /* trials generated together from the results before them */
    int threads;           /* threads in all; 0: all available */
    int trial_threads;     /* threads each trial trains with; threads / trial_threads trials
                            * run at once */
    /* The ranges searched. A pinned range keeps base's value: min == max for k and lr,
     * 0 (and 0) for the others. */
    uint32_t k_min, k_max; /* factors, log-uniform */
    float lr_min, lr_max;  /* learning rate, log-uniform */
    float decay_max;       /* lr_decay uniform in [0, decay_max] for HOGMF_LR_DECAY */
    float reg_min, reg_max; /* each of lambda_b, lambda_p, lambda_q, log-uniform */
    float init_min, init_max; /* init_sd, log-uniform */
    uint32_t schedules;    /* bit s set: schedule s is tried; 0: base.schedule_lr only */
    uint64_t seed;         /* seeds the search (the trials all train with base.seed) */
    hogmf_trial_fn on_trial; /* optional */
    void *ctx;
    float adagrad_lr_min, adagrad_lr_max; /* learning rate of HOGMF_LR_ADAGRAD trials, whose
                            * per-row rates want a larger lr (lr_min, lr_max: the others);
                            * pinned when min == max as lr's; 0 and 0: lr_min, lr_max */
} hogmf_tune_params;

hogmf_tune_params hogmf_tune_params_default(void);

/* Searches with `splits` train/validation pairs (train[s] is never modified; valid[s] is
 * required): a trial trains one model per split, epoch by epoch in step, and its score is
 * the lowest mean validation RMSE over the splits at any epoch (patience and tol of base
 * apply to that mean). One split is a hold-out; several are cross-validation folds. Trial 0
 * is base itself; the first quarter of the trial budget samples the whole space at random,
 * the rest mostly samples around the best trial so far in a shrinking neighbourhood; each batch is generated from
 * the finished batches only, so for a trial budget the result does not depend on the thread
 * count. Each worker copies the training ratings once. Fills *best with the best trial (its
 * params.epochs set to its best epoch). Returns HOGMF_OK; HOGMF_ERR_DIVERGED when every
 * trial diverged; HOGMF_ERR_INVALID, HOGMF_ERR_EMPTY, HOGMF_ERR_NOMEM. */
hogmf_status hogmf_tune(const hogmf_ratings *const *train, const hogmf_ratings *const *valid,
                        uint32_t splits, const hogmf_tune_params *tp, hogmf_trial *best,
                        hogmf_error *err);

/* ---------------------------------------------------------------- automatic search (tune.c) */

/* Successive halving for the user who will not tune: many configurations (the first is
 * space.base itself, half of the others sampled near it, half across the ranges) train a
 * few epochs each; the best 1/eta by validation RMSE go on to eta times the epochs, and so
 * on until base.epochs, where the best one wins. The base runs every rung as the reference,
 * so the winner is never worse than it on the validation set. */
typedef struct hogmf_auto_params {
    hogmf_tune_params space; /* what is searched, as for hogmf_tune: base (configuration 1 and
                              * everything not searched; base.epochs is the most epochs a
                              * configuration runs, base.patience and tol end one early),
                              * the ranges (see keep_ranges), schedules, seed,
                              * threads, trial_threads and on_trial (called after every
                              * rung for each configuration in it, rung set). Its trials,
                              * seconds and batch are not used */
    double seconds;          /* wall-time budget of the search: it is planned from the
                              * measured time of the base's first epoch and stops starting
                              * work after it; 0: none */
    uint64_t epoch_budget;   /* budget in epochs of one configuration (one per split),
                              * summed over configurations, setting each up counted as the
                              * 1 + 16 (m + n) / nnz epochs it takes; 0: none. With neither
                              * budget nor configs, HOGMF_AUTO_RUNS base runs: that many
                              * times base.epochs plus a set-up */
    double time_cap;         /* with an epoch budget: stop starting work after this many
                              * seconds (the plan stays the epochs'); 0: none */
    uint32_t configs;        /* configurations of the first rung; 0: as many as the budget
                              * allows (at most 729) */
    uint32_t eta;            /* the best 1/eta go on, with eta times the epochs; >= 2 [3] */
    uint32_t min_epochs;     /* epochs of the first rung, >= 1 [2] */
    double holdout;          /* hogmf_auto without a validation set: the fraction of the
                              * training ratings held out for the search (seeded by
                              * base.seed), in (0, 1) [0.1] */
    int keep_ranges;         /* 1: sample inside the ranges as given; 0: widen each to hold
                              * base's value first, so that sampling near the base stays near
                              * it when the defaults lie outside tune's ranges [0] */
    uint64_t max_memory;     /* bytes the configurations kept between rungs may take (each
                              * holds its own copy of the training ratings and a model);
                              * above it every rung retrains from scratch, which picks the
                              * same winner more slowly; 0: a quarter of physical memory */
} hogmf_auto_params;

#define HOGMF_AUTO_RUNS 8 /* default budget, in base.epochs-long runs of one configuration */

hogmf_auto_params hogmf_auto_params_default(void);

/* What a search found and what it cost. */
typedef struct hogmf_auto_result {
    hogmf_trial best;      /* the winner: params (epochs: its best epoch), its lowest mean
                            * validation RMSE and that epoch */
    hogmf_trial base;      /* configuration 1 (space.base) after the last rung */
    uint32_t configs;      /* configurations trained (0: the budget allowed no search) */
    uint32_t rungs;        /* rungs run */
    uint32_t last_epochs;  /* epochs of the last rung (best and base compared there) */
    uint64_t epochs_run;   /* epochs trained, summed over configurations (and splits) */
    uint64_t epoch_budget; /* the budget the search was planned for, set-ups included */
    int continued;         /* 1: configurations continued between rungs; 0: retrained */
    double search_seconds; /* wall time of the search */
    double train_seconds;  /* hogmf_auto: wall time of the final training (its caller's) */
    size_t search_nnz;     /* training ratings of the search (of split 1) */
    size_t valid_nnz;      /* validation ratings of the search (of split 1) */
} hogmf_auto_result;

/* Runs the search on `splits` train/validation pairs (as hogmf_tune: train[s] is not
 * modified, valid[s] is required, several splits score by the mean). Trials run side by
 * side, trial_threads threads each; with an epoch budget (no seconds, a time_cap that does
 * not bind) and one thread per trial the result does not depend on the thread count. Progress goes to space.base.log (info) and space.on_trial.
 * Fills *res. A budget too small for eta + 1 configurations is no error: res->configs is
 * 0 and res->best is the base with base.epochs. Returns HOGMF_OK; HOGMF_ERR_DIVERGED when
 * every configuration diverged; HOGMF_ERR_INVALID, HOGMF_ERR_EMPTY, HOGMF_ERR_NOMEM. */
hogmf_status hogmf_auto_search(const hogmf_ratings *const *train,
                               const hogmf_ratings *const *valid, uint32_t splits,
                               const hogmf_auto_params *ap, hogmf_auto_result *res,
                               hogmf_error *err);

/* The parameters the winner is trained with on all the ratings: res->best.params with the
 * threads, patience, tol and callbacks of space.base, for the winner's best epoch's count of
 * epochs (an epoch visits every rating once, with or without the hold-out), or for
 * base.epochs when with_valid (early stopping on the validation set) or when no search ran. */
hogmf_params hogmf_auto_final(const hogmf_auto_params *ap, const hogmf_auto_result *res,
                              int with_valid);

/* The whole path: searches on a seeded hold-out of train (ap->holdout), or on valid when it
 * is given, then trains the winner on all of train with the threads and callbacks of
 * space.base: for its best epoch's count of epochs, or with valid for up to base.epochs
 * with base's early stopping on valid. train is reordered in place as by hogmf_train.
 * Returns HOGMF_OK with *out and *res; the errors of hogmf_auto_search and hogmf_train. */
hogmf_status hogmf_auto(hogmf_ratings *train, const hogmf_ratings *valid,
                        const hogmf_auto_params *ap, hogmf_model **out,
                        hogmf_auto_result *res, hogmf_error *err);

/* ---------------------------------------------------------------- synthetic data */

typedef struct hogmf_gen_params {
    uint32_t users, items; /* sizes, >= 1 */
    uint64_t ratings;      /* distinct (user, item) pairs; at most users*items/2 */
    uint32_t rank;         /* rank of the planted structure */
    uint64_t seed;
    double noise_sd;       /* Gaussian noise before rounding to half stars */
    hogmf_format format;   /* output format; AUTO means CSV with a header */
} hogmf_gen_params;

hogmf_gen_params hogmf_gen_params_default(void);

/* Writes a synthetic MovieLens-like ratings file (power-law user activity and item
 * popularity, biases, rank-`rank` structure, noise, half stars 0.5..5), deterministic for a
 * seed, atomically. */
hogmf_status hogmf_gen_write(const hogmf_gen_params *gp, const char *path, hogmf_error *err);

/* ---------------------------------------------------------------- topology */

/* The machine as hwloc reports it. Cache sizes are what the firmware claims (virtual
 * machines may report nonsense). */
typedef struct hogmf_topology {
    int packages, numa_nodes, cores, pus; /* in the machine (allowed part) */
    int usable_cores, usable_pus;         /* in this process's binding (taskset, cgroups) */
    uint64_t l2_bytes, l3_bytes;          /* first L2 and L3 cache; 0 if unknown */
    char allowed[256];                    /* allowed cpuset as a list ("0-3,8") */
    char bound[256];                      /* this process's cpuset as a list */
} hogmf_topology;

/* Fills *out. HOGMF_ERR_IO when hwloc cannot read the topology. */
hogmf_status hogmf_topology_get(hogmf_topology *out, hogmf_error *err);

/* The instruction set the plain SGD step uses here: "avx512", "avx2" or "portable". The
 * environment variable HOGMF_ISA=portable|avx2 lowers it (for comparisons). */
const char *hogmf_kernel_name(void);

/* ---------------------------------------------------------------- other tools' formats */

/* Writes the model as a LIBMF text model (mf_save_model's format): lines "f 0", "m M",
 * "n N", "k K+3", "b MU", then "p<id> T v1 .. vK+3" for every user id 0..M-1 ("p<id> F 0 ..
 * 0" for ids the model does not hold) and the same with "q" for items, M and N being the
 * largest id + 1. LIBMF predicts P[u] . Q[i] without biases, so the biases and the mean are
 * folded into three extra columns, p' = [p, b_u, 1, 1] and q' = [q, 1, b_i, mu]: LIBMF's
 * prediction is then hogmf's before clipping. Ids are used as LIBMF row indices unchanged.
 * Atomic. HOGMF_ERR_INVALID when an id exceeds 2147483646; HOGMF_ERR_IO, HOGMF_ERR_NOMEM. */
hogmf_status hogmf_model_write_libmf(const hogmf_model *model, const char *path,
                                     hogmf_error *err);

/* Reads a LIBMF text model (real-valued: f 0, 1 or 2; also the older header without f and b,
 * and rows without T/F) into a new model whose predictions, clipped to [rmin, rmax], are
 * LIBMF's: rows marked F become unknown ids, predicted as b like LIBMF does; user and item
 * ids are LIBMF's row indices. A file written by hogmf_model_write_libmf is recognised and
 * gives back k, the biases and mu exactly; any other gets mu = b, zero biases and one extra
 * column (p' = [p, 1], q' = [q, -b]). The training fields are zero (nnz, epochs, params).
 * Returns HOGMF_OK and *out; HOGMF_ERR_FORMAT with "PATH:LINE: expected ..." for a malformed
 * file; HOGMF_ERR_INVALID for a bad range; HOGMF_ERR_IO, HOGMF_ERR_NOMEM. */
hogmf_status hogmf_model_read_libmf(const char *path, float rmin, float rmax,
                                    hogmf_model **out, hogmf_error *err);

/* Writes the model as three CSV files for NumPy or pandas, each with a header line:
 * PREFIX_users.csv "user,bias,f1,..,fk" (one row per user, original ids, model order),
 * PREFIX_items.csv "item,bias,f1,..,fk", and PREFIX_global.csv "mu,rmin,rmax,k,users,items".
 * A prediction is mu + bias_u + bias_i + f_u . f_i, clipped to [rmin, rmax]. Each file is
 * written atomically; on failure the files already written stay. */
hogmf_status hogmf_model_write_csv(const hogmf_model *model, const char *prefix,
                                   hogmf_error *err);

/* ---------------------------------------------------------------- utilities */

/* Writes `len` bytes to `path` atomically (temporary file in the same folder, fsync, rename,
 * fsync of the folder). */
hogmf_status hogmf_write_file_atomic(const char *path, const void *data, size_t len,
                                     hogmf_error *err);
/* Checks, before any work, that path can be written as an output: a file can be created in
 * its folder (the folder of a symbolic link's target; a temporary file, removed at once) and
 * it is not a directory. A device or FIFO passes (it is written in place). HOGMF_OK, or
 * HOGMF_ERR_IO with a message naming path and the reason. */
hogmf_status hogmf_output_check(const char *path, hogmf_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOGMF_H */
