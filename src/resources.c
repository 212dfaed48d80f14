/*
 * resources.c - how much memory a training job needs, estimated from its sizes before
 * anything large is allocated, so a batch job can be refused up front instead of being
 * killed half-way. Estimates only: it mirrors the allocations of train.c, schedule.c and
 * model_io.c; it does not measure anything.
 */
#include "internal.h"

#include <math.h>

/* Bytes of an id map for count ids: slots are a power of two at least twice the count. */
static uint64_t idmap_bytes(uint64_t count)
{
    uint64_t cap = 64;
    while (cap < 2 * count)
        cap *= 2;
    return cap * 8;
}

uint64_t hogmf_estimate_memory(uint64_t nnz, uint32_t m, uint32_t n, uint64_t valid_nnz,
                               const hogmf_params *params)
{
    uint64_t rows = (uint64_t)m + n;
    uint64_t stride = hogmf__stride(params->k);
    /* The loaded sets: ratings and id arrays (validation ids taken as one per 8 ratings). */
    uint64_t sets = 12 * nnz + 4 * rows + 12 * valid_nnz + 4 * (valid_nnz / 8 + 1);
    /* The model: padded factor rows, biases, ids and their maps. */
    uint64_t model = rows * (4 * stride + 4 + 4) + idmap_bytes(m) + idmap_bytes(n);
    /* The trainer's extras: validation ratings in model indices, the best-epoch copy, the
     * AdaGrad sums and the grid of tiles (built with 8 bytes a row of scratch). */
    uint64_t extra = 12 * valid_nnz;
    if (valid_nnz > 0 && params->patience > 0)
        extra += rows * (4 * stride + 4);
    if (params->schedule_lr == HOGMF_LR_ADAGRAD)
        extra += 8 * rows;
    if (params->order == HOGMF_ORDER_BLOCKS || params->schedule == HOGMF_SCHEDULE_BLOCKS) {
        double g = sqrt((double)nnz / 2000.0);
        uint64_t G = g < 3 ? 3 : g > 1024 ? 1024 : (uint64_t)g;
        extra += 16 * G * G + 8 * rows;
    }
    /* At the end the model file is assembled in memory (the trainer's extras are freed). */
    uint64_t save = 128 + 8 * rows + 4 * (uint64_t)params->k * rows + 4;
    /* Output and read buffers, thread stacks and the like. */
    uint64_t fixed = 8u << 20;
    return sets + model + (extra > save ? extra : save) + fixed;
}
