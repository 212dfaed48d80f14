/*
 * batch.c - what `hogmf train` needs to run unattended: the training loop driven epoch by
 * epoch so that it can write checkpoints (every N epochs, and when SIGINT or SIGTERM asks it
 * to stop) and resume from one, and the memory estimates that refuse a job before it starts.
 * The signal handler only sets a flag; everything else happens between epochs.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t stop_signal; /* the first SIGINT or SIGTERM received, or 0 */

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* The first signal asks for a stop after the current epoch; SA_RESETHAND restores the
 * default action, so a second one kills at once (the last checkpoint stays intact). */
static void signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void signals_restore(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

/* ---------------------------------------------------------------- sizes */

int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] < '0' || s[0] > '9')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        goto bad;
    int shift = 0;
    if (*end) {
        const char *units = "KMGT";
        char c = (char)(end[0] & ~0x20); /* upper case */
        const char *u = c ? strchr(units, c) : NULL;
        if (!u)
            goto bad;
        shift = 10 * (int)(u - units + 1);
        end++;
        if ((end[0] | 0x20) == 'i' && (end[1] | 0x20) == 'b')
            end += 2;
        else if ((end[0] | 0x20) == 'b')
            end++;
        if (*end)
            goto bad;
    }
    if (v > (UINT64_MAX >> shift) || v == 0)
        goto bad;
    *out = (uint64_t)v << shift;
    return 0;
bad:
    cli_usage_error(cmd, "%s: expected a positive size such as 512M, 4G or 1048576, found '%s'",
                    opt, s);
    return -1;
}

/* A size for people: "812.4 MiB", "3.20 GiB", "1.0 KiB", "100 bytes". */
static const char *human(uint64_t bytes, char *buf, size_t cap)
{
    double b = (double)bytes;
    if (b >= 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024)
        snprintf(buf, cap, "%.1f MiB", b / (1024.0 * 1024));
    else if (b >= 1024.0)
        snprintf(buf, cap, "%.1f KiB", b / 1024.0);
    else
        snprintf(buf, cap, "%llu bytes", (unsigned long long)bytes);
    return buf;
}

static void json_memory(cli_out *o, const char *phase, uint64_t bytes, uint64_t limit)
{
    if (!o->json)
        return;
    cli_json_begin(o, "memory");
    cli_json_str("phase", phase);
    cli_json_uint("bytes", bytes);
    if (limit)
        cli_json_uint("limit", limit);
    else
        cli_json_str("limit", NULL);
    cli_json_end();
}

