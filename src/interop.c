/*
 * interop.c - a trained model in other tools' formats: LIBMF's text model (written with the
 * biases and the mean folded into three extra factor columns, read back either exactly or as
 * a plain LIBMF model) and CSV tables of the factors for NumPy and pandas.
 * hogmf's own binary format is model_io.c; ratings files in LIBMF's format are ratings.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* LIBMF indexes rows with a C int, and mf_int m = largest index + 1 must fit too. */
#define LIBMF_MAX_INDEX 2147483646u
/* The model file stores k up to 65536 (model_io.c); the plain import adds one column. */
#define MAX_K 65536u

/* ---------------------------------------------------------------- LIBMF: write */

/* Appends "<prefix><index> T v1 ... vk\n" or, for an absent row, "... F 0 ... 0\n". */
static void write_row(hogmf_outfile *f, char prefix, uint32_t index, const float *v, uint32_t k)
{
    char *p = hogmf__out_reserve(f, 32);
    size_t n = 0;
    p[n++] = prefix;
    n += hogmf__fmt_u32(p + n, index);
    memcpy(p + n, v ? " T" : " F", 2);
    n += 2;
    hogmf__out_advance(f, n);
    for (uint32_t d = 0; d < k; d++) {
        p = hogmf__out_reserve(f, 32);
        p[0] = ' ';
        n = 1;
        if (v) {
            n += hogmf__fmt_float(p + 1, v[d]);
        } else {
            p[1] = '0';
            n = 2;
        }
        hogmf__out_advance(f, n);
    }
    hogmf__out_write(f, "\n", 1);
}

hogmf_status hogmf_model_write_libmf(const hogmf_model *model, const char *path,
                                     hogmf_error *err)
{
    uint32_t maxu = 0, maxi = 0;
    for (uint32_t u = 0; u < model->m; u++)
        maxu = model->user_ids[u] > maxu ? model->user_ids[u] : maxu;
    for (uint32_t i = 0; i < model->n; i++)
        maxi = model->item_ids[i] > maxi ? model->item_ids[i] : maxi;
    if (maxu > LIBMF_MAX_INDEX || maxi > LIBMF_MAX_INDEX)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "%s: %s id %u is above LIBMF's largest row index %u", path,
                           maxu > LIBMF_MAX_INDEX ? "user" : "item",
                           maxu > LIBMF_MAX_INDEX ? maxu : maxi, LIBMF_MAX_INDEX);
    const uint32_t k = model->k, kx = k + 3;
    float *row = malloc((size_t)kx * sizeof *row);
    if (!row)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    hogmf_outfile f;
    hogmf_status st = hogmf__out_open(&f, path, err);
    if (st != HOGMF_OK) {
        free(row);
        return st;
    }
    char head[160];
    char mu[32];
    mu[hogmf__fmt_float(mu, model->mu)] = '\0';
    int hn = snprintf(head, sizeof head, "f 0\nm %u\nn %u\nk %u\nb %s\n", maxu + 1, maxi + 1,
                      kx, mu);
    hogmf__out_write(&f, head, (size_t)hn);
    /* LIBMF predicts P'[u] . Q'[i] and nothing else, so the biases and the mean ride in
     * three extra columns: [p, b_u, 1, 1] . [q, 1, b_i, mu] = p.q + b_u + b_i + mu. */
    for (uint32_t id = 0; id <= maxu; id++) {
        uint32_t u = hogmf_model_user_index(model, id);
        if (u == HOGMF_UNKNOWN) {
            write_row(&f, 'p', id, NULL, kx);
            continue;
        }
        memcpy(row, model->P + (size_t)u * model->stride, (size_t)k * sizeof *row);
        row[k] = model->bu[u];
        row[k + 1] = 1.0f;
        row[k + 2] = 1.0f;
        write_row(&f, 'p', id, row, kx);
    }
    for (uint32_t id = 0; id <= maxi; id++) {
        uint32_t i = hogmf_model_item_index(model, id);
        if (i == HOGMF_UNKNOWN) {
            write_row(&f, 'q', id, NULL, kx);
            continue;
        }
        memcpy(row, model->Q + (size_t)i * model->stride, (size_t)k * sizeof *row);
        row[k] = 1.0f;
        row[k + 1] = model->bi[i];
        row[k + 2] = model->mu;
        write_row(&f, 'q', id, row, kx);
    }
    free(row);
    return hogmf__out_commit(&f, err);
}

