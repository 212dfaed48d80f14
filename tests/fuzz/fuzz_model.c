/*
 * fuzz_model.c - libFuzzer target for the model loader: the input is a model file. A model
 * that loads must be usable (lookups and predictions in range, finite where its parameters
 * are); anything else must be a clean error. With FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
 * (set by `make fuzz`) the CRC is not enforced, so mutations reach the checks behind it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "fuzz_memfile.h"
#include "hogmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void fuzz_write_seeds(const char *dir);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_model: invariant broken: %s\n", what);
        abort();
    }
}

static int load_one(const uint8_t *data, size_t size)
{
    char path[64];
    if (fuzz_memfile(data, size, path, sizeof path) != 0)
        return 0;
    hogmf_model *m = NULL;
    hogmf_error err;
    memset(&err, 0, sizeof err);
    hogmf_status st = hogmf_model_load(path, &m, &err);
    if (st != HOGMF_OK) {
        check(m == NULL, "no model on failure");
        check(err.msg[0] != '\0', "error message set");
        return 0;
    }
    check(m->m > 0 && m->n > 0 && m->k > 0 && m->stride >= m->k, "sizes");
    for (uint32_t u = 0; u < m->m; u++)
        check(hogmf_model_user_index(m, m->user_ids[u]) == u, "user map");
    for (uint32_t i = 0; i < m->n; i++)
        check(hogmf_model_item_index(m, m->item_ids[i]) == i, "item map");
    for (uint32_t u = 0; u < m->m && u < 4; u++)
        for (uint32_t i = 0; i < m->n && i < 4; i++) {
            float r = hogmf_model_predict(m, u, i);
            check(isnan(r) || (r >= m->rmin && r <= m->rmax), "prediction clipped");
        }
    float r = hogmf_model_predict(m, HOGMF_UNKNOWN, HOGMF_UNKNOWN);
    check(isnan(r) || (r >= m->rmin && r <= m->rmax), "prediction for unknowns clipped");
    hogmf_model_free(&m);
    return 0;
}

/* Under libFuzzer the library is built without its CRC checks. In the replay of `make test`
 * they are on, so each input is tried as it is and again with a CRC-32 that matches its
 * bytes: the checks behind the CRC see the corpus in both builds. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_one(data, size);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (size >= 4) {
        uint8_t *copy = malloc(size);
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        uLong c = crc32(0L, copy, (uInt)(size - 4));
        for (int j = 0; j < 4; j++)
            copy[size - 4 + (size_t)j] = (uint8_t)(c >> (8 * j));
        load_one(copy, size);
        free(copy);
    }
#endif
    return 0;
}

/* Valid model files to start from (written with the library). */
void fuzz_write_seeds(const char *dir)
{
    static const uint32_t shapes[][3] = {{1, 1, 1}, {3, 2, 4}, {5, 7, 17}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        hogmf_model *m = hogmf_model_new(shapes[s][0], shapes[s][1], shapes[s][2]);
        if (!m)
            continue;
        m->mu = 3.5f;
        m->rmin = 1;
        m->rmax = 5;
        for (uint32_t u = 0; u < m->m; u++) {
            m->user_ids[u] = 100 + 7 * u;
            m->bu[u] = 0.1f * (float)u;
            for (uint32_t d = 0; d < m->k; d++)
                m->P[(size_t)u * m->stride + d] = 0.01f * (float)(u + d);
        }
        for (uint32_t i = 0; i < m->n; i++) {
            m->item_ids[i] = 4294967295u - i;
            m->bi[i] = -0.1f * (float)i;
            for (uint32_t d = 0; d < m->k; d++)
                m->Q[(size_t)i * m->stride + d] = -0.02f * (float)(i + d);
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/seed%zu", dir, s);
        hogmf_error err;
        if (hogmf_model_save(m, path, &err) != HOGMF_OK)
            fprintf(stderr, "fuzz_model: %s\n", err.msg);
        hogmf_model_free(&m);
    }
}
