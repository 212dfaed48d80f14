/*
 * cmd_cv.c - `hogmf cv`: k-fold cross-validation, on seeded folds of one file or on given
 * train/test pairs (MovieLens u1..u5). Each fold trains with the ordinary training options
 * and is evaluated on its test part; per-fold and mean +/- sd RMSE and MAE go to stdout.
 * The test part is never used to pick an epoch: early stopping uses a hold-out of each
 * fold's training part (--holdout), and --auto's search runs inside that training part.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void help(const hogmf_params *p)
{
    printf("usage: hogmf cv [options] --folds F FILE\n"
           "       hogmf cv [options] --split-files TRAIN1 TEST1 [TRAIN2 TEST2 ...]\n"
           "\n"
           "Cross-validation. For each fold, trains on the other folds (or on TRAINj) with the\n"
           "training options below and evaluates the final model on the fold (or on TESTj).\n"
           "Prints one line per fold and the mean +/- sample sd of RMSE and MAE on stdout; the\n"
           "last line is exactly\n"
           "  rmse_mean=<x> rmse_sd=<x> mae_mean=<x> mae_sd=<x> folds=<F>\n"
           "MovieLens 100K's official folds, in bash:\n"
           "  hogmf cv --split-files ml-100k/u{1..5}.{base,test}\n"
           "\n"
           "options:\n"
           "      --folds F          seeded random folds of FILE, sizes within one [5]\n"
           "      --cv-seed N        seed of the fold assignment [1]\n"
           "      --split-files      the arguments are TRAIN TEST pairs, one per fold\n"
           "      --holdout F        hold out a seeded fraction F of each fold's training part\n"
           "                         for early stopping (--patience) [0.05; 0 runs every\n"
           "                         epoch]\n"
           "      --auto [SECONDS]   train each fold as train --auto does: search the options\n"
           "                         on a hold-out of the fold's training part (--holdout F:\n"
           "                         F, else 0.1), so its test part is never seen, then train\n"
           "                         the winner on the whole training part. SECONDS per fold;\n"
           "                         without them 8 default runs' work per fold, at most 600 s.\n"
           "                         The options chosen go to stderr, one line per fold\n"
           "      --format FMT       auto, tsv, dat, csv or libmf [auto]\n"
           "  -q, --quiet            no per-fold lines on stderr\n"
           "  -h, --help             this text\n"
           "\n"
           "training options (as for hogmf train):\n");
    cli_train_help(stdout, p);
    printf("\nexit codes: 0 ok, 1 internal error, 2 bad input or usage, 3 diverged\n");
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int read_set(const char *path, hogmf_format fmt, hogmf_ratings *out)
{
    hogmf_read_options ro = hogmf_read_options_default();
    ro.format = fmt;
    hogmf_error err = {0};
    if (hogmf_ratings_read(path, &ro, out, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    return EXIT_OK;
}

static void on_log(void *ctx, int level, const char *msg)
{
    if (level > 0 && !*(int *)ctx)
        fprintf(stderr, "hogmf: warning: %s\n", msg);
}

/* Trains on *train (validating on a hold-out of it when holdout > 0; with ap, searching on
 * that hold-out first) and evaluates on test. */
