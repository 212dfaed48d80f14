/*
 * tune.c - hyper-parameter search on a validation set. hogmf_tune: seeded random search over
 * k, lr, the schedule and the three L2 weights, then sampling around the best so far in a
 * shrinking neighbourhood; each trial is an ordinary training run with early stopping, scored
 * by its best validation RMSE. hogmf_auto_search: successive halving over the same space,
 * configurations continued epoch by epoch from rung to rung; hogmf_auto adds the hold-out and
 * the final training. Trials run concurrently (OpenMP over a batch or a rung), each on its own
 * copy of the training ratings. It never prints; the caller hears by callback.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

hogmf_tune_params hogmf_tune_params_default(void)
{
    hogmf_tune_params tp;
    memset(&tp, 0, sizeof tp);
    tp.base = hogmf_params_default();
    tp.base.epochs = 200;
    tp.base.patience = 5;
    tp.trials = 40;
    tp.batch = 8;
    tp.trial_threads = 1;
    /* Ranges around the defaults that MovieLens-like data rewards (README, tune). */
    tp.k_min = 32;
    tp.k_max = 320;
    tp.lr_min = 0.005f;
    tp.lr_max = 0.03f;
    tp.decay_max = 0.1f;
    tp.reg_min = 0.005f;
    tp.reg_max = 0.3f;
    tp.init_min = 0.003f;
    tp.init_max = 0.02f;
    /* AdaGrad divides by the root of the accumulated squared gradients: its good rates are
     * about five times the decay schedule's (0.03-0.1 on the panel; LIBMF's default 0.1). */
    tp.adagrad_lr_min = 0.01f;
    tp.adagrad_lr_max = 0.2f;
    tp.seed = 1;
    return tp;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Rounds to 3 significant digits, so the printed options reproduce the trial exactly. */
