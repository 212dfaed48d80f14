/*
 * check_input.c - reading input a batch job cannot trust: gzip files (recognised by content,
 * concatenated members, truncated, corrupt, trailing junk, a bad line inside), a file that
 * shrinks while it is read, files that cannot be opened or read, the size estimates made
 * before reading (which leave pipes alone) and the memory limit enforced while reading. Line-level parsing and the plain malformed fixtures are in check_ratings.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h" /* hogmf__test_after_read */
#include "suites.h"

/* A "Key:   N kB" line of /proc/self/status, in KiB; -1 when absent. */
static long proc_status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0)
            v = strtol(line + strlen(key), NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static void write_bytes(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_msg(fwrite(data, 1, len, f) == len, "cannot write %s", path);
    ck_assert_msg(fclose(f) == 0, "cannot close %s", path);
}

/* ---------------------------------------------------------------- gzip */

/* The plain text every good gzip fixture holds. */
static const char good_text[] = "1\t10\t3\n2\t10\t4.5\n1\t20\t2\n3\t30\t5\n";

START_TEST(test_gzip_good)
{
    static const char *files[] = {"good.tsv.gz", "good_gzip_no_suffix.tsv",
                                  "good_two_members.tsv.gz"};
    const char *name = files[_i];
    hogmf_ratings want, got;
    hogmf_error err;
    ck_assert(hogmf_ratings_parse(good_text, strlen(good_text), "plain", NULL, &want, &err) ==
              HOGMF_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s", fixture(name));
    hogmf_status st = hogmf_ratings_read(path, NULL, &got, &err);
    ck_assert_msg(st == HOGMF_OK, "%s: status %d: %s", name, (int)st, err.msg);
    ck_assert_msg(got.nnz == want.nnz && got.m == want.m && got.n == want.n,
                  "%s: expected nnz=%zu m=%u n=%u, found %zu %u %u", name, want.nnz, want.m,
                  want.n, got.nnz, got.m, got.n);
    for (size_t j = 0; j < want.nnz; j++)
        ck_assert_msg(got.data[j].u == want.data[j].u && got.data[j].i == want.data[j].i &&
                          got.data[j].r == want.data[j].r,
                      "%s: rating %zu: expected (%u, %u, %g), found (%u, %u, %g)", name, j,
                      want.data[j].u, want.data[j].i, (double)want.data[j].r, got.data[j].u,
                      got.data[j].i, (double)got.data[j].r);
    ck_assert_msg(got.bytes == strlen(good_text), "%s: bytes: expected %zu (decompressed), found %llu",
                  name, strlen(good_text), (unsigned long long)got.bytes);
    hogmf_ratings_free(&want);
    hogmf_ratings_free(&got);
}
END_TEST

typedef struct gz_case {
    const char *file;
    hogmf_status status;
    uint64_t line;
    const char *expected;
} gz_case;

static const gz_case gz_cases[] = {
    {"bad_gzip_truncated.tsv.gz", HOGMF_ERR_IO, 0, "inside a gzip member (truncated?)"},
    {"bad_gzip_corrupt.tsv.gz", HOGMF_ERR_IO, 0, "corrupt data (zlib: "},
    {"bad_gzip_trailing.tsv.gz", HOGMF_ERR_IO, 0, "other bytes after the last gzip member"},
    {"bad_gzip_line3.tsv.gz", HOGMF_ERR_PARSE, 3, "item id: expected a non-negative integer"},
};

START_TEST(test_gzip_bad)
{
    const gz_case *c = &gz_cases[_i];
    char path[4096];
    snprintf(path, sizeof path, "%s", fixture(c->file));
    hogmf_ratings r;
    hogmf_error err;
    memset(&err, 0, sizeof err);
    hogmf_status st = hogmf_ratings_read(path, NULL, &r, &err);
    ck_assert_msg(st == c->status && err.line == c->line,
                  "%s: expected status %d line %llu, found %d line %llu: %s", c->file,
                  (int)c->status, (unsigned long long)c->line, (int)st,
                  (unsigned long long)err.line, err.msg);
    char prefix[4200];
    if (c->line)
        snprintf(prefix, sizeof prefix, "%s:%llu: ", path, (unsigned long long)c->line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", path);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0 && strstr(err.msg, c->expected),
                  "%s: message should start with '%s' and contain '%s': '%s'", c->file, prefix,
                  c->expected, err.msg);
    ck_assert_msg(r.data == NULL && r.nnz == 0, "%s: output not left empty", c->file);
}
END_TEST

/* ---------------------------------------------------------------- a file that shrinks */

static const char *shrink_path;
static off_t shrink_to;

static void shrink_after_first_read(int fd, uint64_t raw)
{
    (void)fd;
    if (raw > 0 && raw < (uint64_t)shrink_to + 1)
        ck_assert_msg(truncate(shrink_path, shrink_to) == 0, "truncate %s: %s", shrink_path,
                      strerror(errno));
}

START_TEST(test_shrinking_file)
{
    /* 100000 lines; after the first read (the two bytes that detect gzip) the file is cut to
     * 1000 bytes, mid-line. A reader that trusts read() returning 0 would return a short,
     * valid-looking set. */
    size_t cap = 100000 * 16, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    for (int j = 0; j < 100000; j++)
        len += (size_t)snprintf(text + len, cap - len, "%d\t%d\t%d\n", j % 1000, j % 777, 1 + j % 5);
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".tsv"));
    write_bytes(path, text, len);
    free(text);
    shrink_path = path;
    shrink_to = 1000;
    hogmf__test_after_read = shrink_after_first_read;
    hogmf_ratings r;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_read(path, NULL, &r, &err);
    hogmf__test_after_read = NULL;
    unlink(path);
    char want[256];
    snprintf(want, sizeof want, "expected %zu bytes (its size when opened), found only 1000: the "
                                "file shrank while being read",
             len);
    ck_assert_msg(st == HOGMF_ERR_IO && strncmp(err.msg, path, strlen(path)) == 0 &&
                      strstr(err.msg, want),
                  "shrinking file: expected IO '%s', found %d: %s", want, (int)st, err.msg);
    ck_assert_msg(r.data == NULL && r.nnz == 0, "shrinking file: output not left empty");
}
END_TEST

