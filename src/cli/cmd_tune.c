/*
 * cmd_tune.c - `hogmf tune`: hyper-parameter search (hogmf_tune) on a seeded hold-out of a
 * ratings file or on a given validation file, one line per trial on stderr, and the best
 * options printed as a `hogmf train` command line to paste. The search itself is tune.c.
 */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void help(const hogmf_tune_params *tp)
{
    printf("usage: hogmf tune [options] FILE\n"
           "\n"
           "Searches the number of factors, the learning rate (and its decay), the three L2\n"
           "weights, the initial factors' spread and, with --schedules, the learning-rate\n"
           "schedule for the lowest validation RMSE: trial 1 is the given options, a quarter\n"
           "of the trials sample the whole ranges at random (log-uniform), the rest mostly\n"
           "sample around the best so far. Each trial trains on FILE less a seeded hold-out\n"
           "(or on FILE, validating on --validate; or, with --folds F, on each of F seeded\n"
           "folds, scored by the mean) with early stopping, and counts its best epoch.\n"
           "Trials run side by side on all cores, one thread each (faster than one trial at\n"
           "a time on all cores for small sets; see the README).\n"
           "One line per trial goes to stderr; stdout gets a summary and, last, the best\n"
           "options as a command line:\n"
           "  hogmf train -k K -e EPOCHS --lr X ... -o tuned.hogmf FILE\n"
           "The same seed and --trials give the same result on any number of cores.\n"
           "\n"
           "options:\n"
           "      --trials N         trials to run [%u]\n"
           "      --seconds S        or stop starting trials after S seconds (with --trials:\n"
           "                         whichever comes first) [no limit]\n"
           "      --holdout F        validation fraction of FILE [0.1]\n"
           "      --folds F          score each trial by F-fold cross-validation of FILE\n"
           "                         instead (F times the work, much less noise)\n"
           "      --validate FILE    validation ratings instead of a hold-out\n"
           "      --tune-seed N      seed of the search [%llu]\n"
           "      --trial-threads N  threads per trial; trials at once = threads / N [%d]\n"
           "      --k-range A:B      factors [%u:%u]\n"
           "      --lr-range A:B     learning rate [%g:%g; adagrad %g:%g]\n"
           "      --reg-range A:B    each L2 weight (biases, P, Q) [%g:%g]\n"
           "      --init-sd-range A:B  standard deviation of the initial factors [%g:%g]\n"
           "      --decay-max X      lr-decay in [0, X] for the decay schedule [%g]\n"
           "      --schedules LIST   comma-separated schedules to try, e.g. decay,adagrad\n"
           "                         [the --schedule-lr one]\n"
           "      --format FMT       auto, tsv, dat, csv or libmf [auto]\n"
           "      --auto [SECONDS]   successive halving instead of the random search, as\n"
           "                         train --auto runs it (over the ranges here, with the\n"
           "                         splits here): many configurations a few epochs each,\n"
           "                         the best third going on to three times the epochs,\n"
           "                         trial 1 running every rung as the reference. Budget:\n"
           "                         SECONDS, or --trials N configurations, or 8 runs of\n"
           "                         --epochs epochs and at most 600 s. A line per\n"
           "                         configuration and rung on stderr\n"
           "  -q, --quiet            no per-trial lines\n"
           "  -h, --help             this text\n"
           "\n"
           "training options: trial 1 uses them as they are (the defaults below unless\n"
           "given); -k, --lr, --lr-decay, --reg*, --init-sd given are not searched; --epochs is\n"
           "the most a trial may run, -t the threads in all:\n",
           tp->trials, (unsigned long long)tp->seed, tp->trial_threads, tp->k_min, tp->k_max,
           (double)tp->lr_min, (double)tp->lr_max, (double)tp->adagrad_lr_min,
           (double)tp->adagrad_lr_max, (double)tp->reg_min, (double)tp->reg_max,
           (double)tp->init_min, (double)tp->init_max, (double)tp->decay_max);
    cli_train_help(stdout, &tp->base);
    printf("\nexit codes: 0 ok, 1 internal error, 2 bad input or usage, 3 every trial "
           "diverged\n");
}

/* "A:B" with lo <= hi within [min, max]. */
static int parse_range(const char *opt, const char *s, double min, double max, double *lo,
                       double *hi)
{
    const char *colon = strchr(s, ':');
    char a[64];
    if (!colon || (size_t)(colon - s) >= sizeof a) {
        cli_usage_error("tune", "%s: expected A:B, found '%s'", opt, s);
        return -1;
    }
    memcpy(a, s, (size_t)(colon - s));
    a[colon - s] = '\0';
    if (cli_parse_double("tune", opt, a, min, max, lo) ||
        cli_parse_double("tune", opt, colon + 1, min, max, hi))
        return -1;
    if (*lo > *hi) {
        cli_usage_error("tune", "%s: expected A <= B, found '%s'", opt, s);
        return -1;
    }
    return 0;
}

