/*
 * arrays.c - ratings sets built from arrays instead of text, for bindings and programs that
 * hold their data in memory: the same dense numbering (order of first appearance) and the
 * same duplicate rule as the reader, so a set built from a file's columns equals the set
 * read from the file. It does not convert types: the caller hands over uint32 ids and float
 * ratings, one at a time (hogmf_builder_add) or as arrays.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct hogmf_builder {
    hogmf_ratings r;        /* being filled */
    size_t cap;             /* capacity of r.data */
    uint32_t ucap, icap;    /* capacities of r.user_ids, r.item_ids */
    hogmf_idmap *umap, *imap;
    size_t calls;           /* hogmf_builder_add calls so far (the J of messages) */
};

void hogmf_builder_free(hogmf_builder **b)
{
    if (!b || !*b)
        return;
    hogmf_ratings_free(&(*b)->r);
    hogmf__idmap_free((*b)->umap);
    hogmf__idmap_free((*b)->imap);
    free(*b);
    *b = NULL;
}

hogmf_status hogmf_builder_new(size_t nnz_hint, hogmf_names *user_names,
                               hogmf_names *item_names, hogmf_builder **out, hogmf_error *err)
{
    *out = NULL;
    hogmf_builder *b = calloc(1, sizeof *b);
    if (!b)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "ratings: out of memory");
    b->cap = nnz_hint ? nnz_hint : 4096;
    b->r.data = malloc(b->cap * sizeof *b->r.data);
    b->umap = hogmf__idmap_new(1024);
    b->imap = hogmf__idmap_new(1024);
    if (!b->r.data || !b->umap || !b->imap) {
        hogmf_builder_free(&b);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "ratings: out of memory for %zu ratings",
                           nnz_hint);
    }
    b->r.user_names = hogmf_names_ref(user_names);
    b->r.item_names = hogmf_names_ref(item_names);
    *out = b;
    return HOGMF_OK;
}

/* Dense index of id, appending it to ids when new (as the reader's intern). */
static int intern(hogmf_idmap *map, uint32_t **ids, uint32_t *count, uint32_t *cap,
                  uint32_t id, uint32_t *index)
{
    int inserted;
    if (hogmf__idmap_put(map, id, *count, index, &inserted) != 0)
        return -1;
    if (inserted) {
        if (*count == *cap) {
            uint32_t ncap = *cap ? (*cap > UINT32_MAX / 2 ? UINT32_MAX : *cap * 2) : 1024;
            uint32_t *p = realloc(*ids, (size_t)ncap * sizeof *p);
            if (!p)
                return -1;
            *ids = p;
            *cap = ncap;
        }
        (*ids)[(*count)++] = id;
    }
    return 0;
}

static hogmf_status bad_id(hogmf_error *err, size_t j, const char *what, uint32_t id,
                           const hogmf_names *t)
{
    return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                       "ratings[%zu]: %s: expected a code of the name table (below %u), "
                       "found %u", j, what, hogmf_names_count(t), id);
}

hogmf_status hogmf_builder_add(hogmf_builder *b, uint32_t user, uint32_t item, float r,
                               hogmf_error *err)
{
    size_t j = b->calls++;
    hogmf_ratings *s = &b->r;
    if (s->user_names && user >= hogmf_names_count(s->user_names))
        return bad_id(err, j, "user id", user, s->user_names);
    if (s->item_names && item >= hogmf_names_count(s->item_names))
        return bad_id(err, j, "item id", item, s->item_names);
    if (!isfinite(r))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "ratings[%zu]: rating: expected a finite number, found %g", j,
                           (double)r);
    if (s->nnz == b->cap) {
        size_t ncap = b->cap * 2;
        hogmf_rating *p = realloc(s->data, ncap * sizeof *p);
        if (!p)
            goto nomem;
        s->data = p;
        b->cap = ncap;
    }
    if ((s->m == UINT32_MAX - 1 && hogmf__idmap_get(b->umap, user) == HOGMF_UNKNOWN) ||
        (s->n == UINT32_MAX - 1 && hogmf__idmap_get(b->imap, item) == HOGMF_UNKNOWN))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "ratings[%zu]: more than 4294967294 distinct ids", j);
    hogmf_rating *x = &s->data[s->nnz];
    if (intern(b->umap, &s->user_ids, &s->m, &b->ucap, user, &x->u) != 0 ||
        intern(b->imap, &s->item_ids, &s->n, &b->icap, item, &x->i) != 0)
        goto nomem;
    x->r = r;
    s->nnz++;
    return HOGMF_OK;
nomem:
    return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "ratings[%zu]: out of memory", j);
}

hogmf_status hogmf_builder_finish(hogmf_builder **bp, hogmf_ratings *out, hogmf_error *err)
{
    hogmf_builder *b = *bp;
    hogmf_ratings *s = &b->r;
    memset(out, 0, sizeof *out);
    hogmf_status st = HOGMF_OK;
    if (s->nnz == 0)
        st = hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "ratings: expected at least one rating");
    else if (s->nnz > UINT32_MAX)
        st = hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                         "ratings: more than 4294967295 ratings in one set are not supported");
    if (st == HOGMF_OK)
        st = hogmf__remove_duplicates(s, err, "ratings");
    if (st != HOGMF_OK) {
        hogmf_builder_free(bp);
        return st;
    }
    s->rmin = s->rmax = s->data[0].r;
    for (size_t j = 1; j < s->nnz; j++) {
        float v = s->data[j].r;
        s->rmin = v < s->rmin ? v : s->rmin;
        s->rmax = v > s->rmax ? v : s->rmax;
    }
    if (s->nnz < b->cap) { /* give back the slack (none when the hint was exact) */
        hogmf_rating *p = realloc(s->data, s->nnz * sizeof *p);
        if (p)
            s->data = p;
    }
    s->format = HOGMF_FORMAT_AUTO;
    *out = *s;
    memset(s, 0, sizeof *s);
    hogmf_builder_free(bp);
    return HOGMF_OK;
}

hogmf_status hogmf_ratings_from_arrays(const uint32_t *users, const uint32_t *items,
                                       const float *ratings, const double *timestamps,
                                       size_t nnz, hogmf_names *user_names,
                                       hogmf_names *item_names, hogmf_ratings *out,
                                       hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    if (nnz == 0)
        return hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "ratings: expected at least one rating");
    if (timestamps)
        for (size_t j = 0; j < nnz; j++)
            if (!isfinite(timestamps[j]))
                return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                                   "ratings[%zu]: timestamp: expected a finite number, found %g",
                                   j, timestamps[j]);
    hogmf_builder *b;
    hogmf_status st = hogmf_builder_new(nnz, user_names, item_names, &b, err);
    for (size_t j = 0; st == HOGMF_OK && j < nnz; j++)
        st = hogmf_builder_add(b, users[j], items[j], ratings[j], err);
    if (st != HOGMF_OK) {
        hogmf_builder_free(&b);
        return st;
    }
    return hogmf_builder_finish(&b, out, err);
}