/* ---------------------------------------------------------------- unreadable files */

START_TEST(test_unreadable)
{
    hogmf_ratings r;
    hogmf_error err;
    /* Opens, but read() fails with EIO: page 0 of a process is never mapped. */
    const char *mem = "/proc/self/mem";
    hogmf_status st = hogmf_ratings_read(mem, NULL, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "/proc/self/mem: read failed after 0 "
                                                        "bytes: "),
                  "%s: expected a read failure, found %d: %s", mem, (int)st, err.msg);

    /* No permission. As root, the check runs in a child that drops to nobody first, so the
     * file can still be removed afterwards. */
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".tsv"));
    write_bytes(path, "1 2 3\n", 6);
    ck_assert(chmod(path, 0) == 0);
    int fds[2];
    ck_assert(pipe(fds) == 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        char msg[1100] = "";
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
            snprintf(msg, sizeof msg, "SKIP");
        } else {
            hogmf_status s1 = hogmf_ratings_read(path, NULL, &r, &err);
            hogmf_read_estimate est;
            hogmf_error err2;
            hogmf_status s2 = hogmf_ratings_estimate(path, &est, &err2);
            snprintf(msg, sizeof msg, "%d %d %s\n%s", (int)s1, (int)s2, err.msg, err2.msg);
        }
        ssize_t w = write(fds[1], msg, strlen(msg));
        _exit(w < 0);
    }
    close(fds[1]);
    char got[1200] = "";
    ssize_t n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    unlink(path);
    got[n > 0 ? n : 0] = '\0';
    if (strcmp(got, "SKIP") == 0) {
        skip_check("input: the permission-denied case (running as root, cannot drop to "
                   "nobody)");
        return;
    }
    char want[8400];
    snprintf(want, sizeof want, "%d %d %s: cannot open: %s\n%s: cannot open: %s",
             (int)HOGMF_ERR_IO, (int)HOGMF_ERR_IO, path, strerror(EACCES), path,
             strerror(EACCES));
    ck_assert_msg(strcmp(got, want) == 0, "unreadable %s: expected '%s', found '%s'", path,
                  want, got);
}
END_TEST