/* ---------------------------------------------------------------- LIBMF: read */

/* Cursor over a text file held in memory, with line numbers for messages. */
typedef struct text {
    const char *path;
    const char *p, *end; /* the rest of the file */
    const char *line;    /* start of the current line */
    const char *eol;     /* its end (before '\n' and any '\r') */
    uint64_t lineno;
    hogmf_error *err;
} text;

/* Moves to the next line; returns 0 at the end of the file. */
static int next_line(text *t)
{
    if (t->p >= t->end)
        return 0;
    t->line = t->p;
    const char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
    t->eol = nl ? nl : t->end;
    t->p = nl ? nl + 1 : t->end;
    if (t->eol > t->line && t->eol[-1] == '\r')
        t->eol--;
    t->lineno++;
    return 1;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* The next blank-separated token of the current line from *s; len 0 at the end of the line. */
static const char *token(const text *t, const char **s, size_t *len)
{
    const char *a = *s;
    while (a < t->eol && is_blank(*a))
        a++;
    const char *b = a;
    while (b < t->eol && !is_blank(*b))
        b++;
    *s = b;
    *len = (size_t)(b - a);
    return a;
}

/* A failure about the current line: "PATH:LINE: what, found 'token'". */
static hogmf_status bad_at(const text *t, const char *expected, const char *tok, size_t len)
{
    char q[48];
    size_t n = len < 40 ? len : 40;
    size_t w = 0;
    for (size_t j = 0; j < n; j++)
        q[w++] = (tok[j] >= 32 && tok[j] < 127) ? tok[j] : '?';
    q[w] = '\0';
    return hogmf__fail(t->err, HOGMF_ERR_FORMAT, t->lineno, "%s:%llu: expected %s, found %s%s%s%s",
                       t->path, (unsigned long long)t->lineno, expected, len ? "'" : "",
                       len ? q : "the end of the line", len > 40 ? "..." : "", len ? "'" : "");
}

static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t j = 0; j < len; j++) {
        if (s[j] < '0' || s[j] > '9')
            return -1;
        if (v > (max - (uint64_t)(s[j] - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[j] - '0');
    }
    *out = v;
    return 0;
}

static int parse_float(const char *s, size_t len, float *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    float v = strtof(buf, &end);
    if (end != buf + len || !isfinite(v) || (errno == ERANGE && v != 0.0f && fabsf(v) >= 1.0f))
        return -1;
    *out = v;
    return 0;
}

/* Reads a whole regular file into a malloc'ed buffer. */
static hogmf_status slurp(const char *path, char **buf, size_t *len, hogmf_error *err)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size >= SIZE_MAX) {
        close(fd);
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: expected a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    char *b = malloc(size + 1);
    if (!b) {
        close(fd);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory (%zu bytes)", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        free(b);
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: read %zu of %zu bytes", path, got, size);
    }
    b[size] = '\0';
    *buf = b;
    *len = size;
    return HOGMF_OK;
}

/* One factor matrix as read: rows x k values and which rows are real ('T'). */
typedef struct libmf_mat {
    uint32_t rows, present;
    float *v;
    unsigned char *real;
} libmf_mat;

/* Reads `rows` lines "<prefix><index> T|F v1 .. vk" with index 0, 1, ... in order; the T/F
 * token is optional (LIBMF before 2.0 did not write it). */
