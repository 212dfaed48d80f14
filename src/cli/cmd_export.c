/*
 * cmd_export.c - `hogmf export --libmf|--csv -o OUT MODEL`: a trained model in LIBMF's text
 * model format (for mf-predict and LIBMF's API) or as CSV factor tables (NumPy, pandas).
 * The formats themselves are written by the library (src/interop.c).
 */
#include "cli.h"

#include <getopt.h>

static const char help[] =
    "usage: hogmf export --libmf|--csv [options] -o OUT MODEL\n"
    "\n"
    "Writes MODEL in another tool's format.\n"
    "\n"
    "  --libmf   OUT is a LIBMF text model (LIBMF 2.x mf_save_model format: header lines\n"
    "            f, m, n, k, b, then one 'p<id> T values' line per user and one 'q<id>'\n"
    "            line per item). LIBMF has no biases and predicts p.q, so the biases and\n"
    "            the mean go into three extra columns: p' = [p, b_u, 1, 1] and\n"
    "            q' = [q, 1, b_i, mu], and k is the model's k + 3. LIBMF's prediction is\n"
    "            then hogmf's before clipping. Row indices are the original ids; ids\n"
    "            between 0 and the largest id that the model lacks are 'F' rows (LIBMF\n"
    "            predicts b = mu for them). 'hogmf import --libmf' reads it back exactly.\n"
    "  --csv     OUT is a prefix: OUT_users.csv (user,bias,f1..fk), OUT_items.csv\n"
    "            (item,bias,f1..fk) and OUT_global.csv (mu,rmin,rmax,k,users,items).\n"
    "            A prediction is mu + bias_u + bias_i + f_u . f_i, clipped to\n"
    "            [rmin, rmax].\n"
    "\n"
    "options:\n"
    "  -o, --output OUT   output file (--libmf) or prefix (--csv), required\n"
    "  -h, --help         this text\n"
    "\n"
    "exit codes: 0 ok, 1 failed write, 2 bad model file or usage\n";

int cmd_export(int argc, char **argv)
{
    enum { O_LIBMF = 256, O_CSV };
    static const struct option opts[] = {{"libmf", no_argument, 0, O_LIBMF},
                                         {"csv", no_argument, 0, O_CSV},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int libmf = 0, csv = 0, c;
    const char *out = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_LIBMF: libmf = 1; break;
        case O_CSV: csv = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("export", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("export", argv);
        }
    }
    if (libmf + csv != 1)
        return cli_usage_error("export", "expected exactly one of --libmf and --csv");
    if (!out)
        return cli_usage_error("export", "-o OUT is required");
    if (optind + 1 != argc)
        return cli_usage_error("export", "expected one MODEL, found %d", argc - optind);
    {
        /* --csv writes OUT_users.csv, OUT_items.csv and OUT_global.csv */
        char names[3][4096];
        cli_path outp[3] = {{"-o", out}, {NULL, NULL}, {NULL, NULL}};
        if (csv) {
            static const char *const suffix[3] = {"_users.csv", "_items.csv", "_global.csv"};
            for (int j = 0; j < 3; j++) {
                snprintf(names[j], sizeof names[j], "%s%s", out, suffix[j]);
                outp[j].what = "output";
                outp[j].path = names[j];
            }
        }
        const cli_path in[] = {{"MODEL", argv[optind]}};
        int prc = cli_check_paths("export", in, 1, outp, 3);
        if (prc != EXIT_OK)
            return prc;
    }
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    if (hogmf_model_load(argv[optind], &model, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    hogmf_status st = libmf ? hogmf_model_write_libmf(model, out, &err)
                            : hogmf_model_write_csv(model, out, &err);
    int rc = EXIT_OK;
    if (st != HOGMF_OK)
        rc = cli_report(&err, 1);
    else if (libmf)
        fprintf(stderr, "hogmf: wrote %s: LIBMF text model, k = %u + 3 bias columns\n", out,
                model->k);
    else
        fprintf(stderr, "hogmf: wrote %s_users.csv, %s_items.csv and %s_global.csv\n", out, out,
                out);
    hogmf_model_free(&model);
    return rc;
}
