/*
 * fuzz_memfile.h - puts a fuzz input into an in-memory file (memfd) that the library's
 * path-based loaders open as /proc/self/fd/N, so the real loaders are fuzzed unchanged.
 */
#ifndef HOGMF_FUZZ_MEMFILE_H
#define HOGMF_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Fills path (cap bytes) with a name that opens data[0..size); 0, or -1 on failure. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t cap)
{
    static int fd = -1;
    if (fd < 0)
        fd = memfd_create("hogmf-fuzz", 0);
    if (fd < 0 || ftruncate(fd, 0) != 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return 0;
}

#endif
