/*
 * load.c - times hogmf_ratings_read on one ratings file and prints one JSON object: bytes,
 * ratings, users, items, format, and the best and median seconds and MB/s over the repeats.
 * It measures parsing plus the id maps and duplicate removal, as `hogmf train` pays them;
 * the page cache is not dropped, so the first repeat may include disk reads.
 *
 *   build/bench_load [-r REPEATS] [--format FMT] FILE
 */
#define _POSIX_C_SOURCE 200809L
#include "hogmf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPEATS 100

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(void)
{
    fputs("usage: bench_load [-r REPEATS] [--format FMT] FILE\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int repeats = 3;
    hogmf_read_options ro = hogmf_read_options_default();
    const char *path = NULL;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "-r") && a + 1 < argc) {
            char *end;
            long v = strtol(argv[++a], &end, 10);
            if (*end || v < 1 || v > MAX_REPEATS)
                return usage();
            repeats = (int)v;
        } else if (!strcmp(argv[a], "--format") && a + 1 < argc) {
            if (hogmf_format_parse(argv[++a], &ro.format) != 0)
                return usage();
        } else if (argv[a][0] == '-' && argv[a][1] != '\0') {
            return usage();
        } else if (!path) {
            path = argv[a];
        } else {
            return usage();
        }
    }
    if (!path)
        return usage();

    double t[MAX_REPEATS];
    hogmf_ratings r = {0};
    for (int j = 0; j < repeats; j++) {
        hogmf_error err = {0};
        hogmf_ratings_free(&r);
        double t0 = seconds();
        hogmf_status st = hogmf_ratings_read(path, &ro, &r, &err);
        t[j] = seconds() - t0;
        if (st != HOGMF_OK) {
            fprintf(stderr, "bench_load: %s\n", err.msg[0] ? err.msg : hogmf_strerror(st));
            return st == HOGMF_ERR_NOMEM ? 1 : 2;
        }
    }
    qsort(t, (size_t)repeats, sizeof t[0], cmp_double);
    double best = t[0], median = t[repeats / 2];
    double mb = (double)r.bytes / 1e6;
    printf("{\"file\": \"%s\", \"bytes\": %llu, \"ratings\": %zu, \"users\": %u, \"items\": %u, "
           "\"format\": \"%s\", \"repeats\": %d, \"seconds\": %.6f, \"median_seconds\": %.6f, "
           "\"mb_per_s\": %.2f, \"median_mb_per_s\": %.2f, \"ratings_per_s\": %.0f}\n",
           path, (unsigned long long)r.bytes, r.nnz, r.m, r.n, hogmf_format_name(r.format),
           repeats, best, median, best > 0 ? mb / best : 0.0, median > 0 ? mb / median : 0.0,
           best > 0 ? (double)r.nnz / best : 0.0);
    hogmf_ratings_free(&r);
    return 0;
}
