/*
 * fuzz_checkpoint.c - libFuzzer target for the checkpoint loader: the input is a checkpoint
 * file for a fixed small training set. It is inspected, then resumed with each of two
 * parameter sets (shuffled order with validation and AdaGrad; tiles with the block
 * schedule); a trainer that comes back must train one more epoch and finish cleanly. With
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (set by `make fuzz`) the CRC is not enforced.
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
        fprintf(stderr, "fuzz_checkpoint: invariant broken: %s\n", what);
        abort();
    }
}

static hogmf_ratings pristine, valid; /* file order, as read */
static hogmf_rating *pristine_data;

static void setup(void)
{
    if (pristine_data)
        return;
    char text[8192];
    size_t len = 0;
    for (int j = 0; j < 200; j++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%d %d %d\n", j % 13, (j * 7) % 11,
                                1 + (j * 31) % 5);
    hogmf_error err;
    if (hogmf_ratings_parse(text, len, "fuzz-train", NULL, &pristine, &err) != HOGMF_OK ||
        hogmf_ratings_parse("1 2 3\n4 5 1\n", 12, "fuzz-valid", NULL, &valid, &err) != HOGMF_OK)
        abort();
    pristine_data = malloc(pristine.nnz * sizeof *pristine_data);
    if (!pristine_data)
        abort();
    memcpy(pristine_data, pristine.data, pristine.nnz * sizeof *pristine_data);
}

static hogmf_params params_for(int which)
{
    hogmf_params p = hogmf_params_default();
    p.k = 3;
    p.epochs = 4;
    p.threads = 1;
    p.seed = 5;
    p.patience = 10;
    if (which == 0) {
        p.order = HOGMF_ORDER_SHUFFLE;
        p.schedule_lr = HOGMF_LR_ADAGRAD;
    } else {
        p.order = HOGMF_ORDER_BLOCKS;
        p.schedule = HOGMF_SCHEDULE_BLOCKS;
        p.schedule_lr = HOGMF_LR_BOLD;
    }
    return p;
}

static int load_one(const uint8_t *data, size_t size)
{
    setup();
    char path[64];
    if (fuzz_memfile(data, size, path, sizeof path) != 0)
        return 0;
    hogmf_checkpoint_info ci;
    hogmf_error err;
    hogmf_status st = hogmf_checkpoint_inspect(path, &ci, &err);
    if (st == HOGMF_OK)
        check(ci.m > 0 && ci.n > 0 && ci.k > 0 && ci.nnz > 0, "inspected sizes");
    for (int which = 0; which < 2; which++) {
        memcpy(pristine.data, pristine_data, pristine.nnz * sizeof *pristine_data);
        hogmf_params p = params_for(which);
        hogmf_trainer *t = NULL;
        st = hogmf_trainer_resume(&pristine, which == 0 ? &valid : NULL, &p, path, &t, &err);
        if (st != HOGMF_OK) {
            check(t == NULL && err.msg[0] != '\0', "clean failure");
            continue;
        }
        for (size_t j = 0; j < pristine.nnz; j++)
            check(pristine.data[j].u < pristine.m && pristine.data[j].i < pristine.n,
                  "ratings in range after resume");
        if (!hogmf_trainer_done(t))
            (void)hogmf_trainer_epoch(t, NULL, &err); /* may diverge: a status, not a crash */
        hogmf_model *m = NULL;
        check(hogmf_trainer_finish(t, &m, &err) == HOGMF_OK && m != NULL, "finish");
        hogmf_model_free(&m);
        hogmf_trainer_free(&t);
    }
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

/* Checkpoints of both parameter sets after 0, 1 and 3 epochs. */
void fuzz_write_seeds(const char *dir)
{
    setup();
    for (int which = 0; which < 2; which++)
        for (uint32_t e = 0; e < 4; e += 1 + e) {
            memcpy(pristine.data, pristine_data, pristine.nnz * sizeof *pristine_data);
            hogmf_params p = params_for(which);
            hogmf_trainer *t = NULL;
            hogmf_error err;
            if (hogmf_trainer_new(&pristine, which == 0 ? &valid : NULL, &p, &t, &err) !=
                HOGMF_OK)
                abort();
            for (uint32_t j = 0; j < e; j++)
                (void)hogmf_trainer_epoch(t, NULL, &err);
            char out[4096];
            snprintf(out, sizeof out, "%s/seed%d-%u", dir, which, e);
            if (hogmf_checkpoint_save(t, out, &err) != HOGMF_OK)
                fprintf(stderr, "fuzz_checkpoint: %s\n", err.msg);
            hogmf_trainer_free(&t);
        }
}
