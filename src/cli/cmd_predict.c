/*
 * cmd_predict.c - `hogmf predict MODEL FILE [-o OUT]`: one "user item prediction" line per
 * input line, in the input's order. A rating column, if present, is ignored.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hogmf predict [options] MODEL FILE [-o OUT]\n"
    "\n"
    "Writes \"user item prediction\" for every line of FILE (user item [rating [timestamp]]),\n"
    "in FILE's order, to OUT (written atomically) or stdout. Unknown users or items get the\n"
    "mean plus whatever bias is known; they are counted on stderr.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT    output file [stdout]\n"
    "      --foldin FILE   add the users of a fold-in file (hogmf foldin) to the model\n"
    "      --format FMT    auto, tsv, dat, csv or libmf [auto]\n"
    "      --columns C     USER,ITEM[,RATING[,TIMESTAMP]] of a wider file: 1-based numbers\n"
    "                      or header names (ids are read as the model's: numbers or strings)\n"
    "  -h, --help          this text\n";

static size_t fmt_line(char *buf, size_t cap, const hogmf_ratings *set, uint32_t u, uint32_t i,
                       float r)
{
    char ub[16], ib[16];
    return (size_t)snprintf(buf, cap, "%s %s %.6g\n", cli_id(ub, sizeof ub, set->user_names, u),
                            cli_id(ib, sizeof ib, set->item_names, i), (double)r);
}

int cmd_predict(int argc, char **argv)
{
    enum { O_FORMAT = 256, O_FOLDIN };
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"foldin", required_argument, 0, O_FOLDIN},
                                         {"format", required_argument, 0, O_FORMAT},
                                         CLI_READ_LONGOPTS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hogmf_read_options ro = hogmf_read_options_default();
    ro.allow_no_rating = 1;
    ro.keep_duplicates = 1;
    const char *out_path = NULL, *foldin_path = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        int r = cli_read_option("predict", &ro, c, optarg);
        if (r < 0)
            return EXIT_INPUT;
        if (r > 0)
            continue;
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_FOLDIN: foldin_path = optarg; break;
        case O_FORMAT:
            if (cli_parse_format("predict", optarg, &ro.format)) return EXIT_INPUT;
            break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("predict", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("predict", argv);
        }
    }
    if (optind + 2 != argc)
        return cli_usage_error("predict", "expected MODEL and FILE");
    {
        const cli_path in[] = {{"MODEL", argv[optind]}, {"FILE", argv[optind + 1]},
                               {"--foldin file", foldin_path}};
        const cli_path out[] = {{"-o", out_path}};
        int prc = cli_check_paths("predict", in, 3, out, 1);
        if (prc != EXIT_OK)
            return prc;
    }
    hogmf_model *model = NULL;
    hogmf_ratings set = {0};
    hogmf_error err = {0};
    char *text = NULL;
    int rc = EXIT_OK;
    if ((rc = cli_load_model_foldin(argv[optind], foldin_path, &model)) != EXIT_OK)
        goto done;
    cli_read_for_model(&ro, model);
    if (hogmf_ratings_read(argv[optind + 1], &ro, &set, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    uint32_t *um = malloc(((size_t)set.m + 1) * sizeof *um);
    uint32_t *im = malloc(((size_t)set.n + 1) * sizeof *im);
    size_t cap = set.nnz * 40 + 1, len = 0, unknown = 0;
    for (size_t j = 0; set.user_names && j < set.nnz; j++) { /* room for the names */
        size_t lu = 0, li = 0;
        hogmf_names_get(set.user_names, set.user_ids[set.data[j].u], &lu);
        hogmf_names_get(set.item_names, set.item_ids[set.data[j].i], &li);
        cap += lu + li;
    }
    text = malloc(cap);
    if (!um || !im || !text) {
        free(um);
        free(im);
        fprintf(stderr, "hogmf: predict: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (uint32_t u = 0; u < set.m; u++)
        um[u] = hogmf_model_user_index(model, set.user_ids[u]);
    for (uint32_t i = 0; i < set.n; i++)
        im[i] = hogmf_model_item_index(model, set.item_ids[i]);
    for (size_t j = 0; j < set.nnz; j++) {
        const hogmf_rating *x = &set.data[j];
        uint32_t u = um[x->u], i = im[x->i];
        unknown += u == HOGMF_UNKNOWN || i == HOGMF_UNKNOWN;
        len += fmt_line(text + len, cap - len, &set, set.user_ids[x->u], set.item_ids[x->i],
                        hogmf_model_predict(model, u, i));
    }
    free(um);
    free(im);
    if (unknown)
        fprintf(stderr, "hogmf: %zu of %zu lines have a user or item unknown to the model\n",
                unknown, set.nnz);
    if (out_path) {
        if (hogmf_write_file_atomic(out_path, text, len, &err) != HOGMF_OK)
            rc = cli_report(&err, 1);
    } else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "hogmf: predict: writing to stdout failed\n");
        rc = EXIT_INTERNAL;
    }
done:
    free(text);
    hogmf_model_free(&model);
    hogmf_ratings_free(&set);
    return rc;
}
