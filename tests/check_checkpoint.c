/*
 * check_checkpoint.c - checkpoints: a run stopped, saved and resumed ends bit for bit where an
 * uninterrupted run ends (one thread; every order, schedule and learning-rate schedule that
 * keeps state); corrupt, truncated, foreign and hostile files are rejected with a clear error
 * and no allocation sized by their header; a failed save leaves the old file intact.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "suites.h"

/* ---------------------------------------------------------------- helpers */

/* Ratings 1..5 from a rank-one structure plus a little noise (0..3), so training improves
 * the validation error for some epochs before it overfits. */
static int rating_of(uint32_t u, uint32_t i, int noise)
{
    double a = (double)((u * 37) % 80) / 79.0, b = (double)((i * 23) % 60) / 59.0;
    int r = 1 + (int)(4.0 * a * b + 0.5) + (noise == 0) - (noise == 1);
    return r < 1 ? 1 : r > 5 ? 5 : r;
}

/* A deterministic set of about 3000 ratings of 80 users and 60 items, in file order. The
 * variant changes one rating (for the "other data" checks). */
static void make_set(hogmf_ratings *out, int variant)
{
    size_t cap = 3000 * 24, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    uint64_t x = 12345;
    for (int j = 0; j < 3000; j++) {
        uint32_t u = (uint32_t)((j * 7) % 80), i = (uint32_t)((j * 13 + j / 80) % 60);
        int r = rating_of(u, i, (int)((x = x * 6364136223846793005ull + 1) >> 62));
        if (variant && j == 1500)
            r = r == 5 ? 4 : r + 1;
        len += (size_t)snprintf(text + len, cap - len, "%u\t%u\t%d\n", u + 100, i + 7, r);
    }
    hogmf_error err;
    hogmf_status st = hogmf_ratings_parse(text, len, "set", NULL, out, &err);
    ck_assert_msg(st == HOGMF_OK, "make_set: %s", err.msg);
    free(text);
}

/* 400 validation ratings of the same users and items; the variant changes one. */
static void make_valid(hogmf_ratings *out, int variant)
{
    size_t cap = 400 * 24, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    for (int j = 0; j < 400; j++) {
        uint32_t u = (uint32_t)((j * 11) % 80), i = (uint32_t)((j * 17 + 3) % 60);
        int r = rating_of(u, i, j % 4);
        if (variant && j == 399)
            r = r == 5 ? 4 : r + 1;
        len += (size_t)snprintf(text + len, cap - len, "%u\t%u\t%d\n", u + 100, i + 7, r);
    }
    hogmf_error err;
    ck_assert(hogmf_ratings_parse(text, len, "valid", NULL, out, &err) == HOGMF_OK);
    free(text);
}

static uint32_t bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* Bit-for-bit comparison of two models' parameters (mean, biases, factors). */
static void check_same_params(const hogmf_model *a, const hogmf_model *b, const char *what)
{
    ck_assert_msg(a->m == b->m && a->n == b->n && a->k == b->k, "%s: shapes differ", what);
    ck_assert_msg(bits(a->mu) == bits(b->mu), "%s: mu %.9g vs %.9g", what, (double)a->mu,
                  (double)b->mu);
    for (uint32_t u = 0; u < a->m; u++) {
        ck_assert_msg(bits(a->bu[u]) == bits(b->bu[u]), "%s: bu[%u]: %.9g vs %.9g", what, u,
                      (double)a->bu[u], (double)b->bu[u]);
        for (uint32_t d = 0; d < a->k; d++) {
            float pa = a->P[(size_t)u * a->stride + d], pb = b->P[(size_t)u * b->stride + d];
            ck_assert_msg(bits(pa) == bits(pb), "%s: P[%u][%u]: %.9g vs %.9g (diff %g)", what,
                          u, d, (double)pa, (double)pb, (double)(pa - pb));
        }
    }
    for (uint32_t i = 0; i < a->n; i++) {
        ck_assert_msg(bits(a->bi[i]) == bits(b->bi[i]), "%s: bi[%u]: %.9g vs %.9g", what, i,
                      (double)a->bi[i], (double)b->bi[i]);
        for (uint32_t d = 0; d < a->k; d++) {
            float qa = a->Q[(size_t)i * a->stride + d], qb = b->Q[(size_t)i * b->stride + d];
            ck_assert_msg(bits(qa) == bits(qb), "%s: Q[%u][%u]: %.9g vs %.9g (diff %g)", what,
                          i, d, (double)qa, (double)qb, (double)(qa - qb));
        }
    }
}

