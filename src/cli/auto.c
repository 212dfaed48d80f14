/*
 * auto.c - what `train --auto` and `cv --auto` share: the optional SECONDS after --auto, the
 * search on a hold-out (hogmf_auto_search) and the report of what it chose and why, as a
 * train command line that reproduces the model. The search and its decisions are the
 * library's (tune.c); this file only splits, prints and formats.
 */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_auto_seconds(const char *cmd, int argc, char **argv, const char *arg, double *seconds)
{
    *seconds = 0;
    if (arg)
        return cli_parse_double(cmd, "--auto", arg, 0.001, 1e9, seconds);
    /* "--auto 5": getopt leaves an optional value in the next word; take it when it is a
     * number (a file named like a number needs a path: ./5). */
    if (optind < argc) {
        char *end;
        double x = strtod(argv[optind], &end);
        if (end != argv[optind] && *end == '\0' && argv[optind][0] != '-') {
            if (cli_parse_double(cmd, "--auto", argv[optind], 0.001, 1e9, seconds))
                return -1;
            (void)x;
            optind++;
        }
    }
    return 0;
}

void cli_auto_command(char *buf, size_t cap, const hogmf_params *p, const char *valid_path,
                      const char *model_path, const char *train_path)
{
    const hogmf_params d = hogmf_params_default();
    static const char *const order[] = {"shuffle", "blocks"};
    static const char *const schedule[] = {"hogwild", "blocks"};
    static const char *const pin[] = {"none", "compact", "spread"};
    size_t len = (size_t)snprintf(buf, cap, "hogmf train");
    if (len < cap)
        cli_train_args(buf + len, cap - len, p);
    len = strlen(buf);
    /* What the model file records besides cli_train_args' options, when not the default. */
    if (p->order != d.order && (unsigned)p->order < 2 && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --order %s", order[p->order]);
    if (p->schedule != d.schedule && (unsigned)p->schedule < 2 && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --schedule %s", schedule[p->schedule]);
    if (p->pin != d.pin && (unsigned)p->pin < 3 && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --pin %s", pin[p->pin]);
    if (p->tol != d.tol && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --tol %.17g", p->tol);
    if (p->patience != d.patience && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --patience %u", p->patience);
    /* Recorded in the model file though only the decay schedule uses it. */
    if (p->schedule_lr != HOGMF_LR_DECAY && p->lr_decay != d.lr_decay && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " --lr-decay %.4g", (double)p->lr_decay);
    if (valid_path && len < cap) {
        len += (size_t)snprintf(buf + len, cap - len, " --validate");
        cli_shell_append(buf, cap, valid_path);
    } else if (len < cap) {
        /* The winner trains on all the ratings: not the default hold-out of train. */
        len += (size_t)snprintf(buf + len, cap - len, " --holdout 0");
    }
    len = strlen(buf);
    if (len < cap)
        snprintf(buf + len, cap - len, " -o");
    cli_shell_append(buf, cap, model_path);
    cli_shell_append(buf, cap, train_path);
}

void cli_auto_explain(char *buf, size_t cap, const hogmf_auto_result *r)
{
    if (r->configs == 0) {
        snprintf(buf, cap, "no search (the budget was too small): the options as given");
        return;
    }
    double gain = 100.0 * (r->base.valid_rmse - r->best.valid_rmse) / r->base.valid_rmse;
    if (r->best.index == 0)
        snprintf(buf, cap,
                 "kept the defaults (with the options given): none of %u configurations beat "
                 "their validation RMSE %.5f (epoch %u) after %u rungs",
                 r->configs, r->base.valid_rmse, r->base.best_epoch, r->rungs);
    else if (isfinite(r->base.valid_rmse))
        snprintf(buf, cap,
                 "chose configuration %u of %u: validation RMSE %.5f at epoch %u against "
                 "%.5f at epoch %u for the defaults (with the options given), %.2f%% lower, "
                 "both run %u epochs at most",
                 r->best.index + 1, r->configs, r->best.valid_rmse, r->best.best_epoch,
                 r->base.valid_rmse, r->base.best_epoch, gain, r->last_epochs);
    else
        snprintf(buf, cap,
                 "chose configuration %u of %u: validation RMSE %.5f at epoch %u; the "
                 "defaults (with the options given) diverged",
                 r->best.index + 1, r->configs, r->best.valid_rmse, r->best.best_epoch);
}

double cli_holdout(double given, int has_valid, int use_auto, const hogmf_params *p)
{
    if (given >= 0)
        return given;
    return !has_valid && !use_auto && p->patience > 0 ? HOGMF_DEFAULT_HOLDOUT : 0;
}

void cli_auto_params(hogmf_auto_params *ap, const cli_train_opts *o, const hogmf_params *p,
                     double holdout, double seconds)
{
    *ap = hogmf_auto_params_default();
    ap->space.base = *p;
    cli_train_pin(o, &ap->space);
    if (holdout > 0)
        ap->holdout = holdout;
    ap->seconds = seconds;
    ap->time_cap = seconds > 0 ? 0 : 600;
    ap->space.threads = p->threads;
    ap->space.seed = p->seed;
}

int cli_auto_search(cli_out *o, const hogmf_auto_params *ap, const hogmf_ratings *train,
                    const hogmf_ratings *valid, hogmf_params *p, const char *valid_path,
                    const char *model_path, const char *train_path)
{
    hogmf_ratings fit = {0}, hold = {0};
    const hogmf_ratings *tr = train, *va = valid;
    hogmf_error err = {0};
    hogmf_auto_result res;
    if (!valid) {
        if (hogmf_ratings_split(train, ap->holdout, ap->space.base.seed, &fit, &hold, &err) !=
            HOGMF_OK)
            return cli_report(&err, 0);
        if (fit.nnz == 0 || hold.nnz == 0) {
            hogmf_ratings_free(&fit);
            hogmf_ratings_free(&hold);
            fprintf(stderr, "hogmf: auto: %zu ratings are too few to hold %g of them out\n",
                    train->nnz, ap->holdout);
            return EXIT_INPUT;
        }
        tr = &fit;
        va = &hold;
    }
    char budget[128];
    if (ap->seconds > 0)
        snprintf(budget, sizeof budget, "%g s", ap->seconds);
    else if (ap->epoch_budget)
        snprintf(budget, sizeof budget, "%llu epochs", (unsigned long long)ap->epoch_budget);
    else
        snprintf(budget, sizeof budget, "%d runs of the defaults' length", HOGMF_AUTO_RUNS);
    if (!(ap->seconds > 0) && ap->time_cap > 0)
        snprintf(budget + strlen(budget), sizeof budget - strlen(budget), ", at most %g s",
                 ap->time_cap);
    if (valid)
        cli_note(o, "auto: searching on %zu ratings, validating on %zu of %s; budget %s",
                 tr->nnz, va->nnz, valid_path ? valid_path : "the validation set", budget);
    else
        cli_note(o, "auto: searching on %zu ratings, validating on %zu held out (%g, seed "
                    "%llu); budget %s",
                 tr->nnz, va->nnz, ap->holdout, (unsigned long long)ap->space.base.seed,
                 budget);
    hogmf_status st = hogmf_auto_search(&tr, &va, 1, ap, &res, &err);
    hogmf_ratings_free(&fit);
    hogmf_ratings_free(&hold);
    if (st != HOGMF_OK)
        return cli_report(&err, 0);
    *p = hogmf_auto_final(ap, &res, valid != NULL);
    p->log = NULL;
    p->on_epoch = NULL;
    p->ctx = NULL;
    char why[512], cmd[8192];
    cli_auto_explain(why, sizeof why, &res);
    cli_auto_command(cmd, sizeof cmd, p, valid_path, model_path, train_path);
    cli_note(o, "auto: %s; %u rungs, %llu epochs in %.1f s", why, res.rungs,
             (unsigned long long)res.epochs_run, res.search_seconds);
    if (o->json) {
        cli_json_begin(o, "auto");
        cli_json_str("command", cmd);
        cli_json_uint("configs", res.configs);
        cli_json_uint("chosen", res.best.index + 1);
        cli_json_uint("rungs", res.rungs);
        cli_json_uint("epochs_run", res.epochs_run);
        cli_json_uint("epoch_budget", res.epoch_budget);
        cli_json_num("valid_rmse", res.best.valid_rmse);
        cli_json_uint("best_epoch", res.best.best_epoch);
        cli_json_num("defaults_valid_rmse", res.base.valid_rmse);
        cli_json_uint("defaults_best_epoch", res.base.best_epoch);
        cli_json_uint("search_ratings", res.search_nnz);
        cli_json_uint("valid_ratings", res.valid_nnz);
        cli_json_num("search_seconds", res.search_seconds);
        cli_json_end();
    } else {
        printf("%s\n", cmd);
        fflush(stdout);
    }
    return EXIT_OK;
}
