/*
 * check_main.c - the test runner: adds every module's suite and returns failure when any
 * check fails. It never runs OpenMP itself (Check forks each test; libgomp does not survive
 * a fork of a process that already started its threads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"

const char *fixture(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("HOGMF_FIXTURES");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "fixtures", name);
    return buf;
}

const char *temp_path(const char *suffix)
{
    static char buf[4096];
    static int counter;
    const char *dir = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/hogmf-test-%ld-%d%s", dir ? dir : "/tmp", (long)getpid(),
             counter++, suffix);
    return buf;
}

/* Where skip_check records skips: each check runs in a forked process, so the runner
 * counts the lines of a file rather than a variable. */
static char skip_log[4096];

void skip_check(const char *why)
{
    printf("SKIPPED: %s\n", why);
    fflush(stdout);
    FILE *f = skip_log[0] ? fopen(skip_log, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", why);
        fclose(f);
    }
}

static int count_skips(void)
{
    FILE *f = skip_log[0] ? fopen(skip_log, "r") : NULL;
    int n = 0, ch;
    if (!f)
        return 0;
    while ((ch = getc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

void use_isa(const char *isa)
{
    if (isa)
        setenv("HOGMF_ISA", isa, 1);
    else
        unsetenv("HOGMF_ISA");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(skip_log, sizeof skip_log, "%s/hogmf-skips-XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(skip_log);
    if (fd < 0) {
        perror(skip_log);
        return EXIT_FAILURE;
    }
    close(fd);
    SRunner *sr = srunner_create(ratings_suite());
    srunner_add_suite(sr, model_suite());
    srunner_add_suite(sr, sgd_suite());
    srunner_add_suite(sr, schedule_suite());
    srunner_add_suite(sr, train_suite());
    srunner_add_suite(sr, gen_suite());
    srunner_add_suite(sr, input_suite());
    srunner_add_suite(sr, checkpoint_suite());
    srunner_add_suite(sr, interop_suite());
    srunner_add_suite(sr, cv_suite());
    srunner_add_suite(sr, foldin_suite());
    srunner_add_suite(sr, recommend_suite());
    srunner_add_suite(sr, dense_suite());
    srunner_add_suite(sr, tune_suite());
    srunner_add_suite(sr, eval_suite());
    srunner_add_suite(sr, names_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    int skipped = count_skips();
    unlink(skip_log);
    printf("%d passed, %d failed, %d skipped\n", run - failed - skipped, failed, skipped);
    if (run == 0) {
        fprintf(stderr, "no checks ran (misspelled CK_RUN_SUITE or CK_RUN_CASE?)\n");
        return EXIT_FAILURE;
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