static hogmf_status read_rows(text *t, char prefix, uint32_t k, libmf_mat *mat)
{
    for (uint32_t r = 0; r < mat->rows; r++) {
        char want[32];
        snprintf(want, sizeof want, "'%c%u'", prefix, r);
        do {
            if (!next_line(t)) {
                t->lineno++;
                return hogmf__fail(t->err, HOGMF_ERR_FORMAT, t->lineno,
                                   "%s:%llu: expected the row %s, found the end of the file "
                                   "(truncated?)",
                                   t->path, (unsigned long long)t->lineno, want);
            }
        } while (t->line == t->eol); /* blank lines */
        const char *s = t->line;
        size_t len;
        const char *tok = token(t, &s, &len);
        uint64_t idx;
        if (len < 2 || tok[0] != prefix || parse_uint(tok + 1, len - 1, UINT32_MAX, &idx) ||
            idx != r)
            return bad_at(t, want, tok, len);
        const char *save = s;
        tok = token(t, &s, &len);
        int real = 1;
        if (len == 1 && (tok[0] == 'T' || tok[0] == 'F'))
            real = tok[0] == 'T';
        else
            s = save;
        float *row = mat->v + (size_t)r * k;
        for (uint32_t d = 0; d < k; d++) {
            tok = token(t, &s, &len);
            if (parse_float(tok, len, &row[d]) != 0) {
                char what[96];
                snprintf(what, sizeof what, "value %u of %u of %c%u (a finite real number)",
                         d + 1, k, prefix, r);
                return bad_at(t, what, tok, len);
            }
        }
        tok = token(t, &s, &len);
        if (len) {
            char what[64];
            snprintf(what, sizeof what, "%u values on the row of %c%u", k, prefix, r);
            return bad_at(t, what, tok, len);
        }
        mat->real[r] = (unsigned char)real;
        mat->present += (uint32_t)real;
        if (!real)
            memset(row, 0, (size_t)k * sizeof *row);
    }
    return HOGMF_OK;
}

/* A file written by hogmf_model_write_libmf: P' = [p, b_u, 1, 1], Q' = [q, 1, b_i, b]. */
static int is_hogmf_export(const libmf_mat *P, const libmf_mat *Q, uint32_t k, float b)
{
    if (k < 4)
        return 0;
    for (uint32_t r = 0; r < P->rows; r++) {
        const float *v = P->v + (size_t)r * k;
        if (P->real[r] && (v[k - 2] != 1.0f || v[k - 1] != 1.0f))
            return 0;
    }
    for (uint32_t r = 0; r < Q->rows; r++) {
        const float *v = Q->v + (size_t)r * k;
        if (Q->real[r] && (v[k - 3] != 1.0f || v[k - 1] != b))
            return 0;
    }
    return 1;
}