/* Bit-for-bit comparison of two models' parameters and results. */
static void check_same_model(const hogmf_model *a, const hogmf_model *b, const char *what)
{
    check_same_params(a, b, what);
    ck_assert_msg(a->epochs_run == b->epochs_run && a->best_epoch == b->best_epoch,
                  "%s: epochs run %u/%u, best epoch %u/%u", what, a->epochs_run, b->epochs_run,
                  a->best_epoch, b->best_epoch);
    ck_assert_msg(a->train_rmse == b->train_rmse &&
                      (a->valid_rmse == b->valid_rmse ||
                       (isnan(a->valid_rmse) && isnan(b->valid_rmse))),
                  "%s: rmse %.17g/%.17g valid %.17g/%.17g", what, a->train_rmse, b->train_rmse,
                  a->valid_rmse, b->valid_rmse);
}

/* Runs epochs until the trainer has done `upto` epochs (or is done). */
static void run_to(hogmf_trainer *t, uint32_t upto, const char *what)
{
    hogmf_error err;
    while (!hogmf_trainer_done(t) && hogmf_trainer_model(t)->epochs_run < upto) {
        hogmf_status st = hogmf_trainer_epoch(t, NULL, &err);
        ck_assert_msg(st == HOGMF_OK, "%s: epoch: %s", what, err.msg);
    }
}

static hogmf_model *finish(hogmf_trainer **t, const char *what)
{
    hogmf_model *m = NULL;
    hogmf_error err;
    ck_assert_msg(hogmf_trainer_finish(*t, &m, &err) == HOGMF_OK, "%s: finish: %s", what,
                  err.msg);
    hogmf_trainer_free(t);
    return m;
}

/* ---------------------------------------------------------------- resume, bit for bit */

typedef struct resume_case {
    const char *name;
    hogmf_order order;
    hogmf_schedule schedule;
    hogmf_lr_schedule lr;
    int valid;          /* with validation (and patience: the best-epoch copy) */
    uint32_t stops[2];  /* the run is saved and resumed after these epochs */
    int deterministic;  /* the deterministic schedule */
} resume_case;

static const resume_case resume_cases[] = {
    {"shuffle, constant lr", HOGMF_ORDER_SHUFFLE, HOGMF_SCHEDULE_HOGWILD, HOGMF_LR_CONSTANT, 0,
     {3, 6}, 0},
    {"tiles, decay", HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD, HOGMF_LR_DECAY, 0, {1, 7}, 0},
    {"shuffle, validation, adagrad", HOGMF_ORDER_SHUFFLE, HOGMF_SCHEDULE_HOGWILD,
     HOGMF_LR_ADAGRAD, 1, {2, 5}, 0},
    {"block schedule, validation, bold driver", HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_BLOCKS,
     HOGMF_LR_BOLD, 1, {4, 7}, 0}, /* best epoch 7 of 8: the final model is the saved copy */
    {"saved before the first epoch and after the last", HOGMF_ORDER_SHUFFLE,
     HOGMF_SCHEDULE_HOGWILD, HOGMF_LR_CONSTANT, 1, {0, 8}, 0},
    {"deterministic, validation, adagrad", HOGMF_ORDER_BLOCKS, HOGMF_SCHEDULE_HOGWILD,
     HOGMF_LR_ADAGRAD, 1, {3, 5}, 1},
};