static int parse_schedules(const char *s, uint32_t *mask)
{
    static const char *const names[] = {"constant", "decay", "bold", "adagrad"};
    *mask = 0;
    const char *p = s;
    for (;;) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (uint32_t j = 0; j < 4; j++)
            if (len == strlen(names[j]) && !strncmp(p, names[j], len)) {
                *mask |= 1u << j;
                found = 1;
            }
        if (!found) {
            cli_usage_error("tune", "--schedules: expected a comma-separated list of "
                                    "constant, decay, bold, adagrad, found '%s'", s);
            return -1;
        }
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

typedef struct tune_ctx {
    int quiet;
    uint32_t trials;
    int use_auto; /* --auto: successive halving; a line per configuration and rung */
} tune_ctx;

static int on_trial(void *vctx, const hogmf_trial *t, const hogmf_trial *best)
{
    tune_ctx *ctx = vctx;
    if (ctx->quiet)
        return 0;
    char args[512];
    cli_train_args(args, sizeof args, &t->params);
    char total[16] = "";
    if (ctx->trials)
        snprintf(total, sizeof total, "/%u", ctx->trials);
    if (ctx->use_auto) {
        fprintf(stderr, "rung %u  configuration %3u  valid_rmse %.5f  epoch %3u of %3u  %6.2f s "
                        " best %.5f %s |%s\n",
                t->rung + 1, t->index + 1, t->valid_rmse, t->best_epoch, t->epochs_run,
                t->seconds, best->valid_rmse, t->index == best->index ? "*" : " ", args);
        return 0;
    }
    if (isfinite(t->valid_rmse))
        fprintf(stderr, "trial %3u%s  valid_rmse %.5f  epoch %3u  %5.2f s  best %.5f %s |%s\n",
                t->index + 1, total, t->valid_rmse, t->best_epoch, t->seconds,
                best->valid_rmse, t == best || t->index == best->index ? "*" : " ", args);
    else
        fprintf(stderr, "trial %3u%s  diverged              %5.2f s  best %.5f   |%s\n",
                t->index + 1, total, t->seconds, best->valid_rmse, args);
    return 0;
}

/* --auto's rung summaries (info) unless quiet; warnings always. */
static void on_log_auto(void *vctx, int level, const char *msg)
{
    const tune_ctx *ctx = vctx;
    if (level > 0 || !ctx->quiet)
        fprintf(stderr, "hogmf: %s%s\n", level ? "warning: " : "", msg);
}

static void on_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level > 0)
        fprintf(stderr, "hogmf: warning: %s\n", msg);
}

