/*
 * progress.c - how a long command reports while it works: on a terminal, a progress bar
 * with rate and ETA on the last line of stderr; off a terminal (batch jobs, CI), plain lines
 * only; nothing with --quiet; and with --json, one JSON object per event on stdout.
 * It only formats and prints: reading and training stay in the library.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define BAR_DELAY 0.25     /* seconds before a load shows a bar (small files never do) */
#define BAR_INTERVAL 0.1   /* seconds between redraws of a bar */
#define PLAIN_INTERVAL 10.0 /* seconds between plain progress lines of a long load */
#define JSON_INTERVAL 1.0  /* seconds between JSON progress events of a long load */

/* The reporter whose --json errors cli_report also sends as events. */
static cli_out *json_errors;

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_out_init(cli_out *o, int quiet, int json)
{
    memset(o, 0, sizeof *o);
    o->quiet = quiet;
    o->json = json;
    const char *term = getenv("TERM");
    o->tty = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
    o->t0 = cli_now();
    json_errors = json ? o : NULL;
}

/* ---------------------------------------------------------------- JSON events */

static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p < 32 || *p == 127)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

void cli_json_begin(cli_out *o, const char *event)
{
    printf("{\"event\": ");
    json_string(event);
    printf(", \"time\": %.3f", cli_now() - o->t0);
}

void cli_json_str(const char *key, const char *value)
{
    printf(", \"%s\": ", key);
    if (value)
        json_string(value);
    else
        fputs("null", stdout);
}

void cli_json_num(const char *key, double value)
{
    if (isfinite(value))
        printf(", \"%s\": %.17g", key, value);
    else
        printf(", \"%s\": null", key);
}

void cli_json_float(const char *key, float value)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)value);
        if (strtof(buf, NULL) == value)
            break;
    }
    if (isfinite(value))
        printf(", \"%s\": %s", key, buf);
    else
        printf(", \"%s\": null", key);
}

void cli_json_uint(const char *key, uint64_t value)
{
    printf(", \"%s\": %llu", key, (unsigned long long)value);
}

void cli_json_end(void)
{
    fputs("}\n", stdout);
    fflush(stdout);
}

void cli_json_error(const char *msg, int code)
{
    if (!json_errors)
        return;
    cli_json_begin(json_errors, "error");
    cli_json_str("message", msg);
    cli_json_uint("exit", (uint64_t)code);
    cli_json_end();
}

/* ---------------------------------------------------------------- the bar */

static int term_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* "m:ss" or "h:mm:ss"; "?" when unknown. */
static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s) || s < 0 || s > 1e7) {
        snprintf(buf, cap, "?");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%lu:%02lu", t / 60, t % 60);
}

void cli_bar_clear(cli_out *o)
{
    if (o->bar_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        o->bar_shown = 0;
    }
}

/* Draws "LABEL [#####     ] SUFFIX" on the last line; fraction < 0 draws no bar. */
static void bar_draw(cli_out *o, const char *label, double fraction, const char *suffix)
{
    int cols = term_columns();
    int fixed = (int)strlen(label) + (int)strlen(suffix) + 4;
    int width = cols - 1 - fixed;
    if (width > 40)
        width = 40;
    char bar[48];
    int nb = 0;
    if (fraction >= 0 && width >= 8) {
        int fill = (int)(fraction * width + 0.5);
        fill = fill < 0 ? 0 : fill > width ? width : fill;
        bar[nb++] = '[';
        for (int j = 0; j < width; j++)
            bar[nb++] = j < fill ? '#' : ' ';
        bar[nb++] = ']';
    }
    bar[nb] = '\0';
    char line[512];
    snprintf(line, sizeof line, "%s %s %s", label, bar, suffix);
    if ((int)strlen(line) > cols - 1)
        line[cols - 1] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    o->bar_shown = 1;
}

/* ---------------------------------------------------------------- lines */