static hogmf_params case_params(const resume_case *c)
{
    hogmf_params p = hogmf_params_default();
    p.k = 5;
    p.epochs = 8;
    p.threads = 1;
    p.seed = 7;
    p.lr = 0.02f;
    p.order = c->order;
    p.schedule = c->schedule;
    p.schedule_lr = c->lr;
    p.deterministic = c->deterministic;
    p.lr_decay = c->lr == HOGMF_LR_DECAY ? 0.3f : 0.0f;
    p.patience = 20; /* the best-epoch copy is kept, and restored at the end */
    p.tol = 1e-3;
    return p;
}

START_TEST(test_resume_bit_identical)
{
    const resume_case *c = &resume_cases[_i];
    hogmf_params p = case_params(c);
    hogmf_error err;
    hogmf_ratings train, valid = {0};

    /* The uninterrupted run. */
    make_set(&train, 0);
    if (c->valid)
        make_valid(&valid, 0);
    hogmf_trainer *t = NULL;
    ck_assert(hogmf_trainer_new(&train, c->valid ? &valid : NULL, &p, &t, &err) == HOGMF_OK);
    run_to(t, p.epochs, c->name);
    hogmf_model *want = finish(&t, c->name);
    hogmf_ratings_free(&train);

    /* The same run stopped twice; each part starts from freshly read ratings, as a new
     * process would. */
    char ck[4096];
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    make_set(&train, 0);
    ck_assert(hogmf_trainer_new(&train, c->valid ? &valid : NULL, &p, &t, &err) == HOGMF_OK);
    for (int part = 0; part < 2; part++) {
        run_to(t, c->stops[part], c->name);
        hogmf_status st = hogmf_checkpoint_save(t, ck, &err);
        ck_assert_msg(st == HOGMF_OK, "%s: save after epoch %u: %s", c->name, c->stops[part],
                      err.msg);
        hogmf_trainer_free(&t);
        hogmf_ratings_free(&train);
        make_set(&train, 0);
        st = hogmf_trainer_resume(&train, c->valid ? &valid : NULL, &p, ck, &t, &err);
        ck_assert_msg(st == HOGMF_OK, "%s: resume after epoch %u: %s", c->name,
                      c->stops[part], err.msg);
        uint32_t at = hogmf_trainer_model(t)->epochs_run;
        ck_assert_msg(at == c->stops[part] || (hogmf_trainer_done(t) && at < c->stops[part]),
                      "%s: resumed at epoch %u, expected %u", c->name, at, c->stops[part]);
    }
    run_to(t, p.epochs, c->name);
    hogmf_model *got = finish(&t, c->name);
    unlink(ck);
    check_same_model(want, got, c->name);
    hogmf_model_free(&want);
    hogmf_model_free(&got);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

/* ---------------------------------------------------------------- inspect */

START_TEST(test_inspect)
{
    hogmf_params p = case_params(&resume_cases[2]);
    hogmf_ratings train, valid;
    make_set(&train, 0);
    make_valid(&valid, 0);
    hogmf_trainer *t = NULL;
    hogmf_error err;
    ck_assert(hogmf_trainer_new(&train, &valid, &p, &t, &err) == HOGMF_OK);
    run_to(t, 3, "inspect");
    char ck[4096];
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    ck_assert(hogmf_checkpoint_save(t, ck, &err) == HOGMF_OK);
    hogmf_checkpoint_info ci;
    hogmf_status st = hogmf_checkpoint_inspect(ck, &ci, &err);
    unlink(ck);
    ck_assert_msg(st == HOGMF_OK, "inspect: %s", err.msg);
    const hogmf_model *m = hogmf_trainer_model(t);
    ck_assert_msg(ci.epoch == 3 && ci.m == train.m && ci.n == train.n && ci.k == p.k &&
                      ci.nnz == train.nnz && ci.valid_nnz == valid.nnz && ci.threads == 1 &&
                      ci.params.seed == p.seed && ci.params.epochs == p.epochs &&
                      ci.params.schedule_lr == HOGMF_LR_ADAGRAD &&
                      ci.train_rmse == m->train_rmse && ci.valid_rmse == m->valid_rmse,
                  "inspect: epoch %u m %u n %u k %u nnz %llu vnnz %llu threads %u", ci.epoch,
                  ci.m, ci.n, ci.k, (unsigned long long)ci.nnz,
                  (unsigned long long)ci.valid_nnz, ci.threads);
    /* 512-byte header, biases and factors, their best copy, 4 AdaGrad sums a row, the
     * ratings (12 bytes each) and the CRC. */
    uint64_t rows = (uint64_t)train.m + train.n;
    uint64_t want = 512 + 2 * rows * (p.k + 1) * 4 + rows * 8 + train.nnz * 12 + 4;
    ck_assert_msg(ci.file_bytes == want, "inspect: expected %llu bytes, found %llu",
                  (unsigned long long)want, (unsigned long long)ci.file_bytes);
    hogmf_trainer_free(&t);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

/* ---------------------------------------------------------------- corrupt files */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f != NULL && fwrite(data, 1, len, f) == len && fclose(f) == 0);
}

