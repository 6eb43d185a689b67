/*
 * crc32.c - table-driven CRC-32 (zlib's), slicing by 4 over a table built at compile time.
 */
#include "crc32.h"

#define P 0xEDB88320u
/* One table entry: 8 shift-and-xor steps of the reflected polynomial. */
#define S1(c) (((c) & 1u) ? (P ^ ((c) >> 1)) : ((c) >> 1))
#define S8(c) S1(S1(S1(S1(S1(S1(S1(S1(c))))))))
#define E1(i) S8((uint32_t)(i))
#define E4(i) E1(i), E1(i + 1), E1(i + 2), E1(i + 3)
#define E16(i) E4(i), E4(i + 4), E4(i + 8), E4(i + 12)
#define E64(i) E16(i), E16(i + 16), E16(i + 32), E16(i + 48)

static const uint32_t tab[256] = {E64(0), E64(64), E64(128), E64(192)};

uint32_t est_crc32(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;
    for (; n >= 4; n -= 4, p += 4) {
        c = tab[(c ^ p[0]) & 0xFF] ^ (c >> 8);
        c = tab[(c ^ p[1]) & 0xFF] ^ (c >> 8);
        c = tab[(c ^ p[2]) & 0xFF] ^ (c >> 8);
        c = tab[(c ^ p[3]) & 0xFF] ^ (c >> 8);
    }
    while (n--) c = tab[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}
