/*
 * check_sgd.c - the SGD kernel against independent references: the step equals -lr times
 * the gradient of the per-rating loss computed by central finite differences in double, and
 * one step on a 2x2 model matches a hand-computed result and touches only row u and item i,
 * every loop (portable, AVX2, AVX-512, AdaGrad, the general loop with L1 and non-negativity)
 * follows the step computed in double on random rows, and L1 and the projection have their
 * closed-form effect on one step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "suites.h"

/* Per-rating loss in double, written independently of the kernel:
 * L = 1/2 (r - mu - bu - bi - p.q)^2 + lb/2 (bu^2 + bi^2) + lp/2 |p|^2 + lq/2 |q|^2 */
static double loss(const double *th, int k, double mu, double r, double lb, double lp, double lq)
{
    const double *p = th, *q = th + k;
    double bu = th[2 * k], bi = th[2 * k + 1];
    double dot = 0, pp = 0, qq = 0;
    for (int d = 0; d < k; d++) {
        dot += p[d] * q[d];
        pp += p[d] * p[d];
        qq += q[d] * q[d];
    }
    double e = r - (mu + bu + bi + dot);
    return 0.5 * e * e + 0.5 * lb * (bu * bu + bi * bi) + 0.5 * lp * pp + 0.5 * lq * qq;
}

START_TEST(test_gradient_matches_finite_differences)
{
    enum { K = 7, STRIDE = 16, NP = 2 * K + 2 };
    const double mu = 3.4, r = 4.5, lb = 0.03, lp = 0.07, lq = 0.11;
    hogmf_rng g;
    hogmf__rng_seed(&g, 42, (uint64_t)_i);
    float p[STRIDE] __attribute__((aligned(64))) = {0};
    float q[STRIDE] __attribute__((aligned(64))) = {0};
    float bu = (float)(0.3 * hogmf__rng_normal(&g)), bi = (float)(0.3 * hogmf__rng_normal(&g));
    double th[NP];
    for (int d = 0; d < K; d++) {
        p[d] = (float)(0.5 * hogmf__rng_normal(&g));
        q[d] = (float)(0.5 * hogmf__rng_normal(&g));
    }
    for (int d = 0; d < K; d++) {
        th[d] = p[d];
        th[K + d] = q[d];
    }
    th[2 * K] = bu;
    th[2 * K + 1] = bi;
    /* With lr = 1 the step is exactly minus the gradient (both rows from old values). */
    float p1[STRIDE] __attribute__((aligned(64))), q1[STRIDE] __attribute__((aligned(64)));
    memcpy(p1, p, sizeof p);
    memcpy(q1, q, sizeof q);
    float bu1 = bu, bi1 = bi;
    hogmf__sgd_update(p1, q1, &bu1, &bi1, (float)mu, (float)r, STRIDE, 1.0f, (float)lb,
                      (float)lp, (float)lq);
    double step[NP];
    for (int d = 0; d < K; d++) {
        step[d] = (double)p1[d] - p[d];
        step[K + d] = (double)q1[d] - q[d];
    }
    step[2 * K] = (double)bu1 - bu;
    step[2 * K + 1] = (double)bi1 - bi;
    double maxdiff = 0;
    for (int j = 0; j < NP; j++) {
        const double h = 1e-5;
        double save = th[j];
        th[j] = save + h;
        double lplus = loss(th, K, mu, r, lb, lp, lq);
        th[j] = save - h;
        double lminus = loss(th, K, mu, r, lb, lp, lq);
        th[j] = save;
        double fd = (lplus - lminus) / (2 * h);
        double kernel = -step[j];
        double diff = fabs(kernel - fd);
        if (diff > maxdiff)
            maxdiff = diff;
        ck_assert_msg(diff <= 2e-5 + 1e-4 * fabs(fd),
                      "case %d parameter %d: finite difference %.9f, kernel %.9f, diff %.3g", _i,
                      j, fd, kernel, diff);
    }
    for (int d = K; d < STRIDE; d++)
        ck_assert_msg(p1[d] == 0.0f && q1[d] == 0.0f, "padding %d became non-zero", d);
}
END_TEST

