/*
 * tune.c - hyper-parameter search on a validation set: seeded random search over k, lr, the
 * schedule and the three L2 weights, then sampling around the best so far in a shrinking
 * neighbourhood; each trial is an ordinary training run with early stopping, scored by its
 * best validation RMSE. Trials run concurrently (OpenMP over a batch), each on its own copy
 * of the training ratings. It never prints; the caller hears of each trial by callback.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
static hogmf_params sample(hogmf_rng *g, const hogmf_tune_params *tp, const hogmf_params *best,
                           double sigma)
{
    const hogmf_params *b = &tp->base;
    hogmf_params p = *b;
    const int init = tp->init_max > 0, reg = tp->reg_max > 0, decay = tp->decay_max > 0;
    if (!best) {
        p.k = (uint32_t)lround(log_uniform(g, tp->k_min, tp->k_max + 0.499));
        p.lr = round3(log_uniform(g, tp->lr_min, tp->lr_max));
        p.schedule_lr = pick_schedule(g, tp);
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
        p.lr = round3(log_jitter(g, best->lr, sigma, tp->lr_min, tp->lr_max));
        p.schedule_lr = hogmf__rng_uniform(g) < 0.2 ? pick_schedule(g, tp) : best->schedule_lr;
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
    if (tp->lr_min == tp->lr_max)
        p.lr = b->lr;
    if (p.k < 1)
        p.k = 1;
    if (p.schedule_lr != HOGMF_LR_DECAY)
        p.lr_decay = 0;
    p.log = NULL;
    p.on_epoch = NULL;
    p.ctx = NULL;
    return p;
}

/* Runs one trial: a trainer per split, stepped together so that the epoch is chosen on
 * the mean validation RMSE over the splits, with the base's patience and tol. Each split
 * trains on its private copy in work[], restored from train[] first, so the result does not
 * depend on which worker ran what before. Returns HOGMF_OK (diverged trials included, scored
 * INFINITY) or the error that should stop the search. */
static hogmf_status run_trial(const hogmf_ratings *const *train, hogmf_ratings *work,
                              const hogmf_ratings *const *valid, uint32_t splits, int threads,
                              hogmf_trial *t, hogmf_error *err)
{
    hogmf_trainer **tr = calloc(splits, sizeof *tr);
    if (!tr)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "tune: out of memory");
    hogmf_params p = t->params;
    p.threads = threads;
    p.patience = 0; /* the trial stops on the mean over the splits, below */
    double t0 = now_seconds(), best = INFINITY, ref = INFINITY;
    uint32_t best_epoch = 0, since = 0;
    hogmf_status st = HOGMF_OK;
    for (uint32_t s = 0; s < splits && st == HOGMF_OK; s++) {
        memcpy(work[s].data, train[s]->data, train[s]->nnz * sizeof *train[s]->data);
        st = hogmf_trainer_new(&work[s], valid[s], &p, &tr[s], err);
    }
    for (uint32_t e = 1; st == HOGMF_OK && e <= p.epochs; e++) {
        double sum = 0;
        for (uint32_t s = 0; s < splits && st == HOGMF_OK; s++) {
            hogmf_epoch_stats es;
            st = hogmf_trainer_epoch(tr[s], &es, err);
            sum += es.valid_rmse;
        }
        if (st != HOGMF_OK)
            break;
        double mean = sum / splits;
        if (!isfinite(mean)) {
            st = HOGMF_ERR_DIVERGED;
            break;
        }
        if (mean < best) {
            best = mean;
            best_epoch = e;
        }
        if (hogmf__patience_spent(&t->params, mean, &ref, &since))
            break; /* the trainer's own rule, on the mean over the splits */
    }
    for (uint32_t s = 0; s < splits; s++)
        hogmf_trainer_free(&tr[s]);
    free(tr);
    t->seconds = now_seconds() - t0;
    if (st == HOGMF_ERR_DIVERGED) {
        t->valid_rmse = INFINITY;
        t->best_epoch = 0;
        return HOGMF_OK;
    }
    t->valid_rmse = best;
    t->best_epoch = best_epoch;
    return st;
}

hogmf_status hogmf_tune(const hogmf_ratings *const *train, const hogmf_ratings *const *valid,
                        uint32_t splits, const hogmf_tune_params *tp, hogmf_trial *best,
                        hogmf_error *err)
{
    memset(best, 0, sizeof *best);
    best->valid_rmse = INFINITY;
    if (splits < 1 || splits > 1000)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "tune: splits: expected 1..1000");
    for (uint32_t s = 0; s < splits; s++) {
        if (!valid[s] || valid[s]->nnz == 0)
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "tune: split %u: a validation set is required", s + 1);
        if (train[s]->nnz == 0)
            return hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "tune: split %u: no training ratings",
                               s + 1);
    }
    if (tp->trials == 0 && !(tp->seconds > 0))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "tune: give a budget in trials or seconds");
    if (tp->batch < 1 || tp->batch > 4096 || tp->k_min < 1 || tp->k_min > tp->k_max ||
        tp->k_max > 65536 || !(tp->lr_min > 0 && tp->lr_min <= tp->lr_max) ||
        !((tp->reg_min > 0 && tp->reg_min <= tp->reg_max) ||
          (tp->reg_min == 0 && tp->reg_max == 0)) ||
        !((tp->init_min > 0 && tp->init_min <= tp->init_max) ||
          (tp->init_min == 0 && tp->init_max == 0)) ||
        !(tp->decay_max >= 0) || tp->trial_threads < 1 || tp->schedules > 15)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "tune: a search range is out of order");
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