/* Writes a CRC-32 of buf[0..len-4) into its last 4 bytes (for crafted files). */
static void fix_crc(unsigned char *buf, size_t len);

#include <zlib.h>
static void fix_crc(unsigned char *buf, size_t len)
{
    uLong c = crc32(0L, buf, (uInt)(len - 4));
    for (int j = 0; j < 4; j++)
        buf[len - 4 + (size_t)j] = (unsigned char)(c >> (8 * j));
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int j = 0; j < 4; j++)
        p[j] = (unsigned char)(v >> (8 * j));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int j = 0; j < 8; j++)
        p[j] = (unsigned char)(v >> (8 * j));
}

typedef struct corrupt_case {
    const char *name;
    int kind;            /* 0 truncate to `arg` bytes (negative: from the end), 1 flip byte
                          * at `arg`, 2..: crafted headers */
    long arg;
    hogmf_status status;
    const char *expected;
} corrupt_case;

static const corrupt_case corrupt_cases[] = {
    {"empty file", 0, 0, HOGMF_ERR_FORMAT, "shorter than the header"},
    {"half a header", 0, 256, HOGMF_ERR_FORMAT, "shorter than the header"},
    {"header only", 0, 516, HOGMF_ERR_FORMAT, "file size does not match"},
    {"last byte missing", 0, -1, HOGMF_ERR_FORMAT, "file size does not match"},
    {"flipped magic", 1, 3, HOGMF_ERR_FORMAT, "wrong magic"},
    {"flipped byte in the factors", 1, 2000, HOGMF_ERR_FORMAT, "checksum mismatch"},
    {"flipped byte in the ratings", 1, -100, HOGMF_ERR_FORMAT, "checksum mismatch"},
    {"flipped byte in the CRC", 1, -2, HOGMF_ERR_FORMAT, "checksum mismatch"},
    {"version 2", 2, 2, HOGMF_ERR_FORMAT, "checkpoint format version 2, this hogmf reads "
                                          "version 1"},
    {"huge sizes, CRC fixed", 3, 0, HOGMF_ERR_FORMAT, "file size does not match"},
    {"unknown flag, CRC fixed", 4, 0, HOGMF_ERR_FORMAT, "out of range"},
    {"NaN in P, CRC fixed", 5, 0, HOGMF_ERR_FORMAT, "infinite or NaN"},
    {"rating index out of range, CRC fixed", 6, 0, HOGMF_ERR_FORMAT, "not a permutation"},
    {"a model file", 7, 0, HOGMF_ERR_FORMAT, "wrong magic"},
};

