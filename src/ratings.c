/*
 * ratings.c - reading ratings files: format detection, strict line parsing with
 * FILE:LINE errors, id maps (original id -> dense index in order of first appearance) and
 * "last one wins" removal of duplicate (user, item) pairs. Also splits and text output.
 * Reads plain and gzip-compressed files (detected by their magic bytes, not their name) and
 * standard input in chunks; a file that shrinks while it is read is an error, not a short set.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK_SIZE (4u << 20)      /* bytes read at a time */
#define MAX_LINE (1u << 20)        /* longest accepted line */
#define MAX_FIELDS 65              /* 64 columns for --columns, one more to report extras */

static const char *const format_names[] = {"auto", "tsv", "dat", "csv", "libmf"};

int hogmf_format_parse(const char *name, hogmf_format *out)
{
    for (int f = 0; f < 5; f++) {
        if (strcmp(name, format_names[f]) == 0) {
            *out = (hogmf_format)f;
            return 0;
        }
    }
    return -1;
}

int hogmf_ids_parse(const char *name, hogmf_ids *out)
{
    static const char *const names[] = {"auto", "numeric", "string"};
    for (int j = 0; j < 3; j++)
        if (!strcmp(name, names[j])) {
            *out = (hogmf_ids)j;
            return 0;
        }
    return -1;
}

/* A --columns error: the message in err, -1. */
static int columns_fail(hogmf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int columns_fail(hogmf_error *err, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s", msg);
    return -1;
}

int hogmf_read_options_columns(hogmf_read_options *opts, char *spec, hogmf_error *err)
{
    static const char *const slot[] = {"user", "item", "rating", "timestamp"};
    int c = 0;
    for (char *tok = spec;; c++) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (c == 4)
            return columns_fail(err, "--columns: expected USER,ITEM,RATING[,TIMESTAMP], found more");
        opts->columns[c] = 0;
        opts->column_names[c] = NULL;
        char *end;
        if (!strcmp(tok, "-")) {
            if (c < 2)
                return columns_fail(err,
                                   "--columns: the %s column is required", slot[c]);
        } else if (*tok >= '0' && *tok <= '9') {
            errno = 0;
            unsigned long v = strtoul(tok, &end, 10);
            if (*end || errno || v < 1 || v > MAX_FIELDS - 1)
                return columns_fail(err,
                                   "--columns: %s: expected a column number 1..%d or a header "
                                   "name, found '%s'", slot[c], MAX_FIELDS - 1, tok);
            opts->columns[c] = (int)v;
        } else if (*tok) {
            opts->column_names[c] = tok;
        } else {
            return columns_fail(err, "--columns: %s: empty column",
                               slot[c]);
        }
        if (!comma)
            break;
        tok = comma + 1;
    }
    if (c < 1)
        return columns_fail(err,
                           "--columns: expected USER,ITEM,RATING[,TIMESTAMP]");
    for (c++; c < 4; c++) {
        opts->columns[c] = 0;
        opts->column_names[c] = NULL;
    }
    return 0;
}

const char *hogmf_format_name(hogmf_format format)
{
    return (unsigned)format < 5 ? format_names[format] : "unknown";
}

hogmf_read_options hogmf_read_options_default(void)
{
    hogmf_read_options o = {.format = HOGMF_FORMAT_AUTO};
    return o;
}

void hogmf_ratings_free(hogmf_ratings *r)
{
    if (!r)
        return;
    free(r->data);
    free(r->user_ids);
    free(r->item_ids);
    hogmf_names_free(&r->user_names);
    hogmf_names_free(&r->item_names);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- parser state */

typedef struct parser {
    const char *name;
    hogmf_read_options opts;
    hogmf_format format;
    uint64_t line;         /* number of the line being parsed */
    int seen_data;         /* a data (or header) line was seen */
    hogmf_ratings *out;
    size_t cap;            /* capacity of out->data */
    uint32_t ucap, icap;   /* capacities of out->user_ids, out->item_ids */
    hogmf_idmap *umap, *imap;
    hogmf_error *err;
    int strids;            /* 1: string ids (coded in out->user_names, item_names) */
    int ids_known;         /* ids decided (given, or detected on the first data line) */
    int custom;            /* columns chosen by --columns */
    int col[4];            /* user, item, rating, timestamp columns (-1: none) */
    int need;              /* fields a line must have: the highest column + 1 */
} parser;

/* Quotes a field for a message: at most 40 characters, non-printables as \xNN. */
static const char *quote(const char *s, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t j = 0; j < len && o + 5 < cap; j++) {
        unsigned char c = (unsigned char)s[j];
        if (j == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 32 && c < 127) {
            buf[o++] = (char)c;
        } else {
            snprintf(buf + o, cap - o, "\\x%02x", c);
            o += 4;
        }
    }
    buf[o] = '\0';
    return buf;
}

