/*
 * cmd_impute.c - `hogmf impute MATRIX -o OUT`: completes a dense matrix with missing cells.
 * Reads it (hogmf_dense_read), trains biased MF on the known cells only, and writes the
 * matrix back in the same layout with the missing cells predicted; known cells are copied.
 * Its defaults suit small matrices (many epochs, few factors); every training option works.
 */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Picks k as the library does (hogmf_impute_choose_k) and reports each candidate's RMSE. */
static int choose_k(const hogmf_ratings *known, uint32_t m, uint32_t n, hogmf_params *p,
                    int quiet)
{
    double rmse[HOGMF_IMPUTE_KS];
    uint32_t k, folds;
    hogmf_error err = {0};
    if (hogmf_impute_choose_k(known, m, n, p, &k, rmse, &folds, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    for (int j = 0; j < HOGMF_IMPUTE_KS && !quiet; j++)
        if (isfinite(rmse[j]))
            fprintf(stderr, "hogmf: impute: k=%u: %u-fold RMSE of the known cells %.4g\n",
                    hogmf_impute_ks[j], folds, rmse[j]);
    p->k = k;
    return EXIT_OK;
}

static void help(const hogmf_params *p)
{
    printf("usage: hogmf impute [options] MATRIX -o OUT\n"
           "\n"
           "Completes a dense matrix. MATRIX has one row per line, cells separated by commas,\n"
           "else tabs, else blanks (detected from the first row); a cell is missing when it\n"
           "is empty or equals the --missing marker. hogmf trains on the known cells only\n"
           "(rows are users, columns items) and writes OUT in the same layout: known cells\n"
           "as they were, missing cells predicted (clipped to the known cells' range).\n"
           "Unless -k is given, the number of factors is chosen among 1, 2, 3, 4, 6, 8, 12\n"
           "and 16 by 5-fold cross-validation of the known cells.\n"
           "\n"
           "options:\n"
           "  -o, --output OUT       completed matrix to write, atomically (required)\n"
           "      --missing VALUE    marker of a missing cell, e.g. NA, ?, -1 [empty cells]\n"
           "      --digits D         significant digits of the filled-in cells [4]\n"
           "  -q, --quiet            no summary on stderr\n"
           "  -h, --help             this text\n"
           "\n"
           "training options (impute's own defaults, for small matrices):\n");
    cli_train_help(stdout, p);
    printf("\nexit codes: 0 ok, 1 internal error, 2 bad input or usage, 3 diverged\n");
}

int cmd_impute(int argc, char **argv)
{
    enum { O_MISSING = 256, O_DIGITS };
    static const struct option opts[] = {CLI_TRAIN_LONGOPTS,
                                         {"output", required_argument, 0, 'o'},
                                         {"missing", required_argument, 0, O_MISSING},
                                         {"digits", required_argument, 0, O_DIGITS},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hogmf_params defaults = hogmf_impute_params_default(), p = defaults;
    cli_train_opts to;
    cli_train_opts_init(&to, &p);
    const char *out_path = NULL, *missing = NULL;
    uint32_t digits = 4;
    int quiet = 0, k_given = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":" CLI_TRAIN_SHORTOPTS "o:qh", opts, NULL)) != -1) {
        int r = cli_train_option("impute", &to, c, optarg);
        if (r < 0)
            return EXIT_INPUT;
        if (r > 0) {
            k_given |= c == 'k';
            continue;
        }
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_MISSING: missing = optarg; break;
        case O_DIGITS:
            if (cli_parse_u32("impute", "--digits", optarg, 1, 9, &digits)) return EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': help(&defaults); return EXIT_OK;
        case ':': return cli_usage_error("impute", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("impute", argv);
        }
    }
    cli_train_opts_finish(&to);
    if (optind + 1 != argc)
        return cli_usage_error("impute", "expected one MATRIX, found %d", argc - optind);
    if (!out_path)
        return cli_usage_error("impute", "-o OUT is required");
    {
        const cli_path in[] = {{"MATRIX", argv[optind]}};
        const cli_path out[] = {{"-o", out_path}};
        int prc = cli_check_paths("impute", in, 1, out, 1);
        if (prc != EXIT_OK)
            return prc;
    }
    const char *path = argv[optind];
    hogmf_dense d = {0};
    hogmf_ratings known = {0};
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    int rc = EXIT_OK;
    if (hogmf_dense_read(path, missing, &d, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    size_t cells = (size_t)d.m * d.n, nknown = 0;
    for (size_t j = 0; j < cells; j++)
        nknown += d.known[j];
    if (nknown == 0) {
        fprintf(stderr, "hogmf: %s: no known cell to learn from\n", path);
        rc = EXIT_INPUT;
        goto done;
    }
    if (hogmf_ratings_from_dense(d.x, d.known, d.m, d.n, &known, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (!k_given && (rc = choose_k(&known, d.m, d.n, &p, quiet)) != EXIT_OK)
        goto done;
    if (hogmf_train(&known, NULL, &p, &model, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    /* Users and items are 0..m-1 and 0..n-1 in the model, as hogmf_ratings_from_dense
     * numbers them; a row or column with no known cell gets the biases it has (none). */
    for (uint32_t u = 0; u < d.m; u++)
        for (uint32_t i = 0; i < d.n; i++) {
            size_t cidx = (size_t)u * d.n + i;
            if (!d.known[cidx])
                d.x[cidx] = hogmf_model_predict(model, hogmf_model_user_index(model, u),
                                                hogmf_model_item_index(model, i));
        }
    if (!quiet)
        fprintf(stderr, "hogmf: %s: %u x %u matrix, %zu known cells, %zu filled in; "
                        "train RMSE %.4g after %u epochs (k=%u)\n",
                path, d.m, d.n, nknown, cells - nknown, model->train_rmse, model->epochs_run,
                model->k);
    if (hogmf_dense_write(out_path, d.x, d.known, d.m, d.n, d.delim, (int)digits, &err) !=
        HOGMF_OK)
        rc = cli_report(&err, 1);
done:
    hogmf_model_free(&model);
    hogmf_ratings_free(&known);
    hogmf_dense_free(&d);
    return rc;
}
