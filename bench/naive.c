/*
 * naive.c - the yardstick of REFERENCE.md: a plain scalar biased-MF SGD loop in C, one
 * thread, the ratings shuffled once, the same model and step as hogmf__sgd_update
 * (e = r - (mu + bu + bi + p.q); biases and both rows updated from their old values), with
 * hogmf's default learning rate, decay, L2 and initial spread. Built -O2 without SIMD flags
 * (-fno-tree-vectorize, no -march, no FMA contraction): it is a baseline, not a competitor.
 * Prints one JSON object per -k: median and best updates per second over the epochs, and
 * the validation RMSE reached (clipped like hogmf) as a check that it really learns.
 * Only the reading of the file goes through the library; the loop is independent of it.
 *
 *   build/bench_naive [-k K]... [-e EPOCHS] [-s SEED] [--validate FILE] TRAIN_FILE
 */
#define _POSIX_C_SOURCE 200809L
#include "hogmf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_K_RUNS 8
#define MAX_EPOCHS 100

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64: a small, good enough generator of our own (the library's is private). */
static uint64_t next_u64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_uniform(uint64_t *x) { return (double)(next_u64(x) >> 11) * 0x1.0p-53; }

static double next_normal(uint64_t *x)
{
    double u1 = next_uniform(x), u2 = next_uniform(x);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Original id -> dense index of the training set, by binary search over sorted pairs. */
typedef struct id_pair {
    uint32_t id, index;
} id_pair;

static int cmp_pair(const void *a, const void *b)
{
    uint32_t x = ((const id_pair *)a)->id, y = ((const id_pair *)b)->id;
    return (x > y) - (x < y);
}

static id_pair *pairs_new(const uint32_t *ids, uint32_t count)
{
    id_pair *p = malloc((size_t)count * sizeof *p + 1);
    if (!p)
        return NULL;
    for (uint32_t j = 0; j < count; j++)
        p[j] = (id_pair){ids[j], j};
    qsort(p, count, sizeof *p, cmp_pair);
    return p;
}

static uint32_t pairs_find(const id_pair *p, uint32_t count, uint32_t id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < count && p[lo].id == id ? p[lo].index : HOGMF_UNKNOWN;
}

/* The model: P (m x k), Q (n x k), bu (m), bi (n), row-major, no padding. */
typedef struct naive_model {
    uint32_t m, n, k;
    float mu;
    float *P, *Q, *bu, *bi;
} naive_model;

/* One pass of plain SGD over x[0..nnz) in array order. */
static void sgd_epoch(naive_model *md, const hogmf_rating *x, size_t nnz, float lr, float lb,
                      float lp, float lq)
{
    const uint32_t k = md->k;
    for (size_t j = 0; j < nnz; j++) {
        const uint32_t u = x[j].u, i = x[j].i;
        float *p = md->P + (size_t)u * k, *q = md->Q + (size_t)i * k;
        float dot = 0.0f;
        for (uint32_t d = 0; d < k; d++)
            dot += p[d] * q[d];
        const float e = x[j].r - (md->mu + md->bu[u] + md->bi[i] + dot);
        md->bu[u] += lr * (e - lb * md->bu[u]);
        md->bi[i] += lr * (e - lb * md->bi[i]);
        for (uint32_t d = 0; d < k; d++) {
            const float pu = p[d], qi = q[d];
            p[d] = pu + lr * (e * qi - lp * pu);
            q[d] = qi + lr * (e * pu - lq * qi);
        }
    }
}

/* RMSE of clipped predictions on a set whose ids are translated through the train set's. */
static double valid_rmse(const naive_model *md, const hogmf_ratings *train,
                         const hogmf_ratings *valid, const id_pair *up, const id_pair *ip)
{
    double sse = 0;
    for (size_t j = 0; j < valid->nnz; j++) {
        uint32_t u = pairs_find(up, train->m, valid->user_ids[valid->data[j].u]);
        uint32_t i = pairs_find(ip, train->n, valid->item_ids[valid->data[j].i]);
        float pred = md->mu;
        if (u != HOGMF_UNKNOWN)
            pred += md->bu[u];
        if (i != HOGMF_UNKNOWN)
            pred += md->bi[i];
        if (u != HOGMF_UNKNOWN && i != HOGMF_UNKNOWN)
            for (uint32_t d = 0; d < md->k; d++)
                pred += md->P[(size_t)u * md->k + d] * md->Q[(size_t)i * md->k + d];
        pred = pred < train->rmin ? train->rmin : pred > train->rmax ? train->rmax : pred;
        double e = (double)valid->data[j].r - (double)pred;
        sse += e * e;
    }
    return valid->nnz ? sqrt(sse / (double)valid->nnz) : NAN;
}

static int usage(void)
{
    fputs("usage: bench_naive [-k K]... [-e EPOCHS] [-s SEED] [--validate FILE] TRAIN_FILE\n",
          stderr);
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long ks[MAX_K_RUNS], v;
    int nk = 0;
    long epochs = 3;
    uint64_t seed = 1;
    const char *train_path = NULL, *valid_path = NULL;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "-k") && a + 1 < argc) {
            if (nk == MAX_K_RUNS || parse_long(argv[++a], 1, 65536, &ks[nk]) != 0)
                return usage();
            nk++;
        } else if (!strcmp(argv[a], "-e") && a + 1 < argc) {
            if (parse_long(argv[++a], 1, MAX_EPOCHS, &epochs) != 0)
                return usage();
        } else if (!strcmp(argv[a], "-s") && a + 1 < argc) {
            if (parse_long(argv[++a], 0, 2147483647L, &v) != 0)
                return usage();
            seed = (uint64_t)v;
        } else if (!strcmp(argv[a], "--validate") && a + 1 < argc) {
            valid_path = argv[++a];
        } else if (argv[a][0] == '-' && argv[a][1] != '\0') {
            return usage();
        } else if (!train_path) {
            train_path = argv[a];
        } else {
            return usage();
        }
    }
    if (!train_path)
        return usage();
    if (nk == 0)
        ks[nk++] = 32;

    hogmf_read_options ro = hogmf_read_options_default();
    hogmf_ratings train = {0}, valid = {0};
    hogmf_error err = {0};
    id_pair *up = NULL, *ip = NULL;
    naive_model md = {0};
    int rc = 1;
    if (hogmf_ratings_read(train_path, &ro, &train, &err) != HOGMF_OK ||
        (valid_path && hogmf_ratings_read(valid_path, &ro, &valid, &err) != HOGMF_OK)) {
        fprintf(stderr, "bench_naive: %s\n", err.msg[0] ? err.msg : hogmf_strerror(err.status));
        rc = 2;
        goto done;
    }
    up = pairs_new(train.user_ids, train.m);
    ip = pairs_new(train.item_ids, train.n);
    if (!up || !ip)
        goto oom;

    /* Shuffled once (Fisher-Yates), then visited in that order every epoch. */
    uint64_t g = seed ^ 0x6E61697665ull; /* "naive" */
    for (size_t j = train.nnz; j > 1; j--) {
        size_t s = (size_t)(next_u64(&g) % j);
        hogmf_rating t = train.data[j - 1];
        train.data[j - 1] = train.data[s];
        train.data[s] = t;
    }
    double sum = 0;
    for (size_t j = 0; j < train.nnz; j++)
        sum += train.data[j].r;

    const hogmf_params dp = hogmf_params_default();
    for (int r = 0; r < nk; r++) {
        md.m = train.m;
        md.n = train.n;
        md.k = (uint32_t)ks[r];
        md.mu = (float)(sum / (double)train.nnz);
        md.P = malloc((size_t)md.m * md.k * sizeof(float));
        md.Q = malloc((size_t)md.n * md.k * sizeof(float));
        md.bu = calloc(md.m, sizeof(float));
        md.bi = calloc(md.n, sizeof(float));
        if (!md.P || !md.Q || !md.bu || !md.bi)
            goto oom;
        uint64_t gi = seed;
        for (size_t j = 0; j < (size_t)md.m * md.k; j++)
            md.P[j] = dp.init_sd * (float)next_normal(&gi);
        for (size_t j = 0; j < (size_t)md.n * md.k; j++)
            md.Q[j] = dp.init_sd * (float)next_normal(&gi);

        double t[MAX_EPOCHS];
        for (long e = 0; e < epochs; e++) {
            float lr = dp.lr / (1.0f + dp.lr_decay * (float)e);
            double t0 = seconds();
            sgd_epoch(&md, train.data, train.nnz, lr, dp.lambda_b, dp.lambda_p, dp.lambda_q);
            t[e] = seconds() - t0;
        }
        double vr = valid_path ? valid_rmse(&md, &train, &valid, up, ip) : NAN;
        qsort(t, (size_t)epochs, sizeof t[0], cmp_double);
        double med = t[epochs / 2], best = t[0];
        char vbuf[32];
        if (isfinite(vr))
            snprintf(vbuf, sizeof vbuf, "%.6f", vr);
        else
            snprintf(vbuf, sizeof vbuf, "null");
        printf("{\"k\": %u, \"epochs\": %ld, \"ratings\": %zu, \"users\": %u, \"items\": %u, "
               "\"median_epoch_seconds\": %.6f, \"updates_per_second\": %.0f, "
               "\"best_updates_per_second\": %.0f, \"valid_rmse\": %s}\n",
               md.k, epochs, train.nnz, train.m, train.n, med,
               med > 0 ? (double)train.nnz / med : 0.0, best > 0 ? (double)train.nnz / best : 0.0,
               vbuf);
        fflush(stdout);
        free(md.P);
        free(md.Q);
        free(md.bu);
        free(md.bi);
        md.P = md.Q = md.bu = md.bi = NULL;
    }
    rc = 0;
    goto done;
oom:
    fputs("bench_naive: out of memory\n", stderr);
done:
    free(md.P);
    free(md.Q);
    free(md.bu);
    free(md.bi);
    free(up);
    free(ip);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
    return rc;
}
