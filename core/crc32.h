/*
 * crc32.h - zlib's CRC-32 (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), the
 * checksum edge-stt records per tensor in the GGUF metadata (key edgestt.crc32).
 *
 * est_crc32(0, p, n) equals zlib's crc32(0, p, n); calls chain: est_crc32(est_crc32(0, a, na), b, nb)
 * is the CRC of a followed by b.
 */
#ifndef EST_CRC32_H
#define EST_CRC32_H

#include "internal.h"

EST_HIDDEN uint32_t est_crc32(uint32_t crc, const void *data, size_t n);

#endif
