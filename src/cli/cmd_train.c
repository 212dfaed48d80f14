/*
 * cmd_train.c - `hogmf train`: reads the training (and validation) ratings, trains, prints
 * one line per epoch to stderr, writes the JSON-lines log and saves the model atomically.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char help[] =
    "usage: hogmf train [options] -o MODEL TRAIN_FILE\n"
    "\n"
    "Trains biased MF with Hogwild SGD. Prints one line per epoch to stderr: epoch, train\n"
    "RMSE, validation RMSE, seconds of SGD, million updates per second.\n"
    "\n"
    "options (defaults in brackets):\n"
    "  -o, --output MODEL     model file to write (required)\n";
/* Then the training options shared with cv, tune and impute (train_opts.c), then these. */
static const char help_more[] =
    "      --schedule S       hogwild (lock-free) or blocks (a thread holds its rows) [hogwild]\n"
    "      --order O          blocks: rows of tiles, new random order each epoch, data moved once;\n"
    "                         shuffle: a full reshuffle every epoch [blocks]\n"
    "      --pin P            thread pinning: none, compact or spread [none]\n"
    "      --validate FILE    validation ratings, evaluated after every epoch\n"
    "      --holdout F        hold out a seeded random fraction F of TRAIN_FILE for early\n"
    "                         stopping [0.05 without --validate; 0 trains on all of it\n"
    "                         for every epoch]\n"
    "      --auto [SECONDS]   for who will not tune: search the options on this data first,\n"
    "                         then train the winner on all of TRAIN_FILE. Successive halving\n"
    "                         over -k, --lr, --lr-decay, the --reg weights and --init-sd\n"
    "                         (those given stay as given) around the defaults and across\n"
    "                         tune's ranges, on a seeded 10% hold-out (--holdout F: F;\n"
    "                         --validate FILE: on FILE, which then also stops the final\n"
    "                         training early). The search takes SECONDS (planned from the\n"
    "                         time of an epoch), or without them 8 x --epochs epochs of one\n"
    "                         configuration, about 8 default runs' work, and at most 600 s.\n"
    "                         The choice and why go to stderr, the equivalent train command\n"
    "                         to stdout (with --json an \"auto\" event). A number right after\n"
    "                         --auto is SECONDS: write a file named 5 as ./5\n"
    "      --format FMT       auto, tsv, dat, csv or libmf [auto]\n"
    "      --ids I            auto, numeric or string ids [auto: strings when the first\n"
    "                         line's are not numbers]; string ids are kept in the model\n"
    "      --columns C        USER,ITEM,RATING[,TIMESTAMP] of a wider file: 1-based\n"
    "                         numbers or header names, '-' for no timestamp\n"
    "      --log FILE         write the epochs as JSON lines (keys epoch, train_rmse,\n"
    "                         valid_rmse, epoch_seconds, updates_per_second)\n"
    "  -q, --quiet            no progress, epoch or summary lines (warnings and errors stay)\n"
    "      --json             one JSON object per event on stdout: read, read_progress,\n"
    "                         train, epoch, done, error (see hogmf(1))\n"
    "      --checkpoint FILE  write the whole training state to FILE (atomically) every\n"
    "                         --checkpoint-every epochs and at the end [MODEL.ckpt, only\n"
    "                         when stopped by a signal]\n"
    "      --checkpoint-every N  epochs between checkpoints [1 with --checkpoint]\n"
    "      --resume FILE      continue from a checkpoint; give the same data and options\n"
    "                         (--epochs and --threads may change); with --threads 1, or\n"
    "                         --deterministic and any --threads, the model is\n"
    "                         bit-identical to an uninterrupted run\n"
    "      --max-memory SIZE  refuse the job when its estimated memory exceeds SIZE (bytes,\n"
    "                         or with K, M, G, T); the estimate is printed before reading\n"
    "                         and before training\n"
    "  -h, --help             this text\n"
    "\n"
    "SIGINT or SIGTERM stops after the current epoch and writes a checkpoint (a second one\n"
    "stops at once; the last checkpoint stays intact).\n"
    "\n"
    "exit codes: 0 ok, 1 internal error, 2 bad input or usage, 3 diverged,\n"
    "            4 stopped by SIGINT/SIGTERM after writing a checkpoint\n";

