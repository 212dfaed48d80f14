/*
 * foldin.c - factor rows for users who are not in a model, from a few of their ratings, with
 * Q, the item biases and mu held fixed: a (k+1)-dimensional ridge regression per user (the
 * bias is the extra column of ones) solved by Cholesky in double; the text file that keeps
 * the rows; and a model with the rows added, which predict and recommend then use as is.
 * It never changes a model in place and never retrains Q.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define FOLDIN_MAGIC "hogmf-foldin"
#define FOLDIN_VERSION 1

/* ---------------------------------------------------------------- fingerprint */

static uLong crc_u32s(uLong c, const uint32_t *x, size_t count)
{
    unsigned char b[256];
    size_t used = 0;
    for (size_t j = 0; j < count; j++) {
        uint32_t v = x[j];
        b[used++] = (unsigned char)v;
        b[used++] = (unsigned char)(v >> 8);
        b[used++] = (unsigned char)(v >> 16);
        b[used++] = (unsigned char)(v >> 24);
        if (used == sizeof b) {
            c = crc32(c, b, (uInt)used);
            used = 0;
        }
    }
    return used ? crc32(c, b, (uInt)used) : c;
}

static uLong crc_floats(uLong c, const float *x, size_t count)
{
    for (size_t j = 0; j < count; j++) {
        uint32_t v;
        memcpy(&v, &x[j], sizeof v);
        c = crc_u32s(c, &v, 1);
    }
    return c;
}

uint32_t hogmf_model_fingerprint(const hogmf_model *model)
{
    uLong c = crc32(0L, Z_NULL, 0);
    uint32_t sizes[2] = {model->k, model->n};
    c = crc_u32s(c, sizes, 2);
    c = crc_floats(c, &model->mu, 1);
    c = crc_u32s(c, model->item_ids, model->n);
    c = crc_floats(c, model->bi, model->n);
    for (uint32_t i = 0; i < model->n; i++)
        c = crc_floats(c, model->Q + (size_t)i * model->stride, model->k);
    return (uint32_t)c;
}

/* ---------------------------------------------------------------- the ridge regression */

/* Solves (A^T A + diag(lp,..,lp, lb)) x = A^T y for one user, where row j of A is
 * [q_{items[j]}, 1] and y_j = r_j - mu - bi[items[j]]. K = k + 1; w holds K*K + K doubles.
 * Returns 0, or -1 when the system is not positive definite (cannot happen with lp > 0). */
static int solve_user(const hogmf_model *model, const uint32_t *items, const float *r,
                      size_t count, double lp, double lb, double *w, float *p, float *bu)
{
    const uint32_t k = model->k, K = k + 1, stride = model->stride;
    double *A = w, *x = w + (size_t)K * K;
    memset(w, 0, ((size_t)K * K + K) * sizeof *w);
    size_t used = 0;
    for (size_t j = 0; j < count; j++) {
        uint32_t i = items[j];
        if (i >= model->n)
            continue;
        const float *q = model->Q + (size_t)i * stride;
        double y = (double)r[j] - model->mu - model->bi[i];
        /* Lower triangle of the Gram matrix; row d holds columns 0..d. */
        for (uint32_t d = 0; d < k; d++) {
            double qd = q[d];
            double *row = A + (size_t)d * K;
            for (uint32_t e = 0; e <= d; e++)
                row[e] += qd * q[e];
            x[d] += qd * y;
        }
        double *last = A + (size_t)k * K;
        for (uint32_t e = 0; e < k; e++)
            last[e] += q[e];
        last[k] += 1.0;
        x[k] += y;
        used++;
    }
    memset(p, 0, (size_t)stride * sizeof *p);
    *bu = 0;
    if (used == 0)
        return 0;
    for (uint32_t d = 0; d < k; d++)
        A[(size_t)d * K + d] += lp;
    A[(size_t)k * K + k] += lb;
    /* Cholesky A = L L^T in place (lower triangle). */
    for (uint32_t j = 0; j < K; j++) {
        double *rj = A + (size_t)j * K;
        double s = rj[j];
        for (uint32_t e = 0; e < j; e++)
            s -= rj[e] * rj[e];
        if (!(s > 0))
            return -1;
        double ljj = sqrt(s);
        rj[j] = ljj;
        for (uint32_t i = j + 1; i < K; i++) {
            double *ri = A + (size_t)i * K;
            double t = ri[j];
            for (uint32_t e = 0; e < j; e++)
                t -= ri[e] * rj[e];
            ri[j] = t / ljj;
        }
    }
    /* Forward (L z = b) then backward (L^T x = z) substitution, in place in x. */
    for (uint32_t i = 0; i < K; i++) {
        const double *ri = A + (size_t)i * K;
        double t = x[i];
        for (uint32_t e = 0; e < i; e++)
            t -= ri[e] * x[e];
        x[i] = t / ri[i];
    }
    for (uint32_t i = K; i-- > 0;) {
        double t = x[i];
        for (uint32_t e = i + 1; e < K; e++)
            t -= A[(size_t)e * K + i] * x[e];
        x[i] = t / A[(size_t)i * K + i];
    }
    for (uint32_t d = 0; d < k; d++)
        p[d] = (float)x[d];
    *bu = (float)x[k];
    return 0;
}

