/*
 * model_io.c - the binary model file: little-endian, magic, version, sizes, parameters, id
 * maps, biases and factors (unpadded), and a CRC-32 of everything before it. Loading reads
 * the whole file, checks sizes against the file size and the checksum, and only then
 * allocates the model. Text exports belong to the CLI.
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

hogmf_status hogmf_model_load(const char *path, hogmf_model **out, hogmf_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: expected a regular file", path);
    }
    if ((uint64_t)sb.st_size < HEADER_V1_BYTES + 4) {
        close(fd);
        return bad(err, path, "file shorter than the header");
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return bad(err, path, "file too large");
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = malloc(size);
    if (!buf) {
        close(fd);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    hogmf_status st = HOGMF_OK;
    hogmf_model *model = NULL;
    const unsigned char *h = buf;
    if (got != size) {
        st = bad(err, path, "file changed size while being read");
        goto done;
    }
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
        m == UINT32_MAX || n == UINT32_MAX || (uint64_t)size < (uint64_t)header + 4) {
        st = bad(err, path, "sizes in the header are out of range");
        goto done;
    }
    /* Version 3 has the name section after the body (and the body's CRC). */
    const uint64_t body = file_bytes(m, n, k, header);
    if (version < MODEL_VERSION_NAMES ? body != (uint64_t)size : body == 0 || body >= size) {
        st = bad(err, path, "file size does not match the sizes in the header (truncated?)");
        goto done;
    }
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
    free(buf);
    *out = model;
    return st;
}
