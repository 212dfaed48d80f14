/*
 * names.c - string ids: a reference-counted table of names (code -> bytes in one arena,
 * bytes -> code in an open-addressing hash), the model's lookups by name, and the optional
 * section of the model file (format version 3) that carries a model's tables. It does not
 * read ratings files (ratings.c codes their string fields here) and knows no other layout.
 */
#include "bytes.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES 1024u

struct hogmf_names {
    int refs;
    uint32_t count;   /* names, codes 0..count-1 */
    uint64_t *off;    /* count + 1 offsets into arena; name c is arena[off[c] .. off[c+1]-1),
                       * each followed by a NUL */
    uint32_t ocap;    /* capacity of off, in names */
    char *arena;
    size_t alen, acap;
    uint32_t *slots;  /* hash: code + 1, 0 for empty */
    size_t scap;      /* a power of two, load at most 1/2 */
};

/* FNV-1a, 64-bit. */
static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t j = 0; j < len; j++)
        h = (h ^ (unsigned char)s[j]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

hogmf_names *hogmf_names_new(void)
{
    hogmf_names *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->refs = 1;
    t->ocap = 64;
    t->off = malloc((size_t)(t->ocap + 1) * sizeof *t->off);
    t->acap = 1024;
    t->arena = malloc(t->acap);
    t->scap = 128;
    t->slots = calloc(t->scap, sizeof *t->slots);
    if (!t->off || !t->arena || !t->slots) {
        hogmf_names_free(&t);
        return NULL;
    }
    t->off[0] = 0;
    return t;
}

hogmf_names *hogmf_names_ref(hogmf_names *t)
{
    if (t)
        t->refs++;
    return t;
}

void hogmf_names_free(hogmf_names **t)
{
    if (!t || !*t)
        return;
    hogmf_names *x = *t;
    *t = NULL;
    if (--x->refs > 0)
        return;
    free(x->off);
    free(x->arena);
    free(x->slots);
    free(x);
}

uint32_t hogmf_names_count(const hogmf_names *t) { return t ? t->count : 0; }

const char *hogmf_names_get(const hogmf_names *t, uint32_t code, size_t *len)
{
    if (!t || code >= t->count)
        return NULL;
    if (len)
        *len = (size_t)(t->off[code + 1] - t->off[code] - 1);
    return t->arena + t->off[code];
}

static int same(const hogmf_names *t, uint32_t code, const char *s, size_t len)
{
    return t->off[code + 1] - t->off[code] - 1 == len && memcmp(t->arena + t->off[code], s, len) == 0;
}

uint32_t hogmf_names_find(const hogmf_names *t, const char *s, size_t len)
{
    if (!t)
        return HOGMF_UNKNOWN;
    size_t mask = t->scap - 1;
    for (size_t h = (size_t)name_hash(s, len) & mask;; h = (h + 1) & mask) {
        uint32_t v = t->slots[h];
        if (v == 0)
            return HOGMF_UNKNOWN;
        if (same(t, v - 1, s, len))
            return v - 1;
    }
}

static int rehash(hogmf_names *t, size_t cap)
{
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t c = 0; c < t->count; c++) {
        size_t h = (size_t)name_hash(t->arena + t->off[c], (size_t)(t->off[c + 1] - t->off[c] - 1));
        while (slots[h & (cap - 1)])
            h++;
        slots[h & (cap - 1)] = c + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->scap = cap;
    return 0;
}

/* Checks a name's bytes; returns NULL when it is acceptable, else what is wrong. */
static const char *name_problem(const char *s, size_t len)
{
    if (len == 0)
        return "an empty id";
    if (len > NAME_MAX_BYTES)
        return "an id of more than 1024 bytes";
    for (size_t j = 0; j < len; j++) {
        unsigned char c = (unsigned char)s[j];
        if (c < 32 || c == 127)
            return "a control byte in an id";
    }
    return NULL;
}

hogmf_status hogmf_names_add(hogmf_names *t, const char *s, size_t len, uint32_t *code,
                             hogmf_error *err)
{
    uint32_t c = hogmf_names_find(t, s, len);
    if (c != HOGMF_UNKNOWN) {
        *code = c;
        return HOGMF_OK;
    }
    const char *problem = name_problem(s, len);
    if (problem) {
        char q[48];
        size_t ql = len < 40 ? len : 40;
        for (size_t j = 0; j < ql; j++)
            q[j] = (unsigned char)s[j] < 32 || s[j] == 127 ? '?' : s[j];
        q[ql] = '\0';
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "id '%s%s': %s", q, len > 40 ? "..." : "",
                           problem);
    }
    if (t->count >= UINT32_MAX - 2)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "id '%.40s': more than 4294967293 names",
                           s);
    if (t->count == t->ocap) {
        uint32_t ncap = t->ocap > UINT32_MAX / 2 - 1 ? UINT32_MAX - 1 : t->ocap * 2;
        uint64_t *p = realloc(t->off, ((size_t)ncap + 1) * sizeof *p);
        if (!p)
            goto nomem;
        t->off = p;
        t->ocap = ncap;
    }
    if (t->alen + len + 1 > t->acap) {
        size_t ncap = t->acap * 2;
        while (ncap < t->alen + len + 1)
            ncap *= 2;
        char *p = realloc(t->arena, ncap);
        if (!p)
            goto nomem;
        t->arena = p;
        t->acap = ncap;
    }
    if (2 * ((size_t)t->count + 1) > t->scap && rehash(t, t->scap * 2) != 0)
        goto nomem;
    memcpy(t->arena + t->alen, s, len);
    t->arena[t->alen + len] = '\0';
    t->alen += len + 1;
    c = t->count++;
    t->off[t->count] = t->alen;
    size_t mask = t->scap - 1;
    size_t h = (size_t)name_hash(s, len) & mask;
    while (t->slots[h])
        h = (h + 1) & mask;
    t->slots[h] = c + 1;
    *code = c;
    return HOGMF_OK;
