/*
 * check_model.c - the model file: save then load round-trips bit for bit, a corrupt,
 * truncated, foreign or hostile file is rejected before any allocation sized by its header
 * (and before its body is read), NaN and infinities are refused, outputs are checked before
 * work and replaced keeping their mode and symbolic links, and predictions for unknown
 * users or items fall back to mu plus the known biases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "internal.h"
#include "suites.h"

/* A small model with distinctive values and sparse original ids. */
static hogmf_model *sample_model(void)
{
    hogmf_model *m = hogmf_model_new(3, 4, 5);
    ck_assert_ptr_nonnull(m);
    m->mu = 3.25f;
    m->rmin = 0.5f;
    m->rmax = 5.0f;
    hogmf_rng g;
    hogmf__rng_seed(&g, 9, 9);
    for (uint32_t u = 0; u < m->m; u++) {
        m->bu[u] = (float)hogmf__rng_normal(&g) * 0.1f;
        for (uint32_t d = 0; d < m->k; d++)
            m->P[(size_t)u * m->stride + d] = (float)hogmf__rng_normal(&g) * 0.3f;
    }
    for (uint32_t i = 0; i < m->n; i++) {
        m->bi[i] = (float)hogmf__rng_normal(&g) * 0.1f;
        for (uint32_t d = 0; d < m->k; d++)
            m->Q[(size_t)i * m->stride + d] = (float)hogmf__rng_normal(&g) * 0.3f;
    }
    const uint32_t uids[] = {7, 4000000000u, 12}, iids[] = {1, 99, 4294967295u, 0};
    memcpy(m->user_ids, uids, sizeof uids);
    memcpy(m->item_ids, iids, sizeof iids);
    hogmf__idmap_free(m->umap);
    hogmf__idmap_free(m->imap);
    m->umap = hogmf__idmap_from_ids(m->user_ids, m->m);
    m->imap = hogmf__idmap_from_ids(m->item_ids, m->n);
    /* every parameter the header holds, each a value no other field has */
    hogmf_params *pp = &m->params;
    pp->epochs = 31;
    pp->lr = 0.0125f;
    pp->lr_decay = 0.375f;
    pp->lambda_b = 0.0625f;
    pp->lambda_p = 0.125f;
    pp->lambda_q = 0.25f;
    pp->init_sd = 0.03125f;
    pp->threads = 3;
    pp->seed = 77;
    pp->tol = 0.001953125;
    pp->patience = 5;
    pp->diverge_factor = 2.5;
    pp->schedule_lr = HOGMF_LR_BOLD;
    pp->l1_p = 0.5f;
    pp->l1_q = 0.75f;
    pp->nonneg = 1;
    pp->order = HOGMF_ORDER_SHUFFLE;
    pp->schedule = HOGMF_SCHEDULE_BLOCKS;
    pp->pin = HOGMF_PIN_SPREAD;
    m->epochs_run = 12;
    m->best_epoch = 9;
    m->train_rmse = 0.81;
    m->valid_rmse = 0.93;
    m->nnz = 1234;
    return m;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

START_TEST(test_round_trip_bit_for_bit)
{
    hogmf_model *a = sample_model(), *b = NULL;
    hogmf_error err = {0};
    char path[4096], path2[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    snprintf(path2, sizeof path2, "%s", temp_path(".model"));
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    ck_assert_msg(hogmf_model_load(path, &b, &err) == HOGMF_OK, "load: %s", err.msg);
    ck_assert_uint_eq(b->m, a->m);
    ck_assert_uint_eq(b->n, a->n);
    ck_assert_uint_eq(b->k, a->k);
    ck_assert(memcmp(&a->mu, &b->mu, sizeof a->mu) == 0);
    ck_assert(a->rmin == b->rmin && a->rmax == b->rmax);
    ck_assert_mem_eq(a->P, b->P, (size_t)a->m * a->stride * sizeof(float));
    ck_assert_mem_eq(a->Q, b->Q, (size_t)a->n * a->stride * sizeof(float));
    ck_assert_mem_eq(a->bu, b->bu, a->m * sizeof(float));
    ck_assert_mem_eq(a->bi, b->bi, a->n * sizeof(float));
    ck_assert_mem_eq(a->user_ids, b->user_ids, a->m * sizeof(uint32_t));
    ck_assert_mem_eq(a->item_ids, b->item_ids, a->n * sizeof(uint32_t));
    /* each parameter against the value sample_model gave it (not against a itself) */
    const hogmf_params *q = &b->params;
    ck_assert_uint_eq(q->epochs, 31);
    ck_assert(q->lr == 0.0125f && q->lr_decay == 0.375f);
    ck_assert(q->lambda_b == 0.0625f && q->lambda_p == 0.125f && q->lambda_q == 0.25f);
    ck_assert(q->init_sd == 0.03125f);
    ck_assert_int_eq(q->threads, 3);
    ck_assert_uint_eq(q->seed, 77);
    ck_assert(q->tol == 0.001953125 && q->diverge_factor == 2.5);
    ck_assert_uint_eq(q->patience, 5);
    ck_assert_int_eq(q->schedule_lr, HOGMF_LR_BOLD);
    ck_assert(q->l1_p == 0.5f && q->l1_q == 0.75f);
    ck_assert_int_eq(q->nonneg, 1);
    ck_assert_int_eq(q->order, HOGMF_ORDER_SHUFFLE);
    ck_assert_int_eq(q->schedule, HOGMF_SCHEDULE_BLOCKS);
    ck_assert_int_eq(q->pin, HOGMF_PIN_SPREAD);
    ck_assert(b->mu == 3.25f && b->rmin == 0.5f && b->rmax == 5.0f);
    ck_assert(b->epochs_run == 12 && b->best_epoch == 9 && b->nnz == 1234);
    ck_assert(b->train_rmse == 0.81 && b->valid_rmse == 0.93);
    ck_assert_uint_eq(hogmf_model_user_index(b, 4000000000u), 1);
    ck_assert_uint_eq(hogmf_model_item_index(b, 4294967295u), 2);
    ck_assert_uint_eq(hogmf_model_item_index(b, 5), HOGMF_UNKNOWN);
    /* Saving the loaded model gives the same bytes. */
    ck_assert_int_eq(hogmf_model_save(b, path2, &err), HOGMF_OK);
    size_t la, lb;
    unsigned char *fa = slurp(path, &la), *fb = slurp(path2, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_mem_eq(fa, fb, la);
    free(fa);
    free(fb);
    unlink(path);
    unlink(path2);
    hogmf_model_free(&a);
    hogmf_model_free(&b);
}
END_TEST

/* Each way of damaging a saved file, applied to a fresh copy; all must give FORMAT. */
enum { DMG_FLIP_PAYLOAD, DMG_FLIP_CRC, DMG_TRUNCATE, DMG_MAGIC, DMG_VERSION, DMG_HUGE_SIZES,
       DMG_EMPTY, DMG_HEADER_ONLY, DMG_APPEND, DMG_COUNT };
static const char *const dmg_names[] = {"flipped payload byte", "flipped checksum",
                                        "truncated",            "wrong magic",
                                        "future version",       "huge sizes",
                                        "empty file",           "header only",
                                        "extra bytes"};

START_TEST(test_corrupt_files_rejected)
{
    hogmf_model *a = sample_model(), *b = NULL;
    hogmf_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    switch (_i) {
    case DMG_FLIP_PAYLOAD: buf[len / 2] ^= 0x10; break;
    case DMG_FLIP_CRC: buf[len - 1] ^= 0x01; break;
    case DMG_TRUNCATE: len -= 7; break;
    case DMG_MAGIC: buf[0] = 'X'; break;
    case DMG_VERSION: buf[8] = 99; break;
    case DMG_HUGE_SIZES: /* m = n = 4e9, k = 65536: would be petabytes if trusted */
        memset(buf + 16, 0xee, 8);
        buf[24] = 0;
        buf[25] = 0;
        buf[26] = 1;
        buf[27] = 0;
        break;
    case DMG_EMPTY: len = 0; break;
    case DMG_HEADER_ONLY: len = 128; break;
    case DMG_APPEND: buf = realloc(buf, len + 3); memset(buf + len, 0, 3); len += 3; break;
    }
    spit(path, buf, len);
    free(buf);
    hogmf_status st = hogmf_model_load(path, &b, &err);
    ck_assert_msg(st == HOGMF_ERR_FORMAT, "%s: expected HOGMF_ERR_FORMAT, got %d (%s)",
                  dmg_names[_i], st, err.msg);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s",
                  dmg_names[_i], err.msg);
    unlink(path);
    hogmf_model_free(&a);
}
END_TEST

/* A version-1 file (128-byte header, before the schedule and parallel options had room)
 * still loads: made from a version-2 file by cutting bytes 128..191 and fixing the header. */
START_TEST(test_reads_version_1)
{
    hogmf_model *a = sample_model(), *b = NULL;
    a->params.schedule_lr = HOGMF_LR_BOLD;
    a->params.l1_p = 0.25f;
    hogmf_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_model_load(path, &b, &err), HOGMF_OK);
    ck_assert_int_eq(b->params.schedule_lr, HOGMF_LR_BOLD); /* version 2 keeps them */
    ck_assert(b->params.l1_p == 0.25f);
    hogmf_model_free(&b);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    ck_assert_uint_eq(buf[8], 2);
    memmove(buf + 128, buf + 192, len - 192);
    len -= 64;
    buf[8] = 1;
    buf[12] = 128;
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, buf, (uInt)(len - 4));
    for (int j = 0; j < 4; j++)
        buf[len - 4 + j] = (unsigned char)(c >> (8 * j));
    spit(path, buf, len);
    free(buf);
    ck_assert_msg(hogmf_model_load(path, &b, &err) == HOGMF_OK, "version 1: %s", err.msg);
    ck_assert_mem_eq(a->P, b->P, (size_t)a->m * a->stride * sizeof(float));
    ck_assert_mem_eq(a->item_ids, b->item_ids, a->n * sizeof(uint32_t));
    ck_assert(b->params.lr == a->params.lr && b->params.l1_p == 0); /* not in version 1 */
    unlink(path);
    hogmf_model_free(&a);
    hogmf_model_free(&b);
}
END_TEST

