/*
 * checkpoint.c - the training state between epochs as a file, and a trainer resumed from it.
 * A checkpoint holds the model, the best-epoch copy, the AdaGrad sums, the counters of the
 * training loop and the order of the training ratings, plus a fingerprint of the training and
 * validation data and the parameters, so a run resumed from it continues bit for bit (with
 * the same thread count, or any with the deterministic schedule). The RNG needs no saving:
 * every epoch's streams derive from (seed, epoch, thread or tile). It does not save the
 * ratings themselves: resuming reads them again.
 *
 * Layout (little-endian): a 512-byte header, then the biases and factors (unpadded), the
 * best copy, the AdaGrad sums, the training ratings (u, i, r) in their current order, and a
 * CRC-32 of everything before it. Loading checks magic, version, sizes against the file
 * size and the CRC in a first streaming pass; only then does it allocate (sized by the
 * training data, never by the header) and read in a second pass.
 */
#define _POSIX_C_SOURCE 200809L
#include "bytes.h"
#include "trainer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC "HOGMFCKP"
#define CKPT_VERSION 1u
#define CKPT_HEADER 512u

enum {
    CK_DATA = 1u,    /* the ratings' order is stored (the order changes every epoch) */
    CK_BEST = 2u,    /* the best-epoch copy is stored */
    CK_ADAGRAD = 4u, /* the AdaGrad sums are stored */
    CK_STOP = 8u,    /* early stopping had triggered */
    CK_KNOWN = 15u
};

_Static_assert(sizeof(hogmf_rating) == 12, "hogmf_rating is stored as 12 bytes");

/* ---------------------------------------------------------------- fingerprints */

/* Hash of a set of ratings by original ids, independent of their order and of how the
 * users and items are numbered (the trainer reorders the ratings and may renumber them):
 * uids[x.u] and iids[x.i] are the original ids (NULL: the indices themselves). */
static uint64_t fingerprint(const hogmf_rating *x, size_t nnz, const uint32_t *uids, uint32_t m,
                            const uint32_t *iids, uint32_t n)
{
    uint64_t sum = 0;
    for (size_t j = 0; j < nnz; j++) {
        uint32_t rb;
        memcpy(&rb, &x[j].r, 4);
        uint64_t u = uids ? uids[x[j].u] : x[j].u, i = iids ? iids[x[j].i] : x[j].i;
        uint64_t h = (u << 32 | i) ^ ((uint64_t)rb * 0x9E3779B97F4A7C15ull);
        sum += hogmf__splitmix64(&h);
    }
    uint64_t h = ((uint64_t)m * 0xD1B54A32D192ED03ull) ^ n ^ nnz;
    return sum ^ hogmf__splitmix64(&h);
}

/* Of a ratings set with its own numbering. */
static uint64_t train_fingerprint(const hogmf_ratings *r)
{
    return fingerprint(r->data, r->nnz, r->user_ids, r->m, r->item_ids, r->n);
}

/* Of the training ratings while a trainer holds them (numbered as the model's rows). */
static uint64_t trainer_fingerprint(const hogmf_trainer *t)
{
    const hogmf_ratings *r = t->train;
    return fingerprint(r->data, r->nnz, t->model->user_ids, r->m, t->model->item_ids, r->n);
}

/* ---------------------------------------------------------------- the header */

typedef struct ckhead {
    uint64_t file_bytes;
    uint32_t m, n, k, flags;
    uint64_t nnz, train_fp, vnnz, valid_fp;
    uint32_t epoch;
    float lr;
    double best_valid, best_valid_train, ref_valid, best_train;
    uint32_t since, best_epoch;
    double last_monitor;
    float mu, rmin, rmax;
    uint32_t model_best_epoch;
    double model_train_rmse, model_valid_rmse;
    uint32_t epochs_run;
    hogmf_params params; /* callbacks NULL */
    uint32_t threads_used;
} ckhead;

/* A cursor over the header bytes; every field is written and read in the same order. */
typedef struct cursor {
    unsigned char *p;
} cursor;

