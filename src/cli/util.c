/*
 * util.c - helpers shared by the subcommands: strict parsing of option values, the
 * mapping from library status to exit code and message, and the checks that no output
 * overwrites an input and that every output can be created before the work starts.
 */
#include "cli.h"

#include <errno.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int cli_unknown_option(const char *cmd, char **argv)
{
    /* getopt sets optopt to the rejected short option (0 for an unknown long one), whose
     * group (-qZ, -Zq) argv[optind - 1] need not be; a long option is named as written. */
    const char *last = argv[optind - 1];
    if (optopt == 0)
        return cli_usage_error(cmd, "unknown option '%s'", last);
    if (!strncmp(last, "--", 2) && strchr(last, '='))
        return cli_usage_error(cmd, "'%s': the option takes no value", last);
    if (optopt < 256)
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return cli_usage_error(cmd, "unknown option '%s'", last);
}

/* ---------------------------------------------------------------- paths */

/* Where path's data lives: the device and inode of what it names (symlinks followed), or,
 * when it does not exist yet, the canonical name it would get. 0, or -1 when neither. */
typedef struct file_id {
    int exists;
    dev_t dev;
    ino_t ino;
    char canon[PATH_MAX + 256];
} file_id;

static int file_id_of(const char *path, file_id *id)
{
    struct stat sb;
    memset(id, 0, sizeof *id);
    if (stat(path, &sb) == 0) {
        id->exists = 1;
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
        return 0;
    }
    char *dir = strdup(path);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    char real[PATH_MAX];
    int rc = -1;
    if (realpath(dir, real)) {
        snprintf(id->canon, sizeof id->canon, "%s/%s", real, base);
        rc = 0;
    }
    free(dir);
    return rc;
}

static int same_file(const file_id *a, const file_id *b)
{
    if (a->exists != b->exists)
        return 0;
    return a->exists ? a->dev == b->dev && a->ino == b->ino : strcmp(a->canon, b->canon) == 0;
}

int cli_check_paths(const char *cmd, const cli_path *in, int nin, const cli_path *out, int nout)
{
    for (int o = 0; o < nout; o++) {
        if (!out[o].path)
            continue;
        if (!strcmp(out[o].path, "-"))
            return cli_usage_error(cmd, "%s -: expected a file name ('-' is not standard "
                                        "output here)", out[o].what);
        file_id oid, other;
        if (file_id_of(out[o].path, &oid) != 0)
            continue; /* its folder is missing: writing it reports that */
        for (int j = 0; j < nin; j++) {
            if (!in[j].path || !strcmp(in[j].path, "-") || file_id_of(in[j].path, &other) ||
                !same_file(&oid, &other))
                continue;
            fprintf(stderr, "hogmf %s: %s %s is also the %s %s; refusing to overwrite an input\n",
                    cmd, out[o].what, out[o].path, in[j].what, in[j].path);
            cli_json_error("an output is also an input", EXIT_INPUT);
            return EXIT_INPUT;
        }
        for (int j = 0; j < o; j++) {
            if (!out[j].path || file_id_of(out[j].path, &other) || !same_file(&oid, &other))
                continue;
            fprintf(stderr, "hogmf %s: %s %s is also the %s %s; give each output its own file\n",
                    cmd, out[o].what, out[o].path, out[j].what, out[j].path);
            cli_json_error("two outputs are the same file", EXIT_INPUT);
            return EXIT_INPUT;
        }
    }
    return EXIT_OK;
}

int cli_check_creatable(const char *cmd, const char *what, const char *path)
{
    hogmf_error err = {0};
    if (hogmf_output_check(path, &err) == HOGMF_OK)
        return EXIT_OK;
    fprintf(stderr, "hogmf %s: %s %s\n", cmd, what, err.msg);
    cli_json_error(err.msg, EXIT_INPUT);
    return EXIT_INPUT;
}

void cli_shell_append(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(buf);
    const int plain =
        s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                          "_-./:=+,@%") == strlen(s);
#define PUT(ch)                                                                              \
    do {                                                                                     \
        if (len + 1 < cap)                                                                   \
            buf[len++] = (ch);                                                               \
    } while (0)
    PUT(' ');
    if (!plain)
        PUT('\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'' && !plain) { /* ' becomes '\'' */
            PUT('\'');
            PUT('\\');
            PUT('\'');
            PUT('\'');
        } else {
            PUT(*p);
        }
    }
    if (!plain)
        PUT('\'');
#undef PUT
    buf[len < cap ? len : cap - 1] = '\0';
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