typedef struct train_ctx {
    int quiet, json;
    cli_out out; /* progress bar, plain lines or JSON events */
    const char *log_path;
    char *log_buf; /* every JSON line so far; the file is rewritten atomically each epoch */
    size_t log_len, log_cap;
    int log_failed;
} train_ctx;

static void on_log(void *vctx, int level, const char *msg)
{
    cli_bar_clear(&((train_ctx *)vctx)->out);
    fprintf(stderr, "hogmf: %s%s\n", level ? "warning: " : "", msg);
}

static void on_log_auto(void *vctx, int level, const char *msg)
{
    train_ctx *ctx = vctx;
    if (level > 0 || !ctx->quiet)
        on_log(vctx, level, msg);
}

static void json_num(char *buf, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.17g", v);
    else
        snprintf(buf, cap, "null");
}

static int on_epoch(void *vctx, const hogmf_epoch_stats *s)
{
    train_ctx *ctx = vctx;
    cli_epoch(&ctx->out, s);
    if (ctx->log_path && !ctx->log_failed) {
        char tr[32], va[32], sec[32], ups[32], line[256];
        json_num(tr, sizeof tr, s->train_rmse);
        json_num(va, sizeof va, s->valid_rmse);
        json_num(sec, sizeof sec, s->epoch_seconds);
        json_num(ups, sizeof ups, s->updates_per_second);
        int n = snprintf(line, sizeof line,
                         "{\"epoch\": %u, \"train_rmse\": %s, \"valid_rmse\": %s, "
                         "\"epoch_seconds\": %s, \"updates_per_second\": %s}\n",
                         s->epoch, tr, va, sec, ups);
        if (ctx->log_len + (size_t)n > ctx->log_cap) {
            size_t ncap = (ctx->log_cap + (size_t)n) * 2;
            char *p = realloc(ctx->log_buf, ncap);
            if (!p) {
                ctx->log_failed = 1;
                return 0;
            }
            ctx->log_buf = p;
            ctx->log_cap = ncap;
        }
        memcpy(ctx->log_buf + ctx->log_len, line, (size_t)n);
        ctx->log_len += (size_t)n;
        hogmf_error err = {0};
        if (hogmf_write_file_atomic(ctx->log_path, ctx->log_buf, ctx->log_len, &err) !=
            HOGMF_OK) {
            fprintf(stderr, "hogmf: warning: %s (the log is no longer written)\n", err.msg);
            ctx->log_failed = 1;
        }
    }
    return 0;
}

