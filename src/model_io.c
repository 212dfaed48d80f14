/*
 * model_io.c - the binary model file: little-endian, magic, version, sizes, parameters, id
 * maps, biases and factors (unpadded), and a CRC-32 of everything before it. Loading reads
 * the header and checks magic, version and sizes against the file size before it reads the
 * rest; then the checksum and that every number is finite, and only then does it hand over
 * the model. Text exports belong to the CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include "bytes.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL_MAGIC "HOGMFMDL"
#define MODEL_VERSION 2u   /* written; versions 1 to 3 are read */
#define MODEL_VERSION_NAMES 3u /* version 2 plus the string id section of names.c */
#define HEADER_BYTES 192u  /* version 2; version 1 had 128 (no bytes from 128 on) */
#define HEADER_V1_BYTES 128u

/* Total file size for the sizes and header length, or 0 when it overflows. */
static uint64_t file_bytes(uint64_t m, uint64_t n, uint64_t k, uint64_t header)
{
    uint64_t ids_biases = 8 * (m + n);
    uint64_t factors;
    if (__builtin_mul_overflow(4 * k, m + n, &factors))
        return 0;
    uint64_t total = header + ids_biases;
    if (__builtin_add_overflow(total, factors, &total) || __builtin_add_overflow(total, 4, &total))
        return 0;
    return total;
}

/* ---------------------------------------------------------------- save */

hogmf_status hogmf_model_save(const hogmf_model *model, const char *path, hogmf_error *err)
{
    uint64_t body = file_bytes(model->m, model->n, model->k, HEADER_BYTES), total = body;
    int named = model->user_names || model->item_names;
    if (named && body)
        total += hogmf__names_section_bytes(model);
    if (total == 0 || total > SIZE_MAX)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: model too large to save", path);
    unsigned char *buf = malloc((size_t)total);
    if (!buf)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory (%llu bytes)", path,
                           (unsigned long long)total);
    unsigned char *h = buf;
    memset(h, 0, HEADER_BYTES);
    memcpy(h, MODEL_MAGIC, 8);
    const hogmf_params *pp = &model->params;
    hogmf__put_u32(h + 8, named ? MODEL_VERSION_NAMES : MODEL_VERSION);
    hogmf__put_u32(h + 12, HEADER_BYTES);
    hogmf__put_u32(h + 16, model->m);
    hogmf__put_u32(h + 20, model->n);
    hogmf__put_u32(h + 24, model->k);
    hogmf__put_u32(h + 28, 0); /* flags */
    hogmf__put_f32(h + 32, model->mu);
    hogmf__put_f32(h + 36, model->rmin);
    hogmf__put_f32(h + 40, model->rmax);
    hogmf__put_u32(h + 44, model->epochs_run);
    hogmf__put_u32(h + 48, model->best_epoch);
    hogmf__put_u32(h + 52, pp->epochs);
    hogmf__put_f32(h + 56, pp->lr);
    hogmf__put_f32(h + 60, pp->lambda_b);
    hogmf__put_f32(h + 64, pp->lambda_p);
    hogmf__put_f32(h + 68, pp->lambda_q);
    hogmf__put_f32(h + 72, pp->init_sd);
    hogmf__put_u32(h + 76, (uint32_t)pp->threads);
    hogmf__put_u64(h + 80, pp->seed);
    hogmf__put_u64(h + 88, model->nnz);
    hogmf__put_f64(h + 96, model->train_rmse);
    hogmf__put_f64(h + 104, model->valid_rmse);
    hogmf__put_f64(h + 112, pp->tol);
    hogmf__put_u32(h + 120, pp->patience);
    hogmf__put_f32(h + 124, pp->lr_decay);
    /* version 2: the options version 1 had no room for */
    hogmf__put_u32(h + 128, (uint32_t)pp->schedule_lr);
    hogmf__put_u32(h + 132, (uint32_t)pp->order);
    hogmf__put_u32(h + 136, (uint32_t)pp->schedule);
    hogmf__put_u32(h + 140, (uint32_t)pp->pin);
    hogmf__put_u32(h + 144, (uint32_t)(pp->nonneg != 0));
    hogmf__put_f32(h + 148, pp->l1_p);
    hogmf__put_f32(h + 152, pp->l1_q);
    hogmf__put_f64(h + 160, pp->diverge_factor);
    /* version 2 files from before the flag hold 0 here */
    hogmf__put_u32(h + 168, (uint32_t)(pp->deterministic != 0));
    unsigned char *p = buf + HEADER_BYTES;
    p = hogmf__put_words(p, model->user_ids, model->m);
    p = hogmf__put_words(p, model->item_ids, model->n);
    p = hogmf__put_words(p, model->bu, model->m);
    p = hogmf__put_words(p, model->bi, model->n);
    for (uint32_t u = 0; u < model->m; u++)
        p = hogmf__put_words(p, model->P + (size_t)u * model->stride, model->k);
    for (uint32_t i = 0; i < model->n; i++)
        p = hogmf__put_words(p, model->Q + (size_t)i * model->stride, model->k);
    hogmf__put_u32(p, hogmf__crc32(0, buf, (size_t)body - 4));
    if (named)
        hogmf__names_section_write(model, buf + body);
    hogmf_status st = hogmf_write_file_atomic(path, buf, (size_t)total, err);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- load */