/* Sets the CRC at the end of a model file's bytes. */
static void fix_crc(unsigned char *buf, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, buf, (uInt)(len - 4));
    for (int j = 0; j < 4; j++)
        buf[len - 4 + j] = (unsigned char)(c >> (8 * j));
}

/* The deterministic flag is recorded (version 2, header bytes 168..171, zero in files written
 * before it existed, which therefore load with it off), and a value other than 0 or 1 is
 * refused. */
START_TEST(test_records_deterministic)
{
    hogmf_model *a = sample_model(), *b = NULL;
    a->params.deterministic = 1;
    hogmf_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    ck_assert_int_eq(hogmf_model_load(path, &b, &err), HOGMF_OK);
    ck_assert_int_eq(b->params.deterministic, 1);
    hogmf_model_free(&b);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    ck_assert_uint_eq(buf[168], 1);
    buf[168] = 0; /* as a writer from before the flag left it */
    fix_crc(buf, len);
    spit(path, buf, len);
    ck_assert_msg(hogmf_model_load(path, &b, &err) == HOGMF_OK, "without the flag: %s", err.msg);
    ck_assert_int_eq(b->params.deterministic, 0);
    ck_assert_mem_eq(a->P, b->P, (size_t)a->m * a->stride * sizeof(float));
    hogmf_model_free(&b);
    buf[168] = 2;
    fix_crc(buf, len);
    spit(path, buf, len);
    ck_assert_int_eq(hogmf_model_load(path, &b, &err), HOGMF_ERR_FORMAT);
    ck_assert_msg(strstr(err.msg, "deterministic"), "message: %s", err.msg);
    ck_assert_ptr_null(b);
    free(buf);
    unlink(path);
    hogmf_model_free(&a);
}
END_TEST

