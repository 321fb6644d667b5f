/* bnn-edge on-device head: power-safe persistence of the head state to flash.
 *
 * Flash region = two equal slots (pages [0, P/2) and [P/2, P)). A slot holds a 32-byte header
 * (padded to the program unit) followed by the head's state blob (bnn_head_state_read):
 *
 *   off 0  u32 magic "BNSS"   4 u16 version (1)   6 u16 header bytes (32)
 *       8  u32 seq            12 u32 blob_len     16 u32 blob_crc (CRC-32 of the blob)
 *      20  u32 0xFFFFFFFF     24 u32 0xFFFFFFFF   28 u32 hdr_crc (CRC-32 of bytes 0..27)
 *
 * Commit: pick the slot NOT holding the newest valid state; erase the pages it needs (header
 * page first); program the blob in BNN_STORE_CHUNK-byte steps; program the header last, with
 * seq = newest seq + 1; read back and verify. A power cut at any step leaves the other slot
 * untouched and the written slot without a valid header+CRC pair, so load() finds the old state;
 * after the header is programmed, it finds the new one.
 * Load: both slots are checked (header CRC, then blob CRC over the flash); the valid one with
 * the newer seq (serial-number order) wins; if it fails the head's own checks the other valid
 * slot is tried. Corruption of one slot therefore falls back to the other.
 *
 * Errors are bnn_status_t codes: BNN_ERR_FLASH_CONFIG for a descriptor flash_ok refuses (callbacks,
 * geometry), BNN_ERR_FLASH_TOO_SMALL, BNN_ERR_FLASH from the driver, the head's own. CRC-32 is IEEE 802.3 (zlib.crc32): libbnn's
 * bnn_crc32_update (bnn/bnn_crc32.h, src/runtime/bnn_crc32.c), the runtime's one CRC implementation. */
#ifndef BNN_HEAD_STORE_H
#define BNN_HEAD_STORE_H

#include <stdint.h>

#include "bnn/bnn_head.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef BNN_STORE_CHUNK
#define BNN_STORE_CHUNK 64u /* bytes programmed per write step (stack buffer of this size) */
#endif
#define BNN_STORE_HEADER 32u
#define BNN_STORE_MAGIC 0x53534E42u /* "BNSS" */
#define BNN_STORE_VERSION 1u

/* The flash abstraction. Addresses are byte offsets from the start of the region.
 * erase_page sets a page to 0xFF; program writes len bytes at addr (addr and len multiples of
 * prog_unit, target erased); read copies bytes out. Each returns 0 on success, nonzero on
 * failure (a power loss in the simulator). prog_unit must be a power of two <= BNN_STORE_CHUNK;
 * page_size a multiple of prog_unit; n_pages even and >= 2; a slot >= 2*BNN_STORE_CHUNK bytes. */
typedef struct bnn_store_flash {
    uint32_t page_size;
    uint32_t n_pages;
    uint32_t prog_unit;
    int (*erase_page)(void *ctx, uint32_t page);
    int (*program)(void *ctx, uint32_t addr, const uint8_t *src, uint32_t len);
    int (*read)(void *ctx, uint32_t addr, uint8_t *dst, uint32_t len);
    void *ctx;
} bnn_store_flash_t;

/* What bnn_store_scan / bnn_store_load found. valid[s]: slot s holds a CRC-clean state;
 * blank[s]: slot s's header area is erased. loaded: slot restored (-1 none). fallback: 1 when
 * the newest valid slot could not be used and the other one was. */
typedef struct bnn_store_info {
    uint8_t valid[2];
    uint8_t blank[2];
    uint32_t seq[2];
    uint32_t blob_len[2];
    int32_t newest;
    int32_t loaded;
    uint8_t fallback;
} bnn_store_info_t;

/* Bytes one slot offers (page_size * n_pages / 2) and the bytes a commit of h needs. */
uint32_t bnn_store_slot_bytes(const bnn_store_flash_t *fl);
uint32_t bnn_store_needed_bytes(const bnn_store_flash_t *fl, const bnn_head_t *h);

/* Checks both slots (no state is touched). */
bnn_status_t bnn_store_scan(const bnn_store_flash_t *fl, bnn_store_info_t *info);

/* Writes h's state to the slot not holding the newest valid state (see above). info optional. */
bnn_status_t bnn_store_commit(const bnn_head_t *h, const bnn_store_flash_t *fl, bnn_store_info_t *info);

/* Restores the newest valid state into an initialised h (same config). BNN_ERR_NO_STATE: both
 * slots blank; BNN_ERR_STATE_CORRUPT: no valid slot but not blank; BNN_ERR_STATE_MISMATCH:
 * the state was made for another N/H/max_classes/buffer/W1. h is untouched when no slot passes
 * the CRC and header checks; if restoring a slot's body fails its consistency checks, h is reset
 * (fresh init) and the other slot is tried. info optional. */
bnn_status_t bnn_store_load(bnn_head_t *h, const bnn_store_flash_t *fl, bnn_store_info_t *info);

/* ---- Simulated NOR flash in RAM (host tests, QEMU): erase = 0xFF, program = AND. ----------
 * Write steps (one per erase_page or program call) are counted; arming cut_at = s makes step s
 * torn and every later step fail (power lost until bnn_store_ram_power_on). Torn modes:
 *   BNN_STORE_TORN_NONE:   step s has no effect;
 *   BNN_STORE_TORN_PREFIX: step s affects only its first r bytes (r from the sim's PRNG);
 *   BNN_STORE_TORN_BITS:   every bit of step s independently done or not (program: old & (new |
 *                          rnd); erase: old | rnd) -- the physics of an interrupted NOR cell. */
#define BNN_STORE_TORN_NONE 0u
#define BNN_STORE_TORN_PREFIX 1u
#define BNN_STORE_TORN_BITS 2u
#define BNN_STORE_NO_CUT 0xFFFFFFFFu

typedef struct bnn_store_ram {
    uint8_t *mem;
    uint32_t page_size, n_pages, prog_unit;
    uint32_t steps;          /* write steps since init / bnn_store_ram_power_on */
    uint32_t cut_at;         /* step to tear (BNN_STORE_NO_CUT: none) */
    uint32_t torn_mode;
    uint32_t rng;            /* xorshift32 state for torn writes */
    uint8_t powered;         /* 0 after a cut */
    uint32_t erases, programs, overwrites; /* overwrites: programmed bytes that were not erased */
} bnn_store_ram_t;

/* mem: page_size * n_pages bytes, set to 0xFF (erased). fl is filled to drive this sim. */
void bnn_store_ram_init(bnn_store_ram_t *rf, bnn_store_flash_t *fl, uint8_t *mem,
                        uint32_t page_size, uint32_t n_pages, uint32_t prog_unit);
/* Arms a cut at write step `step` counted from now (steps reset to 0), with a torn mode. */
void bnn_store_ram_arm_cut(bnn_store_ram_t *rf, uint32_t step, uint32_t torn_mode, uint32_t seed);
/* Power back on: clears the cut, steps = 0. */
void bnn_store_ram_power_on(bnn_store_ram_t *rf);

#ifdef __cplusplus
}
#endif

#endif /* BNN_HEAD_STORE_H */