static void w32(cursor *c, uint32_t v) { hogmf__put_u32(c->p, v); c->p += 4; }
static void w64(cursor *c, uint64_t v) { hogmf__put_u64(c->p, v); c->p += 8; }
static void wf(cursor *c, float v) { hogmf__put_f32(c->p, v); c->p += 4; }
static void wd(cursor *c, double v) { hogmf__put_f64(c->p, v); c->p += 8; }
static uint32_t r32(cursor *c) { uint32_t v = hogmf__get_u32(c->p); c->p += 4; return v; }
static uint64_t r64(cursor *c) { uint64_t v = hogmf__get_u64(c->p); c->p += 8; return v; }
static float rf(cursor *c) { float v = hogmf__get_f32(c->p); c->p += 4; return v; }
static double rd(cursor *c) { double v = hogmf__get_f64(c->p); c->p += 8; return v; }

static void head_encode(const ckhead *h, unsigned char *buf)
{
    memset(buf, 0, CKPT_HEADER);
    memcpy(buf, CKPT_MAGIC, 8);
    cursor c = {buf + 8};
    w32(&c, CKPT_VERSION);
    w32(&c, CKPT_HEADER);
    w64(&c, h->file_bytes);
    w32(&c, h->m);
    w32(&c, h->n);
    w32(&c, h->k);
    w32(&c, h->flags);
    w64(&c, h->nnz);
    w64(&c, h->train_fp);
    w64(&c, h->vnnz);
    w64(&c, h->valid_fp);
    w32(&c, h->epoch);
    wf(&c, h->lr);
    wd(&c, h->best_valid);
    wd(&c, h->best_valid_train);
    wd(&c, h->ref_valid);
    wd(&c, h->best_train);
    w32(&c, h->since);
    w32(&c, h->best_epoch);
    wd(&c, h->last_monitor);
    wf(&c, h->mu);
    wf(&c, h->rmin);
    wf(&c, h->rmax);
    w32(&c, h->model_best_epoch);
    wd(&c, h->model_train_rmse);
    wd(&c, h->model_valid_rmse);
    w32(&c, h->epochs_run);
    const hogmf_params *p = &h->params;
    w32(&c, p->epochs);
    wf(&c, p->lr);
    wf(&c, p->lr_decay);
    wf(&c, p->lambda_b);
    wf(&c, p->lambda_p);
    wf(&c, p->lambda_q);
    wf(&c, p->init_sd);
    w32(&c, (uint32_t)p->threads);
    w64(&c, p->seed);
    wd(&c, p->tol);
    w32(&c, p->patience);
    wd(&c, p->diverge_factor);
    w32(&c, (uint32_t)p->schedule_lr);
    wf(&c, p->l1_p);
    wf(&c, p->l1_q);
    w32(&c, (uint32_t)p->nonneg);
    w32(&c, (uint32_t)p->order);
    w32(&c, (uint32_t)p->schedule);
    w32(&c, (uint32_t)p->pin);
    w32(&c, h->threads_used);
    w32(&c, (uint32_t)p->deterministic); /* 0 in checkpoints written before the flag */
}

static void head_decode(ckhead *h, const unsigned char *buf)
{
    memset(h, 0, sizeof *h);
    cursor c = {(unsigned char *)buf + 16};
    h->file_bytes = r64(&c);
    h->m = r32(&c);
    h->n = r32(&c);
    h->k = r32(&c);
    h->flags = r32(&c);
    h->nnz = r64(&c);
    h->train_fp = r64(&c);
    h->vnnz = r64(&c);
    h->valid_fp = r64(&c);
    h->epoch = r32(&c);
    h->lr = rf(&c);
    h->best_valid = rd(&c);
    h->best_valid_train = rd(&c);
    h->ref_valid = rd(&c);
    h->best_train = rd(&c);
    h->since = r32(&c);
    h->best_epoch = r32(&c);
    h->last_monitor = rd(&c);
    h->mu = rf(&c);
    h->rmin = rf(&c);
    h->rmax = rf(&c);
    h->model_best_epoch = r32(&c);
    h->model_train_rmse = rd(&c);
    h->model_valid_rmse = rd(&c);
    h->epochs_run = r32(&c);
    hogmf_params *p = &h->params;
    p->k = h->k;
    p->epochs = r32(&c);
    p->lr = rf(&c);
    p->lr_decay = rf(&c);
    p->lambda_b = rf(&c);
    p->lambda_p = rf(&c);
    p->lambda_q = rf(&c);
    p->init_sd = rf(&c);
    p->threads = (int)r32(&c);
    p->seed = r64(&c);
    p->tol = rd(&c);
    p->patience = r32(&c);
    p->diverge_factor = rd(&c);
    p->schedule_lr = (hogmf_lr_schedule)r32(&c);
    p->l1_p = rf(&c);
    p->l1_q = rf(&c);
    p->nonneg = (int)r32(&c);
    p->order = (hogmf_order)r32(&c);
    p->schedule = (hogmf_schedule)r32(&c);
    p->pin = (hogmf_pin)r32(&c);
    h->threads_used = r32(&c);
    p->deterministic = (int)r32(&c);
}

