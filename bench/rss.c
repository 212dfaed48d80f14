/*
 * rss.c - runs a command and reports its peak resident set size and wall time, for the
 * benchmarks (GNU time is not always installed). The child inherits stdin, stdout and stderr;
 * the report is one JSON object written to FILE (-o) or to stderr. The exit status is the
 * child's (128 + signal when it was killed). It measures the child only, not its children's
 * children that outlive it, and does not sample: ru_maxrss is the kernel's high-water mark.
 *
 *   build/bench_rss [-o FILE] CMD [ARGS...]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int usage(void)
{
    fputs("usage: bench_rss [-o FILE] CMD [ARGS...]\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    const char *out_path = NULL;
    int a = 1;
    if (a + 1 < argc && !strcmp(argv[a], "-o")) {
        out_path = argv[a + 1];
        a += 2;
    }
    if (a >= argc || (argv[a][0] == '-' && strcmp(argv[a], "--") != 0))
        return usage();
    if (!strcmp(argv[a], "--") && ++a >= argc)
        return usage();

    double t0 = seconds();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_rss: fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        execvp(argv[a], argv + a);
        fprintf(stderr, "bench_rss: %s: %s\n", argv[a], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    pid_t w;
    while ((w = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    double wall = seconds() - t0;
    if (w < 0) {
        fprintf(stderr, "bench_rss: wait4: %s\n", strerror(errno));
        return 1;
    }
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    FILE *f = out_path ? fopen(out_path, "w") : stderr;
    if (!f) {
        fprintf(stderr, "bench_rss: %s: %s\n", out_path, strerror(errno));
        return rc ? rc : 1;
    }
    /* ru_maxrss is in KiB on Linux. */
    fprintf(f,
            "{\"max_rss_kib\": %ld, \"wall_seconds\": %.3f, \"user_seconds\": %.3f, "
            "\"sys_seconds\": %.3f, \"exit_status\": %d}\n",
            ru.ru_maxrss, wall, (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec,
            (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec, rc);
    if (out_path && fclose(f) != 0) {
        fprintf(stderr, "bench_rss: %s: %s\n", out_path, strerror(errno));
        return rc ? rc : 1;
    }
    return rc;
}
