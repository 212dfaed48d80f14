/*
 * cmd_info.c - `hogmf info MODEL`: what a model file holds, from its header: sizes, the
 * options it was trained with, and its training and validation RMSE. The model file has no
 * timestamps (one thread and one seed give a bit-identical file), so neither does this.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <float.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char help[] =
    "usage: hogmf info [--json] MODEL\n"
    "\n"
    "Prints what MODEL holds: users, items, factors, training ratings, mean and rating\n"
    "range, the training options stored in the file (epochs, lr, lr decay, regularisation,\n"
    "init sd, threads, seed, tol, patience), the epochs run and the best epoch, and the\n"
    "training and validation RMSE at that epoch.\n"
    "\n"
    "options:\n"
    "      --json   one JSON object on stdout instead of 'key value' lines\n"
    "  -h, --help   this text\n"
    "\n"
    "exit codes: 0 ok, 2 missing or corrupt model file, bad usage\n";

/* "%g" that keeps a float's value readable: the shortest of 6..9 digits that reads back. */
static const char *fl(char *buf, size_t cap, float v)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, cap, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    return buf;
}

static const char *lr_schedule_name(hogmf_lr_schedule s)
{
    switch (s) {
    case HOGMF_LR_CONSTANT: return "constant";
    case HOGMF_LR_DECAY: return "decay";
    case HOGMF_LR_BOLD: return "bold";
    case HOGMF_LR_ADAGRAD: return "adagrad";
    }
    return "unknown";
}

static const char *pin_name(hogmf_pin p)
{
    return p == HOGMF_PIN_COMPACT ? "compact" : p == HOGMF_PIN_SPREAD ? "spread" : "none";
}

int cmd_info(int argc, char **argv)
{
    enum { O_JSON = 256 };
    static const struct option opts[] = {{"json", no_argument, 0, O_JSON},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_unknown_option("info", argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("info", "expected one MODEL, found %d", argc - optind);
    const char *path = argv[optind];
    hogmf_model *mo = NULL;
    hogmf_error err = {0};
    if (hogmf_model_load(path, &mo, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    struct stat sb;
    uint64_t bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    const hogmf_params *p = &mo->params;
    int clipped = !(mo->rmin == -FLT_MAX && mo->rmax == FLT_MAX);
    if (json) {
        cli_out o;
        cli_out_init(&o, 1, 0);
        cli_json_begin(&o, "info");
        cli_json_str("model", path);
        cli_json_uint("bytes", bytes);
        cli_json_uint("users", mo->m);
        cli_json_uint("items", mo->n);
        cli_json_uint("k", mo->k);
        cli_json_uint("ratings", mo->nnz);
        cli_json_float("mu", mo->mu);
        if (clipped)
            cli_json_float("rating_min", mo->rmin);
        else
            cli_json_str("rating_min", NULL);
        if (clipped)
            cli_json_float("rating_max", mo->rmax);
        else
            cli_json_str("rating_max", NULL);
        cli_json_uint("epochs", p->epochs);
        cli_json_uint("epochs_run", mo->epochs_run);
        cli_json_uint("best_epoch", mo->best_epoch);
        cli_json_float("lr", p->lr);
        cli_json_float("lr_decay", p->lr_decay);
        cli_json_str("schedule_lr", lr_schedule_name(p->schedule_lr));
        cli_json_float("l1_p", p->l1_p);
        cli_json_float("l1_q", p->l1_q);
        cli_json_uint("nonneg", (uint64_t)(p->nonneg != 0));
        cli_json_str("order", p->order == HOGMF_ORDER_SHUFFLE ? "shuffle" : "blocks");
        cli_json_str("schedule", p->schedule == HOGMF_SCHEDULE_BLOCKS ? "blocks" : "hogwild");
        cli_json_str("pin", pin_name(p->pin));
        cli_json_uint("deterministic", (uint64_t)(p->deterministic != 0));
        cli_json_float("lambda_b", p->lambda_b);
        cli_json_float("lambda_p", p->lambda_p);
        cli_json_float("lambda_q", p->lambda_q);
        cli_json_float("init_sd", p->init_sd);
        cli_json_uint("threads", (uint64_t)(p->threads > 0 ? p->threads : 0));
        cli_json_uint("seed", p->seed);
        cli_json_num("tol", p->tol);
        cli_json_uint("patience", p->patience);
        cli_json_num("train_rmse", mo->train_rmse);
        cli_json_num("valid_rmse", mo->valid_rmse);
        cli_json_end();
        hogmf_model_free(&mo);
        return EXIT_OK;
    }
    char a[32], b[32], d[32];
    printf("model        %s (%llu bytes)\n", path, (unsigned long long)bytes);
    printf("users        %u\n", mo->m);
    printf("items        %u\n", mo->n);
    printf("factors      %u\n", mo->k);
    printf("ratings      %llu (training)\n", (unsigned long long)mo->nnz);
    printf("mean         %s\n", fl(a, sizeof a, mo->mu));
    if (clipped)
        printf("range        %s .. %s (predictions are clipped to it)\n",
               fl(a, sizeof a, mo->rmin), fl(b, sizeof b, mo->rmax));
    else
        printf("range        none (predictions are not clipped)\n");
    if (mo->epochs_run == 0) {
        printf("trained      no: imported (no training options or RMSE recorded)\n");
        hogmf_model_free(&mo);
        return EXIT_OK;
    }
    printf("epochs       %u run of at most %u; the model is epoch %u's\n", mo->epochs_run,
           p->epochs, mo->best_epoch);
    printf("lr           %s, schedule %s (decay %s)\n", fl(a, sizeof a, p->lr),
           lr_schedule_name(p->schedule_lr), fl(b, sizeof b, p->lr_decay));
    printf("reg          bias %s, P %s, Q %s\n", fl(a, sizeof a, p->lambda_b),
           fl(b, sizeof b, p->lambda_p), fl(d, sizeof d, p->lambda_q));
    if (p->l1_p > 0 || p->l1_q > 0)
        printf("l1           P %s, Q %s\n", fl(a, sizeof a, p->l1_p), fl(b, sizeof b, p->l1_q));
    if (p->nonneg)
        printf("nonneg       yes (factors kept >= 0)\n");
    printf("init_sd      %s\n", fl(a, sizeof a, p->init_sd));
    printf("parallel     schedule %s, order %s, pin %s%s\n",
           p->deterministic ? "deterministic"
           : p->schedule == HOGMF_SCHEDULE_BLOCKS ? "blocks" : "hogwild",
           p->order == HOGMF_ORDER_SHUFFLE ? "shuffle" : "blocks", pin_name(p->pin),
           p->deterministic ? " (rounds of tiles: the same model for any thread count)" : "");
    if (p->threads > 0)
        printf("threads      %d\n", p->threads);
    else
        printf("threads      all cores\n");
    printf("seed         %llu\n", (unsigned long long)p->seed);
    printf("early stop   tol %g, patience %u%s\n", p->tol, p->patience,
           p->patience ? "" : " (never)");
    printf("train_rmse   %.6f\n", mo->train_rmse);
    if (isnan(mo->valid_rmse))
        printf("valid_rmse   - (trained without validation)\n");
    else
        printf("valid_rmse   %.6f\n", mo->valid_rmse);
    hogmf_model_free(&mo);
    return EXIT_OK;
}