static float round3(double x)
{
    if (!(x > 0))
        return 0.0f;
    double e = pow(10.0, floor(log10(x)) - 2);
    return (float)(round(x / e) * e);
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

static double log_uniform(hogmf_rng *g, double lo, double hi)
{
    return exp(log(lo) + (log(hi) - log(lo)) * hogmf__rng_uniform(g));
}

/* Multiplies x by exp(N(0, sigma)) and keeps it in [lo, hi]. */
static double log_jitter(hogmf_rng *g, double x, double sigma, double lo, double hi)
{
    return clampd(x * exp(sigma * hogmf__rng_normal(g)), lo, hi);
}

static hogmf_lr_schedule pick_schedule(hogmf_rng *g, const hogmf_tune_params *tp)
{
    uint32_t allowed[4], na = 0;
    for (uint32_t s = 0; s < 4; s++)
        if (tp->schedules & (1u << s))
            allowed[na++] = s;
    if (na == 0)
        return tp->base.schedule_lr;
    return (hogmf_lr_schedule)allowed[hogmf__rng_below(g, na)];
}

/* A trial's parameters: anywhere in the space (best == NULL) or near *best. A range that
 * is pinned (min == max, or 0 and 0 where documented) keeps the base's value as given;
 * searched values are rounded to 3 significant digits. */
/* The learning-rate range of a schedule. */
static void lr_range(const hogmf_tune_params *tp, hogmf_lr_schedule s, double *lo, double *hi)
{
    const int ada = s == HOGMF_LR_ADAGRAD && tp->adagrad_lr_max > 0;
    *lo = ada ? tp->adagrad_lr_min : tp->lr_min;
    *hi = ada ? tp->adagrad_lr_max : tp->lr_max;
}

static hogmf_params sample(hogmf_rng *g, const hogmf_tune_params *tp, const hogmf_params *best,
                           double sigma)
{
    const hogmf_params *b = &tp->base;
    hogmf_params p = *b;
    const int init = tp->init_max > 0, reg = tp->reg_max > 0, decay = tp->decay_max > 0;
    double lo, hi;
    if (!best) {
        p.k = (uint32_t)lround(log_uniform(g, tp->k_min, tp->k_max + 0.499));
        /* The draws in the order they always had, so a seed gives the searches it gave. */
        double u = hogmf__rng_uniform(g);
        p.schedule_lr = pick_schedule(g, tp);
        lr_range(tp, p.schedule_lr, &lo, &hi);
        p.lr = round3(exp(log(lo) + (log(hi) - log(lo)) * u));
        if (decay)
            p.lr_decay = round3(tp->decay_max * hogmf__rng_uniform(g));
        if (reg) {
            p.lambda_b = round3(log_uniform(g, tp->reg_min, tp->reg_max));
            p.lambda_p = round3(log_uniform(g, tp->reg_min, tp->reg_max));
            p.lambda_q = round3(log_uniform(g, tp->reg_min, tp->reg_max));
        }
        if (init)
            p.init_sd = round3(log_uniform(g, tp->init_min, tp->init_max));
    } else {
        p.k = (uint32_t)lround(log_jitter(g, best->k, sigma, tp->k_min, tp->k_max));
        double z = hogmf__rng_normal(g);
        p.schedule_lr = hogmf__rng_uniform(g) < 0.2 ? pick_schedule(g, tp) : best->schedule_lr;
        lr_range(tp, p.schedule_lr, &lo, &hi);
        /* Another schedule's rate means nothing here: a new one from its range. */
        p.lr = round3(p.schedule_lr == best->schedule_lr
                          ? clampd(best->lr * exp(sigma * z), lo, hi)
                          : log_uniform(g, lo, hi));
        if (decay)
            p.lr_decay = round3(clampd(best->lr_decay + sigma * 0.5 * tp->decay_max *
                                                            hogmf__rng_normal(g),
                                       0, tp->decay_max));
        if (reg) {
            p.lambda_b = round3(log_jitter(g, best->lambda_b, sigma, tp->reg_min, tp->reg_max));
            p.lambda_p = round3(log_jitter(g, best->lambda_p, sigma, tp->reg_min, tp->reg_max));
            p.lambda_q = round3(log_jitter(g, best->lambda_q, sigma, tp->reg_min, tp->reg_max));
        }
        if (init)
            p.init_sd = round3(log_jitter(g, best->init_sd, sigma, tp->init_min, tp->init_max));
    }
    if (tp->k_min == tp->k_max)
        p.k = b->k;
    lr_range(tp, p.schedule_lr, &lo, &hi);
    if (lo == hi)
        p.lr = b->lr;
    if (p.k < 1)
        p.k = 1;
    /* The other schedules do not use lr_decay: the base's value, as the options given
     * record it, so that a printed train line (no --lr-decay but for decay) reproduces the
     * model file bit for bit. */
    if (p.schedule_lr != HOGMF_LR_DECAY)
        p.lr_decay = b->lr_decay;
    p.log = NULL;
    p.on_epoch = NULL;
    p.ctx = NULL;
    return p;
}

/* One configuration of the search and where it stands. */
typedef struct sh_config {
    hogmf_trial t;       /* params; valid_rmse: the lowest mean so far (INFINITY: diverged or
                          * not run); best_epoch; seconds; epochs_run */
    hogmf_trainer **tr;  /* one trainer per split while it is kept, else NULL */
    hogmf_ratings *work; /* their private copies of the training ratings */
    double ref;          /* patience bookkeeping over the mean, as the trainer's own */
    uint32_t since;
    int stopped;         /* patience spent or diverged: it runs no more epochs */
    int skipped;         /* never started: the time ran out during the first rung */
} sh_config;

static void sh_release(sh_config *c, uint32_t splits)
{
    for (uint32_t s = 0; c->tr && s < splits; s++)
        hogmf_trainer_free(&c->tr[s]);
    for (uint32_t s = 0; c->work && s < splits; s++)
        free(c->work[s].data);
    free(c->tr);
    free(c->work);
    c->tr = NULL;
    c->work = NULL;
}

/* Brings configuration c to `target` epochs, from where its trainers are or, when it has
 * none, from scratch (the same epochs again: one thread per trial makes both bit-identical).
 * Adds the epochs run to *ran. Divergence scores INFINITY and is no error; other errors end
 * the search. */
static hogmf_status sh_run(sh_config *c, const hogmf_ratings *const *train,
                           const hogmf_ratings *const *valid, uint32_t splits, int threads,
                           const hogmf_params *base, uint32_t target, uint64_t *ran,
                           hogmf_error *err)
{
    if (c->stopped || c->t.epochs_run >= target)
        return HOGMF_OK;
    double t0 = now_seconds();
    hogmf_status st = HOGMF_OK;
    if (!c->tr) {
        c->tr = calloc(splits, sizeof *c->tr);
        c->work = calloc(splits, sizeof *c->work);
        if (!c->tr || !c->work) {
            st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "auto: out of memory");
            goto done;
        }
        hogmf_params p = c->t.params;
        p.threads = threads;
        p.patience = 0; /* stopped on the mean over the splits, below; no best-epoch copy */
        for (uint32_t s = 0; s < splits && st == HOGMF_OK; s++) {
            /* Shallow copy: own ratings array, shared (read-only) id arrays. */
            c->work[s] = *train[s];
            c->work[s].data = malloc(train[s]->nnz * sizeof *train[s]->data);
            if (!c->work[s].data) {
                st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "auto: out of memory");
                break;
            }
            memcpy(c->work[s].data, train[s]->data, train[s]->nnz * sizeof *train[s]->data);
            st = hogmf_trainer_new(&c->work[s], valid[s], &p, &c->tr[s], err);
        }
        c->t.epochs_run = 0;
        c->t.valid_rmse = c->ref = INFINITY;
        c->t.best_epoch = c->since = 0;
    }
    while (st == HOGMF_OK && c->t.epochs_run < target) {
        double sum = 0;
        for (uint32_t s = 0; s < splits && st == HOGMF_OK; s++) {
            hogmf_epoch_stats es;
            st = hogmf_trainer_epoch(c->tr[s], &es, err);
            sum += es.valid_rmse;
            *ran += 1;
        }
        double mean = sum / splits;
        if (st == HOGMF_ERR_DIVERGED || (st == HOGMF_OK && !isfinite(mean))) {
            c->t.valid_rmse = INFINITY;
            c->t.best_epoch = 0;
            c->stopped = 1;
            st = HOGMF_OK;
            break;
        }
        if (st != HOGMF_OK)
            break;
        c->t.epochs_run++;
        if (mean < c->t.valid_rmse) {
            c->t.valid_rmse = mean;
            c->t.best_epoch = c->t.epochs_run;
        }
        if (hogmf__patience_spent(base, mean, &c->ref, &c->since)) {
            c->stopped = 1;
            break;
        }
    }
