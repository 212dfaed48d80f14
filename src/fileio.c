/*
 * fileio.c - atomic output files (temporary name in the same folder, fsync, rename, fsync of
 * the folder; where Linux O_TMPFILE works the file has no name at all until it is complete,
 * so a killed process leaves nothing behind), aligned allocation and fast number formatting
 * for the text writers.
 * Reading is elsewhere (ratings.c, model_io.c), except the opening of a file that must be
 * a regular one.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* count * size rounded up to whole 64-byte lines (at least one); 0 on overflow. */
static size_t aligned_bytes(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return 0;
    size_t bytes = count * size;
    if (bytes > SIZE_MAX - 63)
        return 0;
    bytes = (bytes + 63) & ~(size_t)63;
    return bytes ? bytes : 64;
}

void *hogmf__aligned_alloc(size_t count, size_t size)
{
    size_t bytes = aligned_bytes(count, size);
    void *p = NULL;
    if (bytes == 0 || posix_memalign(&p, 64, bytes) != 0)
        return NULL;
    return p;
}

void *hogmf__aligned_calloc(size_t count, size_t size)
{
    void *p = hogmf__aligned_alloc(count, size);
    if (p)
        memset(p, 0, aligned_bytes(count, size));
    return p;
}

#define OUT_BUFSIZE (1u << 20)

/* The folder a path's file lives in ("." for a bare name); NULL when out of memory. */
static char *dir_of(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return NULL;
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    return dir;
}

/* The file an output path names: path itself, or for a symbolic link (a chain of them) the
 * file it points to, so that the link stays and its target is replaced. NULL when out of
 * memory. */
static char *out_target(const char *path)
{
    char *cur = strdup(path);
    for (int hops = 0; cur && hops < 40; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode))
            return cur;
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0)
            return cur;
        link[n] = '\0';
        char *next;
        if (link[0] == '/' || !strchr(cur, '/')) {
            next = strdup(link);
        } else {
            char *dir = dir_of(cur);
            next = dir ? malloc(strlen(dir) + (size_t)n + 2) : NULL;
            if (next)
                sprintf(next, "%s/%s", dir, link);
            free(dir);
        }
        free(cur);
        cur = next;
    }
    return cur;
}

hogmf_status hogmf_output_check(const char *path, hogmf_error *err)
{
    char *target = out_target(path);
    char *dir = target ? dir_of(target) : NULL;
    hogmf_status st = HOGMF_OK;
    struct stat sb;
    if (!dir) {
        st = hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    } else if (stat(target, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: is a directory", path);
    } else if (stat(target, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* a device or FIFO is written in place; whether it takes the bytes shows then */
    } else {
        int fd = -1;
#ifdef O_TMPFILE
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
#endif
        if (fd < 0) {
            size_t cap = strlen(target) + 16;
            char *tmp = malloc(cap);
            if (tmp) {
                snprintf(tmp, cap, "%s.tmp.XXXXXX", target);
                fd = mkstemp(tmp);
                if (fd >= 0)
                    unlink(tmp);
            }
            free(tmp);
        }
        if (fd < 0)
            st = hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot create a file in %s: %s", path,
                             dir, strerror(errno));
        else
            close(fd);
    }
    free(dir);
    free(target);
    return st;
}

hogmf_status hogmf__out_open(hogmf_outfile *f, const char *path, hogmf_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    /* Through a symbolic link to its target: the link stays a link. */
    f->path = out_target(path);
    size_t plen = f->path ? strlen(f->path) : 0;
    f->tmp = malloc(plen + 16);
    f->buf = malloc(OUT_BUFSIZE);
    if (!f->path || !f->tmp || !f->buf) {
        hogmf__out_abort(f);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    }
    const char *target = f->path; /* messages name path, as given */
    f->cap = OUT_BUFSIZE;
    /* A device or pipe (/dev/stdout, /dev/full, a FIFO) is written in place: renaming over
     * it would replace the device node. */
    struct stat sb;
    int exists = stat(target, &sb) == 0; /* a regular file is replaced: its mode carries over */
    if (exists && !S_ISREG(sb.st_mode)) {
        if (S_ISDIR(sb.st_mode)) {
            hogmf__out_abort(f);
            return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: is a directory", path);
        }
        free(f->tmp);
        f->tmp = NULL;
        f->fd = open(target, O_WRONLY);
        if (f->fd < 0) {
            int e = errno;
            hogmf__out_abort(f);
            return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot open: %s", path, strerror(e));
        }
        return HOGMF_OK;
    }
    /* Preferred: an unnamed file in the target's folder (Linux O_TMPFILE), given a name only
     * at commit. Where the file system does not support it, a named temporary file. */
    char *dir = dir_of(target);
    if (!dir) {
        hogmf__out_abort(f);
        return hogmf__fail(err, HOGMF_ERR_NOMEM, 0, "%s: out of memory", path);
    }
#ifdef O_TMPFILE
    f->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#endif
    free(dir);
    if (f->fd >= 0) {
        f->anon = 1;
    } else {
        snprintf(f->tmp, plen + 16, "%s.tmp.XXXXXX", target);
        f->fd = mkstemp(f->tmp);
        if (f->fd < 0) {
            int e = errno;
            free(f->tmp);
            f->tmp = NULL;
            hogmf__out_abort(f);
            return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot create a temporary file: %s",
                               path, strerror(e));
        }
        f->linked = 1;
        /* mkstemp creates 0600; give the usual permissions subject to the umask. */
        mode_t um = umask(0);
        umask(um);
        fchmod(f->fd, 0666 & ~um);
    }
    if (exists) {
        if (fchown(f->fd, sb.st_uid, sb.st_gid) != 0) {
            /* only root may give a file away: it stays the writer's */
        }
        fchmod(f->fd, sb.st_mode & 07777);
    }
    return HOGMF_OK;
}