/* ---------------------------------------------------------------- estimates */

START_TEST(test_read_estimate)
{
    /* 300000 lines of varying length (4 MiB and more: the estimate samples the first MiB). */
    size_t cap = 300000 * 32, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    for (int j = 0; j < 300000; j++)
        len += (size_t)snprintf(text + len, cap - len, "%d,%d,%d.5,%d\n", (int)((j * 7919L) % 100000),
                                (j * 31) % 20000, j % 5, 1000000000 + j);
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".csv"));
    write_bytes(path, text, len);
    free(text);
    hogmf_read_estimate est;
    hogmf_error err;
    hogmf_status st = hogmf_ratings_estimate(path, &est, &err);
    ck_assert_msg(st == HOGMF_OK, "estimate: status %d: %s", (int)st, err.msg);
    unlink(path);
    ck_assert_msg(est.file_bytes == len && est.text_bytes == len && !est.compressed,
                  "estimate: expected %zu bytes, found file %llu text %llu", len,
                  (unsigned long long)est.file_bytes, (unsigned long long)est.text_bytes);
    double rel = ((double)est.nnz - 300000.0) / 300000.0;
    ck_assert_msg(rel > -0.05 && rel < 0.05,
                  "estimate: expected about 300000 ratings (5%%), found %llu (%+.1f%%)",
                  (unsigned long long)est.nnz, 100 * rel);
    /* At least the ratings array of the exact count, at most a few times it. */
    ck_assert_msg(est.memory >= 12u * 300000 && est.memory <= 64u * 300000 + (16u << 20),
                  "estimate: memory %llu outside [%u, %u]", (unsigned long long)est.memory,
                  12u * 300000, 64u * 300000 + (16u << 20));

    /* A small gzip file is read whole: its exact line count and decompressed size. */
    char gz[4096];
    snprintf(gz, sizeof gz, "%s", fixture("good.tsv.gz"));
    st = hogmf_ratings_estimate(gz, &est, &err);
    ck_assert_msg(st == HOGMF_OK && est.compressed && est.nnz == 4 &&
                      est.text_bytes == strlen(good_text),
                  "estimate of %s: status %d, compressed %d, nnz %llu, text %llu: %s", gz,
                  (int)st, est.compressed, (unsigned long long)est.nnz,
                  (unsigned long long)est.text_bytes, err.msg);
    st = hogmf_ratings_estimate("-", &est, &err);
    ck_assert_msg(st == HOGMF_OK && est.nnz == 0 && est.memory == 0,
                  "estimate of stdin: expected unknown (0)");
}
END_TEST

/* A pipe (here /proc/self/fd/N of one) is not opened by the estimate: every byte is still
 * there for the read that follows (the gzip check used to take the first two). */
START_TEST(test_estimate_leaves_pipes_alone)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], good_text, strlen(good_text)), (ssize_t)strlen(good_text));
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
    hogmf_read_estimate est;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_estimate(path, &est, &err), HOGMF_OK);
    ck_assert_msg(est.memory == 0 && est.nnz == 0, "a pipe's estimate must be unknown");
    hogmf_ratings r;
    hogmf_status st = hogmf_ratings_read(path, NULL, &r, &err);
    close(fds[0]);
    ck_assert_msg(st == HOGMF_OK, "read after the estimate: %s", err.msg);
    ck_assert_msg(r.nnz == 4 && r.user_ids[r.data[0].u] == 1 && r.data[0].r == 3.0f,
                  "read after the estimate: %zu ratings, first user %u rating %g (expected 4, "
                  "1, 3)", r.nnz, r.user_ids[r.data[0].u], (double)r.data[0].r);
    hogmf_ratings_free(&r);
}
END_TEST