done:
    if (c->stopped || st != HOGMF_OK)
        sh_release(c, splits); /* it will not run again */
    c->t.seconds += now_seconds() - t0;
    return st;
}

/* Runs one trial: a trainer per split, stepped together by sh_run so that the epoch is
 * chosen on the mean validation RMSE over the splits, with the base's patience and tol. Each
 * split trains on its private copy in work[] (the worker's, reused from trial to trial),
 * restored from train[] first, so the result does not depend on which worker ran what
 * before. Returns HOGMF_OK (diverged trials included, scored INFINITY) or the error that
 * should stop the search. */
static hogmf_status run_trial(const hogmf_ratings *const *train, hogmf_ratings *work,
                              const hogmf_ratings *const *valid, uint32_t splits, int threads,
                              hogmf_trial *t, hogmf_error *err)
{
    sh_config c = {.t = *t, .ref = INFINITY};
    c.t.valid_rmse = INFINITY;
    c.t.best_epoch = 0;
    c.t.epochs_run = 0;
    c.t.seconds = 0;
    if (!(c.tr = calloc(splits, sizeof *c.tr)))
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "tune: out of memory");
    hogmf_params p = t->params;
    p.threads = threads;
    p.patience = 0; /* the trial stops on the mean over the splits (sh_run) */
    double t0 = now_seconds();
    uint64_t ran = 0;
    hogmf_status st = HOGMF_OK;
    for (uint32_t s = 0; s < splits && st == HOGMF_OK; s++) {
        memcpy(work[s].data, train[s]->data, train[s]->nnz * sizeof *train[s]->data);
        st = hogmf_trainer_new(&work[s], valid[s], &p, &c.tr[s], err);
    }
    if (st == HOGMF_OK)
        st = sh_run(&c, train, valid, splits, threads, &t->params, p.epochs, &ran, err);
    sh_release(&c, splits); /* c.work is NULL: the worker's copies stay */
    t->seconds = now_seconds() - t0;
    t->valid_rmse = c.t.valid_rmse;
    t->best_epoch = c.t.best_epoch;
    return st;
}

/* The checks hogmf_tune and hogmf_auto_search share: the splits, then the ranges. */
static hogmf_status check_splits(const char *who, const hogmf_ratings *const *train,
                                 const hogmf_ratings *const *valid, uint32_t splits,
                                 hogmf_error *err)
{
    if (splits < 1 || splits > 1000)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: splits: expected 1..1000", who);
    for (uint32_t s = 0; s < splits; s++) {
        if (!valid[s] || valid[s]->nnz == 0)
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "%s: split %u: a validation set is required", who, s + 1);
        if (train[s]->nnz == 0)
            return hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "%s: split %u: no training ratings",
                               who, s + 1);
    }
    return HOGMF_OK;
}

static hogmf_status check_space(const char *who, const hogmf_tune_params *tp, hogmf_error *err)
{
    if (tp->k_min < 1 || tp->k_min > tp->k_max ||
        tp->k_max > 65536 || !(tp->lr_min > 0 && tp->lr_min <= tp->lr_max) ||
        !((tp->adagrad_lr_min > 0 && tp->adagrad_lr_min <= tp->adagrad_lr_max) ||
          (tp->adagrad_lr_min == 0 && tp->adagrad_lr_max == 0)) ||
        !((tp->reg_min > 0 && tp->reg_min <= tp->reg_max) ||
          (tp->reg_min == 0 && tp->reg_max == 0)) ||
        !((tp->init_min > 0 && tp->init_min <= tp->init_max) ||
          (tp->init_min == 0 && tp->init_max == 0)) ||
        !(tp->decay_max >= 0) || tp->trial_threads < 1 || tp->schedules > 15)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: a search range is out of order", who);
    return hogmf__check_params(&tp->base, err);
}