START_TEST(test_one_step_2x2_by_hand)
{
    /* 2 users x 2 items, k = 1, mu = 3; rating (user 0, item 1) = 4; lr 0.1, lb 0.02,
     * lp = lq = 0.05; p0 = 0.5, q1 = 0.2, bu0 = 0.1, bi1 = -0.2.
     *   r_hat = 3 + 0.1 - 0.2 + 0.5*0.2 = 3.0, e = 1
     *   bu0' = 0.1 + 0.1 (1 - 0.02*0.1)    = 0.1998
     *   bi1' = -0.2 + 0.1 (1 + 0.02*0.2)   = -0.0996
     *   p0'  = 0.5 + 0.1 (1*0.2 - 0.05*0.5) = 0.5175
     *   q1'  = 0.2 + 0.1 (1*0.5 - 0.05*0.2) = 0.249   (0.25075 if it used the new p0') */
    hogmf_model *m = hogmf_model_new(2, 2, 1);
    ck_assert_ptr_nonnull(m);
    m->mu = 3.0f;
    m->rmin = 1;
    m->rmax = 5;
    m->P[0] = 0.5f;
    m->P[m->stride] = 0.7f;
    m->Q[0] = -0.3f;
    m->Q[m->stride] = 0.2f;
    m->bu[0] = 0.1f;
    m->bu[1] = 0.4f;
    m->bi[0] = 0.25f;
    m->bi[1] = -0.2f;
    float e = hogmf__sgd_update(m->P, m->Q + m->stride, &m->bu[0], &m->bi[1], m->mu, 4.0f,
                                m->stride, 0.1f, 0.02f, 0.05f, 0.05f);
    const struct {
        const char *name;
        float got, want;
    } cells[] = {
        {"e", e, 1.0f},           {"bu0", m->bu[0], 0.1998f}, {"bi1", m->bi[1], -0.0996f},
        {"p0", m->P[0], 0.5175f}, {"q1", m->Q[m->stride], 0.249f},
        /* untouched: the other user and the other item */
        {"bu1", m->bu[1], 0.4f},  {"bi0", m->bi[0], 0.25f},   {"p1", m->P[m->stride], 0.7f},
        {"q0", m->Q[0], -0.3f},
    };
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        ck_assert_msg(fabsf(cells[c].got - cells[c].want) < 1e-6f, "%s: expected %.7f, got %.7f",
                      cells[c].name, (double)cells[c].want, (double)cells[c].got);
    hogmf_model_free(&m);
    ck_assert_ptr_null(m);
}
END_TEST

/* AdaGrad steps (one accumulator per row, as LIBMF) against the rule computed here in double:
 *   rate_x = lr / sqrt(G_x) with G_x the accumulator before the step,
 *   g_p = -e q + lp p, g_q = -e p + lq q, g_bu = -e + lb bu, g_bi = -e + lb bi,
 *   p -= rate_p g_p, q -= rate_q g_q, bu -= rate_bu g_bu, bi -= rate_bi g_bi,
 *   G_p += |g_p|^2 / k, G_q += |g_q|^2 / k, G_bu += g_bu^2, G_bi += g_bi^2.
 * Six ratings on 3 users x 2 items (rows revisited), k = 20 in rows of 32, for the portable
 * general loop and each SIMD kernel. */
static const char *const adagrad_isas[] = {"portable", "avx2", NULL};

