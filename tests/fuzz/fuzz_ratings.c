/*
 * fuzz_ratings.c - libFuzzer target for the ratings reader. The first byte picks the options
 * (format, ratings optional, duplicates kept) and whether the rest is parsed from memory or
 * read as a file (which adds gzip detection, decompression and chunked reading). A set that
 * is accepted must be consistent; anything else must be a clean error. Built by `make fuzz`
 * with clang, and replayed over tests/fuzz/corpus/ratings by `make test` (replay.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_memfile.h"
#include "hogmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ratings: invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hogmf_read_options o = hogmf_read_options_default();
    o.format = (hogmf_format)(data[0] % 5);
    o.allow_no_rating = (data[0] >> 3) & 1;
    o.keep_duplicates = (data[0] >> 4) & 1;
    int as_file = (data[0] >> 7) & 1;
    data++;
    size--;
    hogmf_ratings r;
    hogmf_error err;
    memset(&err, 0, sizeof err);
    hogmf_status st;
    if (as_file) {
        char path[64];
        if (fuzz_memfile(data, size, path, sizeof path) != 0)
            return 0;
        st = hogmf_ratings_read(path, &o, &r, &err);
    } else {
        st = hogmf_ratings_parse((const char *)data, size, "fuzz", &o, &r, &err);
    }
    if (st != HOGMF_OK) {
        check(r.data == NULL && r.nnz == 0, "output left empty on failure");
        check(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg), "error message set");
        return 0;
    }
    check(r.nnz > 0 && r.m > 0 && r.n > 0, "non-empty set");
    for (size_t j = 0; j < r.nnz; j++) {
        check(r.data[j].u < r.m && r.data[j].i < r.n, "indices in range");
        if (!o.allow_no_rating || !isnan(r.data[j].r))
            check(isfinite(r.data[j].r), "finite rating");
    }
    hogmf_ratings_free(&r);
    return 0;
}
