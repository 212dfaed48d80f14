/*
 * cmd_plot.c - `hogmf plot LOG.jsonl... -o curve.png`: training curves (train and validation
 * RMSE per epoch) from `train --log` files or `train --json` event streams, drawn by gnuplot
 * (run through a pipe with a generated script; the data goes inline). Nothing the user gave
 * reaches gnuplot as code: the picture goes to gnuplot's standard output (a temporary file),
 * so OUT is never named in the script, and titles are quoted with control characters
 * (a newline would end the command) replaced. It parses only the flat JSON objects hogmf
 * writes, and writes the picture atomically.
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char help[] =
    "usage: hogmf plot [options] -o OUT LOG [LOG...]\n"
    "\n"
    "Draws the training curves (train and validation RMSE per epoch) of one or more logs\n"
    "into OUT through gnuplot. A LOG is the JSON-lines file of 'hogmf train --log' or the\n"
    "stdout of 'hogmf train --json' (only its \"epoch\" events are used). The best\n"
    "validation epoch of each log is marked.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT    picture to write: .png (pngcairo) or .svg (required)\n"
    "      --title TEXT    title [the log's file name]\n"
    "      --size WxH      size in pixels [800x500]\n"
    "  -h, --help          this text\n"
    "\n"
    "gnuplot is found in PATH, or set HOGMF_GNUPLOT to its path (Debian: gnuplot-nox).\n"
    "\n"
    "exit codes: 0 ok, 1 gnuplot missing or failed, or a failed write,\n"
    "            2 malformed log, a log without epochs, bad usage\n";

/* ---------------------------------------------------------------- the logs */

typedef struct curve {
    const char *path;
    size_t count, cap;
    double *epoch, *train, *valid; /* valid NAN when the log has none */
} curve;

/* A flat JSON object: the fields a curve needs. */
typedef struct fields {
    int has_event, has_epoch, has_train, has_valid;
    char event[32];
    double epoch, train, valid;
} fields;

typedef struct jparse {
    const char *p, *end;
    const char *path;
    unsigned long line;
} jparse;

