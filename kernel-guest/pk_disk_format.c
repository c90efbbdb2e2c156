/*
 * kernel-guest/pk_disk_format.c: encoding, decoding and checking of the
 * checkpointing disk's records (layout in pk_disk_format.h).
 *
 * Byte offsets of each record are written out below as the single source
 * of truth; every multi-byte field is little-endian and assembled byte by
 * byte, so the layout does not depend on the host's struct padding.
 */
#include "kernel-guest/pk_disk_format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-guest/pk_object.h"

/* Superblock (LBA 0). */
#define SB_MAGIC "SLUICEPK"
#define SB_OFF_VERSION 8
#define SB_OFF_BLOCK_SIZE 12
#define SB_OFF_NBLOCKS 16
#define SB_OFF_RANGES_LBA 24
#define SB_OFF_NRANGES 32
#define SB_OFF_HEADER_LBA 40
#define SB_OFF_CKPT_LBA 48
#define SB_OFF_CKPT_BLOCKS 56
#define SB_OFF_RANGES_SUM 64
/* Range table (LBA 1): a 16-byte preamble, then 32-byte entries. */
#define RT_MAGIC "SLPKRNGS"
#define RT_OFF_COUNT 8
#define RT_OFF_ENTRIES 16
#define RT_ENTRY_SIZE 32
/* Header (LBA 2 and 3). */
#define HD_MAGIC "SLPKHEAD"
#define HD_OFF_SEQ 8
#define HD_OFF_DIR_LBA 16
#define HD_OFF_DIR_BLOCKS 24
#define HD_OFF_DIR_ENTRIES 32
#define HD_OFF_DIR_SUM 40
#define HD_OFF_NEXT_OID 48
/* Every block record ends with the checksum of the bytes before it. */
#define BLOCK_OFF_SUM (PK_DISK_BLOCK - 8u)

#define SUM_K1 0x9e3779b185ebca87ull
#define SUM_K2 0xc2b2ae3d27d4eb4full
#define SUM_K3 0x165667b19e3779f9ull

static const char *const fmt_slot_name[2] = {"header A", "header B"};

/* ---- little-endian fields -------------------------------------------- */

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* ---- checksums ---------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* One lane step; a bijection of w for a fixed acc, so a change in any one
 * word always changes its lane. */
static uint64_t sum_round(uint64_t acc, uint64_t w)
{
    return rotl64(acc + w * SUM_K2, 31) * SUM_K1;
}