START_TEST(test_load_errors)
{
    hogmf_model *b = NULL;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_model_load("/nonexistent/model.bin", &b, &err), HOGMF_ERR_IO);
    ck_assert_int_eq(hogmf_model_load("/tmp", &b, &err), HOGMF_ERR_IO);
    ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_save_is_atomic)
{
    hogmf_model *a = sample_model();
    hogmf_error err = {0};
    /* A folder that does not exist: an error, and nothing is created. */
    ck_assert_int_eq(hogmf_model_save(a, "/nonexistent-dir/m.bin", &err), HOGMF_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/m.bin"));
    /* /dev/full: the write fails with a clear error and the device stays a device. */
    ck_assert_int_eq(hogmf_model_save(a, "/dev/full", &err), HOGMF_ERR_IO);
    struct stat sb;
    ck_assert(stat("/dev/full", &sb) == 0 && S_ISCHR(sb.st_mode));
    /* Overwriting replaces the old file completely and leaves no temporary behind. */
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    spit(path, (const unsigned char *)"old contents", 12);
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    hogmf_model *b = NULL;
    ck_assert_int_eq(hogmf_model_load(path, &b, &err), HOGMF_OK);
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "ls %s.tmp.* >/dev/null 2>&1", path);
    ck_assert_msg(system(pattern) != 0, "a temporary file was left behind");
    unlink(path);
    hogmf_model_free(&a);
    hogmf_model_free(&b);
}
END_TEST