static void skip_ws(jparse *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static int jfail(const jparse *j, const char *expected)
{
    char found[24];
    size_t n = (size_t)(j->end - j->p);
    n = n > 16 ? 16 : n;
    size_t w = 0;
    for (size_t q = 0; q < n; q++)
        found[w++] = (j->p[q] >= 32 && j->p[q] < 127) ? j->p[q] : '?';
    found[w] = '\0';
    fprintf(stderr, "hogmf: %s:%lu: expected %s, found %s%s%s\n", j->path, j->line, expected,
            n ? "'" : "the end of the line", found, n ? "'" : "");
    return -1;
}

/* A string; its first cap-1 bytes (escapes kept as written) go to out when out != NULL. */
static int jstring(jparse *j, char *out, size_t cap)
{
    if (j->p >= j->end || *j->p != '"')
        return jfail(j, "a string");
    j->p++;
    size_t w = 0;
    while (j->p < j->end && *j->p != '"') {
        if (*j->p == '\\' && j->p + 1 < j->end)
            j->p++;
        if (out && w + 1 < cap)
            out[w++] = *j->p;
        j->p++;
    }
    if (j->p >= j->end)
        return jfail(j, "the end of the string '\"'");
    j->p++;
    if (out)
        out[w] = '\0';
    return 0;
}

/* A value: a number (into *num, *is_num = 1), null (*num = NAN), a string, true or false. */
static int jvalue(jparse *j, double *num, int *is_num, char *str, size_t cap)
{
    *is_num = 0;
    *num = NAN;
    if (j->p < j->end && *j->p == '"')
        return jstring(j, str, cap);
    static const char *const words[] = {"null", "true", "false"};
    for (int w = 0; w < 3; w++) {
        size_t n = strlen(words[w]);
        if ((size_t)(j->end - j->p) >= n && memcmp(j->p, words[w], n) == 0) {
            j->p += n;
            return 0;
        }
    }
    char buf[64];
    size_t n = 0;
    while (j->p + n < j->end && n < sizeof buf - 1 && strchr("0123456789+-.eE", j->p[n]))
        n++;
    memcpy(buf, j->p, n);
    buf[n] = '\0';
    char *e;
    errno = 0;
    double v = n ? strtod(buf, &e) : 0;
    if (n == 0 || *e || errno == ERANGE || !isfinite(v))
        return jfail(j, "a number, a string, true, false or null");
    j->p += n;
    *num = v;
    *is_num = 1;
    return 0;
}

static int parse_object(jparse *j, fields *f)
{
    memset(f, 0, sizeof *f);
    skip_ws(j);
    if (j->p >= j->end || *j->p != '{')
        return jfail(j, "a JSON object '{'");
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            char key[32];
            skip_ws(j);
            if (jstring(j, key, sizeof key))
                return -1;
            skip_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return jfail(j, "':'");
            j->p++;
            skip_ws(j);
            double num;
            int is_num;
            char str[32] = "";
            const char *at = j->p;
            if (jvalue(j, &num, &is_num, str, sizeof str))
                return -1;
            int null = !is_num && j->p - at == 4 && memcmp(at, "null", 4) == 0;
            if (strcmp(key, "event") == 0) {
                f->has_event = 1;
                snprintf(f->event, sizeof f->event, "%s", str);
            } else if (strcmp(key, "epoch") == 0 || strcmp(key, "train_rmse") == 0 ||
                       strcmp(key, "valid_rmse") == 0) {
                if (!is_num && !(null && key[0] == 'v')) {
                    j->p = at;
                    return jfail(j, key[0] == 'v' ? "valid_rmse: a number or null"
                                                  : key[0] == 't' ? "train_rmse: a number"
                                                                  : "epoch: a number");
                }
                if (key[0] == 'e') {
                    f->has_epoch = 1;
                    f->epoch = num;
                } else if (key[0] == 't') {
                    f->has_train = 1;
                    f->train = num;
                } else {
                    f->has_valid = 1;
                    f->valid = num;
                }
            }
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                break;
            }
            return jfail(j, "',' or '}'");
        }
    }
    skip_ws(j);
    if (j->p < j->end)
        return jfail(j, "the end of the line after the object");
    return 0;
}

static int push(curve *c, double e, double t, double v)
{
    if (c->count == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 64;
        double *a = realloc(c->epoch, ncap * sizeof *a);
        if (a)
            c->epoch = a;
        double *b = realloc(c->train, ncap * sizeof *b);
        if (b)
            c->train = b;
        double *d = realloc(c->valid, ncap * sizeof *d);
        if (d)
            c->valid = d;
        if (!a || !b || !d)
            return -1;
        c->cap = ncap;
    }
    c->epoch[c->count] = e;
    c->train[c->count] = t;
    c->valid[c->count] = v;
    c->count++;
    return 0;
}

/* Reads one log; returns an exit code. */
static int read_log(const char *path, curve *c)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "hogmf: %s: cannot open: %s\n", path, strerror(errno));
        return EXIT_INPUT;
    }
    c->path = path;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    jparse j = {0};
    j.path = path;
    int rc = EXIT_OK;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        j.line++;
        j.p = line;
        j.end = line + len;
        if (len > 0 && line[len - 1] == '\n')
            j.end--;
        skip_ws(&j);
        if (j.p == j.end)
            continue;
        fields f;
        if (parse_object(&j, &f) != 0) {
            rc = EXIT_INPUT;
            break;
        }
        if (f.has_event && strcmp(f.event, "epoch") != 0)
            continue;
        if (!f.has_epoch || !f.has_train) {
            fprintf(stderr, "hogmf: %s:%lu: expected the keys \"epoch\" and \"train_rmse\" "
                            "(a 'hogmf train --log' line), found an object without %s\n",
                    path, j.line, f.has_epoch ? "train_rmse" : "epoch");
            rc = EXIT_INPUT;
            break;
        }
        if (push(c, f.epoch, f.train, f.has_valid ? f.valid : NAN) != 0) {
            fprintf(stderr, "hogmf: %s: out of memory\n", path);
            rc = EXIT_INTERNAL;
            break;
        }
    }
    if (rc == EXIT_OK && ferror(fp)) {
        fprintf(stderr, "hogmf: %s: read error: %s\n", path, strerror(errno));
        rc = EXIT_INPUT;
    }
    if (rc == EXIT_OK && c->count == 0) {
        fprintf(stderr, "hogmf: %s: expected at least one epoch line, found none\n", path);
        rc = EXIT_INPUT;
    }
    free(line);
    if (fp != stdin)
        fclose(fp);
    return rc;
}