/* Bytes of the file for the sizes and flags in h, or 0 when that overflows. */
static uint64_t ckpt_bytes(const ckhead *h)
{
    uint64_t rows = (uint64_t)h->m + h->n, per_row, model, total = CKPT_HEADER + 4;
    if (__builtin_mul_overflow((uint64_t)h->k + 1, 4, &per_row) ||
        __builtin_mul_overflow(rows, per_row, &model))
        return 0;
    if (__builtin_add_overflow(total, model, &total))
        return 0;
    if ((h->flags & CK_BEST) && __builtin_add_overflow(total, model, &total))
        return 0;
    if ((h->flags & CK_ADAGRAD) && __builtin_add_overflow(total, 8 * rows, &total))
        return 0;
    uint64_t data;
    if ((h->flags & CK_DATA) && (__builtin_mul_overflow(h->nnz, 12, &data) ||
                                 __builtin_add_overflow(total, data, &total)))
        return 0;
    return total;
}

/* ---------------------------------------------------------------- save */

/* The atomic output file plus the running CRC of what went into it. */
typedef struct ckwriter {
    hogmf_outfile f;
    uint32_t crc;
} ckwriter;

static void put_bytes(ckwriter *w, const void *p, size_t len)
{
    w->crc = hogmf__crc32(w->crc, p, len);
    hogmf__out_write(&w->f, p, len);
}

static void put_words(ckwriter *w, const void *src, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    put_bytes(w, src, count * 4);
#else
    unsigned char tmp[4096];
    const uint32_t *s = src;
    while (count > 0) {
        size_t c = count < 1024 ? count : 1024;
        hogmf__put_words(tmp, s, c);
        put_bytes(w, tmp, c * 4);
        s += c;
        count -= c;
    }
#endif
}

/* m rows of k floats out of rows of `stride`. */
static void put_rows(ckwriter *w, const float *X, uint32_t rows, uint32_t k, uint32_t stride)
{
    for (uint32_t r = 0; r < rows; r++)
        put_words(w, X + (size_t)r * stride, k);
}

hogmf_status hogmf_checkpoint_save(const hogmf_trainer *t, const char *path, hogmf_error *err)
{
    const hogmf_model *model = t->model;
    if (!model)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "%s: the trainer has handed over its model; nothing to save", path);
    ckhead h;
    memset(&h, 0, sizeof h);
    h.m = model->m;
    h.n = model->n;
    h.k = model->k;
    h.flags = (t->grid ? 0 : CK_DATA) | (t->keep_best ? CK_BEST : 0) |
              (t->gp ? CK_ADAGRAD : 0) | (t->stop ? CK_STOP : 0);
    h.nnz = t->train->nnz;
    h.train_fp = trainer_fingerprint(t);
    h.vnnz = t->vnnz;
    h.valid_fp = t->vx ? fingerprint(t->vx, t->vnnz, NULL, 0, NULL, 0) : 0;
    h.epoch = t->epoch;
    h.lr = t->lr;
    h.best_valid = t->best_valid;
    h.best_valid_train = t->best_valid_train;
    h.ref_valid = t->ref_valid;
    h.best_train = t->best_train;
    h.since = t->since;
    h.best_epoch = t->best_epoch;
    h.last_monitor = t->last_monitor;
    h.mu = model->mu;
    h.rmin = model->rmin;
    h.rmax = model->rmax;
    h.model_best_epoch = model->best_epoch;
    h.model_train_rmse = model->train_rmse;
    h.model_valid_rmse = model->valid_rmse;
    h.epochs_run = model->epochs_run;
    h.params = t->params;
    h.threads_used = (uint32_t)t->threads;
    h.file_bytes = ckpt_bytes(&h);
    if (h.file_bytes == 0)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: checkpoint too large", path);

    ckwriter w;
    w.crc = 0;
    hogmf_status st = hogmf__out_open(&w.f, path, err);
    if (st != HOGMF_OK)
        return st;
    unsigned char head[CKPT_HEADER];
    head_encode(&h, head);
    put_bytes(&w, head, sizeof head);
    put_words(&w, model->bu, model->m);
    put_words(&w, model->bi, model->n);
    put_rows(&w, model->P, model->m, model->k, model->stride);
    put_rows(&w, model->Q, model->n, model->k, model->stride);
    if (h.flags & CK_BEST) {
        put_words(&w, t->bestbu, model->m);
        put_words(&w, t->bestbi, model->n);
        put_rows(&w, t->bestP, model->m, model->k, model->stride);
        put_rows(&w, t->bestQ, model->n, model->k, model->stride);
    }
    if (h.flags & CK_ADAGRAD) {
        put_words(&w, t->gp, model->m);
        put_words(&w, t->gq, model->n);
        put_words(&w, t->gbu, model->m);
        put_words(&w, t->gbi, model->n);
    }
    if (h.flags & CK_DATA)
        put_words(&w, t->train->data, (size_t)t->train->nnz * 3);
    unsigned char crc[4];
    hogmf__put_u32(crc, w.crc);
    hogmf__out_write(&w.f, crc, 4);
    return hogmf__out_commit(&w.f, err);
}