START_TEST(test_predict_unknown_and_clipping)
{
    hogmf_model *m = sample_model();
    uint32_t u = hogmf_model_user_index(m, 12), i = hogmf_model_item_index(m, 99);
    ck_assert_uint_eq(u, 2);
    ck_assert_uint_eq(i, 1);
    float dot = 0;
    for (uint32_t d = 0; d < m->k; d++)
        dot += m->P[(size_t)u * m->stride + d] * m->Q[(size_t)i * m->stride + d];
    float want = m->mu + m->bu[u] + m->bi[i] + dot;
    ck_assert_msg(fabsf(hogmf_model_predict(m, u, i) - want) < 1e-6f, "known pair");
    ck_assert(hogmf_model_predict(m, HOGMF_UNKNOWN, i) == m->mu + m->bi[i]);
    ck_assert(hogmf_model_predict(m, u, HOGMF_UNKNOWN) == m->mu + m->bu[u]);
    ck_assert(hogmf_model_predict(m, HOGMF_UNKNOWN, HOGMF_UNKNOWN) == m->mu);
    m->bu[u] = 100.0f;
    ck_assert(hogmf_model_predict(m, u, i) == m->rmax);
    m->bu[u] = -100.0f;
    ck_assert(hogmf_model_predict(m, u, i) == m->rmin);
    hogmf_model_free(&m);
}
END_TEST

/* hogmf_evaluate against RMSE and MAE computed here in double from the model's arrays (dot
 * products in double, then clipped), for each SIMD kernel of the evaluation loop: 40 users x
 * 30 items, k = 40 (stride 48), 70% of cells observed, some predictions outside 1..5. */
static const char *const isas[] = {"portable", "avx2", NULL};

