/* bnn-edge on-device head: two-slot, CRC-protected, power-safe state store (bnn_head_store.h). */
#include "bnn/bnn_head_store.h"

#include <stddef.h>

#include "bnn/bnn_crc32.h" /* libbnn's CRC-32 (zlib.crc32), shared with the pack loader */
#include "bnn/bnn_head_prng.h"
#include "bnn/bnn_le.h"

static uint32_t round_up(uint32_t x, uint32_t unit) { return (x + unit - 1u) / unit * unit; }

static int flash_ok(const bnn_store_flash_t *fl) {
    if (fl == NULL || fl->erase_page == NULL || fl->program == NULL || fl->read == NULL) return 0;
    const uint32_t u = fl->prog_unit;
    if (u == 0u || (u & (u - 1u)) != 0u || u > BNN_STORE_CHUNK) return 0;
    if (fl->page_size == 0u || fl->page_size % u != 0u) return 0;
    if (fl->n_pages < 2u || fl->n_pages % 2u != 0u) return 0;
    if ((uint64_t)fl->page_size * fl->n_pages > 0xFFFFFFFFull) return 0;
    if (fl->page_size * (fl->n_pages / 2u) < 2u * BNN_STORE_CHUNK) return 0;
    return 1;
}

/* BNN_OK for a usable flash descriptor: BNN_ERR_NULL_ARG without one, BNN_ERR_FLASH_CONFIG when
 * flash_ok() refuses it. */
static bnn_status_t flash_args(const bnn_store_flash_t *fl) {
    if (fl == NULL) return BNN_ERR_NULL_ARG;
    return flash_ok(fl) ? BNN_OK : BNN_ERR_FLASH_CONFIG;
}

/* BNN_OK for an initialised head and a usable flash descriptor. */
static bnn_status_t store_args(const bnn_head_t *h, const bnn_store_flash_t *fl) {
    if (h == NULL) return BNN_ERR_NULL_ARG;
    if (h->magic != BNN_HEAD_MAGIC) return BNN_ERR_NOT_INIT;
    return flash_args(fl);
}

static uint32_t blob_off(const bnn_store_flash_t *fl) { return round_up(BNN_STORE_HEADER, fl->prog_unit); }

uint32_t bnn_store_slot_bytes(const bnn_store_flash_t *fl) {
    return flash_ok(fl) ? fl->page_size * (fl->n_pages / 2u) : 0u;
}

uint32_t bnn_store_needed_bytes(const bnn_store_flash_t *fl, const bnn_head_t *h) {
    if (!flash_ok(fl)) return 0u;
    return blob_off(fl) + round_up(bnn_head_state_size(h), fl->prog_unit);
}

/* Checks one slot: header fields, header CRC, then the blob's CRC read back from flash.
 * Returns 1 if valid (seq, len filled), 0 if not, -1 if the flash could not be read;
 * *blank = header area all 0xFF. */
static int check_slot(const bnn_store_flash_t *fl, uint32_t slot, uint32_t *seq, uint32_t *len,
                      uint8_t *blank) {
    const uint32_t base = slot * bnn_store_slot_bytes(fl);
    uint8_t hdr[BNN_STORE_HEADER];
    *blank = 0u;
    if (fl->read(fl->ctx, base, hdr, BNN_STORE_HEADER) != 0) return -1;
    uint8_t all = 0xFFu;
    for (uint32_t i = 0; i < BNN_STORE_HEADER; i++) all &= hdr[i];
    *blank = all == 0xFFu;
    if (bnn_rd_u32(hdr) != BNN_STORE_MAGIC || (bnn_rd_u32(hdr + 4) & 0xFFFFu) != BNN_STORE_VERSION ||
        (bnn_rd_u32(hdr + 4) >> 16) != BNN_STORE_HEADER || bnn_rd_u32(hdr + 20) != 0xFFFFFFFFu ||
        bnn_rd_u32(hdr + 24) != 0xFFFFFFFFu || bnn_rd_u32(hdr + 28) != bnn_crc32_update(0u, hdr, 28u))
        return 0;
    const uint32_t n = bnn_rd_u32(hdr + 12);
    if (n > bnn_store_slot_bytes(fl) - blob_off(fl)) return 0;
    uint8_t chunk[BNN_STORE_CHUNK];
    uint32_t crc = 0u;
    for (uint32_t off = 0; off < n; off += BNN_STORE_CHUNK) {
        const uint32_t m = n - off < BNN_STORE_CHUNK ? n - off : BNN_STORE_CHUNK;
        if (fl->read(fl->ctx, base + blob_off(fl) + off, chunk, m) != 0) return -1;
        crc = bnn_crc32_update(crc, chunk, m);
    }
    if (crc != bnn_rd_u32(hdr + 16)) return 0;
    *seq = bnn_rd_u32(hdr + 8);
    *len = n;
    return 1;
}