hogmf_status hogmf_model_read_libmf(const char *path, float rmin, float rmax,
                                    hogmf_model **out, hogmf_error *err)
{
    *out = NULL;
    if (!isfinite(rmin) || !isfinite(rmax) || rmin > rmax)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "%s: the rating range must be finite with rmin <= rmax, found %g..%g",
                           path, (double)rmin, (double)rmax);
    char *buf;
    size_t size;
    hogmf_status st = slurp(path, &buf, &size, err);
    if (st != HOGMF_OK)
        return st;
    text t = {path, buf, buf + size, buf, buf, 0, err};
    libmf_mat P = {0}, Q = {0};
    hogmf_model *model = NULL;

    /* The header: "key value" lines, in LIBMF's order f (or solver), m, n, k, b; f and b
     * are optional (older LIBMF versions wrote neither). */
    static const char *const keys[] = {"f", "m", "n", "k", "b"};
    uint64_t ival[4] = {0, 0, 0, 0};
    float b = 0.0f;
    int next_key = 0;
    while (next_key < 5) {
        const char *save_p = t.p;
        uint64_t save_line = t.lineno;
        if (!next_line(&t))
            break;
        if (t.line == t.eol)
            continue;
        const char *s = t.line;
        size_t klen, vlen;
        const char *key = token(&t, &s, &klen);
        if (klen > 1 && (key[0] == 'p' || key[0] == 'q') && key[1] >= '0' && key[1] <= '9') {
            t.p = save_p; /* the first row: the header is over */
            t.lineno = save_line;
            break;
        }
        int which = -1;
        for (int j = next_key; j < 5 && which < 0; j++)
            if ((klen == 1 && key[0] == keys[j][0]) ||
                (j == 0 && klen == 6 && memcmp(key, "solver", 6) == 0))
                which = j;
        if (which < 0) {
            st = bad_at(&t, next_key == 0 ? "a header line 'f', 'm', 'n', 'k' or 'b' (LIBMF "
                                            "text model)"
                                          : "the next header line of 'f', 'm', 'n', 'k', 'b'",
                        key, klen);
            goto done;
        }
        const char *val = token(&t, &s, &vlen);
        int okv;
        if (which == 4)
            okv = parse_float(val, vlen, &b) == 0;
        else
            okv = parse_uint(val, vlen, which == 3 ? MAX_K : LIBMF_MAX_INDEX + 1ull,
                             &ival[which]) == 0 &&
                  (which == 0 || ival[which] > 0);
        if (!okv) {
            char what[96];
            snprintf(what, sizeof what, "%s: %s", keys[which],
                     which == 4   ? "a finite real number"
                     : which == 0 ? "a loss-function number"
                     : which == 3 ? "an integer from 1 to 65536"
                                  : "an integer from 1 to 2147483647");
            st = bad_at(&t, what, val, vlen);
            goto done;
        }
        const char *extra = token(&t, &s, &vlen);
        if (vlen) {
            st = bad_at(&t, "the end of the header line", extra, vlen);
            goto done;
        }
        next_key = which + 1;
    }
    if (ival[1] == 0 || ival[2] == 0 || ival[3] == 0) {
        st = hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                         "%s: not a LIBMF text model: expected header lines 'm', 'n' and 'k'",
                         path);
        goto done;
    }
    /* 0, 1, 2: squared, absolute and KL loss predict the real value P.Q; the others (binary
     * and one-class) predict signs or ranks, which a rating model cannot represent. */
    if (ival[0] > 2) {
        st = hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                         "%s: expected a real-valued LIBMF model (f 0, 1 or 2), found f %llu "
                         "(binary or one-class)",
                         path, (unsigned long long)ival[0]);
        goto done;
    }
    uint32_t m = (uint32_t)ival[1], n = (uint32_t)ival[2], k = (uint32_t)ival[3];
    /* Each row takes at least "p0 0 0 ... 0\n": never allocate what the file cannot hold. */
    if (((uint64_t)m + n) * (2ull * k + 3) > (uint64_t)size + 1) {
        st = hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                         "%s: the header announces %u + %u rows of %u values, more than the "
                         "file's %zu bytes can hold (truncated?)",
                         path, m, n, k, size);
        goto done;
    }
    P.rows = m;
    Q.rows = n;
    P.v = malloc((size_t)m * k * sizeof(float));
    Q.v = malloc((size_t)n * k * sizeof(float));
    P.real = malloc(m);
    Q.real = malloc(n);
    if (!P.v || !Q.v || !P.real || !Q.real) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
        goto done;
    }
    if ((st = read_rows(&t, 'p', k, &P)) != HOGMF_OK || (st = read_rows(&t, 'q', k, &Q)) != HOGMF_OK)
        goto done;
    while (next_line(&t)) {
        const char *s = t.line;
        size_t len;
        const char *tok = token(&t, &s, &len);
        if (len) {
            st = bad_at(&t, "the end of the file after the last row", tok, len);
            goto done;
        }
    }
    if (P.present == 0 || Q.present == 0) {
        st = hogmf__fail(err, HOGMF_ERR_FORMAT, 0,
                         "%s: expected at least one row of P and of Q with data ('T'), found "
                         "%u and %u",
                         path, P.present, Q.present);
        goto done;
    }

    /* Rows marked F had no training data: they become unknown ids, which hogmf predicts from
     * mu = b as LIBMF does. */
    int exact = is_hogmf_export(&P, &Q, k, b);
    uint32_t kh = exact ? k - 3 : k + 1;
    if (kh > MAX_K) {
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: k %u is too large to import", path, k);
        goto done;
    }
    model = hogmf_model_new(P.present, Q.present, kh);
    if (!model) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory for a %u x %u x %u model",
                         path, P.present, Q.present, kh);
        goto done;
    }
    model->mu = b;
    model->rmin = rmin;
    model->rmax = rmax;
    uint32_t w = 0;
    for (uint32_t r = 0; r < m; r++) {
        if (!P.real[r])
            continue;
        const float *v = P.v + (size_t)r * k;
        float *p = model->P + (size_t)w * model->stride;
        model->user_ids[w] = r;
        if (exact) {
            memcpy(p, v, (size_t)kh * sizeof *p);
            model->bu[w] = v[k - 3];
        } else {
            /* Plain LIBMF predicts p.q: [p, 1] . [q, -b] cancels the mean added by hogmf. */
            memcpy(p, v, (size_t)k * sizeof *p);
            p[k] = 1.0f;
        }
        w++;
    }
    w = 0;
    for (uint32_t r = 0; r < n; r++) {
        if (!Q.real[r])
            continue;
        const float *v = Q.v + (size_t)r * k;
        float *q = model->Q + (size_t)w * model->stride;
        model->item_ids[w] = r;
        if (exact) {
            memcpy(q, v, (size_t)kh * sizeof *q);
            model->bi[w] = v[k - 2];
        } else {
            memcpy(q, v, (size_t)k * sizeof *q);
            q[k] = -b;
        }
        w++;
    }
    hogmf__idmap_free(model->umap);
    hogmf__idmap_free(model->imap);
    model->umap = hogmf__idmap_from_ids(model->user_ids, model->m);
    model->imap = hogmf__idmap_from_ids(model->item_ids, model->n);
    if (!model->umap || !model->imap) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
        goto done;
    }
    /* Not trained here: no training parameters to report. */
    hogmf_params *pp = &model->params;
    memset(pp, 0, sizeof *pp);
    pp->k = kh;
    model->nnz = 0;
    model->epochs_run = 0;
    model->best_epoch = 0;
