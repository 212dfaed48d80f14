/*
 * cmd_split.c - `hogmf split`: a seeded random split of a ratings file into a training and
 * a test file, both written atomically in the input's format.
 */
#include "cli.h"

#include <getopt.h>

static const char help[] =
    "usage: hogmf split --test-fraction F --seed S FILE TRAIN_OUT TEST_OUT\n"
    "\n"
    "Puts exactly round(F * ratings) ratings, chosen uniformly at random, into TEST_OUT and the\n"
    "rest into TRAIN_OUT, in FILE's order and format (duplicates removed: the last one wins;\n"
    "timestamps are not copied).\n"
    "\n"
    "options:\n"
    "      --test-fraction F   fraction in [0, 1) (required)\n"
    "  -s, --seed S            random seed [1]\n"
    "      --format FMT        input format: auto, tsv, dat, csv or libmf [auto]\n"
    "  -h, --help              this text\n";

int cmd_split(int argc, char **argv)
{
    enum { O_FRACTION = 256, O_FORMAT };
    static const struct option opts[] = {{"test-fraction", required_argument, 0, O_FRACTION},
                                         {"seed", required_argument, 0, 's'},
                                         {"format", required_argument, 0, O_FORMAT},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hogmf_read_options ro = hogmf_read_options_default();
    double fraction = -1;
    uint64_t seed = 1;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
        switch (c) {
        case O_FRACTION:
            if (cli_parse_double("split", "--test-fraction", optarg, 0, 0.999999, &fraction))
                return EXIT_INPUT;
            break;
        case 's':
            if (cli_parse_u64("split", "--seed", optarg, &seed)) return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("split", optarg, &ro.format)) return EXIT_INPUT;
            break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("split", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("split", argv);
        }
    }
    if (fraction < 0)
        return cli_usage_error("split", "--test-fraction is required");
    if (optind + 3 != argc)
        return cli_usage_error("split", "expected FILE, TRAIN_OUT and TEST_OUT");
    {
        const cli_path in[] = {{"FILE", argv[optind]}};
        const cli_path out[] = {{"TRAIN_OUT", argv[optind + 1]}, {"TEST_OUT", argv[optind + 2]}};
        int prc = cli_check_paths("split", in, 1, out, 2);
        if (prc != EXIT_OK)
            return prc;
    }
    hogmf_ratings all = {0}, train = {0}, test = {0};
    hogmf_error err = {0};
    int rc = EXIT_OK;
    if (hogmf_ratings_read(argv[optind], &ro, &all, &err) != HOGMF_OK ||
        hogmf_ratings_split(&all, fraction, seed, &train, &test, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (hogmf_ratings_write(&train, argv[optind + 1], all.format, &err) != HOGMF_OK ||
        hogmf_ratings_write(&test, argv[optind + 2], all.format, &err) != HOGMF_OK) {
        rc = cli_report(&err, 1);
        goto done;
    }
    fprintf(stderr, "hogmf: split %zu ratings: %zu to %s, %zu to %s\n", all.nnz, train.nnz,
            argv[optind + 1], test.nnz, argv[optind + 2]);
done:
    hogmf_ratings_free(&all);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&test);
    return rc;
}