static void vnote(cli_out *o, const char *prefix, const char *fmt, va_list ap)
{
    cli_bar_clear(o);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_note(cli_out *o, const char *fmt, ...)
{
    if (o->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vnote(o, "hogmf: ", fmt, ap);
    va_end(ap);
}

void cli_warn(cli_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vnote(o, "hogmf: warning: ", fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- reading */

static void on_read(void *vctx, uint64_t done, uint64_t total)
{
    cli_out *o = vctx;
    double now = cli_now(), dt = now - o->phase_t0;
    double rate = dt > 0 ? (double)done / dt : 0;
    double eta = total && rate > 0 && done <= total ? (double)(total - done) / rate : NAN;
    if (o->json && now - o->last_json >= JSON_INTERVAL) {
        o->last_json = now;
        cli_json_begin(o, "read_progress");
        cli_json_str("path", o->what);
        cli_json_uint("bytes_done", done);
        if (total)
            cli_json_uint("bytes_total", total);
        else
            cli_json_str("bytes_total", NULL);
        cli_json_num("bytes_per_second", rate);
        cli_json_num("eta_seconds", eta);
        cli_json_end();
    }
    if (o->quiet)
        return;
    char etas[32];
    fmt_duration(etas, sizeof etas, eta);
    if (o->tty) {
        if (dt < BAR_DELAY || now - o->last_draw < BAR_INTERVAL)
            return;
        o->last_draw = now;
        char label[96], suffix[128];
        const char *base = strrchr(o->what, '/');
        snprintf(label, sizeof label, "reading %.60s",
                 strcmp(o->what, "-") == 0 ? "standard input" : base ? base + 1 : o->what);
        if (total)
            snprintf(suffix, sizeof suffix, "%3.0f%%  %.1f MB  %.1f MB/s  ETA %s",
                     100.0 * (double)done / (double)total, (double)done / 1e6, rate / 1e6, etas);
        else
            snprintf(suffix, sizeof suffix, "%.1f MB  %.1f MB/s", (double)done / 1e6,
                     rate / 1e6);
        bar_draw(o, label, total ? (double)done / (double)total : -1, suffix);
    } else if (now - o->last_draw >= PLAIN_INTERVAL) {
        o->last_draw = now;
        if (total)
            fprintf(stderr, "hogmf: reading %s: %.1f of %.1f MB (%.0f%%), %.1f MB/s, ETA %s\n",
                    o->what, (double)done / 1e6, (double)total / 1e6,
                    100.0 * (double)done / (double)total, rate / 1e6, etas);
        else
            fprintf(stderr, "hogmf: reading %s: %.1f MB, %.1f MB/s\n", o->what,
                    (double)done / 1e6, rate / 1e6);
    }
}

hogmf_status cli_read(cli_out *o, const char *path, const hogmf_read_options *ro,
                      hogmf_ratings *out, hogmf_error *err)
{
    hogmf_read_options opts = ro ? *ro : hogmf_read_options_default();
    opts.progress = on_read;
    opts.progress_ctx = o;
    o->what = path;
    o->phase_t0 = o->last_draw = o->last_json = cli_now();
    hogmf_status st = hogmf_ratings_read(path, &opts, out, err);
    cli_bar_clear(o);
    o->read_seconds = cli_now() - o->phase_t0;
    if (st == HOGMF_OK && o->json) {
        cli_json_begin(o, "read");
        cli_json_str("path", path);
        cli_json_uint("ratings", out->nnz);
        cli_json_uint("users", out->m);
        cli_json_uint("items", out->n);
        cli_json_str("format", hogmf_format_name(out->format));
        cli_json_float("rating_min", out->rmin);
        cli_json_float("rating_max", out->rmax);
        cli_json_uint("duplicates", out->duplicates);
        cli_json_uint("bytes", out->bytes);
        cli_json_num("seconds", o->read_seconds);
        cli_json_end();
    }
    return st;
}

/* ---------------------------------------------------------------- training */

void cli_train_begin(cli_out *o, const hogmf_params *p, size_t train_nnz, size_t valid_nnz)
{
    o->epochs = p->epochs;
    o->phase_t0 = o->last_draw = cli_now();
    if (!o->json)
        return;
    cli_json_begin(o, "train");
    cli_json_uint("k", p->k);
    cli_json_uint("epochs", p->epochs);
    cli_json_float("lr", p->lr);
    cli_json_float("lr_decay", p->lr_decay);
    cli_json_float("lambda_b", p->lambda_b);
    cli_json_float("lambda_p", p->lambda_p);
    cli_json_float("lambda_q", p->lambda_q);
    cli_json_float("init_sd", p->init_sd);
    cli_json_uint("threads", (uint64_t)(p->threads > 0 ? p->threads : 0));
    cli_json_uint("seed", p->seed);
    cli_json_uint("patience", p->patience);
    cli_json_num("tol", p->tol);
    cli_json_uint("train_ratings", train_nnz);
    cli_json_uint("valid_ratings", valid_nnz);
    cli_json_end();
}

void cli_epoch(cli_out *o, const hogmf_epoch_stats *s)
{
    double now = cli_now(), elapsed = now - o->phase_t0;
    uint32_t left = o->epochs > s->epoch ? o->epochs - s->epoch : 0;
    double eta = s->epoch ? elapsed / s->epoch * left : NAN;
    if (o->json) {
        cli_json_begin(o, "epoch");
        cli_json_uint("epoch", s->epoch);
        cli_json_uint("epochs", o->epochs);
        cli_json_num("train_rmse", s->train_rmse);
        cli_json_num("valid_rmse", s->valid_rmse);
        cli_json_num("train_mae", s->train_mae);
        cli_json_num("valid_mae", s->valid_mae);
        cli_json_num("epoch_seconds", s->epoch_seconds);
        cli_json_num("updates_per_second", s->updates_per_second);
        cli_json_float("lr", s->lr);
        cli_json_num("eta_seconds", eta);
        cli_json_end();
    }
    if (o->quiet)
        return;
    char valid[32];
    if (isnan(s->valid_rmse))
        snprintf(valid, sizeof valid, "%8s", "-");
    else
        snprintf(valid, sizeof valid, "%8.5f", s->valid_rmse);
    cli_bar_clear(o);
    fprintf(stderr, "epoch %4u  train_rmse %8.5f  valid_rmse %s  %8.3f s  %8.2f Mupd/s\n",
            s->epoch, s->train_rmse, valid, s->epoch_seconds, s->updates_per_second / 1e6);
    if (o->tty && left > 0) {
        char label[32], suffix[128], el[32], et[32];
        fmt_duration(el, sizeof el, elapsed);
        fmt_duration(et, sizeof et, eta);
        snprintf(label, sizeof label, "training");
        snprintf(suffix, sizeof suffix, "%u/%u epochs  %.2f Mupd/s  elapsed %s  ETA %s",
                 s->epoch, o->epochs, s->updates_per_second / 1e6, el, et);
        bar_draw(o, label, o->epochs ? (double)s->epoch / o->epochs : -1, suffix);
    }
    fflush(stderr);
}

void cli_train_end(cli_out *o, const hogmf_model *model, const char *model_path)
{
    cli_bar_clear(o);
    if (!o->json)
        return;
    cli_json_begin(o, "done");
    cli_json_uint("epochs_run", model->epochs_run);
    cli_json_uint("best_epoch", model->best_epoch);
    cli_json_num("train_rmse", model->train_rmse);
    cli_json_num("valid_rmse", model->valid_rmse);
    cli_json_num("seconds", cli_now() - o->phase_t0);
    cli_json_str("model", model_path);
    cli_json_end();
}