done:
    if (st != HOGMF_OK)
        hogmf_model_free(&model);
    free(P.v);
    free(Q.v);
    free(P.real);
    free(Q.real);
    free(buf);
    *out = model;
    return st;
}

/* ---------------------------------------------------------------- CSV */

/* Writes "ID,bias,f1..fk" rows for one side of the model. */
static hogmf_status write_side(const char *path, const char *idname, uint32_t rows,
                               const uint32_t *ids, const hogmf_names *names, const float *bias,
                               const float *F, uint32_t k, uint32_t stride, hogmf_error *err)
{
    hogmf_outfile f;
    hogmf_status st = hogmf__out_open(&f, path, err);
    if (st != HOGMF_OK)
        return st;
    hogmf__out_write(&f, idname, strlen(idname));
    hogmf__out_write(&f, ",bias", 5);
    for (uint32_t d = 0; d < k; d++) {
        char *p = hogmf__out_reserve(&f, 16);
        p[0] = ',';
        p[1] = 'f';
        hogmf__out_advance(&f, 2 + hogmf__fmt_u32(p + 2, d + 1));
    }
    hogmf__out_write(&f, "\n", 1);
    for (uint32_t r = 0; r < rows; r++) {
        size_t nl = 0;
        const char *name = hogmf_names_get(names, ids[r], &nl); /* string ids as names */
        char *p = hogmf__out_reserve(&f, 48 + nl);
        size_t n = name ? (memcpy(p, name, nl), nl) : hogmf__fmt_u32(p, ids[r]);
        p[n++] = ',';
        n += hogmf__fmt_float(p + n, bias[r]);
        hogmf__out_advance(&f, n);
        const float *v = F + (size_t)r * stride;
        for (uint32_t d = 0; d < k; d++) {
            p = hogmf__out_reserve(&f, 32);
            p[0] = ',';
            hogmf__out_advance(&f, 1 + hogmf__fmt_float(p + 1, v[d]));
        }
        hogmf__out_write(&f, "\n", 1);
    }
    return hogmf__out_commit(&f, err);
}

hogmf_status hogmf_model_write_csv(const hogmf_model *model, const char *prefix,
                                   hogmf_error *err)
{
    size_t len = strlen(prefix) + 16;
    char *path = malloc(len);
    if (!path)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", prefix);
    snprintf(path, len, "%s_users.csv", prefix);
    hogmf_status st = write_side(path, "user", model->m, model->user_ids, model->user_names, model->bu, model->P,
                                 model->k, model->stride, err);
    if (st == HOGMF_OK) {
        snprintf(path, len, "%s_items.csv", prefix);
        st = write_side(path, "item", model->n, model->item_ids, model->item_names, model->bi, model->Q, model->k,
                        model->stride, err);
    }
    if (st == HOGMF_OK) {
        char body[256];
        int n = snprintf(body, sizeof body, "mu,rmin,rmax,k,users,items\n%.9g,%.9g,%.9g,%u,%u,%u\n",
                         (double)model->mu, (double)model->rmin, (double)model->rmax, model->k,
                         model->m, model->n);
        snprintf(path, len, "%s_global.csv", prefix);
        st = hogmf_write_file_atomic(path, body, (size_t)n, err);
    }
    free(path);
    return st;
}