START_TEST(test_adagrad_steps_match_the_rule)
{
    enum { M = 3, N = 2, K = 20, NR = 6 };
    use_isa(adagrad_isas[_i]);
    hogmf_model *m = hogmf_model_new(M, N, K);
    ck_assert_ptr_nonnull(m);
    const uint32_t S = m->stride;
    double P[M][K], Q[N][K], bu[M], bi[N], gp[M], gq[N], gbu[M], gbi[N];
    float fgp[M], fgq[N], fgbu[M], fgbi[N];
    uint64_t seed = 5;
    for (int u = 0; u < M; u++) {
        for (int d = 0; d < K; d++)
            m->P[u * S + d] = (float)((double)(hogmf__splitmix64(&seed) >> 40) / 16777216.0 - 0.5);
        m->bu[u] = 0.1f * (float)u;
        fgp[u] = 1.0f + 0.5f * (float)u;
        fgbu[u] = 1.0f + 0.25f * (float)u;
    }
    for (int i = 0; i < N; i++) {
        for (int d = 0; d < K; d++)
            m->Q[i * S + d] = (float)((double)(hogmf__splitmix64(&seed) >> 40) / 16777216.0 - 0.5);
        m->bi[i] = -0.2f * (float)i;
        fgq[i] = 2.0f - 0.5f * (float)i;
        fgbi[i] = 1.5f;
    }
    for (int u = 0; u < M; u++) {
        for (int d = 0; d < K; d++)
            P[u][d] = m->P[u * S + d];
        bu[u] = m->bu[u];
        gp[u] = fgp[u];
        gbu[u] = fgbu[u];
    }
    for (int i = 0; i < N; i++) {
        for (int d = 0; d < K; d++)
            Q[i][d] = m->Q[i * S + d];
        bi[i] = m->bi[i];
        gq[i] = fgq[i];
        gbi[i] = fgbi[i];
    }
    const hogmf_rating x[NR] = {{0, 0, 4.0f}, {1, 1, 2.5f}, {0, 1, 3.0f},
                                {2, 0, 5.0f}, {1, 0, 1.0f}, {0, 0, 4.5f}};
    const double lr = 0.1, lb = 0.02, lp = 0.05, lq = 0.07, mu = 3.0;
    hogmf_sgd_ctx c = {.P = m->P, .Q = m->Q, .bu = m->bu, .bi = m->bi, .stride = S, .k = K,
                       .mu = (float)mu, .lr = (float)lr, .lambda_b = (float)lb,
                       .lambda_p = (float)lp, .lambda_q = (float)lq, .gp = fgp, .gq = fgq,
                       .gbu = fgbu, .gbi = fgbi};
    hogmf__sgd_select(&c, NULL)(&c, x, 0, NR, 0);
    for (int j = 0; j < NR; j++) {
        int u = (int)x[j].u, i = (int)x[j].i;
        double dot = 0;
        for (int d = 0; d < K; d++)
            dot += P[u][d] * Q[i][d];
        double e = x[j].r - (mu + bu[u] + bi[i] + dot);
        double rp = lr / sqrt(gp[u]), rq = lr / sqrt(gq[i]);
        double rbu = lr / sqrt(gbu[u]), rbi = lr / sqrt(gbi[i]);
        double sp = 0, sq = 0;
        for (int d = 0; d < K; d++) {
            double g1 = -e * Q[i][d] + lp * P[u][d], g2 = -e * P[u][d] + lq * Q[i][d];
            sp += g1 * g1;
            sq += g2 * g2;
            P[u][d] -= rp * g1;
            Q[i][d] -= rq * g2;
        }
        double gb1 = -e + lb * bu[u], gb2 = -e + lb * bi[i];
        bu[u] -= rbu * gb1;
        bi[i] -= rbi * gb2;
        gp[u] += sp / K;
        gq[i] += sq / K;
        gbu[u] += gb1 * gb1;
        gbi[i] += gb2 * gb2;
    }
    const char *isa = adagrad_isas[_i] ? adagrad_isas[_i] : "default";
    for (int u = 0; u < M; u++) {
        for (int d = 0; d < K; d++)
            ck_assert_msg(fabs(m->P[u * S + d] - P[u][d]) < 1e-5, "%s: p[%d][%d] %.7f, want %.7f",
                          isa, u, d, (double)m->P[u * S + d], P[u][d]);
        for (int d = K; d < (int)S; d++)
            ck_assert_msg(m->P[u * S + d] == 0.0f, "%s: padding of p[%d] changed", isa, u);
        ck_assert_msg(fabs(m->bu[u] - bu[u]) < 1e-5, "%s: bu[%d]", isa, u);
        ck_assert_msg(fabs(fgp[u] - gp[u]) < 1e-5 * gp[u], "%s: G_p[%d] %.7f, want %.7f", isa, u,
                      (double)fgp[u], gp[u]);
        ck_assert_msg(fabs(fgbu[u] - gbu[u]) < 1e-5 * gbu[u], "%s: G_bu[%d]", isa, u);
    }
    for (int i = 0; i < N; i++) {
        for (int d = 0; d < K; d++)
            ck_assert_msg(fabs(m->Q[i * S + d] - Q[i][d]) < 1e-5, "%s: q[%d][%d] %.7f, want %.7f",
                          isa, i, d, (double)m->Q[i * S + d], Q[i][d]);
        ck_assert_msg(fabs(m->bi[i] - bi[i]) < 1e-5, "%s: bi[%d]", isa, i);
        ck_assert_msg(fabs(fgq[i] - gq[i]) < 1e-5 * gq[i], "%s: G_q[%d]", isa, i);
        ck_assert_msg(fabs(fgbi[i] - gbi[i]) < 1e-5 * gbi[i], "%s: G_bi[%d]", isa, i);
    }
    hogmf_model_free(&m);
}
END_TEST