hogmf_status hogmf_tune(const hogmf_ratings *const *train, const hogmf_ratings *const *valid,
                        uint32_t splits, const hogmf_tune_params *tp, hogmf_trial *best,
                        hogmf_error *err)
{
    memset(best, 0, sizeof *best);
    best->valid_rmse = INFINITY;
    hogmf_status cst = check_splits("tune", train, valid, splits, err);
    if (cst != HOGMF_OK)
        return cst;
    if (tp->trials == 0 && !(tp->seconds > 0))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "tune: give a budget in trials or seconds");
    if (tp->batch < 1 || tp->batch > 4096)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "tune: batch: expected 1..4096");
    if ((cst = check_space("tune", tp, err)) != HOGMF_OK)
        return cst;
    const int trial_threads = tp->trial_threads;
    int workers = hogmf__threads(tp->threads) / trial_threads;
    if (workers < 1)
        workers = 1;
    if ((uint32_t)workers > tp->batch)
        workers = (int)tp->batch;

    hogmf_status st = HOGMF_OK;
    hogmf_ratings *work = calloc((size_t)workers * splits, sizeof *work);
    hogmf_trial *batch = calloc(tp->batch, sizeof *batch);
    hogmf_error *errs = calloc(tp->batch, sizeof *errs);
    hogmf_status *sts = calloc(tp->batch, sizeof *sts);
    if (!work || !batch || !errs || !sts)
        goto nomem;
    for (size_t w = 0; w < (size_t)workers * splits; w++) {
        /* Shallow copies: own ratings array, shared (read-only) id arrays. */
        const hogmf_ratings *src = train[w % splits];
        work[w] = *src;
        work[w].data = malloc(src->nnz * sizeof *src->data);
        if (!work[w].data)
            goto nomem;
    }

    hogmf_rng g;
    hogmf__rng_seed(&g, tp->seed, 0x54554E45ull /* "TUNE" */);
    const double t0 = now_seconds();
    /* Trial 0 is the base itself (the defaults, or the options given), so the search can only
     * improve on them; then random trials, then mostly trials near the best so far. */
    const uint32_t explore = tp->trials ? (tp->trials + 3) / 4 : tp->batch;
    uint32_t done = 0, local_batches = 0;
    int any = 0;
    while (tp->trials == 0 || done < tp->trials) {
        if (tp->seconds > 0 && done > 0 && now_seconds() - t0 >= tp->seconds)
            break;
        uint32_t nb = tp->batch;
        if (tp->trials && tp->trials - done < nb)
            nb = tp->trials - done;
        /* Generated from finished batches only: the same for any thread count. */
        double sigma = 0.3 * pow(0.85, (double)local_batches);
        if (sigma < 0.05)
            sigma = 0.05;
        int local = done >= explore && any;
        for (uint32_t j = 0; j < nb; j++) {
            /* In the local phase one trial in four still explores the whole space. */
            int near = local && (j % 4) != 3;
            batch[j].index = done + j;
            batch[j].params = sample(&g, tp, near ? &best->params : NULL, sigma);
            if (done + j == 0) {
                batch[j].params = tp->base;
                batch[j].params.log = NULL;
                batch[j].params.on_epoch = NULL;
                batch[j].params.ctx = NULL;
            }
        }
        local_batches += local;
#pragma omp parallel for num_threads(workers) schedule(dynamic, 1) default(none) \
    shared(train, valid, splits, work, batch, errs, sts, nb, trial_threads)
        for (uint32_t j = 0; j < nb; j++) {
            size_t w = 0;
#ifdef _OPENMP
            w = (size_t)omp_get_thread_num();
#endif
            sts[j] = run_trial(train, &work[w * splits], valid, splits, trial_threads,
                               &batch[j], &errs[j]);
        }
        for (uint32_t j = 0; j < nb; j++) {
            if (sts[j] != HOGMF_OK) {
                if (err)
                    *err = errs[j];
                st = sts[j];
                goto done;
            }
            if (batch[j].valid_rmse < best->valid_rmse) {
                *best = batch[j];
                any = 1;
            }
            if (tp->on_trial && tp->on_trial(tp->ctx, &batch[j], best)) {
                done += j + 1;
                goto finish;
            }
        }
        done += nb;
    }
finish:
    if (!any) {
        st = hogmf__fail(err, HOGMF_ERR_DIVERGED, 0,
                         "tune: every one of %u trials diverged; lower the learning-rate range",
                         done);
        goto done;
    }
    best->params.epochs = best->best_epoch;
    goto done;
nomem:
    st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "tune: out of memory");
done:
    if (work)
        for (size_t w = 0; w < (size_t)workers * splits; w++)
            free(work[w].data);
    free(work);
    free(batch);
    free(errs);
    free(sts);
    return st;
}