/* ---------------------------------------------------------------- gnuplot */

/* The gnuplot to run: $HOGMF_GNUPLOT, or "gnuplot" found in PATH; NULL when there is none. */
static char *find_gnuplot(void)
{
    const char *env = getenv("HOGMF_GNUPLOT");
    if (env && *env)
        return access(env, X_OK) == 0 ? strdup(env) : NULL;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char *cand = malloc(n + 10);
        if (!cand)
            return NULL;
        if (n == 0)
            strcpy(cand, "./gnuplot");
        else
            snprintf(cand, n + 10, "%.*s/gnuplot", (int)n, path);
        struct stat sb;
        if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path += n + (colon ? 1 : 0);
    }
    return NULL;
}

/* Writes s as a gnuplot single-quoted string ('' stands for '); a control character, which
 * would end the string's command (a newline) and start another, becomes '?'. */
static void gp_quote(FILE *gp, const char *s)
{
    fputc('\'', gp);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\'')
            fputc('\'', gp);
        fputc(c < 0x20 || c == 0x7f ? '?' : c, gp);
    }
    fputc('\'', gp);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The picture goes to gnuplot's standard output (no `set output`). */
static void write_script(FILE *gp, const curve *cs, int nc, int svg, unsigned w, unsigned h,
                         const char *title)
{
    fprintf(gp, "set terminal %s size %u,%u noenhanced font 'sans,10'\n",
            svg ? "svg" : "pngcairo", w, h);
    fputs("set title ", gp);
    gp_quote(gp, title);
    fputs("\nset xlabel 'epoch'\nset ylabel 'RMSE'\nset grid\nset key top right\n"
          "set datafile missing '?'\n"
          "set offsets graph 0.02, graph 0.02, graph 0.05, graph 0.05\n",
          gp);
    double maxe = 0;
    for (int c = 0; c < nc; c++)
        for (size_t r = 0; r < cs[c].count; r++)
            maxe = cs[c].epoch[r] > maxe ? cs[c].epoch[r] : maxe;
    if (maxe <= 20)
        fputs("set xtics 1\n", gp);
    for (int c = 0; c < nc; c++) {
        fprintf(gp, "$d%d << EOD\n", c);
        for (size_t r = 0; r < cs[c].count; r++) {
            fprintf(gp, "%.17g %.17g ", cs[c].epoch[r], cs[c].train[r]);
            if (isnan(cs[c].valid[r]))
                fputs("?\n", gp);
            else
                fprintf(gp, "%.17g\n", cs[c].valid[r]);
        }
        fputs("EOD\n", gp);
    }
    fputs("plot ", gp);
    int first = 1;
    for (int c = 0; c < nc; c++) {
        const curve *cv = &cs[c];
        char name[300];
        snprintf(name, sizeof name, "%s", nc > 1 ? base_name(cv->path) : "");
        size_t best = SIZE_MAX;
        for (size_t r = 0; r < cv->count; r++)
            if (!isnan(cv->valid[r]) && (best == SIZE_MAX || cv->valid[r] < cv->valid[best]))
                best = r;
        char label[400];
        /* One log: train and validation in two colours; several: one colour per log,
         * train dashed. */
        int ltrain = nc > 1 ? c + 1 : 1, lvalid = nc > 1 ? c + 1 : 2;
        fprintf(gp, "%s$d%d using 1:2 with linespoints lw 2 pt 7 ps 0.5 dt 2 lc %d title ",
                first ? "" : ", ", c, ltrain);
        snprintf(label, sizeof label, "train%s%s", nc > 1 ? " " : "", name);
        gp_quote(gp, label);
        first = 0;
        if (best != SIZE_MAX) {
            fprintf(gp, ", $d%d using 1:3 with linespoints lw 2 pt 7 ps 0.5 lc %d title ", c,
                    lvalid);
            snprintf(label, sizeof label, "validation%s%s", nc > 1 ? " " : "", name);
            gp_quote(gp, label);
            fprintf(gp, ", '+' using (%.17g):(%.17g) every ::0::0 with points pt 6 ps 2.5 "
                        "lw 2 lc 'black' title ",
                    cv->epoch[best], cv->valid[best]);
            snprintf(label, sizeof label, "best%s%s: epoch %g, RMSE %.4f", nc > 1 ? " " : "",
                     name, cv->epoch[best], cv->valid[best]);
            gp_quote(gp, label);
        }
    }
    fputs("\n", gp);
}