uint64_t pk_disk_format_checksum(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t a0 = seed + SUM_K1 + SUM_K2, a1 = seed + SUM_K2, a2 = seed, a3 = seed - SUM_K1;
    uint64_t h;
    size_t len = n;

    for (; n >= 32; n -= 32, b += 32) {
        a0 = sum_round(a0, ld64(b));
        a1 = sum_round(a1, ld64(b + 8));
        a2 = sum_round(a2, ld64(b + 16));
        a3 = sum_round(a3, ld64(b + 24));
    }
    h = rotl64(a0, 1) + rotl64(a1, 7) + rotl64(a2, 12) + rotl64(a3, 18) + (uint64_t)len;
    for (; n >= 8; n -= 8, b += 8) {
        h = rotl64(h ^ sum_round(0, ld64(b)), 27) * SUM_K1 + SUM_K3;
    }
    for (; n > 0; n--, b++) {
        h = rotl64(h ^ (*b * SUM_K3), 11) * SUM_K1;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

uint64_t pk_disk_format_object_sum(PkOid oid, uint32_t count, uint8_t type, const uint8_t *block)
{
    uint8_t id[16];

    st64(id, oid);
    st32(id + 8, count);
    st32(id + 12, type);
    return pk_disk_format_checksum(block, PK_DISK_BLOCK, pk_disk_format_checksum(id, sizeof(id), 0));
}

static uint64_t block_sum(const uint8_t *block)
{
    return pk_disk_format_checksum(block, BLOCK_OFF_SUM, 0);
}

static void block_seal(uint8_t *block)
{
    st64(block + BLOCK_OFF_SUM, block_sum(block));
}

static bool block_is_zero(const uint8_t *block)
{
    for (unsigned i = 0; i < PK_DISK_BLOCK; i++) {
        if (block[i]) {
            return false;
        }
    }
    return true;
}

/* ---- ranges ------------------------------------------------------------- */

int pk_disk_format_home_lba(const PkDiskLayout *l, PkOid oid, uint64_t *lba)
{
    for (uint32_t i = 0; i < l->sb.nranges; i++) {
        const PkDiskRange *r = &l->ranges[i];

        if (oid >= r->start && oid < r->end) {
            *lba = r->lba + (oid - r->start);
            return 0;
        }
    }
    return -ENOENT;
}

/* Checks ranges against each other and the disk: non-empty, drive 0, home
 * blocks after the checkpoint area and inside the disk, no OID or LBA
 * shared by two ranges. */
static int fmt_check_ranges(const PkDiskSuper *sb, const PkDiskRange *r, uint32_t n, SlError *e)
{
    uint64_t home = sb->ckpt_lba + sb->ckpt_blocks;

    for (uint32_t i = 0; i < n; i++) {
        uint64_t len = r[i].end - r[i].start;

        if (r[i].end <= r[i].start) {
            return sl_error(e, -EINVAL,
                            "range table entry %u: end OID 0x%" PRIx64
                            " is not above start OID 0x%" PRIx64,
                            i, r[i].end, r[i].start);
        }
        if (r[i].drive != 0) {
            return sl_error(e, -EINVAL, "range table entry %u: drive %u, expected 0 (one disk)", i,
                            r[i].drive);
        }
        if (r[i].lba < home || r[i].lba > sb->nblocks || len > sb->nblocks - r[i].lba) {
            return sl_error(e, -EINVAL,
                            "range table entry %u: start LBA 0x%" PRIx64 " + 0x%" PRIx64
                            " blocks is outside the home area [0x%" PRIx64 ", 0x%" PRIx64 ")",
                            i, r[i].lba, len, home, sb->nblocks);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (r[i].start < r[j].end && r[j].start < r[i].end) {
                return sl_error(e, -EINVAL,
                                "range table entry %u: OIDs [0x%" PRIx64 ", 0x%" PRIx64
                                ") overlap entry %u",
                                i, r[i].start, r[i].end, j);
            }
            if (r[i].lba < r[j].lba + (r[j].end - r[j].start) && r[j].lba < r[i].lba + len) {
                return sl_error(e, -EINVAL,
                                "range table entry %u: home LBAs [0x%" PRIx64 ", 0x%" PRIx64
                                ") overlap entry %u",
                                i, r[i].lba, r[i].lba + len, j);
            }
        }
    }
    return 0;
}

/* ---- superblock and range table ---------------------------------------- */

static void fmt_encode_super(const PkDiskSuper *sb, uint8_t *b)
{
    memset(b, 0, PK_DISK_BLOCK);
    memcpy(b, SB_MAGIC, 8);
    st32(b + SB_OFF_VERSION, PK_DISK_VERSION);
    st32(b + SB_OFF_BLOCK_SIZE, PK_DISK_BLOCK);
    st64(b + SB_OFF_NBLOCKS, sb->nblocks);
    st64(b + SB_OFF_RANGES_LBA, PK_DISK_RANGES_LBA);
    st32(b + SB_OFF_NRANGES, sb->nranges);
    st64(b + SB_OFF_HEADER_LBA, PK_DISK_HEADER_LBA);
    st64(b + SB_OFF_CKPT_LBA, sb->ckpt_lba);
    st64(b + SB_OFF_CKPT_BLOCKS, sb->ckpt_blocks);
    st64(b + SB_OFF_RANGES_SUM, sb->ranges_sum);
    block_seal(b);
}

static int fmt_decode_super(const uint8_t *b, uint64_t dev_blocks, PkDiskSuper *sb, SlError *e)
{
    uint32_t v;

    if (memcmp(b, SB_MAGIC, 8) != 0) {
        return sl_error(e, -EINVAL, "superblock magic: expected \"%s\" (not a sluice disk image)",
                        SB_MAGIC);
    }
    if (ld64(b + BLOCK_OFF_SUM) != block_sum(b)) {
        return sl_error(e, -EIO, "superblock checksum: stored 0x%" PRIx64 ", computed 0x%" PRIx64,
                        ld64(b + BLOCK_OFF_SUM), block_sum(b));
    }
    if ((v = ld32(b + SB_OFF_VERSION)) != PK_DISK_VERSION) {
        return sl_error(e, -EINVAL, "superblock version: %u, expected %u", v, PK_DISK_VERSION);
    }
    if ((v = ld32(b + SB_OFF_BLOCK_SIZE)) != PK_DISK_BLOCK) {
        return sl_error(e, -EINVAL, "superblock block size: %u, expected %u", v, PK_DISK_BLOCK);
    }
    if (ld64(b + SB_OFF_RANGES_LBA) != PK_DISK_RANGES_LBA ||
        ld64(b + SB_OFF_HEADER_LBA) != PK_DISK_HEADER_LBA) {
        return sl_error(e, -EINVAL, "superblock range table/header LBA: expected %u and %u",
                        PK_DISK_RANGES_LBA, PK_DISK_HEADER_LBA);
    }
    sb->nblocks = ld64(b + SB_OFF_NBLOCKS);
    sb->nranges = ld32(b + SB_OFF_NRANGES);
    sb->ckpt_lba = ld64(b + SB_OFF_CKPT_LBA);
    sb->ckpt_blocks = ld64(b + SB_OFF_CKPT_BLOCKS);
    sb->ranges_sum = ld64(b + SB_OFF_RANGES_SUM);
    if (sb->nblocks != dev_blocks) {
        return sl_error(e, -EINVAL,
                        "superblock size: %" PRIu64 " blocks, but the image has %" PRIu64
                        " (truncated or extended)",
                        sb->nblocks, dev_blocks);
    }
    if (sb->ckpt_lba < PK_DISK_META_BLOCKS || sb->ckpt_blocks == 0 ||
        sb->ckpt_lba > sb->nblocks || sb->ckpt_blocks > sb->nblocks - sb->ckpt_lba) {
        return sl_error(e, -EINVAL,
                        "superblock checkpoint area: [0x%" PRIx64 ", +0x%" PRIx64
                        ") is not inside [0x%x, 0x%" PRIx64 ")",
                        sb->ckpt_lba, sb->ckpt_blocks, PK_DISK_META_BLOCKS, sb->nblocks);
    }
    if (sb->nranges > PK_DISK_MAX_RANGES) {
        return sl_error(e, -EINVAL, "superblock range count: %u, at most %u", sb->nranges,
                        PK_DISK_MAX_RANGES);
    }
    return 0;
}

static void fmt_encode_ranges(const PkDiskRange *r, uint32_t n, uint8_t *b)
{
    memset(b, 0, PK_DISK_BLOCK);
    memcpy(b, RT_MAGIC, 8);
    st32(b + RT_OFF_COUNT, n);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = b + RT_OFF_ENTRIES + i * RT_ENTRY_SIZE;

        st64(p, r[i].start);
        st64(p + 8, r[i].end);
        st32(p + 16, r[i].drive);
        st64(p + 24, r[i].lba);
    }
    block_seal(b);
}

static int fmt_decode_ranges(const uint8_t *b, const PkDiskSuper *sb, PkDiskRange *r, SlError *e)
{
    uint32_t n;

    if (memcmp(b, RT_MAGIC, 8) != 0) {
        return sl_error(e, -EINVAL, "range table magic: expected \"%s\"", RT_MAGIC);
    }
    if (ld64(b + BLOCK_OFF_SUM) != block_sum(b)) {
        return sl_error(e, -EIO, "range table checksum: stored 0x%" PRIx64 ", computed 0x%" PRIx64,
                        ld64(b + BLOCK_OFF_SUM), block_sum(b));
    }
    if (ld64(b + BLOCK_OFF_SUM) != sb->ranges_sum) {
        return sl_error(e, -EIO,
                        "range table checksum: 0x%" PRIx64
                        ", but the superblock expects 0x%" PRIx64,
                        ld64(b + BLOCK_OFF_SUM), sb->ranges_sum);
    }
    if ((n = ld32(b + RT_OFF_COUNT)) != sb->nranges) {
        return sl_error(e, -EINVAL, "range table count: %u, superblock says %u", n, sb->nranges);
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = b + RT_OFF_ENTRIES + i * RT_ENTRY_SIZE;

        r[i].start = ld64(p);
        r[i].end = ld64(p + 8);
        r[i].drive = ld32(p + 16);
        r[i].lba = ld64(p + 24);
    }
    return fmt_check_ranges(sb, r, n, e);
}

/* ---- headers and directory entries ------------------------------------ */

void pk_disk_format_encode_header(const PkDiskHeader *h, uint8_t *b)
{
    memset(b, 0, PK_DISK_BLOCK);
    memcpy(b, HD_MAGIC, 8);
    st64(b + HD_OFF_SEQ, h->seq);
    st64(b + HD_OFF_DIR_LBA, h->dir_lba);
    st32(b + HD_OFF_DIR_BLOCKS, h->dir_blocks);
    st64(b + HD_OFF_DIR_ENTRIES, h->dir_entries);
    st64(b + HD_OFF_DIR_SUM, h->dir_sum);
    st64(b + HD_OFF_NEXT_OID, h->next_oid);
    block_seal(b);
}

int pk_disk_format_decode_header(const uint8_t *b, const PkDiskSuper *sb, PkDiskHeader *h,
                                 SlError *e)
{
    uint64_t need;

    if (block_is_zero(b)) {
        return sl_error(e, -ENODATA, "never written");
    }
    if (memcmp(b, HD_MAGIC, 8) != 0) {
        return sl_error(e, -EINVAL, "magic: expected \"%s\"", HD_MAGIC);
    }
    if (ld64(b + BLOCK_OFF_SUM) != block_sum(b)) {
        return sl_error(e, -EIO,
                        "checksum: stored 0x%" PRIx64 ", computed 0x%" PRIx64
                        " (torn write or corruption)",
                        ld64(b + BLOCK_OFF_SUM), block_sum(b));
    }
    h->seq = ld64(b + HD_OFF_SEQ);
    h->dir_lba = ld64(b + HD_OFF_DIR_LBA);
    h->dir_blocks = ld32(b + HD_OFF_DIR_BLOCKS);
    h->dir_entries = ld64(b + HD_OFF_DIR_ENTRIES);
    h->dir_sum = ld64(b + HD_OFF_DIR_SUM);
    h->next_oid = ld64(b + HD_OFF_NEXT_OID);
    if (h->seq > 0 && h->next_oid < PK_OID_FIRST) {
        return sl_error(e, -EINVAL,
                        "next OID: 0x%" PRIx64 " at seq %" PRIu64
                        " is below the first OID a store hands out (0x%x)",
                        h->next_oid, h->seq, PK_OID_FIRST);
    }
    need = (h->dir_entries + PK_DISK_DIRENTS_PER_BLOCK - 1) / PK_DISK_DIRENTS_PER_BLOCK;
    if (h->dir_blocks != need) {
        return sl_error(e, -EINVAL,
                        "directory size: %u blocks for %" PRIu64 " entries, expected %" PRIu64,
                        h->dir_blocks, h->dir_entries, need);
    }
    if (h->dir_blocks && (h->dir_lba < sb->ckpt_lba || h->dir_lba >= sb->ckpt_lba + sb->ckpt_blocks ||
                          h->dir_blocks > sb->ckpt_lba + sb->ckpt_blocks - h->dir_lba)) {
        return sl_error(e, -EINVAL,
                        "directory LBA: [0x%" PRIx64 ", +0x%x) is outside the checkpoint area",
                        h->dir_lba, h->dir_blocks);
    }
    return 0;
}

void pk_disk_format_encode_dirent(const PkDiskDirent *d, uint8_t *p)
{
    st64(p, d->oid);
    st32(p + 8, d->count);
    p[12] = d->type;
    p[13] = 0;
    st16(p + 14, d->len);
    st64(p + 16, d->lba);
    st64(p + 24, d->sum);
}

void pk_disk_format_decode_dirent(const uint8_t *p, PkDiskDirent *d)
{
    d->oid = ld64(p);
    d->count = ld32(p + 8);
    d->type = p[12];
    d->len = (uint16_t)(p[14] | p[15] << 8);
    d->lba = ld64(p + 16);
    d->sum = ld64(p + 24);
}

int pk_disk_format_check_dirent(const PkDiskLayout *l, const PkDiskDirent *d, SlError *e)
{
    uint64_t home;

    if (d->type == PK_OBJ_NONE) {
        if (d->len != 0 || d->lba != 0 || d->sum != 0) {
            return sl_error(e, -EINVAL,
                            "object 0x%" PRIx64 ": a tombstone [count=%u] with length %u, LBA 0x%"
                            PRIx64 ", checksum 0x%" PRIx64 " (a tombstone has no data)",
                            d->oid, d->count, d->len, d->lba, d->sum);
        }
        return 0;
    }
    if (!((d->type == PK_OBJ_PAGE && d->len == PK_PAGE_SIZE) ||
          (d->type == PK_OBJ_NODE && d->len == PK_DISK_NODE_LEN))) {
        return sl_error(e, -EINVAL, "object 0x%" PRIx64 ": type %u with length %u is not a page or a node",
                        d->oid, d->type, d->len);
    }
    if (d->lba >= l->sb.ckpt_lba && d->lba < l->sb.ckpt_lba + l->sb.ckpt_blocks) {
        return 0;
    }
    if (pk_disk_format_home_lba(l, d->oid, &home) == 0 && home == d->lba) {
        return 0;
    }
    return sl_error(e, -EINVAL,
                    "object 0x%" PRIx64 ": LBA 0x%" PRIx64
                    " is neither in the checkpoint area nor its home location",
                    d->oid, d->lba);
}

/* ---- create and open ---------------------------------------------------- */

int pk_disk_format_create(const PkBlockDev *dev, const PkDiskGeometry *g, SlError *e)
{
    PkDiskSuper sb = {0};
    PkDiskRange r[PK_DISK_MAX_RANGES];
    PkDiskHeader h = {0};
    uint8_t *b;
    uint64_t avail, home;
    int rc;

    if (g->nblocks < PK_DISK_META_BLOCKS + 2 || g->nblocks > dev->nblocks) {
        return sl_error(e, -EINVAL, "size: %" PRIu64 " blocks, need %u to %" PRIu64, g->nblocks,
                        PK_DISK_META_BLOCKS + 2, dev->nblocks);
    }
    if (g->nranges > PK_DISK_MAX_RANGES) {
        return sl_error(e, -EINVAL, "ranges: %u, at most %u", g->nranges, PK_DISK_MAX_RANGES);
    }
    avail = g->nblocks - PK_DISK_META_BLOCKS;
    sb.nblocks = g->nblocks;
    sb.ckpt_lba = PK_DISK_META_BLOCKS;
    sb.ckpt_blocks = g->ckpt_blocks ? g->ckpt_blocks : avail / 2;
    if (sb.ckpt_blocks >= avail) {
        return sl_error(e, -EINVAL, "checkpoint area: %" PRIu64 " blocks leaves no home area",
                        sb.ckpt_blocks);
    }
    home = sb.ckpt_lba + sb.ckpt_blocks;
    sb.nranges = g->nranges ? g->nranges : 1;
    if (g->nranges) {
        uint64_t next = home;

        memcpy(r, g->ranges, g->nranges * sizeof(r[0]));
        for (uint32_t i = 0; i < g->nranges; i++) {
            if (r[i].lba == PK_DISK_LBA_AUTO) {
                r[i].lba = next;
            }
            next = r[i].lba + (r[i].end - r[i].start);
        }
    } else {
        r[0] = (PkDiskRange){.start = 0, .end = g->nblocks - home, .drive = 0, .lba = home};
    }
    if ((rc = fmt_check_ranges(&sb, r, sb.nranges, e)) != 0) {
        return rc;
    }
    b = malloc(PK_DISK_BLOCK);
    if (!b) {
        return sl_error(e, -ENOMEM, "out of memory");
    }
    fmt_encode_ranges(r, sb.nranges, b);
    sb.ranges_sum = ld64(b + BLOCK_OFF_SUM);
    rc = dev->write(dev->opaque, PK_DISK_RANGES_LBA, 1, b);
    h.dir_sum = pk_disk_format_checksum(NULL, 0, 0);
    if (!rc) {
        pk_disk_format_encode_header(&h, b);
        rc = dev->write(dev->opaque, PK_DISK_HEADER_LBA, 1, b);
    }
    if (!rc) {
        memset(b, 0, PK_DISK_BLOCK);
        rc = dev->write(dev->opaque, PK_DISK_HEADER_LBA + 1, 1, b);
    }
    /* The superblock last: an image whose create was cut short has none. */
    if (!rc && !(rc = dev->flush(dev->opaque))) {
        fmt_encode_super(&sb, b);
        rc = dev->write(dev->opaque, PK_DISK_SUPER_LBA, 1, b);
    }
    if (!rc) {
        rc = dev->flush(dev->opaque);
    }
    free(b);
    return rc ? sl_error(e, rc, "write: %s", strerror(-rc)) : 0;
}

/* Superblock and range table only. */
static int fmt_open_meta(const PkBlockDev *dev, PkDiskLayout *l, uint8_t *b, SlError *e)
{
    int rc;

    memset(l, 0, sizeof(*l));
    l->newest = -1;
    if (dev->nblocks < PK_DISK_META_BLOCKS) {
        return sl_error(e, -EINVAL, "superblock: truncated image (%" PRIu64 " blocks, need at least %u)",
                        dev->nblocks, PK_DISK_META_BLOCKS);
    }
    if ((rc = dev->read(dev->opaque, PK_DISK_SUPER_LBA, 1, b)) != 0) {
        return sl_error(e, rc, "superblock: read failed: %s", strerror(-rc));
    }
    if ((rc = fmt_decode_super(b, dev->nblocks, &l->sb, e)) != 0) {
        return rc;
    }
    if ((rc = dev->read(dev->opaque, PK_DISK_RANGES_LBA, 1, b)) != 0) {
        return sl_error(e, rc, "range table: read failed: %s", strerror(-rc));
    }
    return fmt_decode_ranges(b, &l->sb, l->ranges, e);
}

/* Both header slots, into l->hdr/valid/why/newest. */
static int fmt_open_headers(const PkBlockDev *dev, PkDiskLayout *l, uint8_t *b, SlError *e)
{
    for (int i = 0; i < 2; i++) {
        SlError he;
        int rc = dev->read(dev->opaque, PK_DISK_HEADER_LBA + (uint64_t)i, 1, b);

        if (rc) {
            return sl_error(e, rc, "%s: read failed: %s", fmt_slot_name[i], strerror(-rc));
        }
        rc = pk_disk_format_decode_header(b, &l->sb, &l->hdr[i], &he);
        if (rc == 0 && l->hdr[i].seq % 2 != (uint64_t)i) {
            rc = sl_error(&he, -EINVAL, "sequence: %" PRIu64 " is in the wrong slot", l->hdr[i].seq);
        }
        l->valid[i] = rc == 0;
        if (rc && rc != -ENODATA) {
            snprintf(l->why[i], sizeof(l->why[i]), "%.159s", he.msg);
        }
    }
    if (l->valid[0] && l->valid[1] && l->hdr[0].seq == l->hdr[1].seq) {
        return sl_error(e, -EINVAL, "headers: both hold sequence %" PRIu64, l->hdr[0].seq);
    }
    for (int i = 0; i < 2; i++) {
        if (l->valid[i] && (l->newest < 0 || l->hdr[i].seq > l->hdr[l->newest].seq)) {
            l->newest = i;
        }
    }
    if (l->newest < 0) {
        return sl_error(e, -EIO, "headers: no valid checkpoint header [A: %s] [B: %s]",
                        l->why[0][0] ? l->why[0] : "never written",
                        l->why[1][0] ? l->why[1] : "never written");
    }
    return 0;
}

int pk_disk_format_open(const PkBlockDev *dev, PkDiskLayout *l, SlError *e)
{
    uint8_t *b = malloc(PK_DISK_BLOCK);
    int rc;

    if (!b) {
        return sl_error(e, -ENOMEM, "out of memory");
    }
    rc = fmt_open_meta(dev, l, b, e);
    if (!rc) {
        rc = fmt_open_headers(dev, l, b, e);
    }
    free(b);
    return rc;
}

/* The directory's raw blocks, checksum verified. */
static int fmt_read_dir_raw(const PkBlockDev *dev, const PkDiskHeader *h, uint8_t **out, SlError *e)
{
    uint8_t *raw = malloc((size_t)h->dir_blocks * PK_DISK_BLOCK + 1);
    uint64_t sum;
    int rc;

    *out = NULL;
    if (!raw) {
        return sl_error(e, -ENOMEM, "directory: out of memory for %u blocks", h->dir_blocks);
    }
    if (h->dir_blocks && (rc = dev->read(dev->opaque, h->dir_lba, h->dir_blocks, raw)) != 0) {
        free(raw);
        return sl_error(e, rc, "directory: read failed: %s", strerror(-rc));
    }
    sum = pk_disk_format_checksum(raw, (size_t)h->dir_blocks * PK_DISK_BLOCK, 0);
    if (sum != h->dir_sum) {
        free(raw);
        return sl_error(e, -EIO,
                        "directory checksum: header seq %" PRIu64 " expects 0x%" PRIx64
                        ", blocks at LBA 0x%" PRIx64 " give 0x%" PRIx64,
                        h->seq, h->dir_sum, h->dir_lba, sum);
    }
    *out = raw;
    return 0;
}

int pk_disk_format_read_dir(const PkBlockDev *dev, const PkDiskLayout *l, const PkDiskHeader *h,
                            PkDiskDirent **out, uint64_t *n, SlError *e)
{
    uint8_t *raw;
    PkDiskDirent *d;
    int rc = fmt_read_dir_raw(dev, h, &raw, e);

    *out = NULL;
    *n = 0;
    if (rc) {
        return rc;
    }
    d = malloc((size_t)(h->dir_entries ? h->dir_entries : 1) * sizeof(*d));
    if (!d) {
        free(raw);
        return sl_error(e, -ENOMEM, "directory: out of memory");
    }
    for (uint64_t i = 0; i < h->dir_entries && !rc; i++) {
        pk_disk_format_decode_dirent(raw + i * PK_DISK_DIRENT_SIZE, &d[i]);
        rc = pk_disk_format_check_dirent(l, &d[i], e);
        if (!rc && i > 0 && d[i].oid <= d[i - 1].oid) {
            rc = sl_error(e, -EINVAL, "directory entry %" PRIu64 ": OID 0x%" PRIx64 " out of order",
                          i, d[i].oid);
        }
    }
    free(raw);
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    *n = h->dir_entries;
    return 0;
}

/* ---- fsck --------------------------------------------------------------- */

typedef struct FmtCheck {
    PkDiskNoteFn note;
    void *opaque;
    long problems;
} FmtCheck;

static void fmt_note(FmtCheck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fmt_note(FmtCheck *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->problems++;
    if (c->note) {
        c->note(c->opaque, line);
    }
}

/* Marks a checkpoint-area block as claimed; notes a second claim. */
static void fmt_claim(FmtCheck *c, const PkDiskLayout *l, uint8_t *map, uint64_t lba,
                      const char *who, uint64_t oid)
{
    uint64_t i = lba - l->sb.ckpt_lba;

    if (lba < l->sb.ckpt_lba || i >= l->sb.ckpt_blocks) {
        return;
    }
    if (map[i / 8] & (1u << (i % 8))) {
        fmt_note(c, "LBA 0x%" PRIx64 ": claimed twice (again by %s 0x%" PRIx64 ")", lba, who, oid);
    }
    map[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Every entry of the newest directory, and the object it points at. */
static void fmt_check_objects(FmtCheck *c, const PkBlockDev *dev, const PkDiskLayout *l,
                              const uint8_t *raw, uint8_t *map, uint8_t *b)
{
    const PkDiskHeader *h = &l->hdr[l->newest];
    PkOid prev = 0;

    for (uint64_t i = 0; i < h->dir_entries; i++) {
        PkDiskDirent d;
        SlError e;
        int rc;

        pk_disk_format_decode_dirent(raw + i * PK_DISK_DIRENT_SIZE, &d);
        if (i > 0 && d.oid <= prev) {
            fmt_note(c, "directory entry %" PRIu64 ": OID 0x%" PRIx64 " out of order", i, d.oid);
        }
        prev = d.oid;
        if (pk_disk_format_check_dirent(l, &d, &e) != 0) {
            fmt_note(c, "directory entry %" PRIu64 ": %s", i, e.msg);
            continue;
        }
        if (d.type == PK_OBJ_NONE) {
            continue;                    /* a tombstone: no block to claim or read */
        }
        fmt_claim(c, l, map, d.lba, "object", d.oid);
        if ((rc = dev->read(dev->opaque, d.lba, 1, b)) != 0) {
            fmt_note(c, "object 0x%" PRIx64 ": read of LBA 0x%" PRIx64 " failed: %s", d.oid, d.lba,
                     strerror(-rc));
        } else if (pk_disk_format_object_sum(d.oid, d.count, d.type, b) != d.sum) {
            fmt_note(c,
                     "object 0x%" PRIx64 ": checksum mismatch at LBA 0x%" PRIx64
                     " [%s] [count=%u] (the data is corrupt)",
                     d.oid, d.lba, d.type == PK_OBJ_PAGE ? "page" : "node", d.count);
        }
    }
}

long pk_disk_format_check(const PkBlockDev *dev, PkDiskNoteFn note, void *opaque)
{
    FmtCheck c = {note, opaque, 0};
    PkDiskLayout *l = malloc(sizeof(*l));
    uint8_t *b = malloc(PK_DISK_BLOCK), *map = NULL, *raw = NULL;
    SlError e;

    if (!l || !b) {
        fmt_note(&c, "out of memory");
        goto out;
    }
    if (fmt_open_meta(dev, l, b, &e) != 0) {
        fmt_note(&c, "%s", e.msg);
        goto out;
    }
    if (fmt_open_headers(dev, l, b, &e) != 0) {
        fmt_note(&c, "%s", e.msg);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        if (l->why[i][0]) {
            fmt_note(&c, "%s (LBA %d): %s; restart uses %s seq %" PRIu64, fmt_slot_name[i],
                     PK_DISK_HEADER_LBA + i, l->why[i], fmt_slot_name[l->newest],
                     l->hdr[l->newest].seq);
        }
    }
    if (l->valid[0] && l->valid[1]) {
        const PkDiskHeader *nw = &l->hdr[l->newest], *old = &l->hdr[1 - l->newest];

        if (old->next_oid > nw->next_oid) {
            fmt_note(&c, "%s seq %" PRIu64 ": next OID 0x%" PRIx64 " is below the 0x%" PRIx64
                     " of %s seq %" PRIu64 " (the OID counter went back: a restart could hand "
                     "out an OID again)", fmt_slot_name[l->newest], nw->seq, nw->next_oid,
                     old->next_oid, fmt_slot_name[1 - l->newest], old->seq);
        }
    }
    if (fmt_read_dir_raw(dev, &l->hdr[l->newest], &raw, &e) != 0) {
        fmt_note(&c, "%s", e.msg);
        goto out;
    }
    map = calloc(l->sb.ckpt_blocks / 8 + 1, 1);
    if (!map) {
        fmt_note(&c, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < l->hdr[l->newest].dir_blocks; i++) {
        fmt_claim(&c, l, map, l->hdr[l->newest].dir_lba + i, "directory block", i);
    }
    fmt_check_objects(&c, dev, l, raw, map, b);
out:
    free(raw);
    free(map);
    free(b);
    free(l);
    return c.problems;
}