static hogmf_status check_lambdas(float lambda_p, float lambda_b, hogmf_error *err)
{
    if (!(lambda_p > 0) || !isfinite(lambda_p))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "fold-in: lambda_p: expected a positive number, found %g",
                           (double)lambda_p);
    if (!(lambda_b >= 0) || !isfinite(lambda_b))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "fold-in: lambda_b: expected a non-negative number, found %g",
                           (double)lambda_b);
    return HOGMF_OK;
}

hogmf_status hogmf_foldin_user(const hogmf_model *model, const uint32_t *items, const float *r,
                               size_t count, float lambda_p, float lambda_b, float *p,
                               float *bu, hogmf_error *err)
{
    hogmf_status st = check_lambdas(lambda_p, lambda_b, err);
    if (st != HOGMF_OK)
        return st;
    for (size_t j = 0; j < count; j++)
        if (!isfinite(r[j]))
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "fold-in: rating %zu is not a finite number", j);
    size_t K = (size_t)model->k + 1;
    double *w = malloc((K * K + K) * sizeof *w);
    if (!w)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory");
    int bad = solve_user(model, items, r, count, lambda_p, lambda_b, w, p, bu);
    free(w);
    if (bad)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "fold-in: the system is singular; use a larger lambda");
    return HOGMF_OK;
}

/* ---------------------------------------------------------------- many users */

void hogmf_foldin_free(hogmf_foldin *f)
{
    if (!f)
        return;
    free(f->user_ids);
    free(f->count);
    free(f->bu);
    free(f->P);
    memset(f, 0, sizeof *f);
}

static hogmf_status foldin_alloc(hogmf_foldin *f, uint32_t m, uint32_t k, hogmf_error *err)
{
    memset(f, 0, sizeof *f);
    f->m = m;
    f->k = k;
    f->stride = hogmf__stride(k);
    f->user_ids = malloc(((size_t)m + 1) * sizeof *f->user_ids);
    f->count = malloc(((size_t)m + 1) * sizeof *f->count);
    f->bu = malloc(((size_t)m + 1) * sizeof *f->bu);
    f->P = hogmf__aligned_calloc((size_t)m + 1, (size_t)f->stride * sizeof(float));
    if (!f->user_ids || !f->count || !f->bu || !f->P) {
        hogmf_foldin_free(f);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory for %u users", m);
    }
    return HOGMF_OK;
}

