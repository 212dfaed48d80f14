/*
 * util.c - helpers shared by the subcommands: strict parsing of option values and the
 * mapping from library status to exit code and message.
 */
#include "cli.h"

#include <errno.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int exit_code(const hogmf_error *err, int writing)
{
    switch (err->status) {
    case HOGMF_OK: return EXIT_OK;
    case HOGMF_ERR_DIVERGED: return EXIT_DIVERGED;
    case HOGMF_ERR_NOMEM: return EXIT_INTERNAL;
    case HOGMF_ERR_IO: return writing ? EXIT_INTERNAL : EXIT_INPUT;
    case HOGMF_ERR_STOPPED: return EXIT_INTERNAL;
    default: return EXIT_INPUT;
    }
}

int cli_report(const hogmf_error *err, int writing)
{
    const char *msg = err->msg[0] ? err->msg : hogmf_strerror(err->status);
    fprintf(stderr, "hogmf: %s\n", msg);
    int code = exit_code(err, writing);
    cli_json_error(msg, code);
    return code;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hogmf %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'hogmf %s --help'.\n", cmd);
    va_end(ap);
    return EXIT_INPUT;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        goto bad;
    *out = v;
    return 0;
bad:
    cli_usage_error(cmd, "%s: expected a non-negative integer, found '%s'", opt, s);
    return -1;
}

int cli_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t min, uint32_t max,
                  uint32_t *out)
{
    uint64_t v;
    if (cli_parse_u64(cmd, opt, s, &v) != 0)
        return -1;
    if (v < min || v > max) {
        cli_usage_error(cmd, "%s: expected an integer from %u to %u, found '%s'", opt, min, max,
                        s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!s[0] || errno || *end || !isfinite(v) || v < min || v > max) {
        cli_usage_error(cmd, "%s: expected a number from %g to %g, found '%s'", opt, min, max,
                        s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_format(const char *cmd, const char *s, hogmf_format *out)
{
    if (hogmf_format_parse(s, out) != 0) {
        cli_usage_error(cmd, "--format: expected auto, tsv, dat, csv or libmf, found '%s'", s);
        return -1;
    }
    return 0;
}

int cli_default_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

int cli_read_option(const char *cmd, hogmf_read_options *ro, int c, char *arg)
{
    hogmf_error err = {0};
    switch (c) {
    case CLI_OPT_IDS:
        if (hogmf_ids_parse(arg, &ro->ids) == 0)
            return 1;
        cli_usage_error(cmd, "--ids: expected auto, numeric or string, found '%s'", arg);
        return -1;
    case CLI_OPT_COLUMNS:
        if (hogmf_read_options_columns(ro, arg, &err) == 0)
            return 1;
        cli_usage_error(cmd, "%s", err.msg);
        return -1;
    default: return 0;
    }
}

void cli_read_for_model(hogmf_read_options *ro, const hogmf_model *model)
{
    ro->ids = model->user_names || model->item_names ? HOGMF_IDS_STRING : HOGMF_IDS_NUMERIC;
    ro->user_names = model->user_names;
    ro->item_names = model->item_names;
}

const char *cli_id(char *buf, size_t cap, const hogmf_names *names, uint32_t id)
{
    const char *name = hogmf_names_get(names, id, NULL);
    if (name)
        return name;
    snprintf(buf, cap, "%u", id);
    return buf;
}