START_TEST(test_dot_is_exact_on_small_integers)
{
    float p[48] __attribute__((aligned(64))) = {0}, q[48] __attribute__((aligned(64))) = {0};
    double want = 0;
    for (int d = 0; d < 37; d++) {
        p[d] = (float)(d % 5 - 2);
        q[d] = (float)(d % 3 + 1);
        want += (double)p[d] * q[d];
    }
    ck_assert_msg(hogmf__dot(p, q, 48) == (float)want, "dot %g, expected %g",
                  (double)hogmf__dot(p, q, 48), want);
}
END_TEST

/* ---------------------------------------------------------------- every loop against double */

/* Every loop of sgd.c against the step computed here in double, on a run of random ratings
 * over a few rows (each row revisited several times), with lambda_b, lambda_p and lambda_q all
 * different, for k that are and are not multiples of 16, applied from a rotated start
 * (x[start..hi) then x[lo..start), ratings before lo untouched). The step in double:
 *   e = r - (mu + bu + bi + p.q),  g_bu = -e + lb bu,  g_bi = -e + lb bi,
 *   g_p = -e q + lp p,  g_q = -e p + lq q   (both rows' old values),
 *   rate = lr, or lr / sqrt(G) with G the row's AdaGrad sum before the step,
 *   p -= rate_p g_p, then soft threshold by rate_p l1_p, then max(., 0) under nonneg;
 *   likewise q; bu -= rate_bu g_bu; bi -= rate_bi g_bi;
 *   G_p += |g_p|^2 / k, G_q += |g_q|^2 / k, G_bu += g_bu^2, G_bi += g_bi^2.
 * A loop that the machine cannot run is skipped with a message. */
typedef struct kernel_case {
    const char *name;
    const char *isa;     /* HOGMF_ISA for the test; NULL: the machine's best */
    hogmf_isa want;      /* what hogmf__sgd_select must report for it */
    int adagrad, nonneg;
    float l1_p, l1_q;
} kernel_case;

static const kernel_case kernel_cases[] = {
    {"portable", "portable", HOGMF_ISA_PORTABLE, 0, 0, 0, 0},
    {"avx2", "avx2", HOGMF_ISA_AVX2, 0, 0, 0, 0},
    {"avx512", NULL, HOGMF_ISA_AVX512, 0, 0, 0, 0},
    {"adagrad (general loop)", "portable", HOGMF_ISA_PORTABLE, 1, 0, 0, 0},
    {"adagrad (avx2 loop)", NULL, HOGMF_ISA_AVX2, 1, 0, 0, 0},
    {"general: L1", NULL, HOGMF_ISA_PORTABLE, 0, 0, 0.3f, 0.2f},
    {"general: nonneg", NULL, HOGMF_ISA_PORTABLE, 0, 1, 0, 0},
    {"general: L1, nonneg, adagrad", NULL, HOGMF_ISA_PORTABLE, 1, 1, 0.25f, 0.4f},
};
enum { KERNEL_CASES = sizeof kernel_cases / sizeof kernel_cases[0] };
static const uint32_t kernel_ks[] = {1, 7, 16, 20, 33, 50, 64, 100};
enum { KERNEL_KS = sizeof kernel_ks / sizeof kernel_ks[0] };

/* Uniform in [lo, hi) from a splitmix64 stream. */
static double uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(hogmf__splitmix64(s) >> 11) * 0x1.0p-53;
}

static double soft(double v, double t)
{
    double a = fabs(v) - t;
    return a > 0 ? (v < 0 ? -a : a) : 0.0;
}