/* ---------------------------------------------------------------- load */

/* A buffered reader over the file that keeps the CRC of what it returned. */
typedef struct ckreader {
    const char *path;
    int fd;
    unsigned char *buf;
    size_t pos, len;
    uint32_t crc;
    uint64_t size; /* file size from fstat */
} ckreader;

#define READ_BUFSIZE (1u << 20)

static hogmf_status corrupt(hogmf_error *err, const char *path, const char *what)
{
    return hogmf__fail(err, HOGMF_ERR_FORMAT, 0, "%s: not a valid hogmf checkpoint: %s", path,
                       what);
}

static void reader_close(ckreader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    r->fd = -1;
    r->buf = NULL;
}

static hogmf_status reader_open(ckreader *r, const char *path, hogmf_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    hogmf_status st = hogmf__open_regular(path, &r->fd, &r->size, err);
    if (st != HOGMF_OK)
        return st;
    r->buf = malloc(READ_BUFSIZE);
    if (!r->buf) {
        reader_close(r);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    }
    return HOGMF_OK;
}

/* Reads exactly len bytes into dst (NULL: skip them), adding them to the CRC. 0, or -1 at a
 * premature end of the file or a read error (errno set; 0 for the end). */
static int reader_get(ckreader *r, void *dst, size_t len)
{
    unsigned char *d = dst;
    while (len > 0) {
        if (r->pos == r->len) {
            ssize_t got;
            do
                got = read(r->fd, r->buf, READ_BUFSIZE);
            while (got < 0 && errno == EINTR);
            if (got <= 0) {
                if (got == 0)
                    errno = 0;
                return -1;
            }
            r->pos = 0;
            r->len = (size_t)got;
        }
        size_t n = r->len - r->pos < len ? r->len - r->pos : len;
        r->crc = hogmf__crc32(r->crc, r->buf + r->pos, n);
        if (d) {
            memcpy(d, r->buf + r->pos, n);
            d += n;
        }
        r->pos += n;
        len -= n;
    }
    return 0;
}

static hogmf_status short_read(hogmf_error *err, const char *path)
{
    if (errno)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: read failed: %s", path, strerror(errno));
    return corrupt(err, path, "the file ended early (it changed while being read?)");
}

/* Reads count little-endian words into dst. */
static int get_words(ckreader *r, void *dst, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return reader_get(r, dst, count * 4);
#else
    unsigned char tmp[4096];
    uint32_t *d = dst;
    while (count > 0) {
        size_t c = count < 1024 ? count : 1024;
        if (reader_get(r, tmp, c * 4) != 0)
            return -1;
        hogmf__get_words(d, tmp, c);
        d += c;
        count -= c;
    }
    return 0;
#endif
}

static int get_rows(ckreader *r, float *X, uint32_t rows, uint32_t k, uint32_t stride)
{
    for (uint32_t u = 0; u < rows; u++)
        if (get_words(r, X + (size_t)u * stride, k) != 0)
            return -1;
    return 0;
}

/* Pass 1: header checks, sizes against the file size, and the CRC over the whole file,
 * without any allocation beyond the read buffer. Leaves r open at the start of the file. */