hogmf_status hogmf__open_regular(const char *path, int *fd, uint64_t *size, hogmf_error *err)
{
    /* O_NONBLOCK: opening a FIFO would otherwise wait for a writer. */
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0)
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    const char *kind = NULL;
    if (fstat(*fd, &sb) != 0)
        kind = "a file that cannot be examined";
    else if (S_ISDIR(sb.st_mode))
        kind = "a directory";
    else if (S_ISFIFO(sb.st_mode))
        kind = "a FIFO or pipe";
    else if (!S_ISREG(sb.st_mode))
        kind = "a device or socket";
    if (kind) {
        close(*fd);
        *fd = -1;
        return hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: expected a regular file, found %s", path,
                           kind);
    }
    fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
    *size = (uint64_t)sb.st_size;
    return HOGMF_OK;
}

static void out_flush(hogmf_outfile *f)
{
    size_t off = 0;
    while (off < f->len && !f->failed) {
        ssize_t w = write(f->fd, f->buf + off, f->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            f->failed = errno;
        } else {
            off += (size_t)w;
        }
    }
    f->len = 0;
}

char *hogmf__out_reserve(hogmf_outfile *f, size_t need)
{
    if (f->cap - f->len < need)
        out_flush(f);
    return f->buf + f->len; /* need is always far below OUT_BUFSIZE */
}

void hogmf__out_write(hogmf_outfile *f, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        if (f->len == f->cap)
            out_flush(f);
        size_t n = f->cap - f->len < len ? f->cap - f->len : len;
        memcpy(f->buf + f->len, p, n);
        f->len += n;
        p += n;
        len -= n;
    }
}

static void fsync_dir_of(const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
}

/* Links the unnamed file f->fd into its folder as "PATH.tmp.XXXXXX" (a name not in use).
 * Returns 0, or -1 with errno set. */
static int link_anon(hogmf_outfile *f)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)f;
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t r = hogmf__splitmix64(&x);
        char suffix[7];
        for (int j = 0; j < 6; j++, r /= 36)
            suffix[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[r % 36];
        suffix[6] = '\0';
        snprintf(f->tmp, strlen(f->path) + 16, "%s.tmp.%s", f->path, suffix);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, f->tmp, AT_SYMLINK_FOLLOW) == 0) {
            f->linked = 1;
            return 0;
        }
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

hogmf_status hogmf__out_commit(hogmf_outfile *f, hogmf_error *err)
{
    out_flush(f);
    int atomic = f->tmp != NULL;
    if (atomic && !f->failed && fsync(f->fd) != 0)
        f->failed = errno;
    /* An unnamed file gets its temporary name while its descriptor is still open. */
    if (atomic && f->anon && !f->failed && link_anon(f) != 0)
        f->failed = errno;
    if (close(f->fd) != 0 && !f->failed)
        f->failed = errno;
    f->fd = -1;
    if (!atomic) { /* written in place */
        hogmf_status st = f->failed ? hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: write failed: %s",
                                                  f->path, strerror(f->failed))
                                    : HOGMF_OK;
        hogmf__out_abort(f);
        return st;
    }
    if (!f->failed && rename(f->tmp, f->path) != 0)
        f->failed = errno;
    if (!f->failed)
        f->linked = 0; /* renamed: nothing left to remove */
    if (f->failed) {
        hogmf_status st = hogmf__fail(err, HOGMF_ERR_IO, 0, "%s: write failed: %s", f->path,
                                      strerror(f->failed));
        hogmf__out_abort(f);
        return st;
    }
    fsync_dir_of(f->path);
    free(f->tmp);
    f->tmp = NULL;
    hogmf__out_abort(f);
    return HOGMF_OK;
}

void hogmf__out_abort(hogmf_outfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    if (f->tmp && f->linked)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f->buf);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

hogmf_status hogmf_write_file_atomic(const char *path, const void *data, size_t len,
                                     hogmf_error *err)
{
    hogmf_outfile f;
    hogmf_status st = hogmf__out_open(&f, path, err);
    if (st != HOGMF_OK)
        return st;
    /* Bypass the buffer for large blobs. */
    size_t off = 0;
    const char *p = data;
    while (off < len && !f.failed) {
        ssize_t w = write(f.fd, p + off, len - off);
        if (w < 0) {
            if (errno != EINTR)
                f.failed = errno;
        } else {
            off += (size_t)w;
        }
    }
    return hogmf__out_commit(&f, err);
}

size_t hogmf__fmt_u32(char *p, uint32_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t j = 0; j < n; j++)
        p[j] = tmp[n - 1 - j];
    return n;
}

size_t hogmf__fmt_float(char *p, float v)
{
    /* Fast path for the common half-star and integer ratings. */
    float twice = v * 2.0f;
    if (fabsf(v) < 1e6f && !signbit(v) && twice == (float)(int32_t)twice) {
        int32_t t = (int32_t)twice;
        size_t n = 0;
        n += hogmf__fmt_u32(p + n, (uint32_t)(t / 2));
        if (t & 1) {
            p[n++] = '.';
            p[n++] = '5';
        }
        return n;
    }
    for (int prec = 6; prec <= 9; prec++) {
        char tmp[32];
        int n = snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v || prec == 9) {
            memcpy(p, tmp, (size_t)n);
            return (size_t)n;
        }
    }
    return 0;
}
