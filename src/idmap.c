/*
 * idmap.c - map from a user's original 32-bit ids to dense indices: a direct table for small
 * ids (grown to the largest one seen, in powers of two) and open addressing with linear
 * probing (power-of-two capacity, load at most 1/2) for ids of 2^22 and more. No deletion.
 */
#include "internal.h"

#include <stdlib.h>

static inline size_t idmap_hash(uint32_t id, size_t mask)
{
    return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static int idmap_alloc(hogmf_idmap *map, size_t cap)
{
    map->keys = malloc(cap * sizeof *map->keys);
    map->vals = malloc(cap * sizeof *map->vals);
    if (!map->keys || !map->vals) {
        free(map->keys);
        free(map->vals);
        return -1;
    }
    for (size_t s = 0; s < cap; s++)
        map->vals[s] = HOGMF_UNKNOWN;
    map->cap = cap;
    return 0;
}

hogmf_idmap *hogmf__idmap_new(size_t expected)
{
    size_t cap = 64;
    while (cap < 2 * expected)
        cap *= 2;
    hogmf_idmap *map = calloc(1, sizeof *map);
    if (!map || idmap_alloc(map, cap) != 0) {
        free(map);
        return NULL;
    }
    return map;
}

void hogmf__idmap_free(hogmf_idmap *map)
{
    if (!map)
        return;
    free(map->direct);
    free(map->keys);
    free(map->vals);
    free(map);
}

uint32_t hogmf__idmap_get_hashed(const hogmf_idmap *map, uint32_t id)
{
    size_t mask = map->cap - 1;
    for (size_t s = idmap_hash(id, mask);; s = (s + 1) & mask) {
        if (map->vals[s] == HOGMF_UNKNOWN)
            return HOGMF_UNKNOWN;
        if (map->keys[s] == id)
            return map->vals[s];
    }
}

static int idmap_grow(hogmf_idmap *map)
{
    hogmf_idmap bigger = {0};
    if (idmap_alloc(&bigger, map->cap * 2) != 0)
        return -1;
    size_t mask = bigger.cap - 1;
    for (size_t s = 0; s < map->cap; s++) {
        if (map->vals[s] == HOGMF_UNKNOWN)
            continue;
        size_t t = idmap_hash(map->keys[s], mask);
        while (bigger.vals[t] != HOGMF_UNKNOWN)
            t = (t + 1) & mask;
        bigger.keys[t] = map->keys[s];
        bigger.vals[t] = map->vals[s];
    }
    free(map->keys);
    free(map->vals);
    map->keys = bigger.keys;
    map->vals = bigger.vals;
    map->cap = bigger.cap;
    return 0;
}

/* Grows the direct table to hold id. */
static int direct_grow(hogmf_idmap *map, uint32_t id)
{
    size_t cap = map->dcap ? map->dcap : 1024;
    while (cap <= id)
        cap *= 2;
    uint32_t *d = realloc(map->direct, cap * sizeof *d);
    if (!d)
        return -1;
    for (size_t j = map->dcap; j < cap; j++)
        d[j] = HOGMF_UNKNOWN;
    map->direct = d;
    map->dcap = cap;
    return 0;
}

int hogmf__idmap_put_slow(hogmf_idmap *map, uint32_t id, uint32_t next, uint32_t *index,
                          int *inserted)
{
    if (id < HOGMF_IDMAP_DIRECT) {
        if (id >= map->dcap && direct_grow(map, id) != 0)
            return -1;
        if (map->direct[id] != HOGMF_UNKNOWN) {
            *index = map->direct[id];
            *inserted = 0;
            return 0;
        }
        map->direct[id] = next; /* count covers the hashed part only */
        *index = next;
        *inserted = 1;
        return 0;
    }
    size_t mask = map->cap - 1;
    size_t s = idmap_hash(id, mask);
    for (;; s = (s + 1) & mask) {
        if (map->vals[s] == HOGMF_UNKNOWN)
            break;
        if (map->keys[s] == id) {
            *index = map->vals[s];
            *inserted = 0;
            return 0;
        }
    }
    if (2 * (map->count + 1) > map->cap) {
        if (idmap_grow(map) != 0)
            return -1;
        mask = map->cap - 1;
        for (s = idmap_hash(id, mask); map->vals[s] != HOGMF_UNKNOWN; s = (s + 1) & mask)
            ;
    }
    map->keys[s] = id;
    map->vals[s] = next;
    map->count++;
    *index = next;
    *inserted = 1;
    return 0;
}

hogmf_idmap *hogmf__idmap_from_ids(const uint32_t *ids, uint32_t count)
{
    hogmf_idmap *map = hogmf__idmap_new(count);
    if (!map)
        return NULL;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t index;
        int inserted;
        if (hogmf__idmap_put(map, ids[j], j, &index, &inserted) != 0 || !inserted) {
            hogmf__idmap_free(map);
            return NULL;
        }
    }
    return map;
}