hogmf_status hogmf_foldin_compute(const hogmf_model *model, const hogmf_ratings *set,
                                  float lambda_p, float lambda_b, int threads,
                                  hogmf_foldin *out, size_t *known, size_t *unknown_items,
                                  hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    hogmf_status st = check_lambdas(lambda_p, lambda_b, err);
    if (st != HOGMF_OK)
        return st;
    for (size_t j = 0; j < set->nnz; j++)
        if (!isfinite(set->data[j].r))
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "fold-in: rating %zu is not a finite number", j + 1);
    uint32_t *slot = malloc(((size_t)set->m + 1) * sizeof *slot);
    uint32_t *imap = malloc(((size_t)set->n + 1) * sizeof *imap);
    size_t *ptr = NULL;
    uint32_t *items = NULL;
    float *r = NULL;
    if (!slot || !imap) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory");
        goto done;
    }
    /* New users, numbered in the set's order of first appearance. */
    uint32_t m = 0;
    size_t nknown = 0, nunknown = 0;
    for (uint32_t u = 0; u < set->m; u++) {
        if (hogmf_model_set_user_index(model, set, u) != HOGMF_UNKNOWN) {
            slot[u] = HOGMF_UNKNOWN;
            nknown++;
        } else {
            slot[u] = m++;
        }
    }
    for (uint32_t i = 0; i < set->n; i++)
        imap[i] = hogmf_model_set_item_index(model, set, i);
    if (known)
        *known = nknown;
    if (m == 0) {
        st = hogmf__fail(err, HOGMF_ERR_EMPTY, 0,
                         "fold-in: every user of the ratings is already in the model");
        goto done;
    }
    /* Ratings grouped by new user (counting sort), items in model indices. */
    ptr = calloc((size_t)m + 1, sizeof *ptr);
    items = malloc((set->nnz ? set->nnz : 1) * sizeof *items);
    r = malloc((set->nnz ? set->nnz : 1) * sizeof *r);
    if (!ptr || !items || !r || (st = foldin_alloc(out, m, model->k, err)) != HOGMF_OK) {
        if (st == HOGMF_OK)
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory");
        goto done;
    }
    for (size_t j = 0; j < set->nnz; j++) {
        const hogmf_rating *x = &set->data[j];
        if (slot[x->u] == HOGMF_UNKNOWN)
            continue;
        if (imap[x->i] == HOGMF_UNKNOWN) {
            nunknown++;
            continue;
        }
        ptr[slot[x->u] + 1]++;
    }
    for (uint32_t u = 0; u < m; u++)
        ptr[u + 1] += ptr[u];
    for (size_t j = 0; j < set->nnz; j++) {
        const hogmf_rating *x = &set->data[j];
        uint32_t s = slot[x->u];
        if (s == HOGMF_UNKNOWN || imap[x->i] == HOGMF_UNKNOWN)
            continue;
        items[ptr[s]] = imap[x->i];
        r[ptr[s]] = x->r;
        ptr[s]++;
    }
    for (uint32_t u = m; u > 0; u--)
        ptr[u] = ptr[u - 1];
    ptr[0] = 0;
    if (unknown_items)
        *unknown_items = nunknown;
    for (uint32_t u = 0; u < set->m; u++)
        if (slot[u] != HOGMF_UNKNOWN)
            out->user_ids[slot[u]] = set->user_ids[u];
    out->n = model->n;
    out->model_crc = hogmf_model_fingerprint(model);

    int failed = 0, nomem = 0;
    const size_t K = (size_t)model->k + 1;
    threads = hogmf__threads(threads);
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) \
    shared(model, out, ptr, items, r, m, lambda_p, lambda_b, failed, nomem, K)
    {
        double *w = malloc((K * K + K) * sizeof *w);
        if (!w) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 8)
        for (uint32_t u = 0; u < m; u++) {
            if (!w)
                continue;
            size_t c = ptr[u + 1] - ptr[u];
            out->count[u] = (uint32_t)c;
            if (solve_user(model, items + ptr[u], r + ptr[u], c, lambda_p, lambda_b, w,
                           out->P + (size_t)u * out->stride, &out->bu[u]) != 0) {
#pragma omp atomic write
                failed = 1;
            }
        }
        free(w);
    }
    if (nomem)
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory");
    else if (failed)
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "fold-in: a system is singular; use a larger lambda");
    if (st != HOGMF_OK)
        hogmf_foldin_free(out);
done:
    free(slot);
    free(imap);
    free(ptr);
    free(items);
    free(r);
    return st;
}

/* ---------------------------------------------------------------- the model with the rows */