static hogmf_status verify(ckreader *r, ckhead *h, hogmf_error *err)
{
    const char *path = r->path;
    unsigned char head[CKPT_HEADER];
    if (r->size < CKPT_HEADER + 4)
        return corrupt(err, path, "the file is shorter than the header");
    if (reader_get(r, head, sizeof head) != 0)
        return short_read(err, path);
    if (memcmp(head, CKPT_MAGIC, 8) != 0)
        return corrupt(err, path, "wrong magic (expected \"" CKPT_MAGIC "\")");
    uint32_t version = hogmf__get_u32(head + 8);
    if (version != CKPT_VERSION)
        return hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                           "%s: checkpoint format version %u, this hogmf reads version %u", path,
                           version, CKPT_VERSION);
    if (hogmf__get_u32(head + 12) != CKPT_HEADER)
        return corrupt(err, path, "unexpected header size");
    head_decode(h, head);
    if (h->m == 0 || h->n == 0 || h->m == UINT32_MAX || h->n == UINT32_MAX || h->k == 0 ||
        h->k > 65536 || h->nnz == 0 || (h->flags & ~(uint32_t)CK_KNOWN) != 0)
        return corrupt(err, path, "sizes or flags in the header are out of range");
    uint64_t want = ckpt_bytes(h);
    if (want == 0 || want != h->file_bytes || want != r->size)
        return corrupt(err, path,
                       "the file size does not match the sizes in the header (truncated?)");
    if (reader_get(r, NULL, (size_t)(want - CKPT_HEADER - 4)) != 0)
        return short_read(err, path);
    uint32_t crc_data = r->crc;
    unsigned char tail[4];
    if (reader_get(r, tail, 4) != 0)
        return short_read(err, path);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (crc_data != hogmf__get_u32(tail))
        return corrupt(err, path, "checksum mismatch (corrupt file)");
#else
    (void)crc_data;
#endif
    if (h->epoch > 100000000u || h->best_epoch > h->epoch || h->since > h->epoch ||
        (uint32_t)h->params.schedule_lr > HOGMF_LR_ADAGRAD ||
        (uint32_t)h->params.order > HOGMF_ORDER_BLOCKS ||
        (uint32_t)h->params.schedule > HOGMF_SCHEDULE_BLOCKS ||
        (uint32_t)h->params.pin > HOGMF_PIN_SPREAD || (uint32_t)h->params.deterministic > 1)
        return corrupt(err, path, "values in the header are out of range");
    if (!isfinite(h->mu) || !isfinite(h->rmin) || !isfinite(h->rmax) || h->rmin > h->rmax ||
        !isfinite(h->lr))
        return corrupt(err, path, "the mean, rating range or learning rate is not finite");
    if (lseek(r->fd, 0, SEEK_SET) != 0)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot seek: %s", path, strerror(errno));
    r->pos = r->len = 0;
    r->crc = 0;
    return HOGMF_OK;
}

hogmf_status hogmf_checkpoint_inspect(const char *path, hogmf_checkpoint_info *out,
                                      hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    ckreader r;
    hogmf_status st = reader_open(&r, path, err);
    if (st != HOGMF_OK)
        return st;
    ckhead h;
    st = verify(&r, &h, err);
    reader_close(&r);
    if (st != HOGMF_OK)
        return st;
    out->version = CKPT_VERSION;
    out->file_bytes = h.file_bytes;
    out->m = h.m;
    out->n = h.n;
    out->k = h.k;
    out->nnz = h.nnz;
    out->valid_nnz = h.vnnz;
    out->epoch = h.epoch;
    out->stopped = (h.flags & CK_STOP) != 0;
    out->threads = h.threads_used;
    out->lr = h.lr;
    out->train_rmse = h.model_train_rmse;
    out->valid_rmse = h.model_valid_rmse;
    out->best_epoch = h.best_epoch;
    out->best_valid_rmse = h.best_valid;
    out->params = h.params;
    return HOGMF_OK;
}

/* The first training parameter that differs between a checkpoint and a run, or NULL. The
 * epoch limit, the thread count and pinning may differ. */
