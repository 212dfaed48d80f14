/*
 * cmd_foldin.c - `hogmf foldin MODEL RATINGS -o FOLDIN`: factor rows for the users of
 * RATINGS who are not in MODEL (hogmf_foldin_compute), written as a fold-in file that
 * predict and recommend take with --foldin. The model file is not changed.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hogmf foldin [options] MODEL RATINGS -o FOLDIN\n"
    "\n"
    "Computes a factor row and a bias for every user of RATINGS who is not in MODEL, from\n"
    "that user's ratings, with the model's item factors, item biases and mean held fixed:\n"
    "a small ridge regression per user, solved in closed form. Writes them to FOLDIN (a\n"
    "text file, see the README), which `hogmf predict --foldin` and `hogmf recommend\n"
    "--foldin` add to the model. Users already in the model are skipped and counted;\n"
    "ratings of items the model does not know are ignored and counted.\n"
    "\n"
    "options:\n"
    "  -o, --output FOLDIN    fold-in file to write (required)\n"
    "      --reg X            ridge penalty on the factors and the bias (a prior: it\n"
    "                         counts for less as a user's ratings grow)\n"
    "      --reg-p X          ... on the factors only [2]\n"
    "      --reg-bias X       ... on the bias only [3]\n"
    "  -t, --threads N        threads [all cores]\n"
    "      --format FMT       auto, tsv, dat, csv or libmf [auto]\n"
    "  -q, --quiet            no summary on stderr\n"
    "  -h, --help             this text\n";

int cmd_foldin(int argc, char **argv)
{
    enum { O_REG = 256, O_REG_P, O_REG_BIAS, O_FORMAT };
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"reg", required_argument, 0, O_REG},
                                         {"reg-p", required_argument, 0, O_REG_P},
                                         {"reg-bias", required_argument, 0, O_REG_BIAS},
                                         {"threads", required_argument, 0, 't'},
                                         {"format", required_argument, 0, O_FORMAT},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out_path = NULL;
    double reg_p = -1, reg_b = -1;
    uint32_t threads = 0;
    int quiet = 0, c;
    hogmf_read_options ro = hogmf_read_options_default();
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_REG:
            if (cli_parse_double("foldin", "--reg", optarg, 1e-9, 1e6, &reg_p)) return EXIT_INPUT;
            reg_b = reg_p;
            break;
        case O_REG_P:
            if (cli_parse_double("foldin", "--reg-p", optarg, 1e-9, 1e6, &reg_p))
                return EXIT_INPUT;
            break;
        case O_REG_BIAS:
            if (cli_parse_double("foldin", "--reg-bias", optarg, 0, 1e6, &reg_b))
                return EXIT_INPUT;
            break;
        case 't':
            if (cli_parse_u32("foldin", "--threads", optarg, 1, 1024, &threads)) return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("foldin", optarg, &ro.format)) return EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("foldin", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("foldin", argv);
        }
    }
    if (optind + 2 != argc)
        return cli_usage_error("foldin", "expected MODEL and RATINGS, found %d argument%s",
                               argc - optind, argc - optind == 1 ? "" : "s");
    if (!out_path)
        return cli_usage_error("foldin", "-o FOLDIN is required");
    {
        const cli_path in[] = {{"MODEL", argv[optind]}, {"RATINGS", argv[optind + 1]}};
        const cli_path out[] = {{"-o", out_path}};
        int prc = cli_check_paths("foldin", in, 2, out, 1);
        if (prc != EXIT_OK)
            return prc;
    }
    hogmf_model *model = NULL;
    hogmf_ratings set = {0};
    hogmf_foldin f = {0};
    hogmf_error err = {0};
    int rc = EXIT_OK;
    if (hogmf_model_load(argv[optind], &model, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (model->user_names) { /* fold-in files hold numeric user ids */
        fprintf(stderr, "hogmf: foldin: %s has string ids; fold-in supports numeric ids only\n",
                argv[optind]);
        rc = EXIT_INPUT;
        goto done;
    }
    ro.ids = HOGMF_IDS_NUMERIC;
    if (hogmf_ratings_read(argv[optind + 1], &ro, &set, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    /* Defaults measured with bench/foldin.sh on MovieLens 100K (README, Fold-in). */
    float lp = reg_p >= 0 ? (float)reg_p : 2.0f;
    float lb = reg_b >= 0 ? (float)reg_b : 3.0f;
    size_t known = 0, unknown_items = 0;
    if (hogmf_foldin_compute(model, &set, lp, lb, (int)threads, &f, &known, &unknown_items,
                             &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (!quiet) {
        fprintf(stderr, "hogmf: folded in %u users from %s (ridge penalty %g on the "
                        "factors, %g on the bias)\n",
                f.m, argv[optind + 1], (double)lp, (double)lb);
        if (known)
            fprintf(stderr, "hogmf: %zu users are already in the model; skipped\n", known);
        if (unknown_items)
            fprintf(stderr, "hogmf: %zu ratings of items unknown to the model were ignored\n",
                    unknown_items);
        uint32_t none = 0;
        for (uint32_t u = 0; u < f.m; u++)
            none += f.count[u] == 0;
        if (none)
            fprintf(stderr, "hogmf: %u users have no rating of a known item; they get the "
                            "item biases only\n", none);
    }
    if (hogmf_foldin_save(&f, out_path, &err) != HOGMF_OK)
        rc = cli_report(&err, 1);
done:
    hogmf_foldin_free(&f);
    hogmf_model_free(&model);
    hogmf_ratings_free(&set);
    return rc;
}