START_TEST(test_every_loop_matches_the_step_in_double)
{
    const kernel_case *kc = &kernel_cases[_i / KERNEL_KS];
    const uint32_t K = kernel_ks[_i % KERNEL_KS];
    enum { M = 5, N = 4, NR = 48, LO = 3, START = 19 };
    char why[256];
    use_isa(kc->isa);
    hogmf_model *m = hogmf_model_new(M, N, K);
    ck_assert_ptr_nonnull(m);
    const uint32_t S = m->stride;
    float fgp[M], fgq[N], fgbu[M], fgbi[N];
    const double lr = 0.05, lb = 0.03, lp = 0.07, lq = 0.11, mu = 3.2;
    hogmf_sgd_ctx c = {.P = m->P, .Q = m->Q, .bu = m->bu, .bi = m->bi, .stride = S, .k = K,
                       .mu = (float)mu, .lr = (float)lr, .lambda_b = (float)lb,
                       .lambda_p = (float)lp, .lambda_q = (float)lq, .l1_p = kc->l1_p,
                       .l1_q = kc->l1_q, .nonneg = kc->nonneg};
    if (kc->adagrad) {
        c.gp = fgp;
        c.gq = fgq;
        c.gbu = fgbu;
        c.gbi = fgbi;
    }
    hogmf_isa got;
    hogmf_sgd_range_fn fn = hogmf__sgd_select(&c, &got);
    if (kc->want > hogmf__isa()) {
        snprintf(why, sizeof why, "sgd: the %s loop: this machine runs %s at best", kc->name,
                 hogmf__isa_name(hogmf__isa()));
        hogmf_model_free(&m);
        skip_check(why);
        return;
    }
    ck_assert_msg(got == kc->want, "%s: hogmf__sgd_select chose the %s loop", kc->name,
                  hogmf__isa_name(got));
    /* Random rows (scaled so that p.q stays of order one for every k), biases and sums. */
    uint64_t seed = 1000 + (uint64_t)_i;
    const double scale = 0.6 / sqrt((double)K);
    double *P = malloc(sizeof(double) * M * K), *Q = malloc(sizeof(double) * N * K);
    double bu[M], bi[N], gp[M], gq[N], gbu[M], gbi[N];
    ck_assert(P && Q);
    for (int u = 0; u < M; u++) {
        for (uint32_t d = 0; d < K; d++)
            m->P[u * S + d] = (float)uniform(&seed, -scale, 2 * scale);
        m->bu[u] = (float)uniform(&seed, -0.4, 0.4);
        fgp[u] = (float)uniform(&seed, 0.5, 2.0);
        fgbu[u] = (float)uniform(&seed, 0.5, 2.0);
    }
    for (int i = 0; i < N; i++) {
        for (uint32_t d = 0; d < K; d++)
            m->Q[i * S + d] = (float)uniform(&seed, -scale, 2 * scale);
        m->bi[i] = (float)uniform(&seed, -0.4, 0.4);
        fgq[i] = (float)uniform(&seed, 0.5, 2.0);
        fgbi[i] = (float)uniform(&seed, 0.5, 2.0);
    }
    for (int u = 0; u < M; u++) {
        for (uint32_t d = 0; d < K; d++)
            P[u * K + d] = m->P[u * S + d];
        bu[u] = m->bu[u];
        gp[u] = fgp[u];
        gbu[u] = fgbu[u];
    }
    for (int i = 0; i < N; i++) {
        for (uint32_t d = 0; d < K; d++)
            Q[i * K + d] = m->Q[i * S + d];
        bi[i] = m->bi[i];
        gq[i] = fgq[i];
        gbi[i] = fgbi[i];
    }
    hogmf_rating x[NR];
    for (int j = 0; j < NR; j++) {
        x[j].u = (uint32_t)(hogmf__splitmix64(&seed) % M);
        x[j].i = (uint32_t)(hogmf__splitmix64(&seed) % N);
        x[j].r = (float)(1 + hogmf__splitmix64(&seed) % 9) * 0.5f + 0.5f;
    }
    fn(&c, x, LO, NR, START);
    for (int n = 0; n < NR - LO; n++) {
        const int j = START + n < NR ? START + n : LO + (START + n - NR);
        const int u = (int)x[j].u, i = (int)x[j].i;
        double *p = P + (size_t)u * K, *q = Q + (size_t)i * K;
        double dot = 0;
        for (uint32_t d = 0; d < K; d++)
            dot += p[d] * q[d];
        const double e = x[j].r - (mu + bu[u] + bi[i] + dot);
        const double g_bu = -e + lb * bu[u], g_bi = -e + lb * bi[i];
        double rp = lr, rq = lr, rbu = lr, rbi = lr, sp = 0, sq = 0;
        if (kc->adagrad) {
            rp = lr / sqrt(gp[u]);
            rq = lr / sqrt(gq[i]);
            rbu = lr / sqrt(gbu[u]);
            rbi = lr / sqrt(gbi[i]);
        }
        for (uint32_t d = 0; d < K; d++) {
            const double g1 = -e * q[d] + lp * p[d], g2 = -e * p[d] + lq * q[d];
            sp += g1 * g1;
            sq += g2 * g2;
            double np = soft(p[d] - rp * g1, rp * kc->l1_p);
            double nq = soft(q[d] - rq * g2, rq * kc->l1_q);
            if (kc->nonneg) {
                np = np > 0 ? np : 0;
                nq = nq > 0 ? nq : 0;
            }
            p[d] = np;
            q[d] = nq;
        }
        bu[u] -= rbu * g_bu;
        bi[i] -= rbi * g_bi;
        if (kc->adagrad) {
            gp[u] += sp / K;
            gq[i] += sq / K;
            gbu[u] += g_bu * g_bu;
            gbi[i] += g_bi * g_bi;
        }
    }
    /* Tolerance: float rounding over about ten steps per row; a wrong sign, rate, row or
     * bias term moves values by 1e-3 or more. */
    const double tol = 2e-5;
    double maxdiff = 0;
    for (int u = 0; u < M; u++) {
        for (uint32_t d = 0; d < S; d++) {
            const double want = d < K ? P[u * K + d] : 0.0, diff = fabs(m->P[u * S + d] - want);
            maxdiff = fmax(maxdiff, diff);
            ck_assert_msg(diff <= tol, "%s, k=%u: p[%d][%u] %.7f, want %.7f (diff %.2g)",
                          kc->name, K, u, d, (double)m->P[u * S + d], want, diff);
        }
        ck_assert_msg(fabs(m->bu[u] - bu[u]) <= tol, "%s, k=%u: bu[%d] %.7f, want %.7f",
                      kc->name, K, u, (double)m->bu[u], bu[u]);
        if (kc->adagrad) {
            ck_assert_msg(fabs(fgp[u] - gp[u]) <= 1e-5 * gp[u], "%s, k=%u: G_p[%d] %.7f, want %.7f",
                          kc->name, K, u, (double)fgp[u], gp[u]);
            ck_assert_msg(fabs(fgbu[u] - gbu[u]) <= 1e-5 * gbu[u],
                          "%s, k=%u: G_bu[%d] %.7f, want %.7f", kc->name, K, u, (double)fgbu[u],
                          gbu[u]);
        }
    }
    for (int i = 0; i < N; i++) {
        for (uint32_t d = 0; d < S; d++) {
            const double want = d < K ? Q[i * K + d] : 0.0, diff = fabs(m->Q[i * S + d] - want);
            maxdiff = fmax(maxdiff, diff);
            ck_assert_msg(diff <= tol, "%s, k=%u: q[%d][%u] %.7f, want %.7f (diff %.2g)",
                          kc->name, K, i, d, (double)m->Q[i * S + d], want, diff);
        }
        ck_assert_msg(fabs(m->bi[i] - bi[i]) <= tol, "%s, k=%u: bi[%d] %.7f, want %.7f",
                      kc->name, K, i, (double)m->bi[i], bi[i]);
        if (kc->adagrad) {
            ck_assert_msg(fabs(fgq[i] - gq[i]) <= 1e-5 * gq[i], "%s, k=%u: G_q[%d] %.7f, want %.7f",
                          kc->name, K, i, (double)fgq[i], gq[i]);
            ck_assert_msg(fabs(fgbi[i] - gbi[i]) <= 1e-5 * gbi[i],
                          "%s, k=%u: G_bi[%d] %.7f, want %.7f", kc->name, K, i, (double)fgbi[i],
                          gbi[i]);
        }
    }
    free(P);
    free(Q);
    hogmf_model_free(&m);
}
END_TEST