static const char *param_mismatch(const hogmf_params *a, const hogmf_params *b, char *buf,
                                  size_t cap)
{
#define DIFF(field, name, fmt, cast)                                                           \
    if (a->field != b->field) {                                                                \
        snprintf(buf, cap, "%s: %" fmt " in the checkpoint, %" fmt " in this run", name,       \
                 (cast)a->field, (cast)b->field);                                              \
        return buf;                                                                            \
    }
    DIFF(k, "factors", "u", unsigned)
    DIFF(lr, "learning rate", "g", double)
    DIFF(lr_decay, "lr decay", "g", double)
    DIFF(lambda_b, "bias regularisation", "g", double)
    DIFF(lambda_p, "P regularisation", "g", double)
    DIFF(lambda_q, "Q regularisation", "g", double)
    DIFF(init_sd, "init sd", "g", double)
    DIFF(seed, "seed", "llu", unsigned long long)
    DIFF(tol, "tol", "g", double)
    DIFF(patience, "patience", "u", unsigned)
    DIFF(diverge_factor, "diverge factor", "g", double)
    DIFF(schedule_lr, "learning-rate schedule", "d", int)
    DIFF(l1_p, "L1 of P", "g", double)
    DIFF(l1_q, "L1 of Q", "g", double)
    DIFF(nonneg, "nonneg", "d", int)
    DIFF(order, "order", "d", int)
    DIFF(schedule, "schedule", "d", int)
    DIFF(deterministic, "deterministic", "d", int)
#undef DIFF
    return NULL;
}

static int all_finite(const float *x, size_t count)
{
    for (size_t j = 0; j < count; j++)
        if (!isfinite(x[j]))
            return 0;
    return 1;
}

static int rows_finite(const float *X, uint32_t rows, uint32_t k, uint32_t stride)
{
    for (uint32_t r = 0; r < rows; r++)
        if (!all_finite(X + (size_t)r * stride, k))
            return 0;
    return 1;
}

hogmf_status hogmf_trainer_resume(hogmf_ratings *train, const hogmf_ratings *valid,
                                  const hogmf_params *params, const char *path,
                                  hogmf_trainer **out, hogmf_error *err)
{
    *out = NULL;
    ckreader r;
    hogmf_status st = reader_open(&r, path, err);
    if (st != HOGMF_OK)
        return st;
    hogmf_trainer *t = NULL;
    ckhead h;
    char why[256];
    if ((st = verify(&r, &h, err)) != HOGMF_OK)
        goto fail;

    /* The checkpoint must belong to this training data and these parameters. */
    if (h.m != train->m || h.n != train->n || h.nnz != train->nnz ||
        h.train_fp != train_fingerprint(train)) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "%s: the checkpoint was written for other training data (%llu ratings, "
                         "%u users, %u items; this run has %zu, %u, %u%s)",
                         path, (unsigned long long)h.nnz, h.m, h.n, train->nnz, train->m,
                         train->n,
                         h.m == train->m && h.n == train->n && h.nnz == train->nnz
                             ? ", but other ids or ratings"
                             : "");
        goto fail;
    }
    if (param_mismatch(&h.params, params, why, sizeof why)) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "%s: the checkpoint was written with other training parameters: %s",
                         path, why);
        goto fail;
    }
    if ((st = hogmf_trainer_new(train, valid, params, &t, err)) != HOGMF_OK)
        goto fail;
    uint64_t vfp = t->vx ? fingerprint(t->vx, t->vnnz, NULL, 0, NULL, 0) : 0;
    if (h.vnnz != t->vnnz || h.valid_fp != vfp) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "%s: the checkpoint was written with other validation data (%llu "
                         "ratings; this run has %zu)",
                         path, (unsigned long long)h.vnnz, t->vnnz);
        goto fail;
    }
    if (!!(h.flags & CK_BEST) != !!t->keep_best || !!(h.flags & CK_ADAGRAD) != !!t->gp ||
        !!(h.flags & CK_DATA) != !t->grid) {
        st = corrupt(err, path, "its flags do not match the training parameters");
        goto fail;
    }
    if (t->threads != (int)h.threads_used && !params->deterministic)
        hogmf__log(params, 1,
                   "%s was written by a run with %u threads, this one has %d: the result will "
                   "not be bit-identical to an uninterrupted run",
                   path, h.threads_used, t->threads);

    /* Pass 2: straight into the trainer's arrays; the ratings' order last, into a scratch
     * copy only when the grid decides the order (then it is not stored). */
    hogmf_model *model = t->model;
    unsigned char head[CKPT_HEADER];
    if (reader_get(&r, head, sizeof head) != 0 || get_words(&r, model->bu, model->m) != 0 ||
        get_words(&r, model->bi, model->n) != 0 ||
        get_rows(&r, model->P, model->m, model->k, model->stride) != 0 ||
        get_rows(&r, model->Q, model->n, model->k, model->stride) != 0)
        goto truncated;
    if (t->keep_best &&
        (get_words(&r, t->bestbu, model->m) != 0 || get_words(&r, t->bestbi, model->n) != 0 ||
         get_rows(&r, t->bestP, model->m, model->k, model->stride) != 0 ||
         get_rows(&r, t->bestQ, model->n, model->k, model->stride) != 0))
        goto truncated;
    if (t->gp && (get_words(&r, t->gp, model->m) != 0 || get_words(&r, t->gq, model->n) != 0 ||
                  get_words(&r, t->gbu, model->m) != 0 || get_words(&r, t->gbi, model->n) != 0))
        goto truncated;
    if (!t->grid && get_words(&r, train->data, (size_t)train->nnz * 3) != 0)
        goto truncated;
    uint32_t crc_data = r.crc;
    unsigned char tail[4];
    if (reader_get(&r, tail, 4) != 0)
        goto truncated;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (crc_data != hogmf__get_u32(tail) || memcmp(head, CKPT_MAGIC, 8) != 0) {
        st = corrupt(err, path, "the file changed while being read");
        goto fail;
    }
