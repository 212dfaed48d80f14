/*
 * model_io.c - the binary model file: little-endian, magic, version, sizes, parameters, id
 * maps, biases and factors (unpadded), and a CRC-32 of everything before it. Loading reads
 * the whole file, checks sizes against the file size and the checksum, and only then
 * allocates the model. Text exports belong to the CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MODEL_MAGIC "HOGMFMDL"
#define MODEL_VERSION 2u   /* written; versions 1 and 2 are read */
#define HEADER_BYTES 192u  /* version 2; version 1 had 128 (no bytes from 128 on) */
#define HEADER_V1_BYTES 128u

/* ---------------------------------------------------------------- little-endian codec */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int j = 0; j < 4; j++)
        p[j] = (unsigned char)(v >> (8 * j));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int j = 0; j < 8; j++)
        p[j] = (unsigned char)(v >> (8 * j));
}
static void put_f32(unsigned char *p, float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    put_u32(p, b);
}
static void put_f64(unsigned char *p, double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    put_u64(p, b);
}
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
static float get_f32(const unsigned char *p)
{
    uint32_t b = get_u32(p);
    float v;
    memcpy(&v, &b, 4);
    return v;
}
static double get_f64(const unsigned char *p)
{
    uint64_t b = get_u64(p);
    double v;
    memcpy(&v, &b, 8);
    return v;
}

/* Copies count 32-bit words to little-endian bytes (and back), whatever the host order. */
static unsigned char *put_words(unsigned char *dst, const void *src, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, count * 4);
#else
    const uint32_t *s = src;
    for (size_t j = 0; j < count; j++)
        put_u32(dst + 4 * j, s[j]);
#endif
    return dst + count * 4;
}
static const unsigned char *get_words(void *dst, const unsigned char *src, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, count * 4);
#else
    uint32_t *d = dst;
    for (size_t j = 0; j < count; j++)
        d[j] = get_u32(src + 4 * j);
#endif
    return src + count * 4;
}

/* crc32 over a buffer of any size (zlib takes uInt lengths). */
static uint32_t crc32_all(const unsigned char *p, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

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
    uint64_t total = file_bytes(model->m, model->n, model->k, HEADER_BYTES);
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
    put_u32(h + 8, MODEL_VERSION);
    put_u32(h + 12, HEADER_BYTES);
    put_u32(h + 16, model->m);
    put_u32(h + 20, model->n);
    put_u32(h + 24, model->k);
    put_u32(h + 28, 0); /* flags */
    put_f32(h + 32, model->mu);
    put_f32(h + 36, model->rmin);
    put_f32(h + 40, model->rmax);
    put_u32(h + 44, model->epochs_run);
    put_u32(h + 48, model->best_epoch);
    put_u32(h + 52, pp->epochs);
    put_f32(h + 56, pp->lr);
    put_f32(h + 60, pp->lambda_b);
    put_f32(h + 64, pp->lambda_p);
    put_f32(h + 68, pp->lambda_q);
    put_f32(h + 72, pp->init_sd);
    put_u32(h + 76, (uint32_t)pp->threads);
    put_u64(h + 80, pp->seed);
    put_u64(h + 88, model->nnz);
    put_f64(h + 96, model->train_rmse);
    put_f64(h + 104, model->valid_rmse);
    put_f64(h + 112, pp->tol);
    put_u32(h + 120, pp->patience);
    put_f32(h + 124, pp->lr_decay);
    /* version 2: the options version 1 had no room for */
    put_u32(h + 128, (uint32_t)pp->schedule_lr);
    put_u32(h + 132, (uint32_t)pp->order);
    put_u32(h + 136, (uint32_t)pp->schedule);
    put_u32(h + 140, (uint32_t)pp->pin);
    put_u32(h + 144, (uint32_t)(pp->nonneg != 0));
    put_f32(h + 148, pp->l1_p);
    put_f32(h + 152, pp->l1_q);
    put_f64(h + 160, pp->diverge_factor);
    unsigned char *p = buf + HEADER_BYTES;
    p = put_words(p, model->user_ids, model->m);
    p = put_words(p, model->item_ids, model->n);
    p = put_words(p, model->bu, model->m);
    p = put_words(p, model->bi, model->n);
    for (uint32_t u = 0; u < model->m; u++)
        p = put_words(p, model->P + (size_t)u * model->stride, model->k);
    for (uint32_t i = 0; i < model->n; i++)
        p = put_words(p, model->Q + (size_t)i * model->stride, model->k);
    put_u32(p, crc32_all(buf, (size_t)total - 4));
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
    const uint32_t version = get_u32(h + 8);
    if (version != 1 && version != MODEL_VERSION) {
        st = hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                         "%s: model format version %u, this hogmf reads versions 1 and %u",
                         path, version, MODEL_VERSION);
        goto done;
    }
    const uint32_t header = version == 1 ? HEADER_V1_BYTES : HEADER_BYTES;
    uint32_t m = get_u32(h + 16), n = get_u32(h + 20), k = get_u32(h + 24);
    if (get_u32(h + 12) != header || m == 0 || n == 0 || k == 0 || k > 65536 ||
        m == UINT32_MAX || n == UINT32_MAX || (uint64_t)size < (uint64_t)header + 4) {
        st = bad(err, path, "sizes in the header are out of range");
        goto done;
    }
    if (file_bytes(m, n, k, header) != (uint64_t)size) {
        st = bad(err, path, "file size does not match the sizes in the header (truncated?)");
        goto done;
    }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* lets a fuzzer reach the checks below */
    if (crc32_all(buf, size - 4) != get_u32(buf + size - 4)) {
        st = bad(err, path, "checksum mismatch (corrupt file)");
        goto done;
    }
