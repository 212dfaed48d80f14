/*
 * recommend.c - top-N: for each user, every item not in the user's seen list is scored and
 * the N best are kept in a bounded min-heap (O(n log N) per user), users in parallel. The
 * seen lists (items a user has rated) come from ratings files; the model does not keep its
 * training ratings. No approximate search: every item is scored.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void hogmf_seen_free(hogmf_seen *s)
{
    if (!s)
        return;
    free(s->ptr);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

hogmf_status hogmf_seen_build(const hogmf_model *model, const hogmf_ratings *const *sets,
                              size_t nsets, hogmf_seen *out, hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    const uint32_t m = model->m;
    out->m = m;
    out->ptr = calloc((size_t)m + 1, sizeof *out->ptr);
    hogmf_rating **mapped = calloc(nsets ? nsets : 1, sizeof *mapped);
    if (!out->ptr || !mapped)
        goto nomem;
    size_t total = 0;
    for (size_t s = 0; s < nsets; s++) {
        if (!(mapped[s] = hogmf__remap(model, sets[s], NULL)))
            goto nomem;
        for (size_t j = 0; j < sets[s]->nnz; j++) {
            const hogmf_rating *x = &mapped[s][j];
            if (x->u != HOGMF_UNKNOWN && x->i != HOGMF_UNKNOWN) {
                out->ptr[x->u + 1]++;
                total++;
            }
        }
    }
    for (uint32_t u = 0; u < m; u++)
        out->ptr[u + 1] += out->ptr[u];
    out->items = malloc((total ? total : 1) * sizeof *out->items);
    if (!out->items)
        goto nomem;
    for (size_t s = 0; s < nsets; s++)
        for (size_t j = 0; j < sets[s]->nnz; j++) {
            const hogmf_rating *x = &mapped[s][j];
            if (x->u != HOGMF_UNKNOWN && x->i != HOGMF_UNKNOWN)
                out->items[out->ptr[x->u]++] = x->i;
        }
    for (uint32_t u = m; u > 0; u--)
        out->ptr[u] = out->ptr[u - 1];
    out->ptr[0] = 0;
    /* Sort each user's items and drop repeats (the same pair in two files), compacting. */
    size_t w = 0;
    for (uint32_t u = 0; u < m; u++) {
        size_t lo = out->ptr[u], hi = out->ptr[u + 1];
        qsort(out->items + lo, hi - lo, sizeof *out->items, cmp_u32);
        out->ptr[u] = w;
        for (size_t j = lo; j < hi; j++)
            if (j == lo || out->items[j] != out->items[j - 1])
                out->items[w++] = out->items[j];
    }
    out->ptr[m] = w;
    for (size_t s = 0; s < nsets; s++)
        free(mapped[s]);
    free(mapped);
    return HOGMF_OK;
nomem:
    if (mapped)
        for (size_t s = 0; s < nsets; s++)
            free(mapped[s]);
    free(mapped);
    hogmf_seen_free(out);
    return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "recommend: out of memory");
}

typedef struct scored {
    float s;     /* unclipped score less mu and the user bias (they do not change the order) */
    uint32_t i;  /* item index */
} scored;

/* a ranks below b: lower score, or the same score and a higher index. */
static inline int worse(scored a, scored b) { return a.s < b.s || (a.s == b.s && a.i > b.i); }

/* Restores the min-heap property (the worst at h[0]) below position j. */
static void sift_down(scored *h, uint32_t len, uint32_t j)
{
    for (;;) {
        uint32_t l = 2 * j + 1, r = l + 1, w = j;
        if (l < len && worse(h[l], h[w]))
            w = l;
        if (r < len && worse(h[r], h[w]))
            w = r;
        if (w == j)
            return;
        scored t = h[j];
        h[j] = h[w];
        h[w] = t;
        j = w;
    }
}

static void sift_up(scored *h, uint32_t j)
{
    while (j > 0) {
        uint32_t parent = (j - 1) / 2;
        if (!worse(h[j], h[parent]))
            return;
        scored t = h[j];
        h[j] = h[parent];
        h[parent] = t;
        j = parent;
    }
}

/* Top-N of one user into items/ratings; returns how many. h holds N entries. */
static uint32_t top_n(const hogmf_model *model, uint32_t u, const uint32_t *excl, size_t ne,
                      uint32_t N, scored *h, uint32_t *items, float *ratings)
{
    const size_t stride = model->stride;
    const float *p = model->P + (size_t)u * stride;
    uint32_t len = 0;
    size_t e = 0;
    for (uint32_t i = 0; i < model->n; i++) {
        while (e < ne && excl[e] < i)
            e++;
        if (e < ne && excl[e] == i)
            continue;
        float s = model->bi[i] + hogmf__dot(p, model->Q + (size_t)i * stride, (uint32_t)stride);
        if (isnan(s))
            s = -INFINITY;
        scored x = {s, i};
        if (len < N) {
            h[len] = x;
            sift_up(h, len++);
        } else if (worse(h[0], x)) {
            h[0] = x;
            sift_down(h, len, 0);
        }
    }
    /* Pop the worst to the back: the array ends up best first. */
    for (uint32_t j = len; j > 1; j--) {
        scored t = h[0];
        h[0] = h[j - 1];
        h[j - 1] = t;
        sift_down(h, j - 1, 0);
    }
    /* The reported rating is hogmf_model_predict's, bit for bit (mu + b_u + b_i + p.q summed
     * in its order; the score above adds the same terms in another order, which can move the
     * last bit and so the sixth printed digit). */
    for (uint32_t j = 0; j < len; j++) {
        items[j] = h[j].i;
        ratings[j] = hogmf_model_predict(model, u, h[j].i);
    }
    return len;
}

hogmf_status hogmf_recommend(const hogmf_model *model, const hogmf_seen *seen,
                             const uint32_t *users, uint32_t nusers, uint32_t N, int threads,
                             uint32_t *items, float *ratings, uint32_t *count, hogmf_error *err)
{
    if (N == 0)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "recommend: N: expected at least 1");
    if (seen && seen->m != model->m)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "recommend: the seen lists were built for another model");
    for (uint32_t j = 0; j < nusers; j++)
        if (users[j] >= model->m)
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "recommend: user index %u: expected below %u", users[j], model->m);
    const uint32_t stride_out = N; /* the caller's N, even when fewer items exist */
    if (N > model->n)
        N = model->n;
    int nomem = 0;
    threads = hogmf__threads(threads);
    (void)threads; /* unused without OpenMP */
#pragma omp parallel num_threads(threads) default(none) \
    shared(model, seen, users, nusers, N, items, ratings, count, nomem, stride_out)
    {
        scored *h = malloc((size_t)N * sizeof *h);
        if (!h) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp for schedule(dynamic, 16)
        for (uint32_t j = 0; j < nusers; j++) {
            if (!h)
                continue;
            uint32_t u = users[j];
            const uint32_t *excl = seen ? seen->items + seen->ptr[u] : NULL;
            size_t ne = seen ? seen->ptr[u + 1] - seen->ptr[u] : 0;
            count[j] = top_n(model, u, excl, ne, N, h, items + (size_t)j * stride_out,
                             ratings + (size_t)j * stride_out);
        }
        free(h);
    }
    if (nomem)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "recommend: out of memory");
    return HOGMF_OK;
}