/* The memory limit holds while reading, whatever the estimate said: 200000 ratings need
 * about 8 MB, so a 6 MiB limit stops the read where the array would outgrow it; 64 MiB
 * does not. */
START_TEST(test_read_memory_limit)
{
    size_t cap = 200000 * 24, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    for (int j = 0; j < 200000; j++)
        len += (size_t)snprintf(text + len, cap - len, "%d\t%d\t3\n", j % 5000, j / 5000);
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".tsv"));
    write_bytes(path, text, len);
    free(text);
    hogmf_read_options ro = hogmf_read_options_default();
    ro.max_memory = 6u << 20;
    hogmf_ratings r;
    hogmf_error err = {0};
    hogmf_status st = hogmf_ratings_read(path, &ro, &r, &err);
    ck_assert_msg(st == HOGMF_ERR_INVALID && strstr(err.msg, "memory limit of 6291456 bytes") &&
                      err.line > 1 && err.line < 200000,
                  "6 MiB limit: status %d line %llu (%s)", st, (unsigned long long)err.line,
                  err.msg);
    ck_assert_ptr_null(r.data);
    /* The limit is never below the estimate of what was read. */
    uint64_t need = hogmf_estimate_read_memory(err.line - 1);
    ck_assert_msg(need > ro.max_memory / 2, "stopped at line %llu, estimate %llu: too early",
                  (unsigned long long)err.line, (unsigned long long)need);
    ro.max_memory = 64u << 20;
    st = hogmf_ratings_read(path, &ro, &r, &err);
    unlink(path);
    ck_assert_msg(st == HOGMF_OK && r.nnz == 200000, "64 MiB limit: %d (%s)", st, err.msg);
    hogmf_ratings_free(&r);
}
END_TEST

/* The read estimate covers what reading really takes: the growth of the peak resident set
 * while hogmf_ratings_read runs (the peak reset first through /proc/self/clear_refs), on
 * 800000 distinct ratings, so that the per-rating part (the array that grows by doubling)
 * outweighs the fixed buffers. Pages never touched do not count, so the measure is a floor
 * of what the estimate must cover; and the estimate is not wildly above it. */
START_TEST(test_read_estimate_covers_the_peak)
{
    enum { LINES = 800000 };
    const char *sanitizer = getenv("HOGMF_SANITIZER");
    if (sanitizer && *sanitizer) {
        skip_check("input: the read estimate against the measured peak (a sanitizer's "
                   "shadow memory counts in the resident set)");
        return;
    }
    size_t cap = (size_t)LINES * 24, len = 0;
    char *text = malloc(cap);
    ck_assert(text != NULL);
    for (int j = 0; j < LINES; j++)
        len += (size_t)snprintf(text + len, cap - len, "%d\t%d\t%d\n", j % 40000, j / 40000,
                                j % 5 + 1);
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".tsv"));
    write_bytes(path, text, len);
    free(text);
    hogmf_read_estimate est;
    hogmf_error err;
    ck_assert_int_eq(hogmf_ratings_estimate(path, &est, &err), HOGMF_OK);
    long rss0 = proc_status_kib("VmRSS:");
    FILE *clear = fopen("/proc/self/clear_refs", "w");
    int reset = clear && fputs("5", clear) >= 0;
    if (clear)
        reset = (fclose(clear) == 0) && reset;
    if (!reset || rss0 < 0) {
        unlink(path);
        skip_check("input: the read estimate against the measured peak (no "
                   "/proc/self/clear_refs or VmRSS)");
        return;
    }
    hogmf_ratings set;
    ck_assert_int_eq(hogmf_ratings_read(path, NULL, &set, &err), HOGMF_OK);
    const double grew = 1024.0 * (double)(proc_status_kib("VmHWM:") - rss0);
    unlink(path);
    ck_assert_uint_eq(set.nnz, LINES);
    ck_assert_msg((double)est.memory >= grew,
                  "estimate: memory %llu below the %.0f bytes that reading took",
                  (unsigned long long)est.memory, grew);
    ck_assert_msg((double)est.memory <= 4 * grew,
                  "estimate: memory %llu more than 4 times the %.0f bytes reading took",
                  (unsigned long long)est.memory, grew);
    hogmf_ratings_free(&set);
}
END_TEST