static hogmf_status bad(hogmf_error *err, const char *path, const char *what)
{
    return hogmf__fail(err, HOGMF_ERR_FORMAT, 0, "%s: not a valid hogmf model: %s", path, what);
}

/* Reads up to len bytes (fewer only at the end of the file or on an error). */
static size_t read_full(int fd, unsigned char *dst, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, dst + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Every bias and factor is finite (a NaN would make every prediction a rating bound). */
static int model_finite(const hogmf_model *model)
{
    for (uint32_t u = 0; u < model->m; u++)
        if (!isfinite(model->bu[u]))
            return 0;
    for (uint32_t i = 0; i < model->n; i++)
        if (!isfinite(model->bi[i]))
            return 0;
    for (uint32_t u = 0; u < model->m; u++)
        for (uint32_t f = 0; f < model->k; f++)
            if (!isfinite(model->P[(size_t)u * model->stride + f]))
                return 0;
    for (uint32_t i = 0; i < model->n; i++)
        for (uint32_t f = 0; f < model->k; f++)
            if (!isfinite(model->Q[(size_t)i * model->stride + f]))
                return 0;
    return 1;
}

hogmf_status hogmf_model_load(const char *path, hogmf_model **out, hogmf_error *err)
{
    *out = NULL;
    int fd;
    uint64_t fsize;
    hogmf_status st = hogmf__open_regular(path, &fd, &fsize, err);
    if (st != HOGMF_OK)
        return st;
    if (fsize < HEADER_V1_BYTES + 4) {
        close(fd);
        return bad(err, path, "file shorter than the header");
    }
    /* The header first: magic, version and sizes are checked against the file size before
     * the body is read (or memory for it allocated). */
    unsigned char head[HEADER_BYTES];
    size_t hlen = fsize < HEADER_BYTES ? (size_t)fsize : HEADER_BYTES;
    if (read_full(fd, head, hlen) != hlen) {
        close(fd);
        return bad(err, path, "file changed size while being read");
    }
    hogmf_model *model = NULL;
    unsigned char *buf = NULL;
    const unsigned char *h = head;
    if (memcmp(h, MODEL_MAGIC, 8) != 0) {
        st = bad(err, path, "wrong magic (expected \"" MODEL_MAGIC "\")");
        goto done;
    }
    const uint32_t version = hogmf__get_u32(h + 8);
    if (version < 1 || version > MODEL_VERSION_NAMES) {
        st = hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                         "%s: model format version %u, this hogmf reads versions 1 to %u",
                         path, version, MODEL_VERSION_NAMES);
        goto done;
    }
    const uint32_t header = version == 1 ? HEADER_V1_BYTES : HEADER_BYTES;
    uint32_t m = hogmf__get_u32(h + 16), n = hogmf__get_u32(h + 20), k = hogmf__get_u32(h + 24);
    if (hogmf__get_u32(h + 12) != header || m == 0 || n == 0 || k == 0 || k > 65536 ||
        m == UINT32_MAX || n == UINT32_MAX || fsize < (uint64_t)header + 4) {
        st = bad(err, path, "sizes in the header are out of range");
        goto done;
    }
    /* Version 3 has the name section after the body (and the body's CRC). */
    const uint64_t body = file_bytes(m, n, k, header);
    if (version < MODEL_VERSION_NAMES ? body != fsize : body == 0 || body >= fsize) {
        st = bad(err, path, "file size does not match the sizes in the header (truncated?)");
        goto done;
    }
    if (fsize > SIZE_MAX) {
        st = bad(err, path, "file too large");
        goto done;
    }
    size_t size = (size_t)fsize;
    buf = malloc(size);
    if (!buf) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
        goto done;
    }
    memcpy(buf, head, hlen);
    if (read_full(fd, buf + hlen, size - hlen) != size - hlen) {
        st = bad(err, path, "file changed size while being read");
        goto done;
    }
    close(fd);
    fd = -1;
    h = buf;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* lets a fuzzer reach the checks below */
    if (hogmf__crc32(0, buf, (size_t)body - 4) != hogmf__get_u32(buf + body - 4)) {
        st = bad(err, path, "checksum mismatch (corrupt file)");
        goto done;
    }