/* ---------------------------------------------------------------- successive halving */

hogmf_auto_params hogmf_auto_params_default(void)
{
    hogmf_auto_params ap;
    memset(&ap, 0, sizeof ap);
    ap.space = hogmf_tune_params_default();
    ap.space.base = hogmf_params_default(); /* the defaults as they are, epochs included */
    ap.eta = 3;
    ap.min_epochs = 2;
    ap.holdout = 0.1;
    return ap;
}

enum { SH_MAX_CONFIGS = 729, SH_MAX_RUNGS = 64 };

/* What the first `n` configurations cost over the rungs r[0..nr), in epochs of one
 * configuration, an upper bound: the base (configuration 1) runs every rung, the best
 * ceil(others / eta) of the others go on, and each rung either continues them (continued)
 * or retrains them from scratch; setting a configuration up costs `setup` epochs. */
static double sh_cost(uint64_t n, const uint32_t *r, uint32_t nr, uint32_t eta,
                      int continued, double setup)
{
    double cost = continued ? (double)n * setup : 0;
    uint64_t others = n - 1;
    for (uint32_t i = 0; i < nr; i++) {
        uint32_t e = continued && i ? r[i] - r[i - 1] : r[i];
        cost += (double)(others + 1) * (e + (continued ? 0 : setup));
        others = (others + eta - 1) / eta;
    }
    return cost;
}

/* Setting up a trainer (copying and tiling the ratings, drawing every factor of P and Q)
 * in epochs of training: measured with one thread on MovieLens 100K (about 1 epoch) and
 * Ciao (254K ratings, 105K users and items: about 8), so about 1 + 16 (m + n) / nnz. On
 * sparse sets with many items it is what a short trial costs most. */
static double sh_setup_epochs(const hogmf_ratings *const *train, uint32_t splits)
{
    double rows = 0, nnz = 0;
    for (uint32_t s = 0; s < splits; s++) {
        rows += (double)train[s]->m + train[s]->n;
        nnz += (double)train[s]->nnz;
    }
    return 1.0 + 16.0 * rows / nnz;
}

/* Widens a searched range [*lo, *hi] to hold v (a pinned range, lo == hi, stays). */
static void widen_f(float *lo, float *hi, float v)
{
    if (*lo == *hi || !(v > 0))
        return;
    *lo = v < *lo ? v : *lo;
    *hi = v > *hi ? v : *hi;
}

/* Configuration a before b: lower valid_rmse, then lower index. */
static int sh_before(const sh_config *cfg, uint32_t a, uint32_t b)
{
    if (cfg[a].t.valid_rmse != cfg[b].t.valid_rmse)
        return cfg[a].t.valid_rmse < cfg[b].t.valid_rmse;
    return a < b;
}

/* Sorts the indices x[0..len) by score (by_score) or by index; insertion sort, len <= 729. */
static void sh_sort(const sh_config *cfg, uint32_t *x, uint32_t len, int by_score)
{
    for (uint32_t j = 1; j < len; j++) {
        uint32_t v = x[j], i = j;
        for (; i > 0 && (by_score ? sh_before(cfg, v, x[i - 1]) : v < x[i - 1]); i--)
            x[i] = x[i - 1];
        x[i] = v;
    }
}

static uint64_t physical_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : (uint64_t)4 << 30;
}