/* Runs gnuplot with the script on its standard input and ofd as its standard output. */
static int run_gnuplot(const char *gnuplot, const curve *cs, int nc, int ofd, int svg,
                       unsigned w, unsigned h, const char *title)
{
    int pfd[2];
    if (pipe(pfd) != 0) {
        fprintf(stderr, "hogmf: cannot run %s: %s\n", gnuplot, strerror(errno));
        return EXIT_INTERNAL;
    }
    signal(SIGPIPE, SIG_IGN); /* a gnuplot that dies early is reported by its status */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(pfd[0], 0) < 0 || dup2(ofd, 1) < 0)
            _exit(127);
        close(pfd[0]);
        close(pfd[1]);
        execl(gnuplot, gnuplot, (char *)NULL);
        fprintf(stderr, "hogmf: cannot run %s: %s\n", gnuplot, strerror(errno));
        _exit(127);
    }
    close(pfd[0]);
    if (pid < 0) {
        fprintf(stderr, "hogmf: cannot run %s: %s\n", gnuplot, strerror(errno));
        close(pfd[1]);
        return EXIT_INTERNAL;
    }
    FILE *gp = fdopen(pfd[1], "w");
    if (gp) {
        write_script(gp, cs, nc, svg, w, h, title);
        fclose(gp);
    } else {
        close(pfd[1]);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            status = -1;
            break;
        }
    if (!gp || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "hogmf: %s failed (%s %d); see its messages above\n", gnuplot,
                status != -1 && WIFEXITED(status) ? "exit status" : "status",
                status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : status);
        return EXIT_INTERNAL;
    }
    struct stat sb;
    if (fstat(ofd, &sb) != 0 || sb.st_size == 0) {
        fprintf(stderr, "hogmf: %s wrote no picture\n", gnuplot);
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}