START_TEST(test_evaluate_matches_independent_sums)
{
    enum { M = 40, N = 30, K = 40 };
    use_isa(isas[_i]);
    hogmf_model *m = hogmf_model_new(M, N, K);
    ck_assert_ptr_nonnull(m);
    uint64_t s = 17;
    for (size_t j = 0; j < (size_t)M * m->stride; j++)
        m->P[j] = j % m->stride < K ? (float)((double)(hogmf__splitmix64(&s) >> 40) / 16777216.0 - 0.5) : 0;
    for (size_t j = 0; j < (size_t)N * m->stride; j++)
        m->Q[j] = j % m->stride < K ? (float)((double)(hogmf__splitmix64(&s) >> 40) / 16777216.0 - 0.5) : 0;
    for (int u = 0; u < M; u++)
        m->bu[u] = (float)(u % 7) * 0.1f - 0.3f;
    for (int i = 0; i < N; i++)
        m->bi[i] = (float)(i % 5) * 0.2f - 0.4f;
    m->mu = 3.2f;
    m->rmin = 1;
    m->rmax = 5;
    float x[M * N];
    unsigned char mask[M * N];
    for (int c = 0; c < M * N; c++) {
        x[c] = (float)(1 + (hogmf__splitmix64(&s) % 9) * 0.5);
        mask[c] = hogmf__splitmix64(&s) % 10 < 7;
    }
    hogmf_ratings set;
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_ratings_from_dense(x, mask, M, N, &set, &err), HOGMF_OK);
    double se = 0, ae = 0;
    size_t n = 0;
    for (int u = 0; u < M; u++)
        for (int i = 0; i < N; i++) {
            if (!mask[u * N + i])
                continue;
            double dot = 0;
            for (int d = 0; d < K; d++)
                dot += (double)m->P[(size_t)u * m->stride + d] * m->Q[(size_t)i * m->stride + d];
            double pred = m->mu + m->bu[u] + m->bi[i] + dot;
            pred = pred < 1 ? 1 : pred > 5 ? 5 : pred;
            double e = x[u * N + i] - pred;
            se += e * e;
            ae += fabs(e);
            n++;
        }
    for (int threads = 1; threads <= 3; threads += 2) {
        double rmse, mae;
        size_t unknown = 99;
        ck_assert_int_eq(hogmf_evaluate(m, &set, threads, &rmse, &mae, &unknown, &err),
                         HOGMF_OK);
        ck_assert_uint_eq(unknown, 0);
        ck_assert_msg(fabs(rmse - sqrt(se / (double)n)) < 1e-6 && fabs(mae - ae / (double)n) < 1e-6,
                      "kernel %s, %d threads: rmse %.9f mae %.9f, want %.9f %.9f",
                      hogmf_kernel_name(), threads, rmse, mae, sqrt(se / (double)n),
                      ae / (double)n);
    }
    hogmf_ratings_free(&set);
    hogmf_model_free(&m);
}
END_TEST

/* hogmf__eval_sums against sums computed here in double, for each kernel (the table isas) and
 * each case below: k not a multiple of 16, lengths that end in short vector groups and cross
 * the 4096-rating chunks, long runs of one user, unknown users and items, and predictions
 * that are clipped, NaN (predicted as mu), infinite or runaway (both counted). */
typedef struct eval_case {
    uint32_t k, m, n;
    size_t nnz;
    int run;     /* each user's ratings come in runs of this length */
    int unknown; /* every unknown-th rating has an unknown user or item (0: none) */
    int blowup;  /* rows with a NaN, an infinite bias or a runaway bias */
} eval_case;

static const eval_case eval_cases[] = {
    {1, 7, 5, 1, 1, 0, 0},        {5, 9, 6, 15, 1, 3, 0},     {16, 20, 12, 17, 1, 0, 0},
    {20, 31, 17, 333, 40, 0, 0},  {33, 50, 40, 4101, 1, 7, 0}, {40, 64, 48, 9000, 200, 5, 1},
    {100, 30, 25, 4096, 3, 0, 1}, {128, 40, 30, 8195, 1, 11, 0},
};
enum { EVAL_CASES = sizeof eval_cases / sizeof eval_cases[0], EVAL_ISAS = 3 };