static hogmf_status bad_field(parser *ps, const char *what, const char *expected, const char *s,
                              size_t len)
{
    char q[200];
    return hogmf__fail(ps->err, HOGMF_ERR_PARSE, ps->line, "%s:%llu: %s: expected %s, found '%s'",
                       ps->name, (unsigned long long)ps->line, what, expected,
                       quote(s, len, q, sizeof q));
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parses an id: decimal digits only, at most 4294967295. */
static hogmf_status parse_id(parser *ps, const char *what, const char *s, size_t len,
                             uint32_t *out)
{
    if (len == 0)
        return bad_field(ps, what, "a non-negative integer id", s, len);
    uint64_t v = 0;
    size_t j = 0;
    if (s[0] == '+')
        j = 1;
    if (j == len)
        return bad_field(ps, what, "a non-negative integer id", s, len);
    for (; j < len; j++) {
        if (!is_digit(s[j])) {
            if (s[0] == '-' && len > 1 && is_digit(s[1]))
                return bad_field(ps, what, "a non-negative integer id, not a negative number",
                                 s, len);
            return bad_field(ps, what, "a non-negative integer id", s, len);
        }
        v = v * 10 + (uint64_t)(s[j] - '0');
        if (v > UINT32_MAX)
            return bad_field(ps, what, "an id of at most 4294967295", s, len);
    }
    *out = (uint32_t)v;
    return HOGMF_OK;
}

static const double pow10_table[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                     1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* Parses a finite real number into *out. The fast path handles [-]digits[.digits] exactly
 * (an exact integer divided by an exact power of ten, one rounding); the rest goes through
 * strtod with its end pointer and errno checked. */
static hogmf_status parse_real(parser *ps, const char *what, const char *s, size_t len,
                               double *out)
{
    size_t j = 0;
    int neg = 0;
    if (len > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        j = 1;
    }
    uint64_t mant = 0;
    int digits = 0, frac = 0, dot = 0;
    for (; j < len && digits <= 15; j++) {
        if (is_digit(s[j])) {
            mant = mant * 10 + (uint64_t)(s[j] - '0');
            digits++;
            frac += dot;
        } else if (s[j] == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (j == len && digits > 0 && digits <= 15) {
        double v = (double)mant / pow10_table[frac];
        *out = neg ? -v : v;
        return HOGMF_OK;
    }
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return bad_field(ps, what, "a finite real number", s, len);
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len || end == buf)
        return bad_field(ps, what, "a finite real number", s, len);
    /* Before the NaN/Inf test: an overflowing literal such as 1e999 comes back as HUGE_VAL. */
    if (errno == ERANGE)
        return bad_field(ps, what, "a number within the range of a double", s, len);
    if (isnan(v) || isinf(v))
        return bad_field(ps, what, "a finite real number, not NaN or infinity", s, len);
    *out = v;
    return HOGMF_OK;
}

static int grow_ids(uint32_t **ids, uint32_t *cap)
{
    uint32_t ncap = *cap ? (*cap > UINT32_MAX / 2 ? UINT32_MAX : *cap * 2) : 1024;
    uint32_t *p = realloc(*ids, (size_t)ncap * sizeof *p);
    if (!p)
        return -1;
    *ids = p;
    *cap = ncap;
    return 0;
}

static hogmf_status nomem(parser *ps)
{
    return hogmf__fail(ps->err, HOGMF_ERR_NOMEM, 0, "%s:%llu: out of memory", ps->name,
                       (unsigned long long)ps->line);
}

/* The read options' memory limit, checked before the ratings array grows: the estimate's
 * model of the peak (hogmf_estimate_read_memory) for the ratings so far, with the distinct
 * ids actually seen, so that the limit holds whatever the estimate from the file's start
 * said (gzip, standard input). */
static hogmf_status memory_check(parser *ps)
{
    if (!ps->opts.max_memory || ps->cap == 0)
        return HOGMF_OK;
    uint64_t nnz = ps->cap, ids = (uint64_t)ps->out->m + ps->out->n;
    uint64_t need = hogmf_estimate_read_memory(nnz) - 28 * (nnz / 8 + 1) + 28 * ids;
    if (need <= ps->opts.max_memory)
        return HOGMF_OK;
    return hogmf__fail(ps->err, HOGMF_ERR_INVALID, ps->line,
                       "%s:%llu: reading needs more than the memory limit of %llu bytes "
                       "(about %llu bytes for the %llu ratings so far)",
                       ps->name, (unsigned long long)ps->line,
                       (unsigned long long)ps->opts.max_memory, (unsigned long long)need,
                       (unsigned long long)nnz);
}

/* Dense index of an id, adding it to the map and the id array when new. */
static hogmf_status intern(parser *ps, hogmf_idmap *map, uint32_t **ids, uint32_t *count,
                           uint32_t *cap, uint32_t id, uint32_t *index)
{
    int inserted;
    if (*count == UINT32_MAX - 1)
        return hogmf__fail(ps->err, HOGMF_ERR_INVALID, ps->line,
                           "%s:%llu: more than 4294967294 distinct ids", ps->name,
                           (unsigned long long)ps->line);
    if (hogmf__idmap_put(map, id, *count, index, &inserted) != 0)
        return nomem(ps);
    if (inserted) {
        if (*count == *cap && grow_ids(ids, cap) != 0)
            return nomem(ps);
        (*ids)[(*count)++] = id;
    }
    return HOGMF_OK;
}

static void detect_format(parser *ps, const char *s, size_t len)
{
    if (ps->format != HOGMF_FORMAT_AUTO)
        return;
    if (memmem(s, len, "::", 2))
        ps->format = HOGMF_FORMAT_DAT;
    else if (memchr(s, ',', len))
        ps->format = HOGMF_FORMAT_CSV;
    else if (memchr(s, '\t', len))
        ps->format = HOGMF_FORMAT_TSV;
    else
        ps->format = HOGMF_FORMAT_LIBMF;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits a line into fields by the format's separator; returns the number of fields (up to
 * MAX_FIELDS; more are counted but not stored). Blanks around CSV and DAT fields are trimmed. */
static int split_fields(hogmf_format fmt, const char *s, size_t len, const char **f, size_t *fl)
{
    int nf = 0;
    size_t j = 0;
    if (fmt == HOGMF_FORMAT_TSV || fmt == HOGMF_FORMAT_LIBMF) {
        for (;;) {
            while (j < len && is_blank(s[j]))
                j++;
            if (j == len)
                return nf;
            size_t b = j;
            while (j < len && !is_blank(s[j]))
                j++;
            if (nf < MAX_FIELDS) {
                f[nf] = s + b;
                fl[nf] = j - b;
            }
            nf++;
        }
    }
    size_t seplen = fmt == HOGMF_FORMAT_DAT ? 2 : 1;
    for (;;) {
        size_t b = j;
        const char *sep = fmt == HOGMF_FORMAT_DAT ? memmem(s + j, len - j, "::", 2)
                                                  : memchr(s + j, ',', len - j);
        size_t e = sep ? (size_t)(sep - s) : len;
        size_t fb = b, fe = e;
        while (fb < fe && is_blank(s[fb]))
            fb++;
        while (fe > fb && is_blank(s[fe - 1]))
            fe--;
        if (nf < MAX_FIELDS) {
            f[nf] = s + fb;
            fl[nf] = fe - fb;
        }
        nf++;
        if (!sep)
            return nf;
        j = e + seplen;
    }
}

/* A CSV header: the first data line whose first field does not start like a number. */
static int looks_like_header(const char *f, size_t len)
{
    if (len == 0)
        return 1;
    char c = f[0];
    return !(is_digit(c) || c == '-' || c == '+' || c == '.');
}

/* Offset of the first control byte other than TAB and CR (a sign of binary data), or len.
 * Only called on lines that failed to parse or are skipped as a header, so the common path
 * pays nothing for it. */
static size_t find_control(const char *s, size_t len)
{
    for (size_t j = 0; j < len; j++) {
        unsigned char c = (unsigned char)s[j];
        if ((c < 32 && c != '\t' && c != '\r') || c == 127)
            return j;
    }
    return len;
}

static hogmf_status binary_data(parser *ps, const char *s, size_t at)
{
    return hogmf__fail(ps->err, HOGMF_ERR_PARSE, ps->line,
                       "%s:%llu: expected text, found binary data (byte 0x%02x in column %zu)",
                       ps->name, (unsigned long long)ps->line, (unsigned char)s[at], at + 1);
}

/* Turns string ids on: the set codes names in the given tables, else in new ones. */
static hogmf_status use_strids(parser *ps)
{
    hogmf_ratings *out = ps->out;
    ps->strids = 1;
    ps->ids_known = 1;
    out->user_names = ps->opts.user_names ? hogmf_names_ref(ps->opts.user_names) : hogmf_names_new();
    out->item_names = ps->opts.item_names ? hogmf_names_ref(ps->opts.item_names) : hogmf_names_new();
    return out->user_names && out->item_names ? HOGMF_OK : nomem(ps);
}

/* Parses a string id: its code in the table (added when new). */
static hogmf_status parse_name(parser *ps, const char *what, hogmf_names *t, const char *s,
                               size_t len, uint32_t *out)
{
    hogmf_error e = {0};
    hogmf_status st = hogmf_names_add(t, s, len, out, &e);
    if (st == HOGMF_ERR_INVALID)
        return bad_field(ps, what, "an id of 1 to 1024 bytes without control bytes", s, len);
    if (st != HOGMF_OK)
        return nomem(ps);
    return HOGMF_OK;
}

/* Parses the fields of one data line and appends the rating. */
static hogmf_status parse_record(parser *ps, const char *s, size_t len, const char **f,
                                 const size_t *fl, int nf)
{
    int min_fields = ps->opts.allow_no_rating ? 2 : 3;
    if (ps->custom && nf < ps->need) {
        char q[200];
        return hogmf__fail(ps->err, HOGMF_ERR_PARSE, ps->line,
                           "%s:%llu: expected at least %d fields (the columns chosen) "
                           "separated as %s, found %d in '%s'",
                           ps->name, (unsigned long long)ps->line, ps->need,
                           hogmf_format_name(ps->format), nf, quote(s, len, q, sizeof q));
    }
    if (!ps->custom && (nf < min_fields || nf > 4)) {
        char q[200];
        return hogmf__fail(
            ps->err, HOGMF_ERR_PARSE, ps->line,
            "%s:%llu: expected %s fields (user, item, %srating[, timestamp]) separated as %s, "
            "found %d field%s in '%s'%s",
            ps->name, (unsigned long long)ps->line, min_fields == 2 ? "2 to 4" : "3 or 4",
            min_fields == 2 ? "[" : "", hogmf_format_name(ps->format), nf, nf == 1 ? "" : "s",
            quote(s, len, q, sizeof q), nf > 4 ? " (--columns picks columns)" : "");
    }
    const int cu = ps->custom ? ps->col[0] : 0, ci = ps->custom ? ps->col[1] : 1;
    const int cr = ps->custom ? ps->col[2] : (nf >= 3 ? 2 : -1);
    const int ct = ps->custom ? ps->col[3] : (nf == 4 ? 3 : -1);
    uint32_t uid, iid;
    double r = NAN;
    hogmf_status st;
    if (!ps->ids_known) { /* auto: strings when the first line's ids are not numbers */
        hogmf_error e = {0};
        hogmf_error *keep = ps->err;
        ps->err = &e;
        int numeric = parse_id(ps, "user id", f[cu], fl[cu], &uid) == HOGMF_OK &&
                      parse_id(ps, "item id", f[ci], fl[ci], &iid) == HOGMF_OK;
        ps->err = keep;
        ps->ids_known = 1;
        if (!numeric && (st = use_strids(ps)) != HOGMF_OK)
            return st;
    }
    hogmf_ratings *out = ps->out;
    if (ps->strids) {
        if ((st = parse_name(ps, "user id", out->user_names, f[cu], fl[cu], &uid)) != HOGMF_OK ||
            (st = parse_name(ps, "item id", out->item_names, f[ci], fl[ci], &iid)) != HOGMF_OK)
            return st;
    } else {
        for (int side = 0; side < 2; side++) {
            const char *fs = f[side ? ci : cu];
            size_t fn = fl[side ? ci : cu];
            const char *what = side ? "item id" : "user id";
            uint32_t *id = side ? &iid : &uid;
            size_t j = fn > 0 && fs[0] == '+' ? 1 : 0;
            while (j < fn && is_digit(fs[j]))
                j++;
            if (fn > 0 && j < fn && !(fs[0] == '-' && fn > 1 && is_digit(fs[1]))) {
                st = bad_field(ps, what, "a non-negative integer id", fs, fn);
                if (ps->opts.ids == HOGMF_IDS_AUTO && ps->err) { /* detected from line 1 */
                    size_t at = strlen(ps->err->msg);
                    snprintf(ps->err->msg + at, sizeof ps->err->msg - at,
                             " (the first line's ids were numbers; --ids string reads every "
                             "id as a string)");
                }
                return st;
            }
            if ((st = parse_id(ps, what, fs, fn, id)) != HOGMF_OK)
                return st;
        }
    }
    if (cr >= 0) {
        if ((st = parse_real(ps, "rating", f[cr], fl[cr], &r)) != HOGMF_OK)
            return st;
        /* What rounds to FLT_MAX fits (the writer prints FLT_MAX as 3.40282347e+38). */
        if (isinf((float)r))
            return bad_field(ps, "rating", "a rating within the range of a float", f[cr], fl[cr]);
    }
    if (ct >= 0) {
        double ts;
        if ((st = parse_real(ps, "timestamp", f[ct], fl[ct], &ts)) != HOGMF_OK)
            return st;
    }

    if (out->nnz == ps->cap) {
        size_t ncap = ps->cap ? ps->cap * 2 : 4096;
        if ((st = memory_check(ps)) != HOGMF_OK)
            return st;
        hogmf_rating *p = realloc(out->data, ncap * sizeof *p);
        if (!p)
            return nomem(ps);
        out->data = p;
        ps->cap = ncap;
    }
    hogmf_rating *x = &out->data[out->nnz];
    if ((st = intern(ps, ps->umap, &out->user_ids, &out->m, &ps->ucap, uid, &x->u)) != HOGMF_OK)
        return st;
    if ((st = intern(ps, ps->imap, &out->item_ids, &out->n, &ps->icap, iid, &x->i)) != HOGMF_OK)
        return st;
    x->r = (float)r;
    out->nnz++;
    return HOGMF_OK;
}

/* The header line of --columns with names: finds each named column. */
static hogmf_status find_columns(parser *ps, const char **f, const size_t *fl, int nf)
{
    static const char *const slot[] = {"user", "item", "rating", "timestamp"};
    for (int c = 0; c < 4; c++) {
        const char *want = ps->opts.column_names[c];
        if (!want)
            continue;
        int found = -1;
        for (int j = 0; j < nf && j < MAX_FIELDS && found < 0; j++)
            if (fl[j] == strlen(want) && memcmp(f[j], want, fl[j]) == 0)
                found = j;
        if (found < 0)
            return hogmf__fail(ps->err, HOGMF_ERR_PARSE, ps->line,
                               "%s:%llu: --columns: %s column '%s' is not in the header line",
                               ps->name, (unsigned long long)ps->line, slot[c], want);
        ps->col[c] = found;
    }
    for (int c = 0; c < 4; c++)
        ps->need = ps->col[c] + 1 > ps->need ? ps->col[c] + 1 : ps->need;
    return HOGMF_OK;
}

/* A CSV header line: with string ids a name may start like a number or not, so the first
 * line is a header when its rating field (or, without one, its first) is not a number. */
static int header_line(parser *ps, const char **f, const size_t *fl, int nf)
{
    if (ps->format != HOGMF_FORMAT_CSV)
        return 0;
    if (ps->opts.ids == HOGMF_IDS_NUMERIC)
        return looks_like_header(f[0], fl[0]);
    int cr = ps->custom ? ps->col[2] : 2;
    if (cr < 0 || cr >= nf || cr >= MAX_FIELDS) /* no rating to tell by: string ids have no
                                                  * header line then (name it with --columns) */
        return ps->opts.ids == HOGMF_IDS_STRING ? 0 : looks_like_header(f[0], fl[0]);
    return fl[cr] == 0 || looks_like_header(f[cr], fl[cr]);
}

static hogmf_status parse_line(parser *ps, const char *s, size_t len)
{
    if (ps->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        len -= 3;
    }
    if (len > 0 && s[len - 1] == '\r')
        len--;
    size_t b = 0;
    while (b < len && (is_blank(s[b]) || s[b] == '\r'))
        b++;
    if (b == len)
        return HOGMF_OK; /* blank line */
    if (memchr(s, '\0', len))
        return hogmf__fail(ps->err, HOGMF_ERR_PARSE, ps->line,
                           "%s:%llu: expected text, found a NUL byte (binary file?)", ps->name,
                           (unsigned long long)ps->line);
    detect_format(ps, s, len);

    const char *f[MAX_FIELDS];
    size_t fl[MAX_FIELDS];
    int nf = split_fields(ps->format, s, len, f, fl);
    int first = !ps->seen_data;
    ps->seen_data = 1;
    size_t ctl;
    if (first && ps->custom && ps->need == 0) { /* --columns by name: this is the header */
        if ((ctl = find_control(s, len)) < len)
            return binary_data(ps, s, ctl);
        return find_columns(ps, f, fl, nf);
    }
    if (first && header_line(ps, f, fl, nf)) {
        if ((ctl = find_control(s, len)) < len)
            return binary_data(ps, s, ctl);
        return HOGMF_OK;
    }
    hogmf_status st = parse_record(ps, s, len, f, fl, nf);
    if (st == HOGMF_ERR_PARSE && (ctl = find_control(s, len)) < len)
        return binary_data(ps, s, ctl);
    return st;
}

static hogmf_status line_too_long(parser *ps, uint64_t line)
{
    return hogmf__fail(ps->err, HOGMF_ERR_PARSE, line,
                       "%s:%llu: expected a line of at most %u bytes, found a longer one",
                       ps->name, (unsigned long long)line, MAX_LINE);
}

/* Parses the complete lines in buf[0..len); with final set, a last line without a newline
 * too. Returns the status and the number of bytes consumed in *used. */
/* Reads decimal digits at *pp (at most `max` of them) into *v; returns how many. */
static inline int fast_digits(const char **pp, const char *end, int max, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    int n = 0;
    while (p < end && n <= max && is_digit(*p)) {
        x = x * 10 + (uint64_t)(*p++ - '0');
        n++;
    }
    *pp = p;
    *v = x;
    return n;
}

/* Skips the separator of the format at *pp; returns 0 when it is not there. */
static inline int fast_sep(hogmf_format fmt, const char **pp, const char *end)
{
    const char *p = *pp;
    if (fmt == HOGMF_FORMAT_CSV) {
        if (p >= end || *p != ',')
            return 0;
        p++;
    } else if (fmt == HOGMF_FORMAT_DAT) {
        if (end - p < 2 || p[0] != ':' || p[1] != ':')
            return 0;
        p += 2;
    } else {
        if (p >= end || !is_blank(*p))
            return 0;
        while (p < end && is_blank(*p))
            p++;
    }
    *pp = p;
    return 1;
}

/* The common line, "digits SEP digits SEP [-]digits[.digits] [SEP digits]" ending in LF or
 * CRLF, parsed in one pass. Returns the bytes consumed (newline included), or 0 when the
 * line needs the general parser - which then produces exactly the same result, or the error
 * message. Accepts a strict subset of what parse_line accepts. */
static size_t parse_fast(parser *ps, const char *buf, size_t len, int final)
{
    const char *p = buf, *end = buf + len;
    const hogmf_format fmt = ps->format;
    uint64_t uid, iid, mant, frac, ts;
    if (fast_digits(&p, end, 10, &uid) == 0 || uid > UINT32_MAX || !fast_sep(fmt, &p, end))
        return 0;
    if (fast_digits(&p, end, 10, &iid) == 0 || iid > UINT32_MAX || !fast_sep(fmt, &p, end))
        return 0;
    int neg = p < end && *p == '-';
    p += neg;
    int nd = fast_digits(&p, end, 15, &mant), nf = 0;
    if (nd == 0)
        return 0;
    if (p < end && *p == '.') {
        p++;
        nf = fast_digits(&p, end, 15, &frac);
        if (nf == 0 || nd + nf > 15)
            return 0;
        mant = mant * (uint64_t)pow10_table[nf] + frac;
    }
    if (nd > 15)
        return 0;
    const char *q = p;
    if (fast_sep(fmt, &q, end) && q < end && is_digit(*q)) {
        if (fast_digits(&q, end, 15, &ts) > 15)
            return 0;
        p = q;
    }
    if (fmt == HOGMF_FORMAT_TSV || fmt == HOGMF_FORMAT_LIBMF)
        while (p < end && is_blank(*p))
            p++;
    if (p < end && *p == '\r')
        p++;
    size_t used;
    if (p < end && *p == '\n')
        used = (size_t)(p + 1 - buf);
    else if (p == end && final)
        used = len;
    else
        return 0;
    double v = (double)mant / pow10_table[nf];
    hogmf_ratings *out = ps->out;
    if (out->nnz == ps->cap)
        return 0; /* the general path grows the array */
    hogmf_rating *x = &out->data[out->nnz];
    ps->line++;
    const hogmf_idmap *um = ps->umap, *im = ps->imap;
    x->u = uid < um->dcap ? um->direct[uid] : HOGMF_UNKNOWN;
    x->i = iid < im->dcap ? im->direct[iid] : HOGMF_UNKNOWN;
    if ((x->u == HOGMF_UNKNOWN && intern(ps, ps->umap, &out->user_ids, &out->m, &ps->ucap,
                                         (uint32_t)uid, &x->u) != HOGMF_OK) ||
        (x->i == HOGMF_UNKNOWN && intern(ps, ps->imap, &out->item_ids, &out->n, &ps->icap,
                                         (uint32_t)iid, &x->i) != HOGMF_OK)) {
        ps->line--;
        return 0; /* out of memory or too many ids: the general path reports it */
    }
    x->r = (float)(neg ? -v : v);
    out->nnz++;
    return used;
}

static hogmf_status parse_block(parser *ps, const char *buf, size_t len, int final, size_t *used)
{
    size_t pos = 0;
    while (pos < len) {
        if (ps->seen_data && ps->format != HOGMF_FORMAT_AUTO && !ps->strids && !ps->custom &&
            ps->ids_known) {
            size_t n = parse_fast(ps, buf + pos, len - pos, final);
            if (n) {
                pos += n;
                continue;
            }
        }
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl && !final)
            break;
        size_t end = nl ? (size_t)(nl - buf) : len;
        ps->line++;
        if (end - pos > MAX_LINE)
            return line_too_long(ps, ps->line);
        hogmf_status st = parse_line(ps, buf + pos, end - pos);
        if (st != HOGMF_OK)
            return st;
        pos = nl ? end + 1 : len;
    }
    *used = pos;
    return HOGMF_OK;
}

/* ---------------------------------------------------------------- duplicates */

/* Removes all but the last occurrence of each (u, i) pair, keeping file order. O(nnz) per
 * batch: a stable counting sort by user gives each user's ratings in file order, and a
 * per-item stamp then finds repeats within a user. Users are taken in batches of about
 * nnz/8 ratings so the index array stays small next to the ratings themselves. */
hogmf_status hogmf__remove_duplicates(hogmf_ratings *r, hogmf_error *err, const char *name)
{
    const size_t nnz = r->nnz;
    size_t *start = calloc((size_t)r->m + 1, sizeof *start);
    uint32_t *stamp = malloc((size_t)r->n * sizeof *stamp);
    uint32_t *last = malloc((size_t)r->n * sizeof *last);
    uint32_t *order = NULL;
    if (!start || !stamp || !last)
        goto nomem;
    for (size_t j = 0; j < nnz; j++)
        start[r->data[j].u + 1]++;
    size_t batch = nnz / 8 > (1u << 20) ? nnz / 8 : (1u << 20), biggest = 0;
    for (uint32_t u = 0; u < r->m; u++)
        biggest = start[u + 1] > biggest ? start[u + 1] : biggest;
    if (batch < biggest)
        batch = biggest;
    if (batch > nnz)
        batch = nnz;
    order = malloc((batch ? batch : 1) * sizeof *order);
    if (!order)
        goto nomem;
    memset(stamp, 0xff, (size_t)r->n * sizeof *stamp);
    size_t dups = 0;
    for (uint32_t ua = 0; ua < r->m;) {
        /* Users [ua, ub) hold at most `batch` ratings; start[u+1] is user u's count. */
        uint32_t ub = ua;
        size_t total = 0;
        while (ub < r->m && total + start[ub + 1] <= batch)
            total += start[++ub];
        size_t *pos = start + ua; /* reused as write cursors: pos[u - ua] */
        size_t acc = 0;
        for (uint32_t u = ua; u < ub; u++) {
            size_t c = pos[u - ua + 1];
            pos[u - ua + 1] = acc; /* pos[u-ua+1] becomes the beginning of user u's run */
            acc += c;
        }
        for (size_t j = 0; j < nnz; j++) {
            uint32_t u = r->data[j].u;
            if (u >= ua && u < ub)
                order[pos[u - ua + 1]++] = (uint32_t)j;
        }
        /* pos[u-ua+1] is now the end of user u's run; it begins where the previous ended. */
        size_t b = 0;
        for (uint32_t u = ua; u < ub; u++) {
            size_t e = pos[u - ua + 1];
            for (size_t t = b; t < e; t++) {
                uint32_t j = order[t], i = r->data[j].i;
                if (stamp[i] == u) {
                    r->data[last[i]].u = HOGMF_UNKNOWN; /* an earlier line loses */
                    dups++;
                }
                stamp[i] = u;
                last[i] = j;
            }
            b = e;
        }
        ua = ub;
    }
    free(start);
    free(order);
    free(stamp);
    free(last);
    if (dups) {
        size_t w = 0;
        for (size_t j = 0; j < nnz; j++)
            if (r->data[j].u != HOGMF_UNKNOWN)
                r->data[w++] = r->data[j];
        r->nnz = w;
    }
    r->duplicates = dups;
    return HOGMF_OK;
nomem:
    free(start);
    free(order);
    free(stamp);
    free(last);
    return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", name);
}

/* ---------------------------------------------------------------- entry points */

static hogmf_status parser_init(parser *ps, const char *name, const hogmf_read_options *opts,
                                hogmf_ratings *out, hogmf_error *err)
{
    memset(ps, 0, sizeof *ps);
    memset(out, 0, sizeof *out);
    ps->name = name;
    ps->opts = opts ? *opts : hogmf_read_options_default();
    ps->format = ps->opts.format;
    if ((unsigned)ps->format > HOGMF_FORMAT_LIBMF)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: unknown format %d", name,
                           (int)ps->format);
    ps->out = out;
    ps->err = err;
    ps->umap = hogmf__idmap_new(1024);
    ps->imap = hogmf__idmap_new(1024);
    if (!ps->umap || !ps->imap)
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", name);
    if ((unsigned)ps->opts.ids > HOGMF_IDS_STRING)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: unknown ids %d", name,
                           (int)ps->opts.ids);
    /* Columns: the default layout unless one was chosen (by number now, by name at the
     * header line). */
    int named = 0;
    for (int c = 0; c < 4; c++) {
        ps->col[c] = ps->opts.columns[c] - 1; /* 0-based; -1: none */
        named |= ps->opts.column_names[c] != NULL;
        if (ps->opts.columns[c] < 0 || ps->col[c] >= MAX_FIELDS - 1)
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "%s: --columns: column %d is out of "
                               "range 1..%d", name, ps->opts.columns[c], MAX_FIELDS - 1);
    }
    ps->custom = named || ps->col[0] >= 0 || ps->col[1] >= 0 || ps->col[2] >= 0 || ps->col[3] >= 0;
    if (ps->custom) {
        if ((ps->col[0] < 0 && !ps->opts.column_names[0]) ||
            (ps->col[1] < 0 && !ps->opts.column_names[1]) ||
            (ps->col[2] < 0 && !ps->opts.column_names[2] && !ps->opts.allow_no_rating))
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "%s: --columns: expected user, item and rating columns", name);
        if (!named)
            for (int c = 0; c < 4; c++)
                ps->need = ps->col[c] + 1 > ps->need ? ps->col[c] + 1 : ps->need;
    }
    ps->ids_known = ps->opts.ids != HOGMF_IDS_AUTO;
    if (ps->opts.ids == HOGMF_IDS_STRING)
        return use_strids(ps);
    return HOGMF_OK;
}

