/*
 * bytes.h - little-endian encoding of numbers and arrays and the CRC-32 shared by the binary
 * files (model_io.c, checkpoint.c). Private; header-only. It knows no file layout.
 */
#ifndef HOGMF_BYTES_H
#define HOGMF_BYTES_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

static inline void hogmf__put_u32(unsigned char *p, uint32_t v)
{
    for (int j = 0; j < 4; j++)
        p[j] = (unsigned char)(v >> (8 * j));
}
static inline void hogmf__put_u64(unsigned char *p, uint64_t v)
{
    for (int j = 0; j < 8; j++)
        p[j] = (unsigned char)(v >> (8 * j));
}
static inline void hogmf__put_f32(unsigned char *p, float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    hogmf__put_u32(p, b);
}
static inline void hogmf__put_f64(unsigned char *p, double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    hogmf__put_u64(p, b);
}
static inline uint32_t hogmf__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t hogmf__get_u64(const unsigned char *p)
{
    return (uint64_t)hogmf__get_u32(p) | (uint64_t)hogmf__get_u32(p + 4) << 32;
}
static inline float hogmf__get_f32(const unsigned char *p)
{
    uint32_t b = hogmf__get_u32(p);
    float v;
    memcpy(&v, &b, 4);
    return v;
}
static inline double hogmf__get_f64(const unsigned char *p)
{
    uint64_t b = hogmf__get_u64(p);
    double v;
    memcpy(&v, &b, 8);
    return v;
}

/* Copies count 32-bit words to little-endian bytes (and back), whatever the host order. */
static inline unsigned char *hogmf__put_words(unsigned char *dst, const void *src, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, count * 4);
#else
    const uint32_t *s = src;
    for (size_t j = 0; j < count; j++)
        hogmf__put_u32(dst + 4 * j, s[j]);
#endif
    return dst + count * 4;
}
static inline const unsigned char *hogmf__get_words(void *dst, const unsigned char *src,
                                                    size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, count * 4);
#else
    uint32_t *d = dst;
    for (size_t j = 0; j < count; j++)
        d[j] = hogmf__get_u32(src + 4 * j);
#endif
    return src + count * 4;
}

/* Continues a CRC-32 (start from 0) over a buffer of any size (zlib takes uInt lengths). */
static inline uint32_t hogmf__crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uLong c = crc;
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

#endif
