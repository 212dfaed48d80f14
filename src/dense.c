/*
 * dense.c - dense matrices as text for `hogmf impute`: a reader that marks missing cells
 * (empty, or equal to a marker) and reports malformed rows with their line, and a writer.
 * Turning the known cells into ratings is hogmf_ratings_from_dense (ratings.c). Also the
 * whole-file reader shared with the fold-in files.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

hogmf_status hogmf__read_text(const char *path, char **buf, size_t *len, hogmf_error *err)
{
    *buf = NULL;
    *len = 0;
    int is_stdin = !strcmp(path, "-");
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    hogmf_status st = HOGMF_OK;
    if (!p) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        if (cap - n < 2) {
            char *q = cap < SIZE_MAX / 2 ? realloc(p, cap * 2) : NULL;
            if (!q) {
                st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
                goto done;
            }
            p = q;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                st = hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: read failed: %s", path,
                                 strerror(errno ? errno : EIO));
            break;
        }
    }
done:
    if (!is_stdin)
        fclose(fp);
    if (st != HOGMF_OK) {
        free(p);
        return st;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return HOGMF_OK;
}

void hogmf_dense_free(hogmf_dense *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->known);
    memset(d, 0, sizeof *d);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Quotes a cell for a message, cut to 40 characters. */
static const char *quote(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = len < 40 ? len : 40;
    snprintf(buf, cap, "'%.*s'%s", (int)n, s, len > n ? "..." : "");
    return buf;
}

/* Parses one cell (blanks already trimmed): 1 known with *v set, 0 missing, -1 malformed. */
static int parse_cell(const char *s, size_t len, const char *missing, size_t mlen, float *v)
{
    if (len == 0 || (missing && len == mlen && !memcmp(s, missing, len)))
        return 0;
    char tmp[64];
    if (len >= sizeof tmp)
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (end != tmp + len || !isfinite(d) || fabs(d) > 3.4e38)
        return -1;
    *v = (float)d;
    return 1;
}