static hogmf_status parser_finish(parser *ps, hogmf_status st)
{
    hogmf_ratings *out = ps->out;
    hogmf__idmap_free(ps->umap);
    hogmf__idmap_free(ps->imap);
    if (st == HOGMF_OK && out->nnz == 0)
        st = hogmf__fail(ps->err, HOGMF_ERR_EMPTY, 0,
                         "%s: expected at least one rating, found %s", ps->name,
                         ps->seen_data ? "only a header line" : "an empty file");
    if (st == HOGMF_OK && out->nnz > UINT32_MAX)
        st = hogmf__fail(ps->err, HOGMF_ERR_INVALID, 0,
                         "%s: more than 4294967295 ratings in one file are not supported",
                         ps->name);
    if (st == HOGMF_OK && !ps->opts.keep_duplicates)
        st = hogmf__remove_duplicates(out, ps->err, ps->name);
    if (st != HOGMF_OK) {
        hogmf_ratings_free(out);
        return st;
    }
    out->format = ps->format == HOGMF_FORMAT_AUTO ? HOGMF_FORMAT_LIBMF : ps->format;
    out->rmin = out->rmax = out->data[0].r;
    for (size_t j = 1; j < out->nnz; j++) {
        float v = out->data[j].r;
        if (v < out->rmin)
            out->rmin = v;
        if (v > out->rmax)
            out->rmax = v;
    }
    /* Give back the slack of the doubling growth. */
    hogmf_rating *p = realloc(out->data, out->nnz * sizeof *p);
    if (p)
        out->data = p;
    return HOGMF_OK;
}