/* Copies the picture gnuplot drew into pic to out (hogmf_write_file_atomic). */
static int write_picture(FILE *pic, const char *out)
{
    struct stat sb;
    char *buf = NULL;
    hogmf_error err = {0};
    if (fstat(fileno(pic), &sb) != 0 || !(buf = malloc((size_t)sb.st_size))) {
        fprintf(stderr, "hogmf: out of memory for the picture\n");
        return EXIT_INTERNAL;
    }
    rewind(pic);
    int rc = EXIT_OK;
    if (fread(buf, 1, (size_t)sb.st_size, pic) != (size_t)sb.st_size) {
        fprintf(stderr, "hogmf: cannot read back the picture: %s\n", strerror(errno));
        rc = EXIT_INTERNAL;
    } else if (hogmf_write_file_atomic(out, buf, (size_t)sb.st_size, &err) != HOGMF_OK) {
        rc = cli_report(&err, 1);
    }
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- the command */

int cmd_plot(int argc, char **argv)
{
    enum { O_TITLE = 256, O_SIZE };
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"title", required_argument, 0, O_TITLE},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *title = NULL;
    unsigned w = 800, h = 500;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case O_TITLE: title = optarg; break;
        case O_SIZE: {
            char *x, *e;
            errno = 0;
            unsigned long a = strtoul(optarg, &x, 10), b = 0;
            if (x != optarg && *x == 'x')
                b = strtoul(x + 1, &e, 10);
            if (x == optarg || *x != 'x' || *e || errno || a < 100 || a > 10000 || b < 100 ||
                b > 10000 || optarg[0] == '-' || x[1] == '-')
                return cli_usage_error("plot", "--size: expected WxH in pixels (100 to 10000), "
                                               "found '%s'", optarg);
            w = (unsigned)a;
            h = (unsigned)b;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("plot", "%s needs a value", argv[optind - 1]);
        default: return cli_unknown_option("plot", argv);
        }
    }
    if (!out)
        return cli_usage_error("plot", "-o OUT is required");
    if (optind >= argc)
        return cli_usage_error("plot", "expected at least one LOG");
    size_t olen = strlen(out);
    int svg = olen > 4 && strcmp(out + olen - 4, ".svg") == 0;
    int png = olen > 4 && strcmp(out + olen - 4, ".png") == 0;
    if (!svg && !png)
        return cli_usage_error("plot", "-o: expected a file name ending in .png or .svg, "
                                       "found '%s'", out);
    {
        const cli_path outp[] = {{"-o", out}};
        for (int i = optind; i < argc; i++) {
            const cli_path in[] = {{"LOG", argv[i]}};
            int prc = cli_check_paths("plot", in, 1, outp, 1);
            if (prc != EXIT_OK)
                return prc;
        }
    }
    int nc = argc - optind, rc = EXIT_OK;
    curve *cs = calloc((size_t)nc, sizeof *cs);
    char *gnuplot = NULL;
    FILE *pic = NULL;
    if (!cs) {
        fprintf(stderr, "hogmf: out of memory\n");
        return EXIT_INTERNAL;
    }
    size_t points = 0;
    for (int i = 0; i < nc && rc == EXIT_OK; i++) {
        rc = read_log(argv[optind + i], &cs[i]);
        points += cs[i].count;
    }
    if (rc != EXIT_OK)
        goto done;
    gnuplot = find_gnuplot();
    if (!gnuplot) {
        const char *env = getenv("HOGMF_GNUPLOT");
        if (env && *env)
            fprintf(stderr, "hogmf: HOGMF_GNUPLOT=%s is not an executable\n", env);
        else
            fprintf(stderr, "hogmf: gnuplot not found in PATH; install it (Debian: apt-get "
                            "install gnuplot-nox) or set HOGMF_GNUPLOT to its path\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    /* gnuplot draws into an unnamed temporary file; the picture is then written to OUT as
     * every output is (atomically, keeping a replaced file's mode, through a symlink). */
    pic = tmpfile();
    if (!pic) {
        fprintf(stderr, "hogmf: cannot create a temporary file: %s\n", strerror(errno));
        rc = EXIT_INTERNAL;
        goto done;
    }
    char deftitle[512];
    if (!title) {
        if (nc == 1)
            snprintf(deftitle, sizeof deftitle, "hogmf training curve: %s", base_name(cs[0].path));
        else
            snprintf(deftitle, sizeof deftitle, "hogmf training curves");
        title = deftitle;
    }
    rc = run_gnuplot(gnuplot, cs, nc, fileno(pic), svg, w, h, title);
    if (rc == EXIT_OK)
        rc = write_picture(pic, out);
    if (rc == EXIT_OK)
        fprintf(stderr, "hogmf: wrote %s (%zu epochs from %d log%s)\n", out, points, nc,
                nc > 1 ? "s" : "");
done:
    for (int i = 0; i < nc; i++) {
        free(cs[i].epoch);
        free(cs[i].train);
        free(cs[i].valid);
    }
    free(cs);
    free(gnuplot);
    if (pic)
        fclose(pic);
    return rc;
}
