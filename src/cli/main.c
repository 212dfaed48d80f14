/*
 * main.c - the hogmf command: dispatches to one subcommand per file and prints the overall
 * help, version and exit codes. No training logic lives here.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static const char usage[] =
    "usage: hogmf <command> [options]\n"
    "\n"
    "Biased matrix factorization (r = mu + b_u + b_i + p_u.q_i) trained with Hogwild\n"
    "parallel SGD on explicit ratings.\n"
    "\n"
    "commands:\n"
    "  train    train a model:        hogmf train [options] -o MODEL TRAIN_FILE\n"
    "  eval     masked RMSE and MAE:  hogmf eval MODEL FILE\n"
    "  predict  predict ratings:      hogmf predict MODEL FILE [-o OUT]\n"
    "  split    random split:         hogmf split --test-fraction F --seed S FILE TRAIN TEST\n"
    "  gen      synthetic ratings:    hogmf gen --users U --items I --ratings N -o FILE\n"
    "  topo     machine topology:     hogmf topo\n"
    "  checkpoint  verify a checkpoint: hogmf checkpoint FILE\n"
    "  info     what a model holds:   hogmf info MODEL\n"
    "  export   to LIBMF or CSV:      hogmf export --libmf|--csv -o OUT MODEL\n"
    "  import   from LIBMF:           hogmf import --libmf -o MODEL LIBMF_MODEL\n"
    "  convert  rewrite ratings:      hogmf convert --to FMT IN OUT\n"
    "  plot     training curves:      hogmf plot -o curve.png LOG.jsonl\n"
    "  cv       cross-validation:     hogmf cv --folds F FILE | --split-files TRAIN TEST ...\n"
    "  tune     search k, lr, reg:    hogmf tune [--trials N | --seconds S] FILE\n"
    "  foldin   rows for new users:   hogmf foldin MODEL RATINGS -o FOLDIN\n"
    "  recommend  top-N unrated:      hogmf recommend MODEL --user ID -n N [--exclude FILE]\n"
    "  impute   complete a matrix:    hogmf impute MATRIX.csv --missing VALUE -o OUT.csv\n"
    "\n"
    "'hogmf <command> --help' describes each command's options.\n"
    "\n"
    "input formats (detected from the first data line, or forced with --format):\n"
    "  tsv    user<TAB>item<TAB>rating[<TAB>timestamp]   (MovieLens u.data)\n"
    "  dat    user::item::rating[::timestamp]            (MovieLens ratings.dat)\n"
    "  csv    user,item,rating[,timestamp]               (header line optional)\n"
    "  libmf  user item rating                           (blank-separated)\n"
    "gzip-compressed files are decompressed on the fly (recognised by content, not name).\n"
    "\n"
    "exit codes:\n"
    "  0  success\n"
    "  1  internal error (out of memory, failed write)\n"
    "  2  bad input file, bad option or usage\n"
    "  3  training diverged (try a smaller --lr)\n"
    "  4  train stopped by SIGINT or SIGTERM after an epoch; a checkpoint was written\n"
    "     (continue with the same options and --resume CHECKPOINT)\n";

/* What the command printed to stdout must have arrived: a failed write (a full disk, a
 * closed pipe) is an error, not exit 0. */
static int stdout_closed(int rc)
{
    int bad = ferror(stdout);
    errno = 0;
    if (fflush(stdout) != 0 || bad) {
        fprintf(stderr, "hogmf: standard output: write failed%s%s\n", errno ? ": " : "",
                errno ? strerror(errno) : "");
        return rc == EXIT_OK ? EXIT_INTERNAL : rc;
    }
    return rc;
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    /* Above a file size limit (ulimit -f) a write fails with EFBIG and is reported, instead
     * of the process dying without a word. */
    signal(SIGXFSZ, SIG_IGN);
    return stdout_closed(run(argc, argv));
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("hogmf %s\n", HOGMF_VERSION_STRING);
        return EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"train", cmd_train}, {"eval", cmd_eval}, {"predict", cmd_predict},
                {"split", cmd_split}, {"gen", cmd_gen}, {"topo", cmd_topo},
                {"checkpoint", cmd_checkpoint},
                {"info", cmd_info}, {"export", cmd_export}, {"import", cmd_import},
                {"convert", cmd_convert}, {"plot", cmd_plot},
                {"cv", cmd_cv}, {"tune", cmd_tune}, {"foldin", cmd_foldin},
                {"recommend", cmd_recommend}, {"impute", cmd_impute}};
    for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++)
        if (!strcmp(cmd, cmds[c].name))
            return cmds[c].fn(argc - 1, argv + 1);
    fprintf(stderr, "hogmf: unknown command '%s'\n%s", cmd, usage);
    return EXIT_INPUT;
}