START_TEST(test_corrupt)
{
    const corrupt_case *c = &corrupt_cases[_i];
    hogmf_params p = case_params(&resume_cases[0]);
    hogmf_ratings train;
    make_set(&train, 0);
    hogmf_trainer *t = NULL;
    hogmf_error err;
    ck_assert(hogmf_trainer_new(&train, NULL, &p, &t, &err) == HOGMF_OK);
    run_to(t, 2, c->name);
    char ck[4096], bad[4096];
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    snprintf(bad, sizeof bad, "%s", temp_path(".bad"));
    ck_assert(hogmf_checkpoint_save(t, ck, &err) == HOGMF_OK);
    size_t len;
    unsigned char *buf = (unsigned char *)slurp(ck, &len);
    size_t at = c->arg < 0 ? len - (size_t)(-c->arg) : (size_t)c->arg;
    switch (c->kind) {
    case 0: len = at; break;
    case 1: buf[at] ^= 0x20; break;
    case 2: put32(buf + 8, 2); fix_crc(buf, len); break;
    case 3: /* sizes whose file would be terabytes; the size field agrees with them */
        put32(buf + 24, 4000000000u);
        put32(buf + 28, 4000000000u);
        put32(buf + 32, 65536);
        put64(buf + 16, 4000000000ull * 2 * 65537 * 4 * 2 + 516 + 8000000000ull * 12);
        fix_crc(buf, len);
        break;
    case 4: put32(buf + 36, 0x100); fix_crc(buf, len); break;
    case 5: {
        float nan = NAN;
        uint64_t rows = (uint64_t)train.m + train.n;
        memcpy(buf + 512 + rows * 4 + 4, &nan, 4); /* P[0][1] */
        fix_crc(buf, len);
        break;
    }
    case 6: put32(buf + len - 4 - 12, train.m); fix_crc(buf, len); break; /* last rating's u */
    case 7: {
        hogmf_model *m = NULL;
        ck_assert(hogmf_trainer_finish(t, &m, &err) == HOGMF_OK);
        ck_assert(hogmf_model_save(m, bad, &err) == HOGMF_OK);
        hogmf_model_free(&m);
        free(buf);
        buf = (unsigned char *)slurp(bad, &len);
        break;
    }
    }
    spit(bad, buf, len);
    free(buf);
    hogmf_trainer_free(&t);

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* An allocation sized by the header would fail under this limit (NOMEM) instead of the
     * file being rejected (FORMAT). Check runs each test in its own process. */
    struct rlimit rl = {256u << 20, 256u << 20};
    ck_assert(setrlimit(RLIMIT_AS, &rl) == 0);
#endif
    hogmf_checkpoint_info ci;
    hogmf_status st = hogmf_checkpoint_inspect(bad, &ci, &err);
    if (c->kind < 5) { /* the later ones are only caught when the state is read */
        ck_assert_msg(st == c->status && strstr(err.msg, c->expected) &&
                          strncmp(err.msg, bad, strlen(bad)) == 0,
                      "%s (inspect): expected status %d with '%s', found %d: %s", c->name,
                      (int)c->status, c->expected, (int)st, err.msg);
    }
    hogmf_ratings_free(&train);
    make_set(&train, 0);
    st = hogmf_trainer_resume(&train, NULL, &p, bad, &t, &err);
    ck_assert_msg(st == c->status && strstr(err.msg, c->expected) &&
                      strncmp(err.msg, bad, strlen(bad)) == 0,
                  "%s (resume): expected status %d with '%s', found %d: %s", c->name,
                  (int)c->status, c->expected, (int)st, err.msg);
    ck_assert_msg(t == NULL, "%s: a trainer was returned on failure", c->name);
    unlink(ck);
    unlink(bad);
    hogmf_ratings_free(&train);
}
END_TEST