bnn_status_t bnn_store_scan(const bnn_store_flash_t *fl, bnn_store_info_t *info) {
    if (info == NULL) return BNN_ERR_NULL_ARG;
    const bnn_status_t st = flash_args(fl);
    if (st != BNN_OK) return st;
    info->newest = -1;
    info->loaded = -1;
    info->fallback = 0u;
    for (uint32_t s = 0; s < 2u; s++) {
        info->seq[s] = 0u;
        info->blob_len[s] = 0u;
        const int v = check_slot(fl, s, &info->seq[s], &info->blob_len[s], &info->blank[s]);
        if (v < 0) return BNN_ERR_FLASH;
        info->valid[s] = (uint8_t)v;
    }
    if (info->valid[0] && info->valid[1])
        info->newest = (int32_t)(info->seq[1] - info->seq[0]) > 0 ? 1 : 0;
    else if (info->valid[0] || info->valid[1])
        info->newest = info->valid[1] ? 1 : 0;
    return BNN_OK;
}

bnn_status_t bnn_store_commit(const bnn_head_t *h, const bnn_store_flash_t *fl, bnn_store_info_t *info) {
    bnn_store_info_t local;
    if (info == NULL) info = &local;
    bnn_status_t st = store_args(h, fl);
    if (st != BNN_OK) return st;
    const uint32_t blob_len = bnn_head_state_size(h);
    const uint32_t needed = bnn_store_needed_bytes(fl, h);
    if (needed > bnn_store_slot_bytes(fl)) return BNN_ERR_FLASH_TOO_SMALL;
    st = bnn_store_scan(fl, info);
    if (st != BNN_OK) return st;
    const uint32_t target = info->newest >= 0 ? 1u - (uint32_t)info->newest : 0u;
    const uint32_t seq = info->newest >= 0 ? info->seq[info->newest] + 1u : 1u;
    const uint32_t base = target * bnn_store_slot_bytes(fl);
    const uint32_t first_page = target * (fl->n_pages / 2u);
    const uint32_t n_pages = (needed + fl->page_size - 1u) / fl->page_size;

    /* 1. erase (header page first): from here on the target slot is invalid */
    for (uint32_t p = 0; p < n_pages; p++)
        if (fl->erase_page(fl->ctx, first_page + p) != 0) return BNN_ERR_FLASH;
    /* 2. the blob, chunk by chunk, CRC on the way */
    uint8_t chunk[BNN_STORE_CHUNK];
    uint32_t crc = 0u;
    for (uint32_t off = 0; off < blob_len; off += BNN_STORE_CHUNK) {
        const uint32_t m = blob_len - off < BNN_STORE_CHUNK ? blob_len - off : BNN_STORE_CHUNK;
        st = bnn_head_state_read(h, off, chunk, m);
        if (st != BNN_OK) return st;
        crc = bnn_crc32_update(crc, chunk, m);
        const uint32_t padded = round_up(m, fl->prog_unit);
        for (uint32_t i = m; i < padded; i++) chunk[i] = 0xFFu;
        if (fl->program(fl->ctx, base + blob_off(fl) + off, chunk, padded) != 0) return BNN_ERR_FLASH;
    }
    /* 3. the header, last: the single step that makes the new state valid */
    const uint32_t span = blob_off(fl);
    for (uint32_t i = 0; i < span; i++) chunk[i] = 0xFFu;
    bnn_wr_u32(chunk + 0, BNN_STORE_MAGIC);
    bnn_wr_u32(chunk + 4, BNN_STORE_VERSION | (BNN_STORE_HEADER << 16));
    bnn_wr_u32(chunk + 8, seq);
    bnn_wr_u32(chunk + 12, blob_len);
    bnn_wr_u32(chunk + 16, crc);
    bnn_wr_u32(chunk + 28, bnn_crc32_update(0u, chunk, 28u));
    if (fl->program(fl->ctx, base, chunk, span) != 0) return BNN_ERR_FLASH;
    /* 4. read back */
    uint32_t got_seq = 0u, got_len = 0u;
    uint8_t blank;
    if (check_slot(fl, target, &got_seq, &got_len, &blank) != 1 || got_seq != seq || got_len != blob_len)
        return BNN_ERR_FLASH;
    info->valid[target] = 1u;
    info->seq[target] = seq;
    info->blob_len[target] = blob_len;
    info->blank[target] = 0u;
    info->newest = (int32_t)target;
    return BNN_OK;
}