static int run_fold(hogmf_ratings *train, const hogmf_ratings *test, const hogmf_params *p,
                    const hogmf_auto_params *ap, int quiet, uint32_t f, double holdout,
                    double *rmse, double *mae, size_t *unknown, uint32_t *epochs)
{
    hogmf_ratings fit = {0}, valid = {0};
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    int rc = EXIT_OK;
    hogmf_ratings *use = train;
    if (ap) {
        hogmf_auto_result res;
        if (hogmf_auto(train, NULL, ap, &model, &res, &err) != HOGMF_OK ||
            hogmf_evaluate(model, test, p->threads, rmse, mae, unknown, &err) != HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
        *epochs = model->best_epoch;
        if (!quiet) {
            char why[512], args[512];
            cli_auto_explain(why, sizeof why, &res);
            cli_train_args(args, sizeof args, &res.best.params);
            fprintf(stderr, "hogmf: fold %u: auto: %s; %u rungs, %.1f s |%s\n", f + 1, why,
                    res.rungs, res.search_seconds, args);
        }
        goto done;
    }
    if (holdout > 0) {
        if (hogmf_ratings_split(train, holdout, p->seed, &fit, &valid, &err) != HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
        use = &fit;
    }
    if (hogmf_train(use, valid.nnz ? &valid : NULL, p, &model, &err) != HOGMF_OK ||
        hogmf_evaluate(model, test, p->threads, rmse, mae, unknown, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    *epochs = model->best_epoch;
done:
    hogmf_model_free(&model);
    hogmf_ratings_free(&fit);
    hogmf_ratings_free(&valid);
    return rc;
}

int cmd_cv(int argc, char **argv)
{
    enum { O_FOLDS = 256, O_CV_SEED, O_SPLIT_FILES, O_HOLDOUT, O_FORMAT, O_AUTO };
    static const struct option opts[] = {
        CLI_TRAIN_LONGOPTS,
        {"folds", required_argument, 0, O_FOLDS},
        {"cv-seed", required_argument, 0, O_CV_SEED},
        {"split-files", no_argument, 0, O_SPLIT_FILES},
        {"holdout", required_argument, 0, O_HOLDOUT},
        {"format", required_argument, 0, O_FORMAT},
        {"auto", optional_argument, 0, O_AUTO},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    hogmf_params p = hogmf_params_default();
    cli_train_opts to;
    cli_train_opts_init(&to, &p);
    uint32_t folds = 5;
    uint64_t cv_seed = 1;
    int split_files = 0, folds_set = 0, quiet = 0, use_auto = 0, c;
    double holdout = -1, auto_seconds = 0; /* holdout -1: not given */
    hogmf_format fmt = HOGMF_FORMAT_AUTO;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":" CLI_TRAIN_SHORTOPTS "qh", opts, NULL)) != -1) {
        int r = cli_train_option("cv", &to, c, optarg);
        if (r < 0)
            return EXIT_INPUT;
        if (r > 0)
            continue;
        switch (c) {
        case O_FOLDS:
            if (cli_parse_u32("cv", "--folds", optarg, 2, 1000, &folds)) return EXIT_INPUT;
            folds_set = 1;
            break;
        case O_CV_SEED:
            if (cli_parse_u64("cv", "--cv-seed", optarg, &cv_seed)) return EXIT_INPUT;
            break;
        case O_SPLIT_FILES: split_files = 1; break;
        case O_HOLDOUT:
            if (cli_parse_double("cv", "--holdout", optarg, 0, 0.99, &holdout)) return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("cv", optarg, &fmt)) return EXIT_INPUT;
            break;
        case O_AUTO:
            use_auto = 1;
            if (cli_auto_seconds("cv", argc, argv, optarg, &auto_seconds))
                return EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': help(&p); return EXIT_OK;
        case ':': return cli_usage_error("cv", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("cv", argv);
        }
    }
    cli_train_opts_finish(&to);
    holdout = cli_holdout(holdout, 0, use_auto, &p);
    int nargs = argc - optind;
    if (split_files) {
        if (folds_set)
            return cli_usage_error("cv", "--folds and --split-files exclude each other");
        if (nargs < 2 || nargs % 2)
            return cli_usage_error("cv", "--split-files: expected TRAIN TEST pairs, found %d "
                                         "file%s", nargs, nargs == 1 ? "" : "s");
        folds = (uint32_t)(nargs / 2);
    } else if (nargs != 1) {
        return cli_usage_error("cv", "expected one FILE, found %d (TRAIN TEST pairs need "
                                     "--split-files)", nargs);
    }
    p.log = on_log;
    p.ctx = &quiet;
    hogmf_auto_params ap;
    cli_auto_params(&ap, &to, &p, holdout, auto_seconds); /* used with --auto only */

    double *rmse = calloc(folds, sizeof *rmse), *mae = calloc(folds, sizeof *mae);
    uint32_t *fold = NULL;
    unsigned char *in_test = NULL;
    hogmf_ratings all = {0};
    int rc = EXIT_OK;
    if (!rmse || !mae) {
        fprintf(stderr, "hogmf: cv: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    if (!split_files) {
        hogmf_error err = {0};
        if ((rc = read_set(argv[optind], fmt, &all)) != EXIT_OK)
            goto done;
        fold = malloc(all.nnz * sizeof *fold);
        in_test = malloc(all.nnz);
        if (!fold || !in_test) {
            fprintf(stderr, "hogmf: cv: out of memory\n");
            rc = EXIT_INTERNAL;
            goto done;
        }
        if (hogmf_cv_folds(all.nnz, folds, cv_seed, fold, &err) != HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
    }
    if (!quiet)
        fprintf(stderr, "hogmf: cv: %u folds, %sk=%u epochs=%u lr=%g schedule=%s "
                        "reg=%g/%g/%g threads=%d\n",
                folds, use_auto ? "--auto searching from " : "", p.k, p.epochs, (double)p.lr,
                cli_schedule_name(p.schedule_lr), (double)p.lambda_b, (double)p.lambda_p,
                (double)p.lambda_q, p.threads);
    double t_all = seconds();
    for (uint32_t f = 0; f < folds; f++) {
        hogmf_ratings train = {0}, test = {0};
        hogmf_error err = {0};
        const char *name = split_files ? argv[optind + 2 * f + 1] : argv[optind];
        if (split_files) {
            if ((rc = read_set(argv[optind + 2 * f], fmt, &train)) != EXIT_OK ||
                (rc = read_set(name, fmt, &test)) != EXIT_OK) {
                hogmf_ratings_free(&train);
                goto done;
            }
        } else {
            for (size_t j = 0; j < all.nnz; j++)
                in_test[j] = fold[j] == f;
            if (hogmf_ratings_partition(&all, in_test, &train, &test, &err) != HOGMF_OK) {
                rc = cli_report(&err, 0);
                goto done;
            }
        }
        double t0 = seconds();
        size_t unknown = 0;
        uint32_t epochs = 0;
        rc = run_fold(&train, &test, &p, use_auto ? &ap : NULL, quiet, f, holdout, &rmse[f],
                      &mae[f], &unknown, &epochs);
        size_t ntrain = train.nnz, ntest = test.nnz;
        hogmf_ratings_free(&train);
        hogmf_ratings_free(&test);
        if (rc != EXIT_OK) {
            fprintf(stderr, "hogmf: cv: fold %u (%s) failed\n", f + 1, name);
            goto done;
        }
        printf("fold %u/%u  train %zu  test %zu  rmse %.6f  mae %.6f  epochs %u  %.2f s\n",
               f + 1, folds, ntrain, ntest, rmse[f], mae[f], epochs, seconds() - t0);
        if (unknown && !quiet)
            fprintf(stderr, "hogmf: fold %u: %zu test ratings have a user or item not in its "
                            "training part (predicted from the biases)\n",
                    f + 1, unknown);
        fflush(stdout);
    }
    double rm, rs, am, as;
    hogmf_mean_sd(rmse, folds, &rm, &rs);
    hogmf_mean_sd(mae, folds, &am, &as);
    printf("mean  rmse %.6f +/- %.6f  mae %.6f +/- %.6f  (%u folds, %.1f s)\n", rm, rs, am, as,
           folds, seconds() - t_all);
    printf("rmse_mean=%.6f rmse_sd=%.6f mae_mean=%.6f mae_sd=%.6f folds=%u\n", rm, rs, am, as,
           folds);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "hogmf: cv: writing to stdout failed\n");
        rc = EXIT_INTERNAL;
    }
done:
    free(rmse);
    free(mae);
    free(fold);
    free(in_test);
    hogmf_ratings_free(&all);
    return rc;
}