int cli_memory_check_read(cli_out *o, const cli_batch *b, const char *path)
{
    hogmf_read_estimate est;
    hogmf_error err = {0};
    char need[32], size[32], limit[32];
    if (hogmf_ratings_estimate(path, &est, &err) != HOGMF_OK)
        return cli_report(&err, 0);
    if (est.memory == 0) {
        cli_note(o, "memory: %s: size unknown (not a regular file); no estimate", path);
        return EXIT_OK;
    }
    cli_note(o, "memory: reading %s needs about %s (about %llu ratings in %s%s)", path,
             human(est.memory, need, sizeof need), (unsigned long long)est.nnz,
             human(est.file_bytes, size, sizeof size), est.compressed ? " of gzip" : "");
    json_memory(o, "read", est.memory, b->max_memory);
    if (b->max_memory && est.memory > b->max_memory) {
        cli_bar_clear(o);
        fprintf(stderr,
                "hogmf: %s: reading it needs about %s (about %llu ratings), more than "
                "--max-memory %s\n",
                path, need, (unsigned long long)est.nnz,
                human(b->max_memory, limit, sizeof limit));
        cli_json_error("more memory needed than --max-memory allows", EXIT_INPUT);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

int cli_memory_check_train(cli_out *o, const cli_batch *b, const hogmf_ratings *train,
                           const hogmf_ratings *valid, const hogmf_params *p)
{
    uint64_t vnnz = valid ? valid->nnz : 0;
    uint64_t bytes = hogmf_estimate_memory(train->nnz, train->m, train->n, vnnz, p);
    char need[32], limit[32];
    human(bytes, need, sizeof need);
    cli_note(o, "memory: training needs about %s (%zu ratings, %u users, %u items, %u factors)",
             need, train->nnz, train->m, train->n, p->k);
    json_memory(o, "train", bytes, b->max_memory);
    if (b->max_memory && bytes > b->max_memory) {
        cli_bar_clear(o);
        fprintf(stderr,
                "hogmf: training needs about %s (%zu ratings, %u users, %u items, %u factors), "
                "more than --max-memory %s\n",
                need, train->nnz, train->m, train->n, p->k,
                human(b->max_memory, limit, sizeof limit));
        cli_json_error("more memory needed than --max-memory allows", EXIT_INPUT);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

/* ---------------------------------------------------------------- the loop */

static hogmf_status save(cli_out *o, const hogmf_trainer *t, const char *path, hogmf_error *err)
{
    hogmf_status st = hogmf_checkpoint_save(t, path, err);
    if (st == HOGMF_OK && o->json) {
        cli_json_begin(o, "checkpoint");
        cli_json_str("path", path);
        cli_json_uint("epoch", hogmf_trainer_model(t)->epochs_run);
        cli_json_end();
    }
    return st;
}

/* Writes the model at the end of training while the signal handlers still stand. When the
 * write fails (a full disk, /dev/full) or SIGINT/SIGTERM arrives meanwhile, the run is kept
 * in a checkpoint (unless `saved`: one of this state was just written). Returns the exit
 * code after reporting: EXIT_OK, EXIT_INTERRUPTED or that of the failure. */
static int write_model(cli_out *o, const cli_batch *b, const hogmf_trainer *t,
                       const hogmf_params *p, int saved)
{
    hogmf_error merr = {0}, cerr = {0};
    hogmf_status ms = hogmf_trainer_save_model(t, b->model_path, &merr);
    if (ms == HOGMF_OK && !stop_signal)
        return EXIT_OK;
    hogmf_status cs = saved ? HOGMF_OK : save(o, t, b->checkpoint, &cerr);
    cli_bar_clear(o);
    if (ms != HOGMF_OK) {
        int rc = cli_report(&merr, 1);
        if (cs == HOGMF_OK)
            fprintf(stderr,
                    "hogmf: the trained state is kept in the checkpoint %s; write the model "
                    "elsewhere with the same options, --resume %s and another -o\n",
                    b->checkpoint, b->checkpoint);
        else
            cli_report(&cerr, 1);
        return rc;
    }
    if (cs != HOGMF_OK)
        return cli_report(&cerr, 1);
    const char *name = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
    uint32_t done = hogmf_trainer_model(t)->epochs_run;
    fprintf(stderr,
            "hogmf: stopped by %s while writing the model after epoch %u of %u (the model was "
            "written to %s); checkpoint written to %s; continue with the same options and "
            "--resume %s\n",
            name, done, p->epochs, b->model_path, b->checkpoint, b->checkpoint);
    if (o->json) {
        cli_json_begin(o, "interrupted");
        cli_json_str("signal", name);
        cli_json_uint("epoch", done);
        cli_json_str("checkpoint", b->checkpoint);
        cli_json_end();
    }
    return EXIT_INTERRUPTED;
}

int cli_batch_train(cli_out *o, const cli_batch *b, hogmf_ratings *train,
                    const hogmf_ratings *valid, const hogmf_params *p, hogmf_model **out)
{
    *out = NULL;
    hogmf_trainer *t = NULL;
    hogmf_error err = {0};
    int writing = 0; /* a failure is the checkpoint's write (internal), not the input's */
    hogmf_status st;
    stop_signal = 0;
    signals_install();
    if (b->resume) {
        st = hogmf_trainer_resume(train, valid, p, b->resume, &t, &err);
        if (st == HOGMF_OK)
            cli_note(o, "resuming from %s after epoch %u of %u", b->resume,
                     hogmf_trainer_model(t)->epochs_run, p->epochs);
    } else {
        st = hogmf_trainer_new(train, valid, p, &t, &err);
    }
    uint32_t since_save = 0;
    while (st == HOGMF_OK && !hogmf_trainer_done(t) && !stop_signal) {
        hogmf_epoch_stats es;
        if ((st = hogmf_trainer_epoch(t, &es, &err)) != HOGMF_OK)
            break;
        if (p->on_epoch && p->on_epoch(p->ctx, &es)) {
            err.status = st = HOGMF_ERR_STOPPED;
            snprintf(err.msg, sizeof err.msg, "training stopped after epoch %u", es.epoch);
            break;
        }
        since_save++;
        if (b->every && since_save >= b->every && !hogmf_trainer_done(t) && !stop_signal) {
            writing = 1;
            if ((st = save(o, t, b->checkpoint, &err)) != HOGMF_OK)
                break;
            writing = 0;
            since_save = 0;
        }
    }
    int rc = EXIT_OK;
    if (st == HOGMF_OK && stop_signal) {
        /* Stopped between epochs: the state is complete; save it and say how to go on. */
        int sig = stop_signal;
        writing = 1;
        st = save(o, t, b->checkpoint, &err);
        if (st == HOGMF_OK) {
            uint32_t done = hogmf_trainer_model(t)->epochs_run;
            const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
            cli_bar_clear(o);
            fprintf(stderr,
                    "hogmf: stopped by %s after epoch %u of %u; checkpoint written to %s; "
                    "continue with the same options and --resume %s\n",
                    name, done, p->epochs, b->checkpoint, b->checkpoint);
            if (o->json) {
                cli_json_begin(o, "interrupted");
                cli_json_str("signal", name);
                cli_json_uint("epoch", done);
                cli_json_str("checkpoint", b->checkpoint);
                cli_json_end();
            }
            rc = EXIT_INTERRUPTED;
        }
    } else if (st == HOGMF_OK) {
        /* The final state too, so that a job killed while the model is being written
         * resumes straight to the end. */
        int saved = 0; /* a checkpoint of this final state exists */
        if (b->every && since_save > 0) {
            writing = 1;
            st = save(o, t, b->checkpoint, &err);
            saved = st == HOGMF_OK;
        }
        if (st == HOGMF_OK && b->model_path)
            rc = write_model(o, b, t, p, saved);
        if (st == HOGMF_OK && rc == EXIT_OK)
            st = hogmf_trainer_finish(t, out, &err);
    }
    if (st != HOGMF_OK) {
        cli_bar_clear(o);
        rc = cli_report(&err, writing);
    }
    hogmf_trainer_free(&t);
    signals_restore();
    return rc;
}
