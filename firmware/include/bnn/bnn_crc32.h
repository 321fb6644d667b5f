/* bnn-edge firmware runtime: CRC-32 (IEEE 802.3, the zlib.crc32 polynomial 0xEDB88320). */
#ifndef BNN_CRC32_H
#define BNN_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-32 of len bytes (same value as Python's zlib.crc32(data)). */
uint32_t bnn_crc32(const void *data, size_t len);

/* Incremental form: start with crc = 0, feed chunks, the result equals bnn_crc32 of the
 * concatenation (zlib.crc32(chunk, crc) semantics). */
uint32_t bnn_crc32_update(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* BNN_CRC32_H */