static int read_set(cli_out *o, const char *path, const hogmf_read_options *ro,
                    hogmf_ratings *out)
{
    hogmf_error err = {0};
    if (cli_read(o, path, ro, out, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    double dt = o->read_seconds;
    if (!o->quiet) {
        fprintf(stderr,
                "hogmf: read %s: %zu ratings, %u users, %u items, format %s, ratings %g..%g, "
                "%.2f s (%.1f MB/s)\n",
                path, out->nnz, out->m, out->n, hogmf_format_name(out->format),
                (double)out->rmin, (double)out->rmax, dt,
                dt > 0 ? (double)out->bytes / dt / 1e6 : 0.0);
        if (out->duplicates)
            fprintf(stderr, "hogmf: %s: %zu duplicate (user, item) pairs; the last one was kept\n",
                    path, out->duplicates);
    }
    return EXIT_OK;
}

int cmd_train(int argc, char **argv)
{
    enum {
        O_VALIDATE = 256, O_HOLDOUT, O_FORMAT, O_LOG, O_ORDER, O_SCHEDULE, O_PIN, O_JSON,
        O_CHECKPOINT, O_CHECKPOINT_EVERY, O_RESUME, O_MAX_MEMORY, O_AUTO
    };
    static const struct option opts[] = {
        CLI_TRAIN_LONGOPTS,
        {"output", required_argument, 0, 'o'},
        {"order", required_argument, 0, O_ORDER},
        {"schedule", required_argument, 0, O_SCHEDULE},
        {"pin", required_argument, 0, O_PIN},
        {"validate", required_argument, 0, O_VALIDATE},
        {"holdout", required_argument, 0, O_HOLDOUT},
        {"format", required_argument, 0, O_FORMAT}, {"log", required_argument, 0, O_LOG},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {"json", no_argument, 0, O_JSON},
        {"checkpoint", required_argument, 0, O_CHECKPOINT},
        {"checkpoint-every", required_argument, 0, O_CHECKPOINT_EVERY},
        {"resume", required_argument, 0, O_RESUME},
        {"max-memory", required_argument, 0, O_MAX_MEMORY},
        {"auto", optional_argument, 0, O_AUTO},
        CLI_READ_LONGOPTS,
        {0, 0, 0, 0}};
    hogmf_params p = hogmf_params_default();
    cli_train_opts to; /* the options shared with cv, tune and impute */
    cli_train_opts_init(&to, &p);
    const char *out_path = NULL, *valid_path = NULL;
    double holdout = -1; /* not given */
    hogmf_read_options ro = hogmf_read_options_default();
    train_ctx ctx = {0};
    cli_batch batch = {0};
    int every_set = 0, use_auto = 0;
    double auto_seconds = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:" CLI_TRAIN_SHORTOPTS "qh", opts, NULL)) != -1) {
        int r = cli_train_option("train", &to, c, optarg);
        if (r == 0)
            r = cli_read_option("train", &ro, c, optarg);
        if (r < 0)
            return EXIT_INPUT;
        if (r > 0)
            continue;
        switch (c) {
        case 'o': out_path = optarg; break;
        case O_VALIDATE: valid_path = optarg; break;
        case O_HOLDOUT:
            if (cli_parse_double("train", "--holdout", optarg, 0, 0.99, &holdout))
                return EXIT_INPUT;
            break;
        case O_FORMAT:
            if (cli_parse_format("train", optarg, &ro.format)) return EXIT_INPUT;
            break;
        case O_LOG: ctx.log_path = optarg; break;
        case O_ORDER:
            if (!strcmp(optarg, "shuffle"))
                p.order = HOGMF_ORDER_SHUFFLE;
            else if (!strcmp(optarg, "blocks"))
                p.order = HOGMF_ORDER_BLOCKS;
            else
                return cli_usage_error("train", "--order: expected shuffle or blocks, found '%s'",
                                       optarg);
            break;
        case O_SCHEDULE:
            if (!strcmp(optarg, "hogwild"))
                p.schedule = HOGMF_SCHEDULE_HOGWILD;
            else if (!strcmp(optarg, "blocks"))
                p.schedule = HOGMF_SCHEDULE_BLOCKS;
            else
                return cli_usage_error("train",
                                       "--schedule: expected hogwild or blocks, found '%s'", optarg);
            break;
        case O_PIN:
            if (!strcmp(optarg, "none"))
                p.pin = HOGMF_PIN_NONE;
            else if (!strcmp(optarg, "compact"))
                p.pin = HOGMF_PIN_COMPACT;
            else if (!strcmp(optarg, "spread"))
                p.pin = HOGMF_PIN_SPREAD;
            else
                return cli_usage_error("train",
                                       "--pin: expected none, compact or spread, found '%s'", optarg);
            break;
        case 'q': ctx.quiet = 1; break;
        case O_JSON: ctx.json = 1; break;
        case O_CHECKPOINT: batch.checkpoint = optarg; break;
        case O_CHECKPOINT_EVERY:
            if (cli_parse_u32("train", "--checkpoint-every", optarg, 1, 1000000, &batch.every))
                return EXIT_INPUT;
            every_set = 1;
            break;
        case O_RESUME: batch.resume = optarg; break;
        case O_AUTO:
            use_auto = 1;
            if (cli_auto_seconds("train", argc, argv, optarg, &auto_seconds))
                return EXIT_INPUT;
            break;
        case O_MAX_MEMORY:
            if (cli_parse_size("train", "--max-memory", optarg, &batch.max_memory))
                return EXIT_INPUT;
            break;
        case 'h':
            fputs(help, stdout);
            cli_train_help(stdout, &p);
            fputs(help_more, stdout);
            return EXIT_OK;
        case ':': return cli_usage_error("train", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("train", argv);
        }
    }
    cli_train_opts_finish(&to);
    ro.max_memory = batch.max_memory; /* enforced as the reader grows, whatever the estimate said */
    if (optind + 1 != argc)
        return cli_usage_error("train", "expected one TRAIN_FILE, found %d", argc - optind);
    if (!out_path)
        return cli_usage_error("train", "-o MODEL is required");
    if (valid_path && holdout > 0)
        return cli_usage_error("train", "--validate and --holdout exclude each other");
    if (use_auto && (batch.resume || batch.checkpoint))
        return cli_usage_error("train", "--auto: --resume and --checkpoint are for the training "
                                        "it prints; run that line with them");
    holdout = cli_holdout(holdout, valid_path != NULL, use_auto, &p);
    const char *train_path = argv[optind];
    /* Checkpoints go to --checkpoint, else back to the --resume file, else MODEL.ckpt; they
     * are written periodically only when asked for. */
    char default_ckpt[4096];
    if (batch.checkpoint && !every_set)
        batch.every = 1;
    if (!batch.checkpoint && !batch.resume) {
        snprintf(default_ckpt, sizeof default_ckpt, "%s.ckpt", out_path);
        batch.checkpoint = default_ckpt;
    } else if (!batch.checkpoint) {
        batch.checkpoint = batch.resume;
    }
#ifdef HOGMF_MPI
    if (cli_mpi_rank() > 0) { /* under mpirun only rank 0 prints and writes files */
        ctx.quiet = 1;
        ctx.json = 0;
        ctx.log_path = NULL;
    }
#endif
    cli_out_init(&ctx.out, ctx.quiet, ctx.json);
    /* No output may be an input or another output, and each must be creatable now, not
     * after the last epoch. The checkpoint may be the --resume file (it goes on there). */
    const cli_path ins[] = {{"TRAIN_FILE", train_path}, {"--validate file", valid_path},
                            {"--resume checkpoint", batch.resume}};
    const cli_path outs[] = {{"-o", out_path}, {"--log", ctx.log_path},
                             {"--checkpoint", batch.checkpoint}};
    int prc;
    if ((prc = cli_check_paths("train", ins, 3, outs, 2)) != EXIT_OK ||
        (prc = cli_check_paths("train", ins, 2, outs, 3)) != EXIT_OK)
        return prc;
    for (int j = 0; j < 3; j++) /* MODEL.ckpt, written only on a signal, is not required */
        if (outs[j].path && outs[j].path != default_ckpt &&
            (prc = cli_check_creatable("train", outs[j].what, outs[j].path)))
            return prc;

    hogmf_ratings all = {0}, train = {0}, valid = {0};
    hogmf_model *model = NULL;
    hogmf_error err = {0};
    int rc = cli_memory_check_read(&ctx.out, &batch, train_path);
    if (rc == EXIT_OK)
        rc = read_set(&ctx.out, train_path, &ro, &all);
    if (rc != EXIT_OK)
        goto done;
    if (holdout > 0 && !use_auto) {
        if (hogmf_ratings_split(&all, holdout, p.seed, &train, &valid, &err) != HOGMF_OK) {
            rc = cli_report(&err, 0);
            goto done;
        }
        hogmf_ratings_free(&all);
        if (!ctx.quiet)
            fprintf(stderr,
                    "hogmf: holding out %zu of %zu ratings for validation (early stopping; "
                    "--holdout 0 trains on all of them for every epoch)\n",
                    valid.nnz, valid.nnz + train.nnz);
    } else {
        train = all;
        memset(&all, 0, sizeof all);
        /* The validation file's ids are read as the training file's (string ids get the
         * same codes). */
        ro.ids = train.user_names ? HOGMF_IDS_STRING : HOGMF_IDS_NUMERIC;
        ro.user_names = train.user_names;
        ro.item_names = train.item_names;
        if (valid_path && ((rc = cli_memory_check_read(&ctx.out, &batch, valid_path)) != EXIT_OK ||
                           (rc = read_set(&ctx.out, valid_path, &ro, &valid)) != EXIT_OK))
            goto done;
    }
    if (use_auto) {
#ifdef HOGMF_MPI
        if (cli_mpi_rank() >= 0) {
            rc = cli_usage_error("train", "--auto does not run under mpirun; run it alone and "
                                          "give mpirun the line it prints");
            goto done;
        }
#endif
        hogmf_auto_params ap = hogmf_auto_params_default();
        cli_auto_params(&ap, &to, &p, holdout, auto_seconds);
        ap.space.base.log = on_log_auto;
        ap.space.base.ctx = &ctx;
        if ((rc = cli_auto_search(&ctx.out, &ap, &train, valid.nnz ? &valid : NULL, &p,
                                  valid_path, out_path, train_path)) != EXIT_OK)
            goto done;
    }
    if (valid.nnz == 0 && p.patience > 0 && !ctx.quiet && ((holdout > 0 && !use_auto) ||
                                                           valid_path))
        fprintf(stderr, "hogmf: warning: the validation set is empty; no early stopping\n");
    if ((rc = cli_memory_check_train(&ctx.out, &batch, &train, &valid, &p)) != EXIT_OK)
        goto done;
    p.log = on_log;
    p.on_epoch = on_epoch;
    p.ctx = &ctx;
    if (!ctx.quiet)
        fprintf(stderr, "hogmf: training k=%u epochs=%u lr=%g reg=%g/%g/%g threads=%d seed=%llu\n",
                p.k, p.epochs, (double)p.lr, (double)p.lambda_b, (double)p.lambda_p,
                (double)p.lambda_q, p.threads ? p.threads : cli_default_threads(),
                (unsigned long long)p.seed);
    cli_train_begin(&ctx.out, &p, train.nnz, valid.nnz);
#ifdef HOGMF_MPI
    if (cli_mpi_rank() >= 0) { /* started by mpirun: DSGD across the ranks (cli/mpi_train.c) */
        rc = cli_train_mpi(&ctx.out, &batch, &train, valid.nnz ? &valid : NULL, &p, &model);
        if (rc != EXIT_OK || !model) /* errors are reported; ranks other than 0 end here */
            goto done;
        if (hogmf_model_save(model, out_path, &err) != HOGMF_OK) {
            rc = cli_report(&err, 1);
            goto done;
        }
    } else
#endif
    { /* epoch by epoch, with checkpoints and signals, then the model (cli/batch.c); it
       * reports errors */
        batch.model_path = out_path;
        rc = cli_batch_train(&ctx.out, &batch, &train, valid.nnz ? &valid : NULL, &p, &model);
        if (rc != EXIT_OK)
            goto done;
    }
    cli_bar_clear(&ctx.out);
    if (!ctx.quiet) {
        if (valid.nnz)
            fprintf(stderr, "hogmf: best epoch %u of %u: train_rmse %.5f valid_rmse %.5f\n",
                    model->best_epoch, model->epochs_run, model->train_rmse, model->valid_rmse);
        else
            fprintf(stderr, "hogmf: %u epochs: train_rmse %.5f\n", model->epochs_run,
                    model->train_rmse);
    }
    if (!ctx.quiet)
        fprintf(stderr, "hogmf: wrote %s\n", out_path);
    if (use_auto && !ctx.quiet)
        fprintf(stderr, "hogmf: auto: %.1f s in all, %.1f s of it training the winner\n",
                cli_now() - ctx.out.t0, cli_now() - ctx.out.phase_t0);
    cli_train_end(&ctx.out, model, out_path);
done:
    hogmf_model_free(&model);
    hogmf_ratings_free(&all);
    hogmf_ratings_free(&train);
    hogmf_ratings_free(&valid);
    free(ctx.log_buf);
    return rc;
}