/* The model and ratings of case c (seeded); the caller frees both. */
static hogmf_model *eval_case_build(const eval_case *c, hogmf_rating **xout)
{
    hogmf_model *m = hogmf_model_new(c->m, c->n, c->k);
    ck_assert_ptr_nonnull(m);
    uint64_t s = 1000 + c->k;
    for (size_t j = 0; j < (size_t)c->m * m->stride; j++)
        m->P[j] = j % m->stride < c->k
                      ? (float)((double)(hogmf__splitmix64(&s) >> 40) / 16777216.0 - 0.5)
                      : 0;
    for (size_t j = 0; j < (size_t)c->n * m->stride; j++)
        m->Q[j] = j % m->stride < c->k
                      ? (float)((double)(hogmf__splitmix64(&s) >> 40) / 16777216.0 - 0.5)
                      : 0;
    for (uint32_t u = 0; u < c->m; u++)
        m->bu[u] = (float)(u % 7) * 0.3f - 0.9f;
    for (uint32_t i = 0; i < c->n; i++)
        m->bi[i] = (float)(i % 5) * 0.4f - 0.8f;
    m->mu = 3.1f;
    m->rmin = 1;
    m->rmax = 5;
    if (c->blowup) { /* user 1: a NaN factor; user 2: infinite bias; item 3: runaway bias */
        m->P[1 * (size_t)m->stride] = NAN;
        m->bu[2] = INFINITY;
        m->bi[3] = 1e6f;
    }
    hogmf_rating *x = malloc(c->nnz * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint32_t u = 0;
    for (size_t j = 0; j < c->nnz; j++) {
        if (j % (size_t)c->run == 0)
            u = (uint32_t)(hogmf__splitmix64(&s) % c->m);
        x[j].u = u;
        x[j].i = (uint32_t)(hogmf__splitmix64(&s) % c->n);
        x[j].r = (float)(1 + (hogmf__splitmix64(&s) % 9) * 0.5);
        if (c->unknown && j % (size_t)c->unknown == 0) {
            int w = (int)(hogmf__splitmix64(&s) % 3);
            if (w != 1)
                x[j].u = w == 0 ? HOGMF_UNKNOWN : c->m + 5;
            if (w != 0)
                x[j].i = HOGMF_UNKNOWN;
        }
    }
    *xout = x;
    return m;
}

/* The sums over x in double; *bad counts NaN, infinite and runaway raw predictions. */
static void eval_reference(const hogmf_model *m, const hogmf_rating *x, size_t nnz, double *se,
                           double *ae, size_t *bad)
{
    *se = *ae = 0;
    *bad = 0;
    const double limit = 1e4 * (m->rmax - m->rmin + 1.0);
    for (size_t j = 0; j < nnz; j++) {
        const int ku = x[j].u < m->m, ki = x[j].i < m->n;
        double raw = m->mu;
        if (ku)
            raw += m->bu[x[j].u];
        if (ki)
            raw += m->bi[x[j].i];
        if (ku && ki)
            for (uint32_t d = 0; d < m->k; d++)
                raw += (double)m->P[(size_t)x[j].u * m->stride + d] *
                       m->Q[(size_t)x[j].i * m->stride + d];
        if (!(fabs(raw - m->mu) <= limit))
            ++*bad;
        double pred = isnan(raw) ? m->mu : raw < m->rmin ? m->rmin : raw > m->rmax ? m->rmax : raw;
        double e = x[j].r - pred;
        *se += e * e;
        *ae += fabs(e);
    }
}

START_TEST(test_eval_sums_match_double)
{
    const eval_case *c = &eval_cases[_i % EVAL_CASES];
    use_isa(isas[_i / EVAL_CASES]);
    hogmf_rating *x;
    hogmf_model *m = eval_case_build(c, &x);
    double se, ae, rse, rae;
    size_t bad, rbad;
    eval_reference(m, x, c->nnz, &rse, &rae, &rbad);
    if (c->blowup)
        ck_assert_uint_gt(rbad, 0); /* the case does exercise the count */
    for (int threads = 1; threads <= 3; threads++) {
        hogmf__eval_sums(m, x, c->nnz, threads, &se, &ae, &bad);
        double rmse = sqrt(se / (double)c->nnz), want = sqrt(rse / (double)c->nnz);
        double mae = ae / (double)c->nnz, wmae = rae / (double)c->nnz;
        ck_assert_msg(fabs(rmse - want) < 1e-6 * want + 1e-12 &&
                          fabs(mae - wmae) < 1e-6 * wmae + 1e-12 && bad == rbad,
                      "kernel %s, k %u, %zu ratings, %d threads: rmse %.9f mae %.9f bad %zu, "
                      "want %.9f %.9f %zu (rmse difference %.3g)",
                      hogmf_kernel_name(), c->k, c->nnz, threads, rmse, mae, bad, want, wmae,
                      rbad, rmse - want);
    }
    free(x);
    hogmf_model_free(&m);
}
END_TEST

/* The sums are the same bit for bit with 1, 2, 3 and 4 threads (the deterministic mode and
 * the early-stopping decisions rely on it), for each kernel, on a set of several chunks. */
START_TEST(test_eval_sums_independent_of_threads)
{
    use_isa(isas[_i]);
    const eval_case c = {37, 300, 200, 5 * 4096 + 123, 2, 13, 0};
    hogmf_rating *x;
    hogmf_model *m = eval_case_build(&c, &x);
    double se1, ae1;
    size_t bad1;
    hogmf__eval_sums(m, x, c.nnz, 1, &se1, &ae1, &bad1);
    for (int threads = 2; threads <= 4; threads++) {
        double se, ae;
        size_t bad;
        hogmf__eval_sums(m, x, c.nnz, threads, &se, &ae, &bad);
        ck_assert_msg(!memcmp(&se, &se1, sizeof se) && !memcmp(&ae, &ae1, sizeof ae) &&
                          bad == bad1,
                      "kernel %s, %d threads: sse %.17g sae %.17g, 1 thread: %.17g %.17g",
                      hogmf_kernel_name(), threads, se, ae, se1, ae1);
    }
    free(x);
    hogmf_model_free(&m);
}
END_TEST

START_TEST(test_rows_are_aligned_and_padded)
{
    hogmf_model *m = hogmf_model_new(5, 3, 20);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->stride, 32);
    ck_assert_uint_eq((uintptr_t)m->P % 64, 0);
    ck_assert_uint_eq((uintptr_t)m->Q % 64, 0);
    ck_assert_ptr_null(hogmf_model_new(0, 3, 2));
    ck_assert_ptr_null(hogmf_model_new(3, 3, 0));
    hogmf_model_free(&m);
    hogmf_model_free(&m); /* freeing twice through the cleared pointer is a no-op */
}
END_TEST