/* Restores slot s into h. Returns BNN_OK, BNN_ERR_STATE_MISMATCH / _STATE_CORRUPT (h untouched
 * when the header check fails; reset when the body fails), or BNN_ERR_FLASH. */
static bnn_status_t load_slot(bnn_head_t *h, const bnn_store_flash_t *fl, uint32_t s, uint32_t blob_len) {
    const uint32_t base = s * bnn_store_slot_bytes(fl) + blob_off(fl);
    if (blob_len != bnn_head_state_size(h)) return BNN_ERR_STATE_MISMATCH;
    uint8_t chunk[BNN_STORE_CHUNK];
    if (fl->read(fl->ctx, base, chunk, BNN_HEAD_STATE_HEADER) != 0) return BNN_ERR_FLASH;
    const bnn_status_t st = bnn_head_state_check_header(h, chunk);
    if (st != BNN_OK) return st;
    uint32_t crc = 0u;
    for (uint32_t off = 0; off < blob_len; off += BNN_STORE_CHUNK) {
        const uint32_t m = blob_len - off < BNN_STORE_CHUNK ? blob_len - off : BNN_STORE_CHUNK;
        if (fl->read(fl->ctx, base + off, chunk, m) != 0) {
            (void)bnn_head_reset(h);
            return BNN_ERR_FLASH;
        }
        crc = bnn_crc32_update(crc, chunk, m);
        (void)bnn_head_state_write(h, off, chunk, m);
    }
    uint8_t hdr[BNN_STORE_HEADER];
    if (fl->read(fl->ctx, s * bnn_store_slot_bytes(fl), hdr, BNN_STORE_HEADER) != 0 ||
        bnn_rd_u32(hdr + 16) != crc) { /* the flash changed under us */
        (void)bnn_head_reset(h);
        return BNN_ERR_STATE_CORRUPT;
    }
    return bnn_head_state_finish(h);
}

bnn_status_t bnn_store_load(bnn_head_t *h, const bnn_store_flash_t *fl, bnn_store_info_t *info) {
    bnn_store_info_t local;
    if (info == NULL) info = &local;
    bnn_status_t st = store_args(h, fl);
    if (st != BNN_OK) return st;
    st = bnn_store_scan(fl, info);
    if (st != BNN_OK) return st;
    if (info->newest < 0)
        return info->blank[0] && info->blank[1] ? BNN_ERR_NO_STATE : BNN_ERR_STATE_CORRUPT;
    const uint32_t order[2] = {(uint32_t)info->newest, 1u - (uint32_t)info->newest};
    bnn_status_t first_err = BNN_ERR_STATE_CORRUPT;
    for (uint32_t i = 0; i < 2u; i++) {
        const uint32_t s = order[i];
        if (!info->valid[s]) continue;
        st = load_slot(h, fl, s, info->blob_len[s]);
        if (st == BNN_OK) {
            info->loaded = (int32_t)s;
            info->fallback = (uint8_t)(i != 0u);
            return BNN_OK;
        }
        if (i == 0u) first_err = st;
    }
    return first_err;
}

/* ---- RAM flash simulator ------------------------------------------------------------------ */