hogmf_status hogmf_model_add_foldin(const hogmf_model *model, const hogmf_foldin *f,
                                    hogmf_model **out, hogmf_error *err)
{
    *out = NULL;
    if (f->k != model->k || f->n != model->n || f->model_crc != hogmf_model_fingerprint(model))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "the fold-in rows were computed with another model (k %u, %u items, "
                           "fingerprint %08x; this model: k %u, %u items, fingerprint %08x)",
                           f->k, f->n, f->model_crc, model->k, model->n,
                           hogmf_model_fingerprint(model));
    uint32_t added = 0;
    for (uint32_t j = 0; j < f->m; j++)
        added += hogmf_model_user_index(model, f->user_ids[j]) == HOGMF_UNKNOWN;
    if ((uint64_t)model->m + added >= UINT32_MAX)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "fold-in: too many users");
    hogmf_model *x = hogmf_model_new(model->m + added, model->n, model->k);
    if (!x)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory");
    const size_t stride = model->stride;
    memcpy(x->P, model->P, (size_t)model->m * stride * sizeof(float));
    memcpy(x->Q, model->Q, (size_t)model->n * stride * sizeof(float));
    memcpy(x->bu, model->bu, (size_t)model->m * sizeof(float));
    memcpy(x->bi, model->bi, (size_t)model->n * sizeof(float));
    memcpy(x->user_ids, model->user_ids, (size_t)model->m * sizeof(uint32_t));
    memcpy(x->item_ids, model->item_ids, (size_t)model->n * sizeof(uint32_t));
    uint32_t next = model->m;
    for (uint32_t j = 0; j < f->m; j++) {
        uint32_t u = hogmf_model_user_index(model, f->user_ids[j]);
        if (u == HOGMF_UNKNOWN) {
            u = next++;
            x->user_ids[u] = f->user_ids[j];
        }
        memcpy(x->P + (size_t)u * stride, f->P + (size_t)j * f->stride, stride * sizeof(float));
        x->bu[u] = f->bu[j];
    }
    x->mu = model->mu;
    x->rmin = model->rmin;
    x->rmax = model->rmax;
    x->params = model->params;
    x->nnz = model->nnz;
    x->epochs_run = model->epochs_run;
    x->best_epoch = model->best_epoch;
    x->train_rmse = model->train_rmse;
    x->valid_rmse = model->valid_rmse;
    hogmf__idmap_free(x->umap);
    hogmf__idmap_free(x->imap);
    x->umap = hogmf__idmap_from_ids(x->user_ids, x->m);
    x->imap = hogmf__idmap_from_ids(x->item_ids, x->n);
    if (!x->umap || !x->imap) {
        hogmf_model_free(&x);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "fold-in: out of memory");
    }
    *out = x;
    return HOGMF_OK;
}

/* ---------------------------------------------------------------- the file */

hogmf_status hogmf_foldin_save(const hogmf_foldin *f, const char *path, hogmf_error *err)
{
    hogmf_outfile o;
    hogmf_status st = hogmf__out_open(&o, path, err);
    if (st != HOGMF_OK)
        return st;
    char *p = hogmf__out_reserve(&o, 160);
    int len = snprintf(p, 160, "%s %d k=%u items=%u model=%08x users=%u\n", FOLDIN_MAGIC,
                       FOLDIN_VERSION, f->k, f->n, f->model_crc, f->m);
    hogmf__out_advance(&o, (size_t)len);
    for (uint32_t u = 0; u < f->m; u++) {
        p = hogmf__out_reserve(&o, 48);
        size_t n = hogmf__fmt_u32(p, f->user_ids[u]);
        p[n++] = ' ';
        n += hogmf__fmt_u32(p + n, f->count[u]);
        p[n++] = ' ';
        n += hogmf__fmt_float(p + n, f->bu[u]);
        hogmf__out_advance(&o, n);
        const float *row = f->P + (size_t)u * f->stride;
        for (uint32_t d = 0; d < f->k; d++) {
            p = hogmf__out_reserve(&o, 32);
            p[0] = ' ';
            hogmf__out_advance(&o, 1 + hogmf__fmt_float(p + 1, row[d]));
        }
        hogmf__out_write(&o, "\n", 1);
    }
    return hogmf__out_commit(&o, err);
}

/* A token of a line: [*s, *e); advances *s past it and the blanks after it. */
static int next_token(const char **s, const char *end, const char **tok, size_t *len)
{
    const char *a = *s;
    while (a < end && (*a == ' ' || *a == '\t'))
        a++;
    const char *b = a;
    while (b < end && *b != ' ' && *b != '\t')
        b++;
    *tok = a;
    *len = (size_t)(b - a);
    *s = b;
    return b > a;
}