hogmf_status hogmf_ratings_parse(const char *buf, size_t len, const char *name,
                                 const hogmf_read_options *opts, hogmf_ratings *out,
                                 hogmf_error *err)
{
    parser ps;
    hogmf_status st = parser_init(&ps, name, opts, out, err);
    size_t used;
    if (st == HOGMF_OK)
        st = parse_block(&ps, buf, len, 1, &used);
    st = parser_finish(&ps, st);
    if (st == HOGMF_OK)
        out->bytes = len;
    return st;
}

/* ---------------------------------------------------------------- input sources */

void (*hogmf__test_after_read)(int fd, uint64_t raw_bytes);

/* A file or standard input, plain or gzip-compressed; reads return decompressed bytes. */
typedef struct source {
    const char *name;      /* for messages */
    int fd;
    int is_stdin;          /* fd 0 is borrowed, not closed */
    int regular;           /* a regular file: its size is known */
    uint64_t size;         /* size when opened (regular files) */
    uint64_t raw;          /* bytes read from fd */
    int raw_eof;           /* read() on fd returned 0 */
    unsigned char peek[2]; /* first bytes, read to detect gzip; handed out first */
    size_t npeek;
    int gz;                /* gzip-compressed (magic 1f 8b) */
    int gz_end;            /* the last gzip member ended and no input follows */
    z_stream zs;
    int zs_live;           /* inflateInit2 succeeded */
    unsigned char *zbuf;   /* compressed input */
    uint64_t out;          /* decompressed bytes handed out */
    hogmf_status failed;   /* status of the first failure */
} source;

