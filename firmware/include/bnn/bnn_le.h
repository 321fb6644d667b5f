/* bnn-edge firmware runtime: little-endian reads and writes of a byte buffer (no alignment
 * requirement, any host byte order). The one set of these helpers: the pack loader, the head's
 * state blob and flash store, the tests and the fuzzers use them. */
#ifndef BNN_LE_H
#define BNN_LE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline uint16_t bnn_rd_u16(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}
static inline uint32_t bnn_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline int32_t bnn_rd_i32(const uint8_t *p) { return (int32_t)bnn_rd_u32(p); }

static inline void bnn_wr_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void bnn_wr_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#ifdef __cplusplus
}
#endif

#endif /* BNN_LE_H */