static int ram_step(bnn_store_ram_t *rf, uint8_t *p, const uint8_t *src, uint32_t len) {
    /* returns 1 when this step is the torn one (and applies the torn effect) */
    const uint32_t step = rf->steps++;
    if (step != rf->cut_at) return 0;
    rf->powered = 0u;
    if (rf->torn_mode == BNN_STORE_TORN_PREFIX) {
        const uint32_t r = bnn_prng_below(&rf->rng, len);
        for (uint32_t i = 0; i < r; i++) p[i] = src != NULL ? (uint8_t)(p[i] & src[i]) : 0xFFu;
    } else if (rf->torn_mode == BNN_STORE_TORN_BITS) {
        for (uint32_t i = 0; i < len; i++) {
            const uint8_t rnd = (uint8_t)(bnn_prng_next(&rf->rng) >> 24);
            p[i] = src != NULL ? (uint8_t)(p[i] & (src[i] | rnd)) : (uint8_t)(p[i] | rnd);
        }
    }
    return 1;
}

static int ram_erase(void *ctx, uint32_t page) {
    bnn_store_ram_t *rf = (bnn_store_ram_t *)ctx;
    if (!rf->powered) return -1;
    if (page >= rf->n_pages) return -2;
    uint8_t *p = rf->mem + (size_t)page * rf->page_size;
    if (ram_step(rf, p, NULL, rf->page_size)) return -1;
    for (uint32_t i = 0; i < rf->page_size; i++) p[i] = 0xFFu;
    rf->erases++;
    return 0;
}

static int ram_program(void *ctx, uint32_t addr, const uint8_t *src, uint32_t len) {
    bnn_store_ram_t *rf = (bnn_store_ram_t *)ctx;
    if (!rf->powered) return -1;
    const uint32_t size = rf->page_size * rf->n_pages;
    if (addr % rf->prog_unit != 0u || len % rf->prog_unit != 0u || addr > size || len > size - addr)
        return -2;
    uint8_t *p = rf->mem + addr;
    if (ram_step(rf, p, src, len)) return -1;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != 0xFFu && src[i] != 0xFFu) rf->overwrites++;
        p[i] &= src[i];
    }
    rf->programs++;
    return 0;
}

static int ram_read(void *ctx, uint32_t addr, uint8_t *dst, uint32_t len) {
    bnn_store_ram_t *rf = (bnn_store_ram_t *)ctx;
    if (!rf->powered) return -1;
    const uint32_t size = rf->page_size * rf->n_pages;
    if (addr > size || len > size - addr) return -2;
    for (uint32_t i = 0; i < len; i++) dst[i] = rf->mem[addr + i];
    return 0;
}

void bnn_store_ram_init(bnn_store_ram_t *rf, bnn_store_flash_t *fl, uint8_t *mem,
                        uint32_t page_size, uint32_t n_pages, uint32_t prog_unit) {
    rf->mem = mem;
    rf->page_size = page_size;
    rf->n_pages = n_pages;
    rf->prog_unit = prog_unit;
    rf->steps = 0u;
    rf->cut_at = BNN_STORE_NO_CUT;
    rf->torn_mode = BNN_STORE_TORN_NONE;
    rf->rng = 1u;
    rf->powered = 1u;
    rf->erases = rf->programs = rf->overwrites = 0u;
    for (uint32_t i = 0; i < page_size * n_pages; i++) mem[i] = 0xFFu;
    fl->page_size = page_size;
    fl->n_pages = n_pages;
    fl->prog_unit = prog_unit;
    fl->erase_page = ram_erase;
    fl->program = ram_program;
    fl->read = ram_read;
    fl->ctx = rf;
}

void bnn_store_ram_arm_cut(bnn_store_ram_t *rf, uint32_t step, uint32_t torn_mode, uint32_t seed) {
    rf->steps = 0u;
    rf->cut_at = step;
    rf->torn_mode = torn_mode;
    rf->rng = bnn_prng_seed(seed, 0x70C0u);
    rf->powered = 1u;
}

void bnn_store_ram_power_on(bnn_store_ram_t *rf) {
    rf->steps = 0u;
    rf->cut_at = BNN_STORE_NO_CUT;
    rf->powered = 1u;
}