#define ZBUF_SIZE (1u << 18)

/* read() with EINTR retried; -1 with src->failed set on error. */
static ssize_t raw_read(source *src, void *dst, size_t cap, hogmf_error *err)
{
    for (;;) {
        ssize_t got = read(src->fd, dst, cap);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            src->failed = hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: read failed after %llu bytes: %s",
                                      src->name, (unsigned long long)src->raw, strerror(errno));
            return -1;
        }
        src->raw += (uint64_t)got;
        if (got == 0)
            src->raw_eof = 1;
        if (hogmf__test_after_read)
            hogmf__test_after_read(src->fd, src->raw);
        /* A regular file that ends before the size it had when opened was cut short while it
         * was being read: what was read is not the file the caller named. */
        if (got == 0 && src->regular && src->raw < src->size) {
            src->failed = hogmf__fail(
                err, HOGMF_ERR_IO, 0,
                "%s: expected %llu bytes (its size when opened), found only %llu: the file "
                "shrank while being read",
                src->name, (unsigned long long)src->size, (unsigned long long)src->raw);
            return -1;
        }
        return got;
    }
}

static void source_close(source *src)
{
    if (src->zs_live)
        inflateEnd(&src->zs);
    free(src->zbuf);
    if (src->fd >= 0 && !src->is_stdin)
        close(src->fd);
    src->fd = -1;
    src->zbuf = NULL;
    src->zs_live = 0;
}