hogmf_status hogmf_dense_read(const char *path, const char *missing, hogmf_dense *out,
                              hogmf_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    hogmf_status st = hogmf__read_text(path, &text, &len, err);
    if (st != HOGMF_OK)
        return st;
    size_t mlen = missing ? strlen(missing) : 0;
    if (missing && mlen == 0)
        missing = NULL;
    size_t cap = 0, cells = 0;
    uint32_t m = 0, n = 0;
    uint64_t blank = 0; /* the first blank line after a row, 0 before any */
    char delim = 0;
    const char *s = text, *end = text + len;
    if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
        s += 3;
    for (uint64_t line = 1; s < end; line++) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        size_t ll = (size_t)(eol - s);
        if (ll > 0 && s[ll - 1] == '\r')
            ll--;
        const char *a = s, *b = s + ll;
        s = eol + 1;
        if (memchr(a, '\0', ll)) {
            st = hogmf__fail(err, HOGMF_ERR_PARSE, line, "%s:%llu: expected text, found a NUL byte",
                             path, (unsigned long long)line);
            goto fail;
        }
        const char *c = a;
        while (c < b && is_blank(*c))
            c++;
        if (c == b) { /* blank: fine before and after the matrix, not inside it */
            if (m > 0 && !blank)
                blank = line;
            continue;
        }
        if (blank) {
            st = hogmf__fail(err, HOGMF_ERR_PARSE, blank,
                             "%s:%llu: expected a row of the matrix, found a blank line (more "
                             "rows follow on line %llu)",
                             path, (unsigned long long)blank, (unsigned long long)line);
            goto fail;
        }
        if (!delim)
            delim = memchr(a, ',', (size_t)(b - a))    ? ','
                    : memchr(a, '\t', (size_t)(b - a)) ? '\t'
                                                        : ' ';
        if (m == UINT32_MAX - 1) {
            st = hogmf__fail(err, HOGMF_ERR_PARSE, line, "%s:%llu: too many rows", path,
                             (unsigned long long)line);
            goto fail;
        }
        /* Cells of this row, appended after the previous rows. */
        uint32_t col = 0;
        const char *p = delim == ' ' ? c : a;
        for (;;) {
            const char *q = p;
            if (delim == ' ')
                while (q < b && !is_blank(*q))
                    q++;
            else
                while (q < b && *q != delim)
                    q++;
            const char *cs = p, *ce = q;
            while (cs < ce && is_blank(*cs))
                cs++;
            while (ce > cs && is_blank(ce[-1]))
                ce--;
            if (m > 0 && col >= n) {
                st = hogmf__fail(err, HOGMF_ERR_PARSE, line,
                                 "%s:%llu: expected %u cells as in the first row, found more",
                                 path, (unsigned long long)line, n);
                goto fail;
            }
            if (cells == cap) {
                size_t ncap = cap ? cap * 2 : 1024;
                float *nx = realloc(out->x, ncap * sizeof *nx);
                if (nx)
                    out->x = nx;
                unsigned char *nk = realloc(out->known, ncap);
                if (nk)
                    out->known = nk;
                if (!nx || !nk) {
                    st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
                    goto fail;
                }
                cap = ncap;
            }
            float v = NAN;
            int r = parse_cell(cs, (size_t)(ce - cs), missing, mlen, &v);
            if (r < 0) {
                char qb[64], mb[64];
                st = hogmf__fail(err, HOGMF_ERR_PARSE, line,
                                 "%s:%llu: cell %u: expected a finite number%s%s, found %s",
                                 path, (unsigned long long)line, col + 1,
                                 missing ? " or the missing marker " : " or an empty cell",
                                 missing ? quote(missing, mlen, mb, sizeof mb) : "",
                                 quote(cs, (size_t)(ce - cs), qb, sizeof qb));
                goto fail;
            }
            out->x[cells] = r ? v : NAN;
            out->known[cells] = (unsigned char)r;
            cells++;
            col++;
            if (col == UINT32_MAX) {
                st = hogmf__fail(err, HOGMF_ERR_PARSE, line, "%s:%llu: too many cells", path,
                                 (unsigned long long)line);
                goto fail;
            }
            if (delim == ' ') {
                while (q < b && is_blank(*q))
                    q++;
                if (q == b)
                    break;
                p = q;
            } else {
                if (q == b)
                    break;
                p = q + 1;
            }
        }
        if (m == 0) {
            n = col;
        } else if (col != n) {
            st = hogmf__fail(err, HOGMF_ERR_PARSE, line,
                             "%s:%llu: expected %u cells as in the first row, found %u", path,
                             (unsigned long long)line, n, col);
            goto fail;
        }
        m++;
    }
    if (m == 0) {
        st = hogmf__fail(err, HOGMF_ERR_EMPTY, 0, "%s: no rows", path);
        goto fail;
    }
    free(text);
    out->m = m;
    out->n = n;
    out->delim = delim;
    return HOGMF_OK;
fail:
    free(text);
    hogmf_dense_free(out);
    return st;
}

hogmf_status hogmf_dense_write(const char *path, const float *x, const unsigned char *exact,
                               uint32_t m, uint32_t n, char delim, int digits, hogmf_error *err)
{
    if (digits < 1 || digits > 9)
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "digits: expected 1..9, found %d", digits);
    if (delim != ',' && delim != '\t' && delim != ' ')
        return hogmf__fail(err, HOGMF_ERR_INVALID, 0, "delimiter: expected ',', TAB or ' '");
    hogmf_outfile f;
    hogmf_status st = hogmf__out_open(&f, path, err);
    if (st != HOGMF_OK)
        return st;
    for (uint32_t u = 0; u < m; u++) {
        for (uint32_t i = 0; i < n; i++) {
            size_t c = (size_t)u * n + i;
            char *p = hogmf__out_reserve(&f, 48);
            size_t len = 0;
            if (i > 0)
                p[len++] = delim;
            if (exact && exact[c])
                len += hogmf__fmt_float(p + len, x[c]);
            else
                len += (size_t)snprintf(p + len, 40, "%.*g", digits, (double)x[c]);
            hogmf__out_advance(&f, len);
        }
        hogmf__out_write(&f, "\n", 1);
    }
    return hogmf__out_commit(&f, err);
}