START_TEST(test_train_estimate)
{
    hogmf_params p = hogmf_params_default();
    p.k = 64;
    p.schedule_lr = HOGMF_LR_CONSTANT;
    p.patience = 3;
    const uint64_t nnz = 1000000, vnnz = 100000, m = 10000, n = 5000;
    /* Independent floors: the ratings and the padded factor rows must be held; with
     * validation and patience also the validation ratings twice (as read, and in model
     * indices) and a second copy of the factors (the best epoch). */
    const uint64_t floor_plain = 12 * nnz + (m + n) * 64 * 4;
    const uint64_t floor_valid = floor_plain + 24 * vnnz + (m + n) * 64 * 4;
    const uint64_t slack = 16u << 20;
    uint64_t est = hogmf_estimate_memory(nnz, (uint32_t)m, (uint32_t)n, 0, &p);
    ck_assert_msg(est >= floor_plain && est <= 2 * floor_plain + slack,
                  "no validation: estimate %llu outside [%llu, %llu]", (unsigned long long)est,
                  (unsigned long long)floor_plain,
                  (unsigned long long)(2 * floor_plain + slack));
    uint64_t with_valid = hogmf_estimate_memory(nnz, (uint32_t)m, (uint32_t)n, vnnz, &p);
    ck_assert_msg(with_valid >= floor_valid && with_valid <= 2 * floor_valid + slack,
                  "validation: estimate %llu outside [%llu, %llu]",
                  (unsigned long long)with_valid, (unsigned long long)floor_valid,
                  (unsigned long long)(2 * floor_valid + slack));
    /* AdaGrad adds one float a row for the factors and one for the bias, of users and items. */
    p.schedule_lr = HOGMF_LR_ADAGRAD;
    uint64_t ada = hogmf_estimate_memory(nnz, (uint32_t)m, (uint32_t)n, vnnz, &p);
    ck_assert_msg(ada == with_valid + 8 * (m + n), "adagrad: expected %llu, found %llu",
                  (unsigned long long)(with_valid + 8 * (m + n)), (unsigned long long)ada);
    /* More factors never need less. */
    p.k = 128;
    ck_assert(hogmf_estimate_memory(nnz, (uint32_t)m, (uint32_t)n, vnnz, &p) > ada);
}
END_TEST

Suite *input_suite(void)
{
    Suite *s = suite_create("input");
    TCase *tc = tcase_create("gzip");
    tcase_add_loop_test(tc, test_gzip_good, 0, 3);
    tcase_add_loop_test(tc, test_gzip_bad, 0, (int)(sizeof gz_cases / sizeof gz_cases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_shrinking_file);
    tcase_add_test(tc, test_unreadable);
    suite_add_tcase(s, tc);
    tc = tcase_create("estimates");
    tcase_add_test(tc, test_read_estimate);
    tcase_add_test(tc, test_read_estimate_covers_the_peak);
    tcase_add_test(tc, test_train_estimate);
    tcase_add_test(tc, test_estimate_leaves_pipes_alone);
    tcase_add_test(tc, test_read_memory_limit);
    suite_add_tcase(s, tc);
    return s;
}