#else
    (void)crc_data;
#endif
    /* Values the CRC cannot vouch for when the file was made to pass it. */
    int ok = all_finite(model->bu, model->m) && all_finite(model->bi, model->n) &&
             rows_finite(model->P, model->m, model->k, model->stride) &&
             rows_finite(model->Q, model->n, model->k, model->stride);
    if (ok && t->keep_best)
        ok = all_finite(t->bestbu, model->m) && all_finite(t->bestbi, model->n) &&
             rows_finite(t->bestP, model->m, model->k, model->stride) &&
             rows_finite(t->bestQ, model->n, model->k, model->stride);
    if (ok && t->gp)
        ok = all_finite(t->gp, model->m) && all_finite(t->gq, model->n) &&
             all_finite(t->gbu, model->m) && all_finite(t->gbi, model->n);
    if (!ok) {
        st = corrupt(err, path, "a parameter is infinite or NaN");
        goto fail;
    }
    if (!t->grid) {
        for (size_t j = 0; j < train->nnz; j++)
            if (train->data[j].u >= train->m || train->data[j].i >= train->n ||
                !isfinite(train->data[j].r))
                ok = 0;
        if (!ok || trainer_fingerprint(t) != h.train_fp) {
            st = corrupt(err, path, "the stored order of the ratings is not a permutation of "
                                    "the training data");
            goto fail;
        }
    }
    t->epoch = h.epoch;
    t->lr = h.lr;
    t->best_valid = h.best_valid;
    t->best_valid_train = h.best_valid_train;
    t->ref_valid = h.ref_valid;
    t->best_train = h.best_train;
    t->since = h.since;
    t->best_epoch = h.best_epoch;
    t->stop = (h.flags & CK_STOP) != 0;
    t->last_monitor = h.last_monitor;
    model->mu = h.mu;
    model->rmin = h.rmin;
    model->rmax = h.rmax;
    model->best_epoch = h.model_best_epoch;
    model->train_rmse = h.model_train_rmse;
    model->valid_rmse = h.model_valid_rmse;
    model->epochs_run = h.epochs_run;
    reader_close(&r);
    *out = t;
    return HOGMF_OK;
truncated:
    st = short_read(err, path);
fail:
    reader_close(&r);
    hogmf_trainer_free(&t);
    return st;
}

/* ---------------------------------------------------------------- the final model */

hogmf_status hogmf_trainer_save_model(const hogmf_trainer *t, const char *path,
                                      hogmf_error *err)
{
    /* What hogmf_trainer_finish hands over, as a view: the best epoch's parameters and
     * figures when that copy is kept and differs, the live model otherwise. */
    hogmf_model view = *t->model;
    if (t->keep_best && t->best_epoch && t->best_epoch != t->epoch) {
        view.P = t->bestP;
        view.Q = t->bestQ;
        view.bu = t->bestbu;
        view.bi = t->bestbi;
        view.best_epoch = t->best_epoch;
        view.valid_rmse = t->best_valid;
        view.train_rmse = t->best_valid_train;
    }
    return hogmf_model_save(&view, path, err);
}