START_TEST(test_missing_and_not_regular)
{
    hogmf_checkpoint_info ci;
    hogmf_error err;
    const char *missing = "/nonexistent/hogmf.ckpt";
    hogmf_status st = hogmf_checkpoint_inspect(missing, &ci, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "/nonexistent/hogmf.ckpt: cannot open"),
                  "missing: %d %s", (int)st, err.msg);
    st = hogmf_checkpoint_inspect("/tmp", &ci, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "expected a regular file"),
                  "directory: %d %s", (int)st, err.msg);
}
END_TEST

/* ---------------------------------------------------------------- foreign checkpoints */

static int saw_thread_warning;

static void catch_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == 1 && strstr(msg, "threads") && strstr(msg, "not be bit-identical"))
        saw_thread_warning = 1;
}

START_TEST(test_mismatch)
{
    hogmf_params p = case_params(&resume_cases[2]);
    hogmf_ratings train, valid;
    make_set(&train, 0);
    make_valid(&valid, 0);
    hogmf_trainer *t = NULL;
    hogmf_error err;
    ck_assert(hogmf_trainer_new(&train, &valid, &p, &t, &err) == HOGMF_OK);
    run_to(t, 2, "mismatch");
    char ck[4096];
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    ck_assert(hogmf_checkpoint_save(t, ck, &err) == HOGMF_OK);
    hogmf_trainer_free(&t);
    hogmf_ratings_free(&train);

    /* Other training data: one rating differs. */
    make_set(&train, 1);
    hogmf_status st = hogmf_trainer_resume(&train, &valid, &p, ck, &t, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID && strstr(err.msg, "other training data") &&
                      strstr(err.msg, "other ids or ratings"),
                  "other data: %d %s", (int)st, err.msg);
    hogmf_ratings_free(&train);

    /* Other validation data. */
    make_set(&train, 0);
    hogmf_ratings valid2;
    make_valid(&valid2, 1);
    st = hogmf_trainer_resume(&train, &valid2, &p, ck, &t, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID && strstr(err.msg, "other validation data"),
                  "other validation: %d %s", (int)st, err.msg);
    st = hogmf_trainer_resume(&train, NULL, &p, ck, &t, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID && strstr(err.msg, "other validation data"),
                  "no validation: %d %s", (int)st, err.msg);
    hogmf_ratings_free(&valid2);

    /* Other parameters: the message names the first that differs. */
    hogmf_params q = p;
    q.lr = 0.03f;
    st = hogmf_trainer_resume(&train, &valid, &q, ck, &t, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID &&
                      strstr(err.msg, "learning rate: 0.02 in the checkpoint, 0.03 in this run"),
                  "other lr: %d %s", (int)st, err.msg);
    q = p;
    q.seed = 8;
    st = hogmf_trainer_resume(&train, &valid, &q, ck, &t, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID && strstr(err.msg, "seed: 7 in the checkpoint"),
                  "other seed: %d %s", (int)st, err.msg);

    /* More epochs and another thread count are allowed; the latter is warned about. */
    q = p;
    q.epochs = 20;
    q.threads = 2;
    q.log = catch_log;
    saw_thread_warning = 0;
    st = hogmf_trainer_resume(&train, &valid, &q, ck, &t, &err);
    ck_assert_msg(st == HOGMF_OK, "more epochs, 2 threads: %d %s", (int)st, err.msg);
    ck_assert_msg(saw_thread_warning, "no warning about the thread count");
    ck_assert(hogmf_trainer_model(t)->epochs_run == 2 && !hogmf_trainer_done(t));
    hogmf_trainer_free(&t);
    unlink(ck);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

/* ---------------------------------------------------------------- deterministic */

/* A deterministic run saved by one thread and resumed by three ends with the parameters of
 * an uninterrupted one-thread run, bit for bit, without the warning about the thread count;
 * the checkpoint records the flag, and resuming it without the flag is refused. No
 * validation: the decisions taken from the evaluation pass's sums are not what is tested. */
START_TEST(test_resume_deterministic_other_threads)
{
    hogmf_params p = case_params(&resume_cases[1]);
    p.deterministic = 1;
    p.patience = 0;
    hogmf_error err;
    hogmf_ratings train;
    make_set(&train, 0);
    hogmf_trainer *t = NULL;
    ck_assert(hogmf_trainer_new(&train, NULL, &p, &t, &err) == HOGMF_OK);
    run_to(t, p.epochs, "deterministic");
    hogmf_model *want = finish(&t, "deterministic");
    hogmf_ratings_free(&train);

    char ck[4096];
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    make_set(&train, 0);
    ck_assert(hogmf_trainer_new(&train, NULL, &p, &t, &err) == HOGMF_OK);
    run_to(t, 3, "deterministic");
    ck_assert(hogmf_checkpoint_save(t, ck, &err) == HOGMF_OK);
    hogmf_trainer_free(&t);
    hogmf_ratings_free(&train);
    hogmf_checkpoint_info ci;
    ck_assert_msg(hogmf_checkpoint_inspect(ck, &ci, &err) == HOGMF_OK, "inspect: %s", err.msg);
    ck_assert_msg(ci.params.deterministic == 1 && ci.threads == 1,
                  "inspect: deterministic %d, threads %u", ci.params.deterministic, ci.threads);

    hogmf_params q = p;
    q.deterministic = 0;
    make_set(&train, 0);
    hogmf_status st = hogmf_trainer_resume(&train, NULL, &q, ck, &t, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID && strstr(err.msg, "deterministic: 1 in the checkpoint"),
                  "resumed without the flag: %d %s", (int)st, err.msg);
    hogmf_ratings_free(&train);

    q = p;
    q.threads = 3;
    q.log = catch_log;
    saw_thread_warning = 0;
    make_set(&train, 0);
    st = hogmf_trainer_resume(&train, NULL, &q, ck, &t, &err);
    ck_assert_msg(st == HOGMF_OK, "resume with 3 threads: %d %s", (int)st, err.msg);
    ck_assert_msg(!saw_thread_warning, "warned about the thread count of a deterministic run");
    run_to(t, p.epochs, "deterministic, 3 threads");
    hogmf_model *got = finish(&t, "deterministic, 3 threads");
    unlink(ck);
    check_same_params(want, got, "deterministic, 1 then 3 threads");
    ck_assert_uint_eq(got->epochs_run, want->epochs_run);
    hogmf_model_free(&want);
    hogmf_model_free(&got);
    hogmf_ratings_free(&train);
}
END_TEST

/* ---------------------------------------------------------------- failed saves */

static int temp_files_in(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    ck_assert(d != NULL);
    int count = 0;
    struct dirent *e;
    size_t pl = strlen(prefix);
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, pl) == 0 && strstr(e->d_name, ".tmp."))
            count++;
    closedir(d);
    return count;
}