#endif
    float mu = get_f32(h + 32), rmin = get_f32(h + 36), rmax = get_f32(h + 40);
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
    model->epochs_run = get_u32(h + 44);
    model->best_epoch = get_u32(h + 48);
    hogmf_params *pp = &model->params;
    pp->epochs = get_u32(h + 52);
    pp->lr = get_f32(h + 56);
    pp->lambda_b = get_f32(h + 60);
    pp->lambda_p = get_f32(h + 64);
    pp->lambda_q = get_f32(h + 68);
    pp->init_sd = get_f32(h + 72);
    pp->threads = (int)get_u32(h + 76);
    pp->seed = get_u64(h + 80);
    model->nnz = get_u64(h + 88);
    model->train_rmse = get_f64(h + 96);
    model->valid_rmse = get_f64(h + 104);
    pp->tol = get_f64(h + 112);
    pp->patience = get_u32(h + 120);
    pp->lr_decay = get_f32(h + 124);
    if (version >= 2) {
        uint32_t sl = get_u32(h + 128), od = get_u32(h + 132), sc = get_u32(h + 136),
                 pn = get_u32(h + 140), nn = get_u32(h + 144);
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
        pp->l1_p = get_f32(h + 148);
        pp->l1_q = get_f32(h + 152);
        pp->diverge_factor = get_f64(h + 160);
    }
    const unsigned char *p = buf + header;
    p = get_words(model->user_ids, p, m);
    p = get_words(model->item_ids, p, n);
    p = get_words(model->bu, p, m);
    p = get_words(model->bi, p, n);
    for (uint32_t u = 0; u < m; u++)
        p = get_words(model->P + (size_t)u * model->stride, p, k);
    for (uint32_t i = 0; i < n; i++)
        p = get_words(model->Q + (size_t)i * model->stride, p, k);
    hogmf__idmap_free(model->umap);
    hogmf__idmap_free(model->imap);
    model->umap = hogmf__idmap_from_ids(model->user_ids, m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, n);
    if (!model->umap || !model->imap) {
        st = bad(err, path, "repeated user or item id in the id maps");
        hogmf_model_free(&model);
    }
done:
    free(buf);
    *out = model;
    return st;
}
