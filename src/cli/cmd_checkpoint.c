/*
 * cmd_checkpoint.c - `hogmf checkpoint FILE`: verifies a checkpoint (magic, version, sizes,
 * CRC) and prints what it holds as key=value lines, for batch scripts that decide whether to
 * resume. It does not load the training state; `hogmf train --resume` does.
 */
#include "cli.h"

#include <math.h>
#include <string.h>

static const char help[] =
    "usage: hogmf checkpoint FILE\n"
    "\n"
    "Verifies a checkpoint written by 'hogmf train --checkpoint' (magic, version, sizes\n"
    "against the file size, CRC-32) and prints key=value lines on stdout: epoch, epochs,\n"
    "stopped, users, items, factors, ratings, valid_ratings, threads, lr, train_rmse,\n"
    "valid_rmse, best_epoch, seed, bytes.\n"
    "\n"
    "exit codes: 0 a valid checkpoint, 1 internal error, 2 missing, corrupt or not a\n"
    "checkpoint\n";

int cmd_checkpoint(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-')
        return cli_usage_error("checkpoint", "expected one FILE");
    hogmf_checkpoint_info ci;
    hogmf_error err = {0};
    if (hogmf_checkpoint_inspect(argv[1], &ci, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    printf("epoch=%u\nepochs=%u\nstopped=%d\nusers=%u\nitems=%u\nfactors=%u\nratings=%llu\n"
           "valid_ratings=%llu\nthreads=%u\nlr=%.9g\ntrain_rmse=%.9g\n",
           ci.epoch, ci.params.epochs, ci.stopped, ci.m, ci.n, ci.k,
           (unsigned long long)ci.nnz, (unsigned long long)ci.valid_nnz, ci.threads,
           (double)ci.lr, ci.train_rmse);
    if (isfinite(ci.valid_rmse))
        printf("valid_rmse=%.9g\n", ci.valid_rmse);
    else
        printf("valid_rmse=-\n");
    printf("best_epoch=%u\nseed=%llu\nbytes=%llu\n", ci.best_epoch,
           (unsigned long long)ci.params.seed, (unsigned long long)ci.file_bytes);
    return EXIT_OK;
}