START_TEST(test_failed_save)
{
    hogmf_params p = case_params(&resume_cases[0]);
    hogmf_ratings train;
    make_set(&train, 0);
    hogmf_trainer *t = NULL;
    hogmf_error err;
    ck_assert(hogmf_trainer_new(&train, NULL, &p, &t, &err) == HOGMF_OK);
    run_to(t, 1, "failed save");
    char ck[4096];
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    ck_assert(hogmf_checkpoint_save(t, ck, &err) == HOGMF_OK);
    size_t len;
    char *before = slurp(ck, &len);
    run_to(t, 2, "failed save");

    /* A file size limit below the checkpoint's size: the write fails half-way (EFBIG). */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {len / 2, len / 2};
    ck_assert(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    hogmf_status st = hogmf_checkpoint_save(t, ck, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "write failed") &&
                      strncmp(err.msg, ck, strlen(ck)) == 0,
                  "save over the size limit: expected IO 'write failed', found %d: %s", (int)st,
                  err.msg);
    size_t len2;
    char *after = slurp(ck, &len2);
    ck_assert_msg(len2 == len && memcmp(before, after, len) == 0,
                  "the old checkpoint changed after a failed save");
    const char *slash = strrchr(ck, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - ck), ck);
    ck_assert_msg(temp_files_in(dir, slash + 1) == 0, "a temporary file was left in %s", dir);

    /* A full device is written in place (it cannot be renamed over): a clear error. */
    st = hogmf_checkpoint_save(t, "/dev/full", &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "/dev/full: write failed"),
                  "/dev/full: %d %s", (int)st, err.msg);
    st = hogmf_checkpoint_save(t, "/nonexistent/dir/x.ckpt", &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "/nonexistent/dir/x.ckpt"),
                  "missing folder: %d %s", (int)st, err.msg);
    free(before);
    free(after);
    unlink(ck);
    hogmf_trainer_free(&t);
    hogmf_ratings_free(&train);
}
END_TEST

