/*
 * cmd_gen.c - `hogmf gen`: writes synthetic MovieLens-like ratings (see gen.c).
 */
#include "cli.h"

#include <getopt.h>

static const char help[] =
    "usage: hogmf gen --users U --items I --ratings N [--rank R] [--seed S] -o FILE\n"
    "\n"
    "Writes N distinct synthetic ratings: power-law user activity and item popularity, user\n"
    "and item biases, a rank-R structure and noise, rounded to half stars 0.5..5. The same\n"
    "seed gives the same file. N may be at most half of U x I.\n"
    "\n"
    "options:\n"
    "      --users U      users [1000]\n"
    "      --items I      items [500]\n"
    "      --ratings N    ratings [50000]\n"
    "      --rank R       rank of the planted structure [10]\n"
    "      --noise X      noise standard deviation before rounding [0.5]\n"
    "  -s, --seed S       random seed [1]\n"
    "      --format FMT   csv (with header and timestamps), tsv, dat or libmf [csv]\n"
    "  -o, --output FILE  file to write (required)\n"
    "  -h, --help         this text\n";

int cmd_gen(int argc, char **argv)
{
    enum { O_USERS = 256, O_ITEMS, O_RATINGS, O_RANK, O_NOISE, O_FORMAT };
    static const struct option opts[] = {
        {"users", required_argument, 0, O_USERS}, {"items", required_argument, 0, O_ITEMS},
        {"ratings", required_argument, 0, O_RATINGS}, {"rank", required_argument, 0, O_RANK},
        {"noise", required_argument, 0, O_NOISE}, {"seed", required_argument, 0, 's'},
        {"format", required_argument, 0, O_FORMAT}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    hogmf_gen_params gp = hogmf_gen_params_default();
    const char *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_USERS:
            if (cli_parse_u32("gen", "--users", optarg, 1, UINT32_MAX - 1, &gp.users))
                return EXIT_INPUT;
            break;
        case O_ITEMS:
            if (cli_parse_u32("gen", "--items", optarg, 1, UINT32_MAX - 1, &gp.items))
                return EXIT_INPUT;
            break;
        case O_RATINGS:
            if (cli_parse_u64("gen", "--ratings", optarg, &gp.ratings)) return EXIT_INPUT;
            break;
        case O_RANK:
            if (cli_parse_u32("gen", "--rank", optarg, 1, 1024, &gp.rank)) return EXIT_INPUT;
            break;
        case O_NOISE:
            if (cli_parse_double("gen", "--noise", optarg, 0, 100, &gp.noise_sd))
                return EXIT_INPUT;
            break;
        case 's':
            if (cli_parse_u64("gen", "--seed", optarg, &gp.seed)) return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("gen", optarg, &gp.format)) return EXIT_INPUT;
            break;
        case 'o': out = optarg; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("gen", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("gen", argv);
        }
    }
    if (optind != argc)
        return cli_usage_error("gen", "unexpected argument '%s'", argv[optind]);
    if (!out)
        return cli_usage_error("gen", "-o FILE is required");
    hogmf_error err = {0};
    const cli_path outp[] = {{"-o", out}};
    int prc = cli_check_paths("gen", NULL, 0, outp, 1);
    if (prc != EXIT_OK)
        return prc;
    if (hogmf_gen_write(&gp, out, &err) != HOGMF_OK)
        return cli_report(&err, err.status == HOGMF_ERR_IO);
    return EXIT_OK;
}