/* A NaN or infinity in a bias or factor, with a valid CRC: refused (predictions would all
 * become rating bounds). Offsets for the 3 x 4 x 5 sample: header 192, ids 4 (m + n), then
 * bu, bi, P, Q. */
static const struct {
    const char *where;
    size_t off;
    float v;
} nonfinite[] = {
    {"bu[1] NaN", 192 + 28 + 4, NAN},       {"bi[3] +Inf", 192 + 28 + 12 + 12, INFINITY},
    {"P[0][0] -Inf", 192 + 28 + 28, -INFINITY}, {"Q[3][4] NaN", 192 + 28 + 28 + 60 + 76, NAN},
};

START_TEST(test_nonfinite_rejected)
{
    hogmf_model *a = sample_model();
    hogmf_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    ck_assert_uint_eq(len, 192 + 28 + 28 + 4 * 5 * 7 + 4);
    float old;
    memcpy(&old, buf + nonfinite[_i].off, 4);
    ck_assert_msg(isfinite(old), "%s: the offset is not a parameter", nonfinite[_i].where);
    memcpy(buf + nonfinite[_i].off, &nonfinite[_i].v, 4);
    uLong c = crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(len - 4));
    for (int j = 0; j < 4; j++)
        buf[len - 4 + j] = (unsigned char)(c >> (8 * j));
    spit(path, buf, len);
    free(buf);
    hogmf_model *b = NULL;
    hogmf_status st = hogmf_model_load(path, &b, &err);
    unlink(path);
    ck_assert_msg(st == HOGMF_ERR_FORMAT && strstr(err.msg, "NaN or infinite"),
                  "%s: status %d (%s)", nonfinite[_i].where, st, err.msg);
    ck_assert_ptr_null(b);
    hogmf_model_free(&a);
}
END_TEST

/* The header is checked before the body is read: a file grown to 1 TB (sparse) is refused
 * at once as a size mismatch, not read (or allocated); a FIFO is refused without waiting
 * for a writer. */