nomem:
    return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "id '%.40s': out of memory", s);
}

/* ---------------------------------------------------------------- the model's names */

static uint32_t index_by_name(const struct hogmf_idmap *map, const hogmf_names *t,
                              const char *name, size_t len)
{
    uint32_t c = hogmf_names_find(t, name, len);
    return c == HOGMF_UNKNOWN ? HOGMF_UNKNOWN : hogmf__idmap_get(map, c);
}

uint32_t hogmf_model_user_index_name(const hogmf_model *model, const char *name, size_t len)
{
    return index_by_name(model->umap, model->user_names, name, len);
}

uint32_t hogmf_model_item_index_name(const hogmf_model *model, const char *name, size_t len)
{
    return index_by_name(model->imap, model->item_names, name, len);
}

static uint32_t set_index(const struct hogmf_idmap *map, const hogmf_names *mt,
                          const hogmf_names *st, uint32_t id)
{
    if (mt == st) /* both numeric, or codes of one table */
        return hogmf__idmap_get(map, id);
    if (!mt || !st)
        return HOGMF_UNKNOWN;
    size_t len;
    const char *name = hogmf_names_get(st, id, &len);
    return name ? index_by_name(map, mt, name, len) : HOGMF_UNKNOWN;
}

uint32_t hogmf_model_set_user_index(const hogmf_model *model, const hogmf_ratings *set,
                                    uint32_t u)
{
    return set_index(model->umap, model->user_names, set->user_names, set->user_ids[u]);
}

uint32_t hogmf_model_set_item_index(const hogmf_model *model, const hogmf_ratings *set,
                                    uint32_t i)
{
    return set_index(model->imap, model->item_names, set->item_names, set->item_ids[i]);
}

const char *hogmf_model_user_name(const hogmf_model *model, uint32_t u)
{
    return u < model->m ? hogmf_names_get(model->user_names, model->user_ids[u], NULL) : NULL;
}

const char *hogmf_model_item_name(const hogmf_model *model, uint32_t i)
{
    return i < model->n ? hogmf_names_get(model->item_names, model->item_ids[i], NULL) : NULL;
}

void hogmf_model_copy_factors(const hogmf_model *model, int items, float *out)
{
    const float *src = items ? model->Q : model->P;
    uint32_t rows = items ? model->n : model->m;
    for (uint32_t r = 0; r < rows; r++)
        memcpy(out + (size_t)r * model->k, src + (size_t)r * model->stride,
               (size_t)model->k * sizeof(float));
}

static int codes_fit(const uint32_t *ids, uint32_t count, const hogmf_names *t)
{
    if (!t)
        return 1;
    for (uint32_t j = 0; j < count; j++)
        if (ids[j] >= t->count)
            return 0;
    return 1;
}

hogmf_status hogmf_model_set_names(hogmf_model *model, hogmf_names *user_names,
                                   hogmf_names *item_names, hogmf_error *err)
{
    if (!codes_fit(model->user_ids, model->m, user_names) ||
        !codes_fit(model->item_ids, model->n, item_names))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "model ids are not codes of the given name tables");
    hogmf_names *u = hogmf_names_ref(user_names), *i = hogmf_names_ref(item_names);
    hogmf_names_free(&model->user_names);
    hogmf_names_free(&model->item_names);
    model->user_names = u;
    model->item_names = i;
    return HOGMF_OK;
}

/* ---------------------------------------------------------------- the model file's section */

