/*
 * cmd_convert.c - `hogmf convert --to FMT IN OUT`: a ratings file rewritten in another
 * format, for example LIBMF's "user item rating" data format for mf-train. It keeps the
 * original ids (LIBMF uses them as 0-based row indices) and drops timestamps.
 */
#include "cli.h"

#include <getopt.h>

static const char help[] =
    "usage: hogmf convert --to FMT [options] IN OUT\n"
    "\n"
    "Reads the ratings in IN (any format, gzip included) and writes them to OUT in FMT:\n"
    "tsv, dat, csv (with a header line) or libmf (LIBMF's data format 'user item rating',\n"
    "what mf-train and mf-predict read). Ids are kept as they are (LIBMF takes them as\n"
    "0-based row and column indices), duplicates are removed (the last one wins) and\n"
    "timestamps are dropped. OUT is written atomically.\n"
    "\n"
    "options:\n"
    "      --to FMT       output format: tsv, dat, csv or libmf (required)\n"
    "      --format FMT   input format: auto, tsv, dat, csv or libmf [auto]\n"
    "  -q, --quiet        no progress or summary on stderr\n"
    "  -h, --help         this text\n"
    "\n"
    "exit codes: 0 ok, 1 failed write, 2 bad input or usage\n";

int cmd_convert(int argc, char **argv)
{
    enum { O_TO = 256, O_FORMAT };
    static const struct option opts[] = {{"to", required_argument, 0, O_TO},
                                         {"format", required_argument, 0, O_FORMAT},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    hogmf_read_options ro = hogmf_read_options_default();
    hogmf_format to = HOGMF_FORMAT_AUTO;
    int quiet = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
        switch (c) {
        case O_TO:
            if (hogmf_format_parse(optarg, &to) != 0 || to == HOGMF_FORMAT_AUTO)
                return cli_usage_error("convert",
                                       "--to: expected tsv, dat, csv or libmf, found '%s'",
                                       optarg);
            break;
        case O_FORMAT:
            if (cli_parse_format("convert", optarg, &ro.format)) return EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("convert", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("convert", argv);
        }
    }
    if (to == HOGMF_FORMAT_AUTO)
        return cli_usage_error("convert", "--to FMT is required");
    if (optind + 2 != argc)
        return cli_usage_error("convert", "expected IN and OUT");
    {
        const cli_path in[] = {{"IN", argv[optind]}};
        const cli_path out[] = {{"OUT", argv[optind + 1]}};
        int prc = cli_check_paths("convert", in, 1, out, 1);
        if (prc != EXIT_OK)
            return prc;
    }
    cli_out out;
    cli_out_init(&out, quiet, 0);
    hogmf_ratings set = {0};
    hogmf_error err = {0};
    int rc = EXIT_OK;
    if (cli_read(&out, argv[optind], &ro, &set, &err) != HOGMF_OK) {
        rc = cli_report(&err, 0);
        goto done;
    }
    if (hogmf_ratings_write(&set, argv[optind + 1], to, &err) != HOGMF_OK) {
        rc = cli_report(&err, 1);
        goto done;
    }
    cli_note(&out, "wrote %s: %zu ratings (%u users, %u items) as %s%s", argv[optind + 1],
             set.nnz, set.m, set.n, hogmf_format_name(to),
             set.duplicates ? ", duplicates removed" : "");
done:
    hogmf_ratings_free(&set);
    return rc;
}