hogmf_status hogmf_auto_search(const hogmf_ratings *const *train,
                               const hogmf_ratings *const *valid, uint32_t splits,
                               const hogmf_auto_params *ap, hogmf_auto_result *res,
                               hogmf_error *err)
{
    memset(res, 0, sizeof *res);
    res->best.valid_rmse = res->base.valid_rmse = INFINITY;
    hogmf_status st = check_splits("auto", train, valid, splits, err);
    if (st != HOGMF_OK || (st = check_space("auto", &ap->space, err)) != HOGMF_OK)
        return st;
    if (ap->eta < 2 || ap->eta > 100 || ap->min_epochs < 1 || !(ap->seconds >= 0) ||
        !(ap->time_cap >= 0) || ap->configs > SH_MAX_CONFIGS)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "auto: expected eta 2..100, min_epochs >= 1, seconds >= 0 and at "
                           "most %d configurations", SH_MAX_CONFIGS);
    /* The ranges widened to hold the base, so that sampling near it stays near it. */
    hogmf_tune_params tp = ap->space;
    const hogmf_params *base = &tp.base;
    if (!ap->keep_ranges) {
        if (tp.k_min != tp.k_max) {
            tp.k_min = base->k < tp.k_min ? base->k : tp.k_min;
            tp.k_max = base->k > tp.k_max ? base->k : tp.k_max;
        }
        if (base->schedule_lr == HOGMF_LR_ADAGRAD)
            widen_f(&tp.adagrad_lr_min, &tp.adagrad_lr_max, base->lr);
        else
            widen_f(&tp.lr_min, &tp.lr_max, base->lr);
        widen_f(&tp.reg_min, &tp.reg_max, base->lambda_b);
        widen_f(&tp.reg_min, &tp.reg_max, base->lambda_p);
        widen_f(&tp.reg_min, &tp.reg_max, base->lambda_q);
        widen_f(&tp.init_min, &tp.init_max, base->init_sd);
        if (tp.decay_max > 0 && base->lr_decay > tp.decay_max)
            tp.decay_max = base->lr_decay;
    }

    /* The rungs: min_epochs, eta times that, ... up to base.epochs. */
    uint32_t r[SH_MAX_RUNGS], nr = 0;
    const uint32_t rmax = base->epochs;
    r[nr++] = ap->min_epochs < rmax ? ap->min_epochs : rmax;
    while (r[nr - 1] < rmax && nr < SH_MAX_RUNGS) {
        uint64_t next = (uint64_t)r[nr - 1] * ap->eta;
        r[nr] = next < rmax ? (uint32_t)next : rmax;
        nr++;
    }
    r[nr - 1] = rmax;
    const int trial_threads = tp.trial_threads;
    int workers = hogmf__threads(tp.threads) / trial_threads;
    if (workers < 1)
        workers = 1;
    /* seconds plans the search; time_cap only stops it: both end it at the limit. */
    const double t0 = now_seconds(), seconds = ap->seconds;
    const double limit = seconds > 0 ? seconds : ap->time_cap > 0 ? ap->time_cap : 0;

    /* Every configuration the search might try, sampled in a fixed order (the first n of
     * them are the same whatever n the budget gives): the base, then by turns one near it
     * and one anywhere in the ranges. */
    const uint32_t cap = ap->configs ? ap->configs : SH_MAX_CONFIGS;
    sh_config *cfg = calloc(cap, sizeof *cfg);
    uint32_t *idx = calloc(cap, sizeof *idx), *next = calloc(cap, sizeof *next);
    uint64_t *ran = calloc(cap, sizeof *ran);
    hogmf_error *errs = calloc(cap, sizeof *errs);
    hogmf_status *sts = calloc(cap, sizeof *sts);
    if (!cfg || !idx || !next || !ran || !errs || !sts) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "auto: out of memory");
        goto done;
    }
    hogmf_rng g;
    hogmf__rng_seed(&g, tp.seed, 0x4155544Full /* "AUTO" */);
    for (uint32_t j = 0; j < cap; j++) {
        cfg[j].t.index = j;
        cfg[j].t.params = j == 0 ? *base : sample(&g, &tp, j % 2 ? base : NULL, 0.5);
        cfg[j].t.params.epochs = rmax;
        cfg[j].t.params.log = NULL;
        cfg[j].t.params.on_epoch = NULL;
        cfg[j].t.params.ctx = NULL;
        cfg[j].t.valid_rmse = INFINITY;
    }

    /* The budget in epochs: given, from the seconds and the measured time of the base's
     * first epoch, or the default of HOGMF_AUTO_RUNS runs. */
    const double setup = sh_setup_epochs(train, splits);
    double budget = (double)ap->epoch_budget;
    if (!(budget > 0) && !(seconds > 0) && !ap->configs)
        budget = HOGMF_AUTO_RUNS * (rmax + setup);
    if (seconds > 0) {
        uint64_t dummy = 0;
        st = sh_run(&cfg[0], train, valid, splits, trial_threads, base, 1, &dummy, err);
        res->epochs_run += dummy;
        if (st != HOGMF_OK)
            goto done;
        /* 0.8: sampled configurations average more factors than the base; the rungs after
         * the first are planned again from their own measured times. */
        double per_epoch = cfg[0].t.seconds > 1e-6 ? cfg[0].t.seconds / (1 + setup) : 1e-6;
        double by_time = 0.8 * seconds * workers / per_epoch;
        budget = budget > 0 && budget < by_time ? budget : by_time;
    }
    /* As many configurations as the budget affords, kept between rungs when their trainers
     * fit in max_memory together, else retrained at every rung. */
    const uint64_t max_memory = ap->max_memory ? ap->max_memory : physical_memory() / 4;
    uint32_t n = 0;
    int continued = 1;
    for (; continued >= 0; continued--) {
        n = cap;
        if (budget > 0)
            while (n > 0 && sh_cost(n, r, nr, ap->eta, continued, setup) > budget)
                n--;
        if (!continued)
            break;
        uint64_t bytes = 0;
        for (uint32_t j = 0; j < n; j++) {
            hogmf_params p = cfg[j].t.params;
            p.patience = 0;
            for (uint32_t s = 0; s < splits; s++)
                bytes += hogmf_estimate_memory(train[s]->nnz, train[s]->m, train[s]->n,
                                               valid[s]->nnz, &p) - (8u << 20);
        }
        if (bytes <= max_memory)
            break;
        hogmf__log(base, 0, "auto: %u configurations would take %.1f GiB between rungs, more "
                            "than %.1f GiB; each rung retrains them instead",
                   n, (double)bytes / (1u << 30), (double)max_memory / (1u << 30));
    }
    if (continued < 0)
        continued = 0;
    res->continued = continued;
    res->epoch_budget = (uint64_t)budget;
    res->search_nnz = train[0]->nnz;
    res->valid_nnz = valid[0]->nnz;
    if (n < ap->eta + 1) {
        hogmf__log(base, 1, "auto: a budget of %.0f epochs is too small to compare %u "
                            "configurations over rungs of %u..%u epochs; training with the "
                            "options as given",
                   budget, ap->eta + 1, r[0], rmax);
        res->best = cfg[0].t;
        res->best.params = *base;
        res->best.params.log = NULL;
        res->best.params.on_epoch = NULL;
        res->best.params.ctx = NULL;
        res->best.valid_rmse = INFINITY;
        res->best.best_epoch = 0;
        res->base = res->best;
        goto done;
    }
    if (!continued)
        sh_release(&cfg[0], splits); /* its timing epoch is run again in the first rung */
    {
        char plan[256];
        int len = 0;
        for (uint32_t i = 0; i < nr && len < (int)sizeof plan - 16; i++)
            len += snprintf(plan + len, sizeof plan - (size_t)len, "%s%u", i ? ", " : "", r[i]);
        hogmf__log(base, 0, "auto: %u configurations, %d at a time; rungs of %s epochs, "
                            "the best 1/%u of the others going on each time; planned %.0f "
                            "epochs (%.1f per set-up) of a budget of %.0f",
                   n, workers, plan, ap->eta, sh_cost(n, r, nr, ap->eta, continued, setup),
                   setup, budget);
    }

    uint32_t ns = n, rung = 0;
    for (uint32_t j = 0; j < n; j++)
        idx[j] = j;
    for (rung = 0; rung < nr; rung++) {
        uint32_t target = r[rung];
        int last = rung + 1 == nr;
        if (limit > 0 && rung > 0) {
            /* Replanned from each configuration's own time per epoch. */
            double per = 0, now = now_seconds() - t0;
            uint32_t from = 0;
            for (uint32_t j = 0; j < ns; j++) {
                const sh_config *c = &cfg[idx[j]];
                if (!c->stopped && c->t.epochs_run)
                    per += c->t.seconds / c->t.epochs_run;
            }
            from = continued ? r[rung - 1] : 0;
            double left = (limit - now) * workers;
            if (per > 0 && now + per * (target - from) / workers > limit) {
                double afford = left / per;
                uint32_t t = from + (afford > 0 ? (uint32_t)afford : 0);
                if (t <= r[rung - 1]) {
                    hogmf__log(base, 0, "auto: the time is spent after %u rungs", rung);
                    break;
                }
                target = t < target ? t : target;
                last = 1;
                hogmf__log(base, 0, "auto: time for %u epochs in the last rung", target);
            }
        }
        double rt0 = now_seconds();
        const hogmf_ratings *const *tr = train, *const *va = valid;
        const int timed = limit > 0 && rung == 0;
#pragma omp parallel for num_threads(workers) schedule(dynamic, 1) default(none) \
    shared(cfg, idx, ns, ran, sts, errs, tr, va, splits, trial_threads, base, target, timed, \
           limit, t0, continued)
        for (uint32_t j = 0; j < ns; j++) {
            sh_config *c = &cfg[idx[j]];
            ran[j] = 0;
            sts[j] = HOGMF_OK;
            if (timed && idx[j] != 0 && now_seconds() - t0 >= limit) {
                c->skipped = 1;
                continue;
            }
            sts[j] = sh_run(c, tr, va, splits, trial_threads, base, target, &ran[j], &errs[j]);
            if (!continued)
                sh_release(c, splits);
        }
        for (uint32_t j = 0; j < ns; j++) {
            res->epochs_run += ran[j];
            if (sts[j] != HOGMF_OK) {
                if (err)
                    *err = errs[j];
                st = sts[j];
                goto done;
            }
        }
        res->rungs = rung + 1;
        res->last_epochs = target;
        /* The others ranked; the base always goes on as the reference. */
        uint32_t nothers = 0, kept = 0, best = idx[0];
        for (uint32_t j = 0; j < ns; j++) {
            if (sh_before(cfg, idx[j], best))
                best = idx[j];
            if (idx[j] != 0 && !cfg[idx[j]].skipped && isfinite(cfg[idx[j]].t.valid_rmse))
                next[nothers++] = idx[j];
        }
        sh_sort(cfg, next, nothers, 1);
        int stop = 0;
        for (uint32_t j = 0; j < ns; j++) {
            cfg[idx[j]].t.rung = rung;
            if (tp.on_trial && !stop && tp.on_trial(tp.ctx, &cfg[idx[j]].t, &cfg[best].t))
                stop = 1;
        }
        hogmf__log(base, 0, "auto: rung %u: %u configurations to %u epochs in %.2f s: best "
                            "%.5f (configuration %u), the base %.5f",
                   rung + 1, ns, target, now_seconds() - rt0, cfg[best].t.valid_rmse,
                   best + 1, cfg[0].t.valid_rmse);
        if (last || stop)
            break;
        kept = (nothers + ap->eta - 1) / ap->eta;
        for (uint32_t j = kept; j < nothers; j++)
            sh_release(&cfg[next[j]], splits);
        /* The next rung in index order, the base first. */
        sh_sort(cfg, next, kept, 0);
        ns = 0;
        if (isfinite(cfg[0].t.valid_rmse))
            idx[ns++] = 0;
        for (uint32_t j = 0; j < kept; j++)
            idx[ns++] = next[j];
        if (ns == 0)
            break;
    }
    /* The winner: the lowest of the last rung, the base included. */
    {
        uint32_t best = UINT32_MAX;
        for (uint32_t j = 0; j < ns; j++)
            if (isfinite(cfg[idx[j]].t.valid_rmse) &&
                (best == UINT32_MAX || sh_before(cfg, idx[j], best)))
                best = idx[j];
        for (uint32_t j = 0; j < n; j++)
            res->configs += !cfg[j].skipped;
        res->base = cfg[0].t;
        res->base.params.epochs = cfg[0].t.best_epoch;
        if (best == UINT32_MAX) {
            st = hogmf__fail(err, HOGMF_ERR_DIVERGED, 0,
                             "auto: every one of %u configurations diverged; lower the "
                             "learning-rate range", res->configs);
            goto done;
        }
        res->best = cfg[best].t;
        res->best.params.epochs = cfg[best].t.best_epoch;
    }
