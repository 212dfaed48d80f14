/*
 * epochs.c - what an epoch costs besides its SGD, and how it scales, through the public
 * trainer API (issue 14). Prints one JSON object per line; bench/epochs.sh runs it.
 *
 *   eval: per k, trains E epochs with T threads (no validation set) and times each
 *     hogmf_trainer_epoch call; the SGD pass is the epoch's epoch_seconds and the rest of the
 *     call (the evaluation of the training set, the divergence check) is the evaluation.
 *     Prints the fastest of each and their ratio, evaluation over SGD.
 *   scaling: per k, REPS rounds of runs of E epochs, one run per thread count in each round
 *     (so the counts are interleaved and share the host's drift), and the fastest SGD epoch of
 *     each count over all rounds; the speedup is the fastest epoch of the first count given
 *     (1 by default) over the fastest of each count.
 * Thread counts: -t, repeatable (eval: 2; scaling: 1 and 2). Defaults: k 32 and 128, 6
 * epochs (scaling 5), 3 rounds.
 * It does not check the models; the unit tests do.
 *
 *   build/bench_epochs eval|scaling [-k K]... [-t T]... [-e EPOCHS] [-r REPS] FILE
 */
#define _POSIX_C_SOURCE 200809L
#include "hogmf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIST 16

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void)
{
    fputs("usage: bench_epochs eval|scaling [-k K]... [-t THREADS]... [-e EPOCHS] [-r REPS] "
          "FILE\n",
          stderr);
    return 2;
}

static int parse_count(const char *s, long max, long *v)
{
    char *end;
    *v = strtol(s, &end, 10);
    return *end || end == s || *v < 1 || *v > max ? -1 : 0;
}

/* Trains `epochs` epochs of k factors on `threads` threads; the fastest SGD pass in *sgd and
 * the fastest rest of an epoch call (the evaluation) in *eval (either may be NULL). */
static int run(hogmf_ratings *train, uint32_t k, int threads, uint32_t epochs, double *sgd,
               double *eval)
{
    hogmf_params p = hogmf_params_default();
    p.k = k;
    p.threads = threads;
    p.epochs = epochs;
    p.patience = 0;
    hogmf_error err = {0};
    hogmf_trainer *t = NULL;
    hogmf_status st = hogmf_trainer_new(train, NULL, &p, &t, &err);
    double best_sgd = INFINITY, best_eval = INFINITY;
    while (st == HOGMF_OK && !hogmf_trainer_done(t)) {
        hogmf_epoch_stats es;
        double t0 = seconds();
        st = hogmf_trainer_epoch(t, &es, &err);
        double all = seconds() - t0;
        if (st != HOGMF_OK)
            break;
        if (es.epoch_seconds < best_sgd)
            best_sgd = es.epoch_seconds;
        if (all - es.epoch_seconds < best_eval)
            best_eval = all - es.epoch_seconds;
    }
    hogmf_trainer_free(&t);
    if (st != HOGMF_OK) {
        fprintf(stderr, "bench_epochs: %s\n", err.msg[0] ? err.msg : hogmf_strerror(st));
        return -1;
    }
    if (sgd)
        *sgd = best_sgd;
    if (eval)
        *eval = best_eval;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "eval") && strcmp(argv[1], "scaling")))
        return usage();
    const int scaling = !strcmp(argv[1], "scaling");
    long ks[MAX_LIST], ts[MAX_LIST], epochs = scaling ? 5 : 6, reps = 3, v;
    int nk = 0, nt = 0;
    const char *path = NULL;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "-k") && a + 1 < argc && nk < MAX_LIST) {
            if (parse_count(argv[++a], 65536, &ks[nk++]) != 0)
                return usage();
        } else if (!strcmp(argv[a], "-t") && a + 1 < argc && nt < MAX_LIST) {
            if (parse_count(argv[++a], 1024, &ts[nt++]) != 0)
                return usage();
        } else if (!strcmp(argv[a], "-e") && a + 1 < argc) {
            if (parse_count(argv[++a], 100000, &epochs) != 0)
                return usage();
        } else if (!strcmp(argv[a], "-r") && a + 1 < argc) {
            if (parse_count(argv[++a], 1000, &v) != 0)
                return usage();
            reps = v;
        } else if (argv[a][0] == '-' || path) {
            return usage();
        } else {
            path = argv[a];
        }
    }
    if (!path)
        return usage();
    if (nk == 0) {
        ks[nk++] = 32;
        ks[nk++] = 128;
    }
    if (nt == 0) {
        if (scaling)
            ts[nt++] = 1;
        ts[nt++] = 2;
    }
    hogmf_read_options ro = hogmf_read_options_default();
    hogmf_ratings r = {0};
    hogmf_error err = {0};
    hogmf_status st = hogmf_ratings_read(path, &ro, &r, &err);
    if (st != HOGMF_OK) {
        fprintf(stderr, "bench_epochs: %s\n", err.msg[0] ? err.msg : hogmf_strerror(st));
        return st == HOGMF_ERR_NOMEM ? 1 : 2;
    }
    int rc = 0;
    for (int a = 0; a < nk && rc == 0; a++) {
        if (!scaling) {
            for (int b = 0; b < nt && rc == 0; b++) {
                double sgd, eval;
                rc = run(&r, (uint32_t)ks[a], (int)ts[b], (uint32_t)epochs, &sgd, &eval);
                if (rc == 0)
                    printf("{\"mode\": \"eval\", \"file\": \"%s\", \"ratings\": %zu, \"k\": %ld, "
                           "\"threads\": %ld, \"epochs\": %ld, \"sgd_seconds\": %.6f, "
                           "\"eval_seconds\": %.6f, \"eval_over_sgd\": %.4f}\n",
                           path, r.nnz, ks[a], ts[b], epochs, sgd, eval, eval / sgd);
                fflush(stdout);
            }
            continue;
        }
        double best[MAX_LIST];
        for (int b = 0; b < nt; b++)
            best[b] = INFINITY;
        for (long rep = 0; rep < reps && rc == 0; rep++)
            for (int b = 0; b < nt && rc == 0; b++) {
                double sgd;
                rc = run(&r, (uint32_t)ks[a], (int)ts[b], (uint32_t)epochs, &sgd, NULL);
                if (rc == 0 && sgd < best[b])
                    best[b] = sgd;
            }
        for (int b = 0; b < nt && rc == 0; b++) {
            printf("{\"mode\": \"scaling\", \"file\": \"%s\", \"ratings\": %zu, \"k\": %ld, "
                   "\"threads\": %ld, \"epochs\": %ld, \"reps\": %ld, \"sgd_seconds\": %.6f, "
                   "\"speedup\": %.4f}\n",
                   path, r.nnz, ks[a], ts[b], epochs, reps, best[b], best[0] / best[b]);
            fflush(stdout);
        }
    }
    hogmf_ratings_free(&r);
    return rc == 0 ? 0 : 1;
}