START_TEST(test_header_checked_first)
{
    hogmf_model *a = sample_model(), *b = NULL;
    hogmf_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s", temp_path(".model"));
    ck_assert_int_eq(hogmf_model_save(a, path, &err), HOGMF_OK);
    ck_assert_int_eq(truncate(path, (off_t)1 << 40), 0);
    hogmf_status st = hogmf_model_load(path, &b, &err);
    ck_assert_msg(st == HOGMF_ERR_FORMAT && strstr(err.msg, "file size does not match"),
                  "1 TB model: status %d (%s)", st, err.msg);
    ck_assert_int_eq(truncate(path, 0), 0);
    ck_assert_int_eq(truncate(path, (off_t)1 << 40), 0);
    st = hogmf_model_load(path, &b, &err);
    ck_assert_msg(st == HOGMF_ERR_FORMAT && strstr(err.msg, "wrong magic"),
                  "1 TB of zeros: status %d (%s)", st, err.msg);
    unlink(path);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    st = hogmf_model_load(path, &b, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "expected a regular file"),
                  "FIFO: status %d (%s)", st, err.msg);
    hogmf_checkpoint_info info;
    st = hogmf_checkpoint_inspect(path, &info, &err);
    ck_assert_msg(st == HOGMF_ERR_IO && strstr(err.msg, "expected a regular file"),
                  "checkpoint FIFO: status %d (%s)", st, err.msg);
    unlink(path);
    ck_assert_ptr_null(b);
    hogmf_model_free(&a);
}
END_TEST

/* Outputs: a missing folder or a directory is found before any work; a replaced file keeps
 * its mode; a symbolic link is written through (it stays a link, its target changes). */
START_TEST(test_output_paths)
{
    hogmf_error err = {0};
    ck_assert_int_eq(hogmf_output_check("/nonexistent-dir/m.bin", &err), HOGMF_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/m.bin"));
    ck_assert_int_eq(hogmf_output_check("/tmp", &err), HOGMF_ERR_IO);
    ck_assert_int_eq(hogmf_output_check("/dev/full", &err), HOGMF_OK);
    char path[4096], link[4200], pattern[4300];
    snprintf(path, sizeof path, "%s", temp_path(".out"));
    ck_assert_int_eq(hogmf_output_check(path, &err), HOGMF_OK);
    ck_assert_msg(access(path, F_OK) != 0, "the check left %s behind", path);
    snprintf(pattern, sizeof pattern, "ls %s.tmp.* >/dev/null 2>&1", path);
    ck_assert_msg(system(pattern) != 0, "the check left a temporary file behind");

    spit(path, (const unsigned char *)"old", 3);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(hogmf_write_file_atomic(path, "new!", 4, &err), HOGMF_OK);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_msg((sb.st_mode & 07777) == 0640, "mode %o, expected 640", sb.st_mode & 07777);

    snprintf(link, sizeof link, "%s.link", path);
    ck_assert_int_eq(symlink(path, link), 0);
    ck_assert_int_eq(hogmf_write_file_atomic(link, "via link", 8, &err), HOGMF_OK);
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert_msg(S_ISLNK(sb.st_mode), "the symbolic link was replaced by a file");
    size_t len;
    unsigned char *buf = slurp(path, &len);
    ck_assert_msg(len == 8 && !memcmp(buf, "via link", 8), "the target was not written");
    free(buf);
    unlink(link);
    unlink(path);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("file");
    tcase_add_test(tc, test_round_trip_bit_for_bit);
    tcase_add_loop_test(tc, test_corrupt_files_rejected, 0, DMG_COUNT);
    tcase_add_test(tc, test_reads_version_1);
    tcase_add_test(tc, test_records_deterministic);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_save_is_atomic);
    tcase_add_loop_test(tc, test_nonfinite_rejected, 0,
                        (int)(sizeof nonfinite / sizeof nonfinite[0]));
    tcase_add_test(tc, test_header_checked_first);
    tcase_add_test(tc, test_output_paths);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("predict");
    tcase_add_test(tp, test_predict_unknown_and_clipping);
    tcase_add_test(tp, test_rows_are_aligned_and_padded);
    tcase_add_loop_test(tp, test_evaluate_matches_independent_sums, 0, 3);
    tcase_add_loop_test(tp, test_eval_sums_match_double, 0, EVAL_CASES * EVAL_ISAS);
    tcase_add_loop_test(tp, test_eval_sums_independent_of_threads, 0, EVAL_ISAS);
    suite_add_tcase(s, tp);
    return s;
}