static int parse_u32_tok(const char *t, size_t len, uint32_t *v)
{
    char tmp[24];
    if (len == 0 || len >= sizeof tmp || t[0] < '0' || t[0] > '9')
        return -1;
    memcpy(tmp, t, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    unsigned long long x = strtoull(tmp, &end, 10);
    if (errno || *end || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

static int parse_float_tok(const char *t, size_t len, float *v)
{
    char tmp[48];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, t, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    float x = strtof(tmp, &end);
    if (*end || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

static hogmf_status bad_line(hogmf_error *err, const char *path, uint64_t line, const char *what,
                             const char *tok, size_t len)
{
    size_t n = len < 40 ? len : 40;
    return hogmf__fail(err, HOGMF_ERR_PARSE, line, "%s:%llu: %s, found '%.*s'%s", path,
                       (unsigned long long)line, what, (int)n, tok, len > n ? "..." : "");
}

hogmf_status hogmf_foldin_load(const char *path, hogmf_foldin *out, hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    hogmf_status st = hogmf__read_text(path, &text, &len, err);
    if (st != HOGMF_OK)
        return st;
    const char *s = text, *end = text + len;
    uint64_t line = 0;
    uint32_t k = 0, n = 0, m = 0, crc = 0, u = 0;
    while (s < end || (line == 0 && s == end)) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        const char *a = s, *b = eol;
        s = eol + 1;
        line++;
        if (b > a && b[-1] == '\r')
            b--;
        const char *tok;
        size_t tl;
        if (line == 1) {
            unsigned version = 0;
            char head[160];
            size_t hl = (size_t)(b - a) < sizeof head - 1 ? (size_t)(b - a) : sizeof head - 1;
            memcpy(head, a, hl);
            head[hl] = '\0';
            int used = 0;
            if (sscanf(head, FOLDIN_MAGIC " %u k=%u items=%u model=%8x users=%u%n", &version, &k,
                       &n, &crc, &m, &used) != 5 ||
                (size_t)used != hl || version != FOLDIN_VERSION || k == 0 || k > 65536 ||
                n == 0) {
                st = bad_line(err, path, line,
                              "expected the header '" FOLDIN_MAGIC " 1 k=K items=N "
                              "model=XXXXXXXX users=M' (not a fold-in file?)",
                              a, (size_t)(b - a));
                goto fail;
            }
            /* Never allocate for more users than the file has lines (a hostile header). */
            size_t rest = 0;
            for (const char *q = s; q < end; q++)
                rest += *q == '\n';
            if ((uint64_t)m > (uint64_t)rest + 1) {
                st = hogmf__fail(err, HOGMF_ERR_PARSE, line,
                                 "%s:1: the header says %u users, the file has %zu more lines "
                                 "(truncated?)",
                                 path, m, rest + (s < end && end[-1] != '\n'));
                goto fail;
            }
            if ((st = foldin_alloc(out, m, k, err)) != HOGMF_OK)
                goto fail;
            out->n = n;
            out->model_crc = crc;
            continue;
        }
        if (a == b && s >= end)
            break; /* the final newline */
        if (u == m) {
            st = bad_line(err, path, line, "expected no more lines after the header's users",
                          a, (size_t)(b - a));
            goto fail;
        }
        const char *c = a;
        if (!next_token(&c, b, &tok, &tl) || parse_u32_tok(tok, tl, &out->user_ids[u])) {
            st = bad_line(err, path, line, "user id: expected an integer 0..4294967295", tok,
                          tl);
            goto fail;
        }
        if (!next_token(&c, b, &tok, &tl) || parse_u32_tok(tok, tl, &out->count[u])) {
            st = bad_line(err, path, line, "ratings count: expected an integer", tok, tl);
            goto fail;
        }
        if (!next_token(&c, b, &tok, &tl) || parse_float_tok(tok, tl, &out->bu[u])) {
            st = bad_line(err, path, line, "bias: expected a finite number", tok, tl);
            goto fail;
        }
        float *row = out->P + (size_t)u * out->stride;
        for (uint32_t d = 0; d < k; d++) {
            if (!next_token(&c, b, &tok, &tl) || parse_float_tok(tok, tl, &row[d])) {
                char what[96];
                snprintf(what, sizeof what, "factor %u of %u: expected a finite number", d + 1,
                         k);
                st = bad_line(err, path, line, what, tok, tl);
                goto fail;
            }
        }
        if (next_token(&c, b, &tok, &tl)) {
            char what[96];
            snprintf(what, sizeof what, "expected %u factors, found more", k);
            st = bad_line(err, path, line, what, tok, tl);
            goto fail;
        }
        u++;
    }
    if (u != m) {
        st = hogmf__fail(err, HOGMF_ERR_PARSE, line,
                         "%s:%llu: expected %u users as the header says, found %u (truncated?)",
                         path, (unsigned long long)line, m, u);
        goto fail;
    }
    /* The same user twice would make applying the file ambiguous. */
    hogmf_idmap *seen = hogmf__idmap_from_ids(out->user_ids, m);
    if (!seen && m > 0) {
        st = hogmf__fail(err, HOGMF_ERR_PARSE, 0, "%s: a user appears twice (or out of memory)",
                         path);
        goto fail;
    }
    hogmf__idmap_free(seen);
    free(text);
    return HOGMF_OK;
fail:
    free(text);
    hogmf_foldin_free(out);
    return st;
}
