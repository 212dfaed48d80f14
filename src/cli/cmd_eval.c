/*
 * cmd_eval.c - `hogmf eval MODEL FILE`: masked RMSE and MAE of a model on a ratings file.
 * The last line on stdout is exactly "rmse=<x> mae=<y> n=<count>".
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char help[] =
    "usage: hogmf eval [options] MODEL FILE\n"
    "\n"
    "Evaluates MODEL on the ratings in FILE (duplicates: the last one wins). Ratings of users\n"
    "or items unknown to the model are predicted from the mean and the known biases, and\n"
    "counted on stderr. The last line on stdout is: rmse=<x> mae=<y> n=<count>\n"
    "\n"
    "options:\n"
    "  -t, --threads N     threads [all cores]\n"
    "      --format FMT    auto, tsv, dat, csv or libmf [auto]\n"
    "      --columns C     USER,ITEM,RATING[,TIMESTAMP] of a wider file: 1-based numbers\n"
    "                      or header names (ids are read as the model's: numbers or strings)\n"
    "  -h, --help          this text\n";

int cmd_eval(int argc, char **argv)
{
    enum { O_FORMAT = 256 };
    static const struct option opts[] = {{"threads", required_argument, 0, 't'},
                                         {"format", required_argument, 0, O_FORMAT},
                                         CLI_READ_LONGOPTS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hogmf_read_options ro = hogmf_read_options_default();
    uint32_t threads = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:h", opts, NULL)) != -1) {
        int r = cli_read_option("eval", &ro, c, optarg);
        if (r < 0)
            return EXIT_INPUT;
        if (r > 0)
            continue;
        switch (c) {
        case 't':
            if (cli_parse_u32("eval", "--threads", optarg, 1, 1024, &threads)) return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("eval", optarg, &ro.format)) return EXIT_INPUT;
            break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("eval", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("eval", argv);
        }
    }
    if (optind + 2 != argc)
        return cli_usage_error("eval", "expected MODEL and FILE");
    hogmf_model *model = NULL;
    hogmf_ratings set = {0};
    hogmf_error err = {0};
    int rc = EXIT_OK;
    if (hogmf_model_load(argv[optind], &model, &err) == HOGMF_OK)
        cli_read_for_model(&ro, model);
    if (!model || hogmf_ratings_read(argv[optind + 1], &ro, &set, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    double rmse, mae;
    size_t unknown = 0;
    if (hogmf_evaluate(model, &set, (int)threads, &rmse, &mae, &unknown, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (set.duplicates)
        fprintf(stderr, "hogmf: %s: %zu duplicate (user, item) pairs; the last one was kept\n",
                argv[optind + 1], set.duplicates);
    if (unknown)
        fprintf(stderr, "hogmf: %zu of %zu ratings have a user or item unknown to the model\n",
                unknown, set.nnz);
    printf("rmse=%.6f mae=%.6f n=%zu\n", rmse, mae, set.nnz);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hogmf: eval: writing to stdout failed\n");
        rc = EXIT_INTERNAL;
    }
done:
    hogmf_model_free(&model);
    hogmf_ratings_free(&set);
    return rc;
}