static hogmf_status source_open(source *src, const char *path, hogmf_error *err)
{
    memset(src, 0, sizeof *src);
    src->is_stdin = strcmp(path, "-") == 0;
    src->name = src->is_stdin ? "<stdin>" : path;
    src->fd = src->is_stdin ? 0 : open(path, O_RDONLY);
    if (src->fd < 0)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(src->fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) {
            source_close(src);
            return hogmf__fail(err, HOGMF_ERR_IO, 0,
                               "%s: expected a ratings file, found a directory", path);
        }
        src->regular = S_ISREG(sb.st_mode);
        src->size = src->regular ? (uint64_t)sb.st_size : 0;
    }
    while (src->npeek < 2 && !src->raw_eof) {
        ssize_t got = raw_read(src, src->peek + src->npeek, 2 - src->npeek, err);
        if (got < 0) {
            source_close(src);
            return src->failed;
        }
        src->npeek += (size_t)got;
    }
    src->gz = src->npeek == 2 && src->peek[0] == 0x1f && src->peek[1] == 0x8b;
    if (src->gz) {
        src->zbuf = malloc(ZBUF_SIZE);
        if (!src->zbuf) {
            source_close(src);
            return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
        }
        /* 15 + 16: gzip members only (not raw deflate or zlib streams). */
        if (inflateInit2(&src->zs, 15 + 16) != Z_OK) {
            source_close(src);
            return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory for zlib", path);
        }
        src->zs_live = 1;
        memcpy(src->zbuf, src->peek, 2);
        src->zs.next_in = src->zbuf;
        src->zs.avail_in = 2;
        src->npeek = 0;
    }
    return HOGMF_OK;
}

/* produced: bytes decompressed by the current source_read call so far. */
static ssize_t gz_error(source *src, const char *what, size_t produced, hogmf_error *err)
{
    src->failed = hogmf__fail(err, HOGMF_ERR_IO, 0,
                              "%s: expected gzip data, found %s (after %llu compressed and %llu "
                              "decompressed bytes)",
                              src->name, what, (unsigned long long)src->raw,
                              (unsigned long long)(src->out + produced));
    return -1;
}

/* Refills the compressed buffer when it is empty and the file has more. */
static int gz_fill(source *src, hogmf_error *err)
{
    if (src->zs.avail_in > 0 || src->raw_eof)
        return 0;
    ssize_t got = raw_read(src, src->zbuf, ZBUF_SIZE, err);
    if (got < 0)
        return -1;
    src->zs.next_in = src->zbuf;
    src->zs.avail_in = (uInt)got;
    return 0;
}

/* Reads up to cap (decompressed) bytes into dst: the count, 0 at the end of the input, or
 * -1 with src->failed and err set. */
static ssize_t source_read(source *src, char *dst, size_t cap, hogmf_error *err)
{
    if (!src->gz) {
        if (src->npeek > 0) {
            size_t n = src->npeek < cap ? src->npeek : cap;
            memcpy(dst, src->peek, n);
            memmove(src->peek, src->peek + n, src->npeek - n);
            src->npeek -= n;
            return (ssize_t)n;
        }
        if (src->raw_eof)
            return 0;
        return raw_read(src, dst, cap, err);
    }
    z_stream *zs = &src->zs;
    zs->next_out = (unsigned char *)dst;
    zs->avail_out = (uInt)(cap > (1u << 30) ? (1u << 30) : cap);
    const size_t want = zs->avail_out;
    while (zs->avail_out > 0 && !src->gz_end) {
        if (gz_fill(src, err) != 0)
            return -1;
        int z = inflate(zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END) {
            /* Another member may follow (gzip files can be concatenated). */
            if (gz_fill(src, err) != 0)
                return -1;
            if (zs->avail_in == 0) {
                src->gz_end = 1;
                break;
            }
            if (zs->next_in[0] != 0x1f)
                return gz_error(src, "other bytes after the last gzip member",
                                want - zs->avail_out, err);
            inflateReset(zs);
            continue;
        }
        if (z == Z_MEM_ERROR) {
            src->failed = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory in zlib",
                                      src->name);
            return -1;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            char what[160];
            snprintf(what, sizeof what, "corrupt data (zlib: %s)",
                     zs->msg ? zs->msg : "data error");
            return gz_error(src, what, want - zs->avail_out, err);
        }
        /* inflate stopped with room left: it needs input, and there is none. */
        if (zs->avail_out > 0 && zs->avail_in == 0 && src->raw_eof)
            return gz_error(src, "the end of the file inside a gzip member (truncated?)",
                            want - zs->avail_out, err);
    }
    size_t n = want - zs->avail_out;
    src->out += n;
    return (ssize_t)n;
}