done:
    if (cfg)
        for (uint32_t j = 0; j < cap; j++)
            sh_release(&cfg[j], splits);
    res->search_seconds = now_seconds() - t0;
    free(cfg);
    free(idx);
    free(next);
    free(ran);
    free(errs);
    free(sts);
    return st;
}

hogmf_params hogmf_auto_final(const hogmf_auto_params *ap, const hogmf_auto_result *res,
                              int with_valid)
{
    /* As many epochs as the winner needed on the hold-out (an epoch visits every rating
     * once, with or without the hold-out), or with a validation set up to base.epochs with
     * the base's early stopping on it. */
    const hogmf_params *base = &ap->space.base;
    hogmf_params p = res->best.params;
    p.threads = base->threads;
    p.patience = base->patience;
    p.tol = base->tol;
    p.log = base->log;
    p.on_epoch = base->on_epoch;
    p.ctx = base->ctx;
    if (with_valid || res->configs == 0 || p.epochs < 1)
        p.epochs = base->epochs;
    return p;
}

hogmf_status hogmf_auto(hogmf_ratings *train, const hogmf_ratings *valid,
                        const hogmf_auto_params *ap, hogmf_model **out,
                        hogmf_auto_result *res, hogmf_error *err)
{
    *out = NULL;
    memset(res, 0, sizeof *res);
    const hogmf_params *base = &ap->space.base;
    const int use_valid = valid && valid->nnz > 0;
    hogmf_ratings fit = {0}, hold = {0};
    const hogmf_ratings *tr = train, *va = valid;
    hogmf_status st = HOGMF_OK;
    if (!use_valid) {
        if (!(ap->holdout > 0 && ap->holdout < 1))
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "auto: holdout: expected (0, 1)");
        st = hogmf_ratings_split(train, ap->holdout, base->seed, &fit, &hold, err);
        if (st != HOGMF_OK)
            return st;
        if (fit.nnz == 0 || hold.nnz == 0) {
            hogmf_ratings_free(&fit);
            hogmf_ratings_free(&hold);
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "auto: %zu ratings are too few to hold %g of them out",
                               train->nnz, ap->holdout);
        }
        tr = &fit;
        va = &hold;
    }
    st = hogmf_auto_search(&tr, &va, 1, ap, res, err);
    hogmf_ratings_free(&fit);
    hogmf_ratings_free(&hold);
    if (st != HOGMF_OK)
        return st;
    hogmf_params p = hogmf_auto_final(ap, res, use_valid);
    res->best.params.epochs = p.epochs;
    double t0 = now_seconds();
    st = hogmf_train(train, use_valid ? valid : NULL, &p, out, err);
    res->train_seconds = now_seconds() - t0;
    return st;
}