/* Layout after the version 2 body (which ends with its own CRC): u32 flags (bit 0 user
 * names, bit 1 item names); per table present, u32 count, u64 bytes, count u32 lengths, the
 * names' bytes back to back (no NULs); then a CRC-32 of the section before it. */

static size_t table_bytes(const hogmf_names *t)
{
    return t ? 12 + 4 * (size_t)t->count + (t->alen - t->count) : 0;
}

size_t hogmf__names_section_bytes(const hogmf_model *model)
{
    return 4 + table_bytes(model->user_names) + table_bytes(model->item_names) + 4;
}

static unsigned char *put_table(unsigned char *p, const hogmf_names *t)
{
    if (!t)
        return p;
    hogmf__put_u32(p, t->count);
    hogmf__put_u64(p + 4, t->alen - t->count);
    p += 12;
    for (uint32_t c = 0; c < t->count; c++, p += 4)
        hogmf__put_u32(p, (uint32_t)(t->off[c + 1] - t->off[c] - 1));
    for (uint32_t c = 0; c < t->count; c++) {
        size_t l = (size_t)(t->off[c + 1] - t->off[c] - 1);
        memcpy(p, t->arena + t->off[c], l);
        p += l;
    }
    return p;
}

void hogmf__names_section_write(const hogmf_model *model, unsigned char *p)
{
    unsigned char *start = p;
    hogmf__put_u32(p, (model->user_names ? 1u : 0u) | (model->item_names ? 2u : 0u));
    p = put_table(p + 4, model->user_names);
    p = put_table(p, model->item_names);
    hogmf__put_u32(p, hogmf__crc32(0, start, (size_t)(p - start)));
}

/* Reads one table from p[0..len); advances *used. NULL with *why set on failure. */
static hogmf_names *get_table(const unsigned char *p, size_t len, size_t *used,
                              const char **why)
{
    if (len < 12) {
        *why = "name section truncated";
        return NULL;
    }
    uint32_t count = hogmf__get_u32(p);
    uint64_t bytes = hogmf__get_u64(p + 4);
    if (count >= UINT32_MAX - 2 || (uint64_t)count * 4 > len - 12 ||
        bytes > len - 12 - (uint64_t)count * 4) {
        *why = "name section sizes out of range";
        return NULL;
    }
    const unsigned char *lens = p + 12, *s = lens + (size_t)count * 4;
    uint64_t sum = 0;
    for (uint32_t c = 0; c < count; c++)
        sum += hogmf__get_u32(lens + 4 * (size_t)c);
    if (sum != bytes) {
        *why = "name lengths do not add up";
        return NULL;
    }
    hogmf_names *t = hogmf_names_new();
    if (!t) {
        *why = "out of memory";
        return NULL;
    }
    for (uint32_t c = 0; c < count; c++) {
        uint32_t l = hogmf__get_u32(lens + 4 * (size_t)c), code = HOGMF_UNKNOWN;
        if (hogmf_names_add(t, (const char *)s, l, &code, NULL) != HOGMF_OK || code != c) {
            *why = code == HOGMF_UNKNOWN ? "bad name" : "repeated name";
            hogmf_names_free(&t);
            return NULL;
        }
        s += l;
    }
    *used = 12 + (size_t)count * 4 + (size_t)bytes;
    return t;
}

hogmf_status hogmf__names_section_read(hogmf_model *model, const unsigned char *p, size_t len,
                                       const char *path, hogmf_error *err)
{
    const char *why = NULL;
    hogmf_names *un = NULL, *in = NULL;
    size_t at = 4, used = 0;
    if (len < 8) {
        why = "name section truncated";
        goto fail;
    }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (hogmf__crc32(0, p, len - 4) != hogmf__get_u32(p + len - 4)) {
        why = "name section checksum mismatch (corrupt file)";
        goto fail;
    }
#endif
    uint32_t flags = hogmf__get_u32(p);
    if (flags == 0 || flags > 3) {
        why = "unknown name section flags";
        goto fail;
    }
    len -= 4;
    if ((flags & 1) && !(un = get_table(p + at, len - at, &used, &why)))
        goto fail;
    at += (flags & 1) ? used : 0;
    if ((flags & 2) && !(in = get_table(p + at, len - at, &used, &why)))
        goto fail;
    at += (flags & 2) ? used : 0;
    if (at != len) {
        why = "name section has trailing bytes";
        goto fail;
    }
    if (hogmf_model_set_names(model, un, in, NULL) != HOGMF_OK) {
        why = "an id is not a code of its name table";
        goto fail;
    }
    hogmf_names_free(&un);
    hogmf_names_free(&in);
    return HOGMF_OK;
fail:
    hogmf_names_free(&un);
    hogmf_names_free(&in);
    return hogmf__fail(err, HOGMF_ERR_FORMAT, 0, "%s: not a valid hogmf model: %s", path, why);
}