hogmf_status hogmf_ratings_read(const char *path, const hogmf_read_options *opts,
                                hogmf_ratings *out, hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    source src;
    hogmf_status st = source_open(&src, path, err);
    if (st != HOGMF_OK)
        return st;
    char *buf = malloc(CHUNK_SIZE + MAX_LINE);
    if (!buf) {
        source_close(&src);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    }
    parser ps;
    st = parser_init(&ps, src.name, opts, out, err);
    size_t have = 0;
    uint64_t total = 0;
    int eof = 0;
    while (st == HOGMF_OK && !eof) {
        ssize_t got = source_read(&src, buf + have, CHUNK_SIZE + MAX_LINE - have, err);
        if (got < 0) {
            st = src.failed;
            break;
        }
        eof = got == 0;
        have += (size_t)got;
        total += (uint64_t)got;
        size_t used = 0;
        st = parse_block(&ps, buf, have, eof, &used);
        if (st != HOGMF_OK)
            break;
        if (ps.opts.progress) /* file bytes (compressed ones for gzip) against the file size */
            ps.opts.progress(ps.opts.progress_ctx, src.raw, src.regular ? src.size : 0);
        memmove(buf, buf + used, have - used);
        have -= used;
        /* What is left is the start of the next line; at eof nothing is left. */
        if (have > MAX_LINE)
            st = line_too_long(&ps, ps.line + 1);
    }
    free(buf);
    source_close(&src);
    st = parser_finish(&ps, st);
    if (st == HOGMF_OK)
        out->bytes = total;
    return st;
}

/* The start of a file (decompressed) gives the average line length; the file size (and for
 * gzip the compression ratio so far) the rest. */
hogmf_status hogmf_ratings_estimate(const char *path, hogmf_read_estimate *out,
                                    hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    if (strcmp(path, "-") == 0)
        return HOGMF_OK; /* unknown */
    /* A pipe or FIFO is not opened: the bytes read here would be missing from the read
     * that follows (and a FIFO's writer may be gone by then). */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return HOGMF_OK;
    source src;
    hogmf_status st = source_open(&src, path, err);
    if (st != HOGMF_OK)
        return st;
    out->file_bytes = src.size;
    out->compressed = src.gz;
    if (!src.regular) {
        source_close(&src);
        return HOGMF_OK;
    }
    size_t cap = 1u << 20, have = 0;
    char *buf = malloc(cap);
    if (!buf) {
        source_close(&src);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    }
    while (have < cap) {
        ssize_t got = source_read(&src, buf + have, cap - have, err);
        if (got < 0) {
            st = src.failed;
            break;
        }
        if (got == 0)
            break;
        have += (size_t)got;
    }
    if (st == HOGMF_OK) {
        uint64_t lines = 0;
        for (size_t j = 0; j < have; j++)
            lines += buf[j] == '\n';
        if (have > 0 && buf[have - 1] != '\n')
            lines++;
        /* Decompressed size: all of it when the sample reached the end, otherwise scaled
         * by the compressed bytes consumed so far. */
        uint64_t text = have;
        int whole = src.gz ? src.gz_end : src.raw_eof || src.raw >= src.size;
        if (!whole && src.gz) {
            uint64_t consumed = src.raw - src.zs.avail_in;
            text = consumed ? (uint64_t)((double)have * (double)src.size / (double)consumed)
                            : have;
        } else if (!whole) {
            text = src.size;
        }
        out->text_bytes = text;
        out->nnz = have ? (uint64_t)((double)lines * (double)text / (double)have) : 0;
        out->memory = hogmf_estimate_read_memory(out->nnz);
    }
    free(buf);
    source_close(&src);
    return st;
}

uint64_t hogmf_estimate_read_memory(uint64_t nnz)
{
    /* The ratings array grows by doubling (at most 2 nnz entries, and the old and new
     * arrays during a realloc: 3 x 12 bytes at the worst moment), duplicate removal needs
     * 4 bytes per rating, the id arrays and maps about 28 bytes per distinct id (taken as
     * nnz / 8 ids), plus the read buffer. */
    uint64_t ids = nnz / 8 + 1;
    return 36 * nnz + 4 * nnz + 28 * ids + CHUNK_SIZE + MAX_LINE + ZBUF_SIZE;
}

/* ---------------------------------------------------------------- building and splitting */

static hogmf_status alloc_like(hogmf_ratings *dst, const hogmf_ratings *src, size_t nnz,
                               hogmf_error *err)
{
    memset(dst, 0, sizeof *dst);
    dst->data = malloc((nnz ? nnz : 1) * sizeof *dst->data);
    dst->user_ids = malloc(((size_t)src->m ? src->m : 1) * sizeof *dst->user_ids);
    dst->item_ids = malloc(((size_t)src->n ? src->n : 1) * sizeof *dst->item_ids);
    if (!dst->data || !dst->user_ids || !dst->item_ids) {
        hogmf_ratings_free(dst);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "out of memory");
    }
    memcpy(dst->user_ids, src->user_ids, (size_t)src->m * sizeof *dst->user_ids);
    memcpy(dst->item_ids, src->item_ids, (size_t)src->n * sizeof *dst->item_ids);
    dst->m = src->m;
    dst->n = src->n;
    dst->format = src->format;
    dst->user_names = hogmf_names_ref(src->user_names); /* string ids keep their codes */
    dst->item_names = hogmf_names_ref(src->item_names);
    return HOGMF_OK;
}

static void set_range(hogmf_ratings *r)
{
    r->rmin = r->rmax = 0;
    for (size_t j = 0; j < r->nnz; j++) {
        float v = r->data[j].r;
        if (j == 0 || v < r->rmin)
            r->rmin = v;
        if (j == 0 || v > r->rmax)
            r->rmax = v;
    }
}

hogmf_status hogmf_ratings_from_dense(const float *x, const unsigned char *mask, uint32_t m,
                                      uint32_t n, hogmf_ratings *out, hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    if (m == 0 || n == 0)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "dense matrix: expected m, n >= 1");
    size_t cells = (size_t)m * n, nnz = 0;
    for (size_t c = 0; c < cells; c++) {
        int observed = mask ? mask[c] != 0 : !isnan(x[c]);
        if (!observed)
            continue;
        if (!isfinite(x[c]))
            return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                               "dense matrix: cell (%zu, %zu) is observed but not finite",
                               c / n, c % n);
        nnz++;
    }
    if (nnz == 0)
        return hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "dense matrix: no observed cell");
    hogmf_ratings shape = {.m = m, .n = n, .format = HOGMF_FORMAT_CSV};
    out->data = malloc(nnz * sizeof *out->data);
    out->user_ids = malloc((size_t)m * sizeof *out->user_ids);
    out->item_ids = malloc((size_t)n * sizeof *out->item_ids);
    if (!out->data || !out->user_ids || !out->item_ids) {
        hogmf_ratings_free(out);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "dense matrix: out of memory");
    }
    for (uint32_t u = 0; u < m; u++)
        out->user_ids[u] = u;
    for (uint32_t i = 0; i < n; i++)
        out->item_ids[i] = i;
    out->m = shape.m;
    out->n = shape.n;
    out->format = shape.format;
    for (size_t c = 0; c < cells; c++) {
        int observed = mask ? mask[c] != 0 : !isnan(x[c]);
        if (observed)
            out->data[out->nnz++] = (hogmf_rating){(uint32_t)(c / n), (uint32_t)(c % n), x[c]};
    }
    set_range(out);
    return HOGMF_OK;
}