/* hogmf_trainer_save_model writes the model hogmf_trainer_finish hands over (here the best
 * epoch's, not the last one's), byte for byte, and leaves the trainer able to checkpoint. */
START_TEST(test_save_model_is_finish)
{
    hogmf_params p = case_params(&resume_cases[0]);
    p.epochs = 60;
    p.lr = 0.05f;
    p.lambda_p = p.lambda_q = p.lambda_b = 0.0f; /* overfits: the best epoch is not the last */
    hogmf_ratings train, valid;
    make_set(&train, 0);
    make_valid(&valid, 0);
    hogmf_trainer *t = NULL;
    hogmf_error err;
    ck_assert(hogmf_trainer_new(&train, &valid, &p, &t, &err) == HOGMF_OK);
    run_to(t, p.epochs, "save model");
    char a[4096], b[4096], ck[4096];
    snprintf(a, sizeof a, "%s", temp_path(".model"));
    snprintf(b, sizeof b, "%s", temp_path(".model"));
    snprintf(ck, sizeof ck, "%s", temp_path(".ckpt"));
    ck_assert_msg(hogmf_trainer_save_model(t, a, &err) == HOGMF_OK, "save model: %s", err.msg);
    ck_assert_msg(hogmf_checkpoint_save(t, ck, &err) == HOGMF_OK, "checkpoint after: %s",
                  err.msg);
    hogmf_model *m = finish(&t, "save model");
    ck_assert_msg(m->best_epoch < m->epochs_run, "best epoch %u of %u: the test needs an "
                  "earlier best epoch", m->best_epoch, m->epochs_run);
    ck_assert(hogmf_model_save(m, b, &err) == HOGMF_OK);
    size_t la, lb;
    char *fa = slurp(a, &la), *fb = slurp(b, &lb);
    ck_assert_msg(la == lb && memcmp(fa, fb, la) == 0,
                  "hogmf_trainer_save_model differs from the finished model's file");
    free(fa);
    free(fb);
    unlink(a);
    unlink(b);
    unlink(ck);
    hogmf_model_free(&m);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
}
END_TEST

Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("resume");
    tcase_add_loop_test(tc, test_resume_bit_identical, 0,
                        (int)(sizeof resume_cases / sizeof resume_cases[0]));
    tcase_add_test(tc, test_inspect);
    tcase_add_test(tc, test_mismatch);
    tcase_add_test(tc, test_resume_deterministic_other_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("corrupt");
    tcase_add_loop_test(tc, test_corrupt, 0, (int)(sizeof corrupt_cases / sizeof corrupt_cases[0]));
    tcase_add_test(tc, test_missing_and_not_regular);
    tcase_add_test(tc, test_failed_save);
    tcase_add_test(tc, test_save_model_is_finish);
    suite_add_tcase(s, tc);
    return s;
}