int cmd_tune(int argc, char **argv)
{
    enum {
        O_TRIALS = 256, O_SECONDS, O_HOLDOUT, O_FOLDS, O_VALIDATE, O_TUNE_SEED, O_TRIAL_THREADS,
        O_K_RANGE, O_LR_RANGE, O_REG_RANGE, O_INIT_RANGE, O_DECAY_MAX, O_SCHEDULES, O_FORMAT,
        O_AUTO
    };
    static const struct option opts[] = {
        CLI_TRAIN_LONGOPTS,
        {"trials", required_argument, 0, O_TRIALS},
        {"seconds", required_argument, 0, O_SECONDS},
        {"holdout", required_argument, 0, O_HOLDOUT},
        {"folds", required_argument, 0, O_FOLDS},
        {"validate", required_argument, 0, O_VALIDATE},
        {"tune-seed", required_argument, 0, O_TUNE_SEED},
        {"trial-threads", required_argument, 0, O_TRIAL_THREADS},
        {"k-range", required_argument, 0, O_K_RANGE},
        {"lr-range", required_argument, 0, O_LR_RANGE},
        {"reg-range", required_argument, 0, O_REG_RANGE},
        {"init-sd-range", required_argument, 0, O_INIT_RANGE},
        {"decay-max", required_argument, 0, O_DECAY_MAX},
        {"schedules", required_argument, 0, O_SCHEDULES},
        {"format", required_argument, 0, O_FORMAT},
        {"auto", optional_argument, 0, O_AUTO},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    hogmf_tune_params tp = hogmf_tune_params_default();
    cli_train_opts to;
    cli_train_opts_init(&to, &tp.base);
    const char *valid_path = NULL;
    double holdout = 0.1, lo, hi, x;
    uint32_t u32, folds = 1;
    int trials_set = 0, holdout_set = 0, c;
    double auto_seconds = 0;
    tune_ctx ctx = {0};
    hogmf_format fmt = HOGMF_FORMAT_AUTO;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":" CLI_TRAIN_SHORTOPTS "qh", opts, NULL)) != -1) {
        int r = cli_train_option("tune", &to, c, optarg);
        if (r < 0)
            return EXIT_INPUT;
        if (r > 0)
            continue;
        switch (c) {
        case O_TRIALS:
            if (cli_parse_u32("tune", "--trials", optarg, 1, 1000000, &tp.trials))
                return EXIT_INPUT;
            trials_set = 1;
            break;
        case O_SECONDS:
            if (cli_parse_double("tune", "--seconds", optarg, 0.001, 1e9, &tp.seconds))
                return EXIT_INPUT;
            break;
        case O_HOLDOUT:
            if (cli_parse_double("tune", "--holdout", optarg, 0.001, 0.99, &holdout))
                return EXIT_INPUT;
            holdout_set = 1;
            break;
        case O_FOLDS:
            if (cli_parse_u32("tune", "--folds", optarg, 2, 100, &folds)) return EXIT_INPUT;
            break;
        case O_VALIDATE: valid_path = optarg; break;
        case O_TUNE_SEED:
            if (cli_parse_u64("tune", "--tune-seed", optarg, &tp.seed)) return EXIT_INPUT;
            break;
        case O_TRIAL_THREADS:
            if (cli_parse_u32("tune", "--trial-threads", optarg, 1, 1024, &u32))
                return EXIT_INPUT;
            tp.trial_threads = (int)u32;
            break;
        case O_K_RANGE:
            if (parse_range("--k-range", optarg, 1, 65536, &lo, &hi)) return EXIT_INPUT;
            tp.k_min = (uint32_t)lo;
            tp.k_max = (uint32_t)hi;
            if (tp.k_min < 1 || tp.k_min > tp.k_max)
                return cli_usage_error("tune", "--k-range: expected whole numbers A <= B, "
                                               "found '%s'", optarg);
            break;
        case O_LR_RANGE:
            if (parse_range("--lr-range", optarg, 1e-9, 10, &lo, &hi)) return EXIT_INPUT;
            tp.lr_min = tp.adagrad_lr_min = (float)lo;
            tp.lr_max = tp.adagrad_lr_max = (float)hi;
            break;
        case O_REG_RANGE:
            if (parse_range("--reg-range", optarg, 1e-9, 1e3, &lo, &hi)) return EXIT_INPUT;
            tp.reg_min = (float)lo;
            tp.reg_max = (float)hi;
            break;
        case O_INIT_RANGE:
            if (parse_range("--init-sd-range", optarg, 1e-9, 1e3, &lo, &hi)) return EXIT_INPUT;
            tp.init_min = (float)lo;
            tp.init_max = (float)hi;
            break;
        case O_DECAY_MAX:
            if (cli_parse_double("tune", "--decay-max", optarg, 0, 100, &x)) return EXIT_INPUT;
            tp.decay_max = (float)x;
            break;
        case O_SCHEDULES:
            if (parse_schedules(optarg, &tp.schedules)) return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("tune", optarg, &fmt)) return EXIT_INPUT;
            break;
        case O_AUTO:
            ctx.use_auto = 1;
            if (cli_auto_seconds("tune", argc, argv, optarg, &auto_seconds))
                return EXIT_INPUT;
            break;
        case 'q': ctx.quiet = 1; break;
        case 'h': help(&tp); return EXIT_OK;
        case ':': return cli_usage_error("tune", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("tune", argv);
        }
    }
    cli_train_opts_finish(&to);
    if (optind + 1 != argc)
        return cli_usage_error("tune", "expected one FILE, found %d", argc - optind);
    cli_train_pin(&to, &tp); /* a training option given is fixed, not searched */
    if ((valid_path != NULL) + holdout_set + (folds > 1) > 1)
        return cli_usage_error("tune", "--validate, --holdout and --folds exclude each other");
    if (ctx.use_auto && tp.seconds > 0)
        return cli_usage_error("tune", "--auto takes its seconds itself: --auto SECONDS");
    if (tp.seconds > 0 && !trials_set)
        tp.trials = 0; /* only the time budget */
    tp.threads = tp.base.threads;
    tp.base.threads = 0;
    tp.base.log = on_log;
    tp.on_trial = on_trial;
    tp.ctx = &ctx;
    ctx.trials = tp.trials;
    const char *path = argv[optind];

    hogmf_read_options ro = hogmf_read_options_default();
    ro.format = fmt;
    hogmf_ratings all = {0};
    hogmf_ratings *train = calloc(folds, sizeof *train), *valid = calloc(folds, sizeof *valid);
    const hogmf_ratings **trainp = calloc(folds, sizeof *trainp);
    const hogmf_ratings **validp = calloc(folds, sizeof *validp);
    uint32_t *fold = NULL;
    unsigned char *in_test = NULL;
    hogmf_error err = {0};
    hogmf_trial best;
    int rc = EXIT_OK;
    if (!train || !valid || !trainp || !validp) {
        fprintf(stderr, "hogmf: tune: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    if (hogmf_ratings_read(path, &ro, &all, &err) != HOGMF_OK ||
        (valid_path && hogmf_ratings_read(valid_path, &ro, &valid[0], &err) != HOGMF_OK)) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (valid_path) {
        train[0] = all;
        memset(&all, 0, sizeof all);
    } else if (folds == 1) {
        if (hogmf_ratings_split(&all, holdout, tp.base.seed, &train[0], &valid[0], &err) !=
            HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
    } else {
        fold = malloc(all.nnz * sizeof *fold);
        in_test = malloc(all.nnz);
        if (!fold || !in_test) {
            fprintf(stderr, "hogmf: tune: out of memory\n");
            rc = EXIT_INTERNAL;
            goto done;
        }
        if (hogmf_cv_folds(all.nnz, folds, tp.base.seed, fold, &err) != HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
        for (uint32_t f = 0; f < folds; f++) {
            for (size_t j = 0; j < all.nnz; j++)
                in_test[j] = fold[j] == f;
            if (hogmf_ratings_partition(&all, in_test, &train[f], &valid[f], &err) !=
                HOGMF_OK) {
                rc = cli_report(&err, 0);
                goto done;
            }
        }
    }
    for (uint32_t f = 0; f < folds; f++) {
        trainp[f] = &train[f];
        validp[f] = &valid[f];
    }
    if (ctx.use_auto) {
        hogmf_auto_params ap = hogmf_auto_params_default();
        ap.space = tp;
        ap.keep_ranges = 1; /* tune's ranges are the user's to set */
        ap.seconds = auto_seconds;
        ap.configs = trials_set ? tp.trials : 0;
        ap.time_cap = auto_seconds > 0 || trials_set ? 0 : 600;
        ap.space.base.log = on_log_auto;
        ap.space.base.ctx = &ctx;
        ctx.trials = 0;
        if (!ctx.quiet)
            fprintf(stderr, "hogmf: tune: successive halving on %zu training and %zu "
                            "validation ratings%s\n",
                    train[0].nnz, valid[0].nnz, folds > 1 ? " per fold" : "");
        hogmf_auto_result res;
        if (hogmf_auto_search(trainp, validp, folds, &ap, &res, &err) != HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
        char why[512];
        cli_auto_explain(why, sizeof why, &res);
        printf("# %s; %u rungs, %llu epochs, %.1f s; %zu training ratings, %zu validation%s\n",
               why, res.rungs, (unsigned long long)res.epochs_run, res.search_seconds,
               train[0].nnz, valid[0].nnz, folds > 1 ? " per fold" : "");
        best = res.best;
        goto print;
    }
    if (!ctx.quiet) {
        char budget[96];
        if (tp.trials && tp.seconds > 0)
            snprintf(budget, sizeof budget, "%u trials or %g s, whichever ends first",
                     tp.trials, tp.seconds);
        else if (tp.trials)
            snprintf(budget, sizeof budget, "%u trials", tp.trials);
        else
            snprintf(budget, sizeof budget, "%g s", tp.seconds);
        fprintf(stderr, "hogmf: tune: %zu training and %zu validation ratings%s; budget %s\n",
                train[0].nnz, valid[0].nnz, folds > 1 ? " per fold" : "", budget);
    }
    if (hogmf_tune(trainp, validp, folds, &tp, &best, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    printf("# best %svalidation RMSE %.6f at epoch %u (trial %u); %zu training ratings, %zu "
           "validation%s\n",
           folds > 1 ? "mean " : "", best.valid_rmse, best.best_epoch, best.index + 1,
           train[0].nnz, valid[0].nnz, folds > 1 ? " per fold" : "");
print:;
    char args[512];
    cli_train_args(args, sizeof args, &best.params);
    char word[4200] = "";
    cli_shell_append(word, sizeof word, path);
    printf("hogmf train%s -o tuned.hogmf%s\n", args, word);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "hogmf: tune: writing to stdout failed\n");
        rc = EXIT_INTERNAL;
    }
done:
    hogmf_ratings_free(&all);
    for (uint32_t f = 0; train && valid && f < folds; f++) {
        hogmf_ratings_free(&train[f]);
        hogmf_ratings_free(&valid[f]);
    }
    free(train);
    free(valid);
    free(trainp);
    free(validp);
    free(fold);
    free(in_test);
    return rc;
}