/* Renumbers users and items densely in order of first appearance, dropping ids with no
 * rating left (after a split). */
static hogmf_status compact_ids(hogmf_ratings *r, hogmf_error *err)
{
    uint32_t *unew = malloc(((size_t)r->m + 1) * sizeof *unew);
    uint32_t *inew = malloc(((size_t)r->n + 1) * sizeof *inew);
    uint32_t *uids = malloc(((size_t)r->m + 1) * sizeof *uids);
    uint32_t *iids = malloc(((size_t)r->n + 1) * sizeof *iids);
    if (!unew || !inew || !uids || !iids) {
        free(unew);
        free(inew);
        free(uids);
        free(iids);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "split: out of memory");
    }
    memset(unew, 0xff, ((size_t)r->m + 1) * sizeof *unew);
    memset(inew, 0xff, ((size_t)r->n + 1) * sizeof *inew);
    uint32_t m = 0, n = 0;
    for (size_t j = 0; j < r->nnz; j++) {
        hogmf_rating *x = &r->data[j];
        if (unew[x->u] == HOGMF_UNKNOWN) {
            unew[x->u] = m;
            uids[m++] = r->user_ids[x->u];
        }
        if (inew[x->i] == HOGMF_UNKNOWN) {
            inew[x->i] = n;
            iids[n++] = r->item_ids[x->i];
        }
        x->u = unew[x->u];
        x->i = inew[x->i];
    }
    free(unew);
    free(inew);
    free(r->user_ids);
    free(r->item_ids);
    r->user_ids = uids;
    r->item_ids = iids;
    r->m = m;
    r->n = n;
    return HOGMF_OK;
}

hogmf_status hogmf_ratings_split(const hogmf_ratings *src, double test_fraction, uint64_t seed,
                                 hogmf_ratings *train, hogmf_ratings *test, hogmf_error *err)
{
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (!(test_fraction >= 0.0 && test_fraction < 1.0))
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0,
                           "test fraction: expected a number in [0, 1), found %g", test_fraction);
    size_t nnz = src->nnz;
    size_t ntest = (size_t)llround(test_fraction * (double)nnz);
    /* Pick ntest positions by a partial Fisher-Yates shuffle of 0..nnz-1, then mark them. */
    uint32_t *idx = malloc((nnz ? nnz : 1) * sizeof *idx);
    unsigned char *in_test = calloc(nnz ? nnz : 1, 1);
    hogmf_status st = HOGMF_OK;
    if (!idx || !in_test) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "split: out of memory");
        goto done;
    }
    for (size_t j = 0; j < nnz; j++)
        idx[j] = (uint32_t)j;
    hogmf_rng g;
    hogmf__rng_seed(&g, seed, 0x53504C4954ull /* "SPLIT" */);
    for (size_t j = 0; j < ntest; j++) {
        size_t t = j + (size_t)hogmf__rng_below(&g, nnz - j);
        uint32_t tmp = idx[j];
        idx[j] = idx[t];
        idx[t] = tmp;
        in_test[idx[j]] = 1;
    }
    if ((st = alloc_like(train, src, nnz - ntest, err)) != HOGMF_OK)
        goto done;
    if ((st = alloc_like(test, src, ntest, err)) != HOGMF_OK) {
        hogmf_ratings_free(train);
        goto done;
    }
    for (size_t j = 0; j < nnz; j++) {
        hogmf_ratings *dst = in_test[j] ? test : train;
        dst->data[dst->nnz++] = src->data[j];
    }
    if ((st = compact_ids(train, err)) != HOGMF_OK || (st = compact_ids(test, err)) != HOGMF_OK) {
        hogmf_ratings_free(train);
        hogmf_ratings_free(test);
        goto done;
    }
    set_range(train);
    set_range(test);
done:
    free(idx);
    free(in_test);
    return st;
}

hogmf_status hogmf_ratings_partition(const hogmf_ratings *src, const unsigned char *in_test,
                                     hogmf_ratings *train, hogmf_ratings *test,
                                     hogmf_error *err)
{
    size_t ntest = 0;
    for (size_t j = 0; j < src->nnz; j++)
        ntest += in_test[j] != 0;
    hogmf_status st = alloc_like(train, src, src->nnz - ntest, err);
    if (st != HOGMF_OK)
        return st;
    if ((st = alloc_like(test, src, ntest, err)) != HOGMF_OK) {
        hogmf_ratings_free(train);
        return st;
    }
    for (size_t j = 0; j < src->nnz; j++) {
        hogmf_ratings *dst = in_test[j] ? test : train;
        dst->data[dst->nnz++] = src->data[j];
    }
    if ((st = compact_ids(train, err)) != HOGMF_OK || (st = compact_ids(test, err)) != HOGMF_OK) {
        hogmf_ratings_free(train);
        hogmf_ratings_free(test);
        return st;
    }
    set_range(train);
    set_range(test);
    return HOGMF_OK;
}

hogmf_status hogmf_ratings_write(const hogmf_ratings *r, const char *path, hogmf_format format,
                                 hogmf_error *err)
{
    if (format == HOGMF_FORMAT_AUTO)
        format = r->format == HOGMF_FORMAT_AUTO ? HOGMF_FORMAT_TSV : r->format;
    const char *sep = format == HOGMF_FORMAT_DAT ? "::"
                      : format == HOGMF_FORMAT_CSV ? ","
                      : format == HOGMF_FORMAT_TSV ? "\t"
                                                   : " ";
    size_t seplen = strlen(sep);
    hogmf_outfile f;
    hogmf_status st = hogmf__out_open(&f, path, err);
    if (st != HOGMF_OK)
        return st;
    if (format == HOGMF_FORMAT_CSV)
        hogmf__out_write(&f, "user,item,rating\n", 17);
    /* String ids are written as their names (LIBMF's ids are numbers: their codes). */
    const int named = format != HOGMF_FORMAT_LIBMF;
    for (size_t j = 0; j < r->nnz; j++) {
        size_t lu = 0, li = 0;
        const char *un = named ? hogmf_names_get(r->user_names, r->user_ids[r->data[j].u], &lu) : NULL;
        const char *in = named ? hogmf_names_get(r->item_names, r->item_ids[r->data[j].i], &li) : NULL;
        char *p = hogmf__out_reserve(&f, 64 + lu + li);
        size_t n = un ? (memcpy(p, un, lu), lu) : hogmf__fmt_u32(p, r->user_ids[r->data[j].u]);
        memcpy(p + n, sep, seplen);
        n += seplen;
        n += in ? (memcpy(p + n, in, li), li) : hogmf__fmt_u32(p + n, r->item_ids[r->data[j].i]);
        memcpy(p + n, sep, seplen);
        n += seplen;
        n += hogmf__fmt_float(p + n, r->data[j].r);
        p[n++] = '\n';
        hogmf__out_advance(&f, n);
    }
    return hogmf__out_commit(&f, err);
}
