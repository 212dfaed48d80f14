/*
 * cmd_import.c - `hogmf import --libmf -o MODEL LIBMF_MODEL`: a LIBMF text model as a hogmf
 * model file, so that eval, predict, info and export work on it. Parsing is the library's
 * (src/interop.c); this file only handles options.
 */
#include "cli.h"

#include <float.h>
#include <getopt.h>

static const char help[] =
    "usage: hogmf import --libmf [options] -o MODEL LIBMF_MODEL\n"
    "\n"
    "Reads a real-valued LIBMF text model (f 0, 1 or 2; the header of LIBMF 1.x without f\n"
    "and b is accepted too) and writes it as a hogmf model that predicts what LIBMF's\n"
    "mf_predict does: p.q for rows with data, b for rows marked F or out of range. User and\n"
    "item ids are LIBMF's row indices (0-based, as in LIBMF's data files). A model written\n"
    "by 'hogmf export --libmf' gets its k, biases and mean back exactly; any other gets\n"
    "mu = b, zero biases and one extra factor column.\n"
    "\n"
    "options:\n"
    "  -o, --output MODEL  hogmf model file to write, required\n"
    "      --rmin X        clip predictions below X [no clipping]\n"
    "      --rmax X        clip predictions above X [no clipping]\n"
    "  -h, --help          this text\n"
    "\n"
    "exit codes: 0 ok, 1 failed write, 2 malformed LIBMF model or usage\n";

int cmd_import(int argc, char **argv)
{
    enum { O_LIBMF = 256, O_RMIN, O_RMAX };
    static const struct option opts[] = {{"libmf", no_argument, 0, O_LIBMF},
                                         {"output", required_argument, 0, 'o'},
                                         {"rmin", required_argument, 0, O_RMIN},
                                         {"rmax", required_argument, 0, O_RMAX},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int libmf = 0, c;
    const char *out = NULL;
    double rmin = -FLT_MAX, rmax = FLT_MAX;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_LIBMF: libmf = 1; break;
        case 'o': out = optarg; break;
        case O_RMIN:
            if (cli_parse_double("import", "--rmin", optarg, -1e30, 1e30, &rmin))
                return EXIT_INPUT;
            break;
        case O_RMAX:
            if (cli_parse_double("import", "--rmax", optarg, -1e30, 1e30, &rmax))
                return EXIT_INPUT;
            break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("import", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("import", argv);
        }
    }
    if (!libmf)
        return cli_usage_error("import", "expected --libmf (the only format imported)");
    if (!out)
        return cli_usage_error("import", "-o MODEL is required");
    if (optind + 1 != argc)
        return cli_usage_error("import", "expected one LIBMF_MODEL, found %d", argc - optind);
    {
        const cli_path in[] = {{"LIBMF_MODEL", argv[optind]}};
        const cli_path outp[] = {{"-o", out}};
        int prc = cli_check_paths("import", in, 1, outp, 1);
        if (prc != EXIT_OK)
            return prc;
    }
    if (rmin > rmax)
        return cli_usage_error("import", "--rmin %g is above --rmax %g", rmin, rmax);
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    if (hogmf_model_read_libmf(argv[optind], (float)rmin, (float)rmax, &model, &err) !=
        HOGMF_OK)
        return cli_report(&err, 0);
    int rc = EXIT_OK;
    if (hogmf_model_save(model, out, &err) != HOGMF_OK)
        rc = cli_report(&err, 1);
    else
        fprintf(stderr, "hogmf: wrote %s: %u users, %u items, k %u, mu %g\n", out, model->m,
                model->n, model->k, (double)model->mu);
    hogmf_model_free(&model);
    return rc;
}