#endif
    float mu = hogmf__get_f32(h + 32), rmin = hogmf__get_f32(h + 36), rmax = hogmf__get_f32(h + 40);
    if (!isfinite(mu) || !isfinite(rmin) || !isfinite(rmax) || rmin > rmax) {
        st = bad(err, path, "mean or rating range is not finite");
        goto done;
    }
    model = hogmf_model_new(m, n, k);
    if (!model) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory for %u x %u x %u model",
                         path, m, n, k);
        goto done;
    }
    model->mu = mu;
    model->rmin = rmin;
    model->rmax = rmax;
    model->epochs_run = hogmf__get_u32(h + 44);
    model->best_epoch = hogmf__get_u32(h + 48);
    hogmf_params *pp = &model->params;
    pp->epochs = hogmf__get_u32(h + 52);
    pp->lr = hogmf__get_f32(h + 56);
    pp->lambda_b = hogmf__get_f32(h + 60);
    pp->lambda_p = hogmf__get_f32(h + 64);
    pp->lambda_q = hogmf__get_f32(h + 68);
    pp->init_sd = hogmf__get_f32(h + 72);
    pp->threads = (int)hogmf__get_u32(h + 76);
    pp->seed = hogmf__get_u64(h + 80);
    model->nnz = hogmf__get_u64(h + 88);
    model->train_rmse = hogmf__get_f64(h + 96);
    model->valid_rmse = hogmf__get_f64(h + 104);
    pp->tol = hogmf__get_f64(h + 112);
    pp->patience = hogmf__get_u32(h + 120);
    pp->lr_decay = hogmf__get_f32(h + 124);
    if (version >= 2) {
        uint32_t sl = hogmf__get_u32(h + 128), od = hogmf__get_u32(h + 132), sc = hogmf__get_u32(h + 136),
                 pn = hogmf__get_u32(h + 140), nn = hogmf__get_u32(h + 144);
        if (sl > HOGMF_LR_ADAGRAD || od > HOGMF_ORDER_BLOCKS || sc > HOGMF_SCHEDULE_BLOCKS ||
            pn > HOGMF_PIN_SPREAD || nn > 1) {
            st = bad(err, path, "unknown schedule, order or pinning value");
            hogmf_model_free(&model);
            goto done;
        }
        pp->schedule_lr = (hogmf_lr_schedule)sl;
        pp->order = (hogmf_order)od;
        pp->schedule = (hogmf_schedule)sc;
        pp->pin = (hogmf_pin)pn;
        pp->nonneg = (int)nn;
        pp->l1_p = hogmf__get_f32(h + 148);
        pp->l1_q = hogmf__get_f32(h + 152);
        pp->diverge_factor = hogmf__get_f64(h + 160);
        uint32_t det = hogmf__get_u32(h + 168);
        if (det > 1) {
            st = bad(err, path, "deterministic flag is neither 0 nor 1");
            hogmf_model_free(&model);
            goto done;
        }
        pp->deterministic = (int)det;
    }
    const unsigned char *p = buf + header;
    p = hogmf__get_words(model->user_ids, p, m);
    p = hogmf__get_words(model->item_ids, p, n);
    p = hogmf__get_words(model->bu, p, m);
    p = hogmf__get_words(model->bi, p, n);
    for (uint32_t u = 0; u < m; u++)
        p = hogmf__get_words(model->P + (size_t)u * model->stride, p, k);
    for (uint32_t i = 0; i < n; i++)
        p = hogmf__get_words(model->Q + (size_t)i * model->stride, p, k);
    if (!model_finite(model)) {
        st = bad(err, path, "a bias or factor is NaN or infinite");
        hogmf_model_free(&model);
        goto done;
    }
    hogmf__idmap_free(model->umap);
    hogmf__idmap_free(model->imap);
    model->umap = hogmf__idmap_from_ids(model->user_ids, m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, n);
    if (!model->umap || !model->imap) {
        st = bad(err, path, "repeated user or item id in the id maps");
        hogmf_model_free(&model);
    } else if (version == MODEL_VERSION_NAMES &&
               (st = hogmf__names_section_read(model, buf + body, size - (size_t)body, path,
                                               err)) != HOGMF_OK) {
        hogmf_model_free(&model);
    }
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    *out = model;
    return st;
}