/* One step of the general loop by hand, k = 3 (rows of 16), mu = 3, r = 4.1, lr = 0.1, no L2:
 *   p = (0.5, -0.1, 0.2), q = (0.2, 0.3, -0.5), bu = bi = 0:
 *   p.q = 0.1 - 0.03 - 0.1 = -0.03, e = 4.1 - 2.97 = 1.13, lr e = 0.113
 *   before the threshold: p' = p + 0.113 q = (0.5226, -0.0661, 0.1435)
 *                         q' = q + 0.113 p = (0.2565, 0.2887, -0.4774)
 *   L1 with l1_p = 0.3, l1_q = 2.7 (thresholds 0.03 and 0.27):
 *     p = (0.4926, -0.0361, 0.1135), q = (0, 0.0187, -0.2074)
 *   nonneg alone: p = (0.5226, 0, 0.1435), q = (0.2565, 0.2887, 0)
 *   both: p = (0.4926, 0, 0.1135), q = (0, 0.0187, 0) */
START_TEST(test_l1_and_nonneg_one_step_by_hand)
{
    static const struct {
        float l1_p, l1_q;
        int nonneg;
        float p[3], q[3];
    } want[] = {
        {0.3f, 2.7f, 0, {0.4926f, -0.0361f, 0.1135f}, {0.0f, 0.0187f, -0.2074f}},
        {0, 0, 1, {0.5226f, 0.0f, 0.1435f}, {0.2565f, 0.2887f, 0.0f}},
        {0.3f, 2.7f, 1, {0.4926f, 0.0f, 0.1135f}, {0.0f, 0.0187f, 0.0f}},
    };
    hogmf_model *m = hogmf_model_new(1, 1, 3);
    ck_assert_ptr_nonnull(m);
    const float p0[3] = {0.5f, -0.1f, 0.2f}, q0[3] = {0.2f, 0.3f, -0.5f};
    memcpy(m->P, p0, sizeof p0);
    memcpy(m->Q, q0, sizeof q0);
    hogmf_sgd_ctx c = {.P = m->P, .Q = m->Q, .bu = m->bu, .bi = m->bi, .stride = m->stride,
                       .k = 3, .mu = 3.0f, .lr = 0.1f, .l1_p = want[_i].l1_p,
                       .l1_q = want[_i].l1_q, .nonneg = want[_i].nonneg};
    const hogmf_rating x = {0, 0, 4.1f};
    hogmf__sgd_select(&c, NULL)(&c, &x, 0, 1, 0);
    for (int d = 0; d < 3; d++) {
        ck_assert_msg(fabsf(m->P[d] - want[_i].p[d]) < 1e-6f, "case %d: p[%d] %.7f, want %.7f",
                      _i, d, (double)m->P[d], (double)want[_i].p[d]);
        ck_assert_msg(fabsf(m->Q[d] - want[_i].q[d]) < 1e-6f, "case %d: q[%d] %.7f, want %.7f",
                      _i, d, (double)m->Q[d], (double)want[_i].q[d]);
    }
    /* The biases take the plain step: 0 + 0.1 * 1.13. */
    ck_assert_msg(fabsf(m->bu[0] - 0.113f) < 1e-6f && fabsf(m->bi[0] - 0.113f) < 1e-6f,
                  "case %d: biases %.7f %.7f, want 0.113", _i, (double)m->bu[0],
                  (double)m->bi[0]);
    hogmf_model_free(&m);
}
END_TEST

Suite *sgd_suite(void)
{
    Suite *s = suite_create("sgd");
    TCase *tc = tcase_create("kernel");
    tcase_add_loop_test(tc, test_gradient_matches_finite_differences, 0, 5);
    tcase_add_test(tc, test_one_step_2x2_by_hand);
    tcase_add_test(tc, test_dot_is_exact_on_small_integers);
    tcase_add_loop_test(tc, test_adagrad_steps_match_the_rule, 0, 3);
    tcase_add_loop_test(tc, test_every_loop_matches_the_step_in_double, 0,
                        KERNEL_CASES * KERNEL_KS);
    tcase_add_loop_test(tc, test_l1_and_nonneg_one_step_by_hand, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
