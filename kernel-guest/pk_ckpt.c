/*
 * kernel-guest/pk_ckpt.c: checkpoint, migration and restart (see pk_ckpt.h).
 *
 * Invariant: `used` marks exactly the checkpoint-area blocks the committed
 * header references (its directory blocks and the objects its directory
 * places in the area; a tombstone has no block).  A checkpoint in progress
 * allocates only blocks that are free in `used` (tracked in `alloc`), so
 * nothing the committed header needs is overwritten before the new header
 * replaces it.  `dir` is the committed directory, except that entries
 * migrated since are already pointed home (same bytes, same checksum); it
 * is what the store's backing loads from.
 *
 * The OID counter (PkStore.sc.next_oid, pk_object.h) is read and raised
 * here directly: pk_store.h has no call for it.
 */
#include "kernel-guest/pk_ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-guest/pk_object.h"

#define CKPT_STAGE_BLOCKS 64u   /* contiguous object blocks written per call */

struct PkCkpt {
    PkBlockDev dev;
    PkStore *store;
    PkDiskLayout layout;
    PkDiskHeader hdr;            /* the committed header */
    PkDiskDirent *dir;           /* sorted by OID */
    uint64_t ndir;
    uint8_t *used, *alloc;       /* bitmaps over the checkpoint area */
    uint64_t cursor;             /* allocation position in the area */
    uint64_t mig_pos;            /* where migration resumes in dir */
    bool in_snapshot;
    /* The commit in progress. */
    PkDiskDirent *fresh;
    uint64_t nfresh, capfresh;
    uint8_t *stage;              /* CKPT_STAGE_BLOCKS blocks */
    uint64_t stage_lba;
    uint32_t stage_n;
    uint8_t *scratch;            /* one block, for loads */
    uint64_t last_written;
};

static bool ckpt_bit(const uint8_t *map, uint64_t i)
{
    return (map[i / 8] >> (i % 8)) & 1u;
}

static void ckpt_set(uint8_t *map, uint64_t i)
{
    map[i / 8] |= (uint8_t)(1u << (i % 8));
}

static bool ckpt_in_area(const PkCkpt *ck, uint64_t lba)
{
    return lba >= ck->layout.sb.ckpt_lba && lba - ck->layout.sb.ckpt_lba < ck->layout.sb.ckpt_blocks;
}

/* used := the blocks the committed header references. */
static void ckpt_rebuild_used(PkCkpt *ck)
{
    memset(ck->used, 0, ck->layout.sb.ckpt_blocks / 8 + 1);
    for (uint32_t i = 0; i < ck->hdr.dir_blocks; i++) {
        ckpt_set(ck->used, ck->hdr.dir_lba - ck->layout.sb.ckpt_lba + i);
    }
    for (uint64_t i = 0; i < ck->ndir; i++) {
        if (ck->dir[i].type != PK_OBJ_NONE && ckpt_in_area(ck, ck->dir[i].lba)) {
            ckpt_set(ck->used, ck->dir[i].lba - ck->layout.sb.ckpt_lba);
        }
    }
}

/* The first directory entry with an OID >= oid (ndir if none). */
static uint64_t ckpt_lower_bound(const PkCkpt *ck, PkOid oid)
{
    uint64_t lo = 0, hi = ck->ndir;

    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;

        if (ck->dir[mid].oid < oid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static const PkDiskDirent *ckpt_find(const PkCkpt *ck, PkOid oid)
{
    uint64_t i = ckpt_lower_bound(ck, oid);

    return i < ck->ndir && ck->dir[i].oid == oid ? &ck->dir[i] : NULL;
}

/* The store's placed OIDs, [*first, *end) of the directory. */
static void ckpt_placed_span(const PkCkpt *ck, uint64_t *first, uint64_t *end)
{
    const PkStoreConfig *c = &ck->store->cfg;

    *first = *end = 0;
    if (c->nplaced) {
        *first = ckpt_lower_bound(ck, c->placed_oid);
        *end = ckpt_lower_bound(ck, c->placed_oid + c->nplaced);
    }
}

/* Moves the store's OID counter past everything the disk knows: the
 * committed header's counter and every OID of the directory (tombstones
 * included) that is not placed in this store -- a placed OID is not the
 * counter's (pk_object.h).  Never moves it back.  O(log entries): the
 * directory is sorted and the placed OIDs are one run of it. */
static void ckpt_raise_next_oid(PkCkpt *ck)
{
    PkStore *s = ck->store;
    PkOid next = s->sc.next_oid > ck->hdr.next_oid ? s->sc.next_oid : ck->hdr.next_oid;
    uint64_t first, end, last;

    ckpt_placed_span(ck, &first, &end);
    /* The highest OID that is not placed: the last entry, or the one just
     * before the placed run if that run ends the directory. */
    last = end == ck->ndir && end > first ? first : ck->ndir;
    if (last > 0 && ck->dir[last - 1].oid >= next && ck->dir[last - 1].oid != UINT64_MAX) {
        next = ck->dir[last - 1].oid + 1;
    }
    s->sc.next_oid = next;
}

/* Reads one object's block into ck->scratch and checks it. */
static int ckpt_read_object(PkCkpt *ck, const PkDiskDirent *d, SlError *e)
{
    int rc = ck->dev.read(ck->dev.opaque, d->lba, 1, ck->scratch);

    if (rc) {
        return sl_error(e, rc, "object 0x%" PRIx64 ": read of LBA 0x%" PRIx64 " failed: %s",
                        d->oid, d->lba, strerror(-rc));
    }
    if (pk_disk_format_object_sum(d->oid, d->count, d->type, ck->scratch) != d->sum) {
        return sl_error(e, -EIO,
                        "object 0x%" PRIx64 ": checksum mismatch at LBA 0x%" PRIx64
                        " (corrupt; not loaded)",
                        d->oid, d->lba);
    }
    return 0;
}

/* ---- open, free, restart ---------------------------------------------- */

static int ckpt_backing_load(void *opaque, PkOid oid, uint8_t *type, uint32_t *count,
                             uint8_t *buf, uint32_t cap);

int pk_ckpt_open(const PkBlockDev *dev, PkStore *store, PkCkpt **out, SlError *e)
{
    PkCkpt *ck = calloc(1, sizeof(*ck));
    uint64_t bytes;
    int rc;

    *out = NULL;
    if (!ck) {
        return sl_error(e, -ENOMEM, "out of memory");
    }
    ck->dev = *dev;
    ck->store = store;
    if ((rc = pk_disk_format_open(dev, &ck->layout, e)) != 0) {
        free(ck);
        return rc;
    }
    ck->hdr = ck->layout.hdr[ck->layout.newest];
    bytes = ck->layout.sb.ckpt_blocks / 8 + 1;
    ck->used = malloc(bytes);
    ck->alloc = malloc(bytes);
    ck->stage = malloc((size_t)CKPT_STAGE_BLOCKS * PK_DISK_BLOCK);
    ck->scratch = malloc(PK_DISK_BLOCK);
    if (!ck->used || !ck->alloc || !ck->stage || !ck->scratch) {
        pk_ckpt_free(ck);
        return sl_error(e, -ENOMEM, "out of memory");
    }
    if ((rc = pk_disk_format_read_dir(dev, &ck->layout, &ck->hdr, &ck->dir, &ck->ndir, e)) != 0) {
        pk_ckpt_free(ck);
        return rc;
    }
    ckpt_rebuild_used(ck);
    /* From now on the disk answers the store's misses, and no OID the disk
     * holds is handed out again. */
    pk_store_set_backing(store, &(PkBacking){ckpt_backing_load, ck});
    ckpt_raise_next_oid(ck);
    *out = ck;
    return 0;
}

void pk_ckpt_free(PkCkpt *ck)
{
    if (!ck) {
        return;
    }
    /* Only if it is still this checkpointer (another may have been opened
     * on the store since). */
    if (ck->store && ck->store->backing.load == ckpt_backing_load &&
        ck->store->backing.opaque == ck) {
        pk_store_set_backing(ck->store, NULL);
    }
    free(ck->dir);
    free(ck->fresh);
    free(ck->used);
    free(ck->alloc);
    free(ck->stage);
    free(ck->scratch);
    free(ck);
}

/* PkBacking.load: an object the store misses, from the disk. */
static int ckpt_backing_load(void *opaque, PkOid oid, uint8_t *type, uint32_t *count,
                             uint8_t *buf, uint32_t cap)
{
    PkCkpt *ck = opaque;
    const PkDiskDirent *d = ckpt_find(ck, oid);
    int rc;

    if (!d) {
        return -ENOENT;
    }
    if (d->type == PK_OBJ_NONE) {
        *type = PK_OBJ_NONE;              /* a tombstone: nothing to read */
        *count = d->count;
        return 0;
    }
    if (d->len > cap) {
        return -EINVAL;
    }
    if ((rc = ckpt_read_object(ck, d, NULL)) != 0) {
        return rc;
    }
    *type = d->type;
    *count = d->count;
    memcpy(buf, ck->scratch, d->len);
    return 0;
}

/* Installs directory entry d in the store (a tombstone: its record only,
 * nothing read). */
static int ckpt_install(PkCkpt *ck, const PkDiskDirent *d, SlError *e)
{
    PkObjImage img = {d->oid, d->type, d->count, NULL, 0};
    int rc;

    if (d->type != PK_OBJ_NONE) {
        if ((rc = ckpt_read_object(ck, d, e)) != 0) {
            return rc;
        }
        img.data = ck->scratch;
        img.len = d->len;
    }
    if ((rc = pk_store_install(ck->store, &img)) != 0) {
        return sl_error(e, rc, "object 0x%" PRIx64 ": the store refused it (%s)", d->oid,
                        strerror(-rc));
    }
    return 0;
}

int pk_ckpt_restart(PkCkpt *ck, PkCkptLoad mode, PkCkptRestartInfo *info, SlError *e)
{
    PkCkptRestartInfo ri = {0};
    uint64_t first, end;
    int rc = 0;

    ri.seq = ck->hdr.seq;
    for (uint64_t i = 0; i < ck->ndir; i++) {
        ri.objects += ck->dir[i].type != PK_OBJ_NONE;
    }
    ri.tombstones = ck->ndir - ri.objects;
    for (int i = 0; i < 2; i++) {
        if (ck->layout.why[i][0]) {
            ri.bad_headers++;
            snprintf(ri.note, sizeof(ri.note), "header %c: %s", 'A' + i, ck->layout.why[i]);
        }
    }
    pk_store_clear(ck->store);
    ckpt_raise_next_oid(ck);
    /* Eager: everything.  Lazy: only what the store cannot learn from its
     * backing on a miss -- placed OIDs, which are allocated into their own
     * frame without asking (pk_bank_new_placed): a live one must be there,
     * and a tombstone must keep its count for the OID's next allocation. */
    ckpt_placed_span(ck, &first, &end);
    if (mode != PK_CKPT_LAZY) {
        first = 0;
        end = ck->ndir;
    }
    for (uint64_t i = first; i < end && !rc; i++) {
        const PkDiskDirent *d = &ck->dir[i];

        rc = ckpt_install(ck, d, e);
        ri.loaded += rc == 0 && d->type != PK_OBJ_NONE;
    }
    if (rc) {
        /* A partial store is worse than none: nothing half-restored. */
        pk_store_clear(ck->store);
        ri.loaded = 0;
    }
    if (info) {
        *info = ri;
    }
    return rc;
}

/* ---- checkpoint ---------------------------------------------------------- */

int pk_ckpt_begin(PkCkpt *ck, SlError *e)
{
    int rc;

    if (ck->in_snapshot) {
        return sl_error(e, -EBUSY, "checkpoint: a snapshot is already taken");
    }
    if ((rc = pk_store_snapshot_begin(ck->store, ck->hdr.seq + 1)) != 0) {
        return sl_error(e, rc, "checkpoint: the store refused a snapshot (%s)", strerror(-rc));
    }
    ck->in_snapshot = true;
    return 0;
}

/* Next free block in alloc from the cursor; -ENOSPC if none. */
static int ckpt_alloc_block(PkCkpt *ck, uint64_t *lba)
{
    uint64_t n = ck->layout.sb.ckpt_blocks;

    for (uint64_t k = 0; k < n; k++) {
        uint64_t i = (ck->cursor + k) % n;

        if (!ckpt_bit(ck->alloc, i)) {
            ckpt_set(ck->alloc, i);
            ck->cursor = (i + 1) % n;
            *lba = ck->layout.sb.ckpt_lba + i;
            return 0;
        }
    }
    return -ENOSPC;
}

/* `count` contiguous free blocks, first fit from the cursor. */
static int ckpt_alloc_run(PkCkpt *ck, uint32_t count, uint64_t *lba)
{
    uint64_t n = ck->layout.sb.ckpt_blocks;

    for (uint64_t k = 0; k < n; k++) {
        uint64_t start = (ck->cursor + k) % n, j;

        if (start + count > n) {
            continue;
        }
        for (j = 0; j < count && !ckpt_bit(ck->alloc, start + j); j++) {
        }
        if (j == count) {
            for (j = 0; j < count; j++) {
                ckpt_set(ck->alloc, start + j);
            }
            *lba = ck->layout.sb.ckpt_lba + start;
            return 0;
        }
    }
    return -ENOSPC;
}

static int ckpt_stage_flush(PkCkpt *ck)
{
    int rc = 0;

    if (ck->stage_n) {
        rc = ck->dev.write(ck->dev.opaque, ck->stage_lba, ck->stage_n, ck->stage);
    }
    ck->stage_n = 0;
    return rc;
}

/* One snapshot object: a block of the area, staged for writing. */
static int ckpt_write_object(PkCkpt *ck, const PkObjImage *img, PkDiskDirent *d)
{
    uint64_t lba;
    uint8_t *slot;
    int rc;

    d->oid = img->oid;
    d->count = img->count;
    d->type = img->type;
    d->len = (uint16_t)img->len;
    d->lba = 0;
    d->sum = 0;
    if (img->type == PK_OBJ_NONE) {
        return 0;                 /* destroyed: a tombstone, no block */
    }
    if ((rc = ckpt_alloc_block(ck, &lba)) != 0) {
        return rc;
    }
    if (ck->stage_n == CKPT_STAGE_BLOCKS || (ck->stage_n && lba != ck->stage_lba + ck->stage_n)) {
        if ((rc = ckpt_stage_flush(ck)) != 0) {
            return rc;
        }
    }
    if (ck->stage_n == 0) {
        ck->stage_lba = lba;
    }
    slot = ck->stage + (size_t)ck->stage_n++ * PK_DISK_BLOCK;
    memcpy(slot, img->data, img->len);
    memset(slot + img->len, 0, PK_DISK_BLOCK - img->len);
    d->lba = lba;
    d->sum = pk_disk_format_object_sum(d->oid, d->count, d->type, slot);
    return 0;
}

static int ckpt_fresh_push(PkCkpt *ck, PkDiskDirent **d)
{
    if (ck->nfresh == ck->capfresh) {
        uint64_t cap = ck->capfresh ? ck->capfresh * 2 : 256;
        PkDiskDirent *p = realloc(ck->fresh, cap * sizeof(*p));

        if (!p) {
            return -ENOMEM;
        }
        ck->fresh = p;
        ck->capfresh = cap;
    }
    *d = &ck->fresh[ck->nfresh++];
    return 0;
}

static int ckpt_cmp_dirent(const void *a, const void *b)
{
    const PkDiskDirent *x = a, *y = b;

    return x->oid < y->oid ? -1 : x->oid > y->oid;
}

/* Drains the snapshot into the area; fills ck->fresh (sorted).  Leaves the
 * snapshot running: the commit ends it once the header is durable, or
 * aborts it. */
static int ckpt_write_snapshot(PkCkpt *ck, SlError *e)
{
    PkObjImage img;
    int rc = 0, more;

    ck->nfresh = 0;
    ck->stage_n = 0;
    memcpy(ck->alloc, ck->used, ck->layout.sb.ckpt_blocks / 8 + 1);
    /* First fit: blocks the last commit freed are reused at once, which
     * keeps the area compact (and is the order that would expose any block
     * freed too early). */
    ck->cursor = 0;
    while ((more = pk_store_snapshot_next(ck->store, &img)) > 0) {
        PkDiskDirent *d;

        if (img.type > PK_OBJ_NODE ||
            (img.type == PK_OBJ_PAGE && img.len != PK_PAGE_SIZE) ||
            (img.type == PK_OBJ_NODE && img.len != PK_DISK_NODE_LEN)) {
            rc = sl_error(e, -EINVAL, "checkpoint: object 0x%" PRIx64 " has type %u, length %u",
                          img.oid, img.type, img.len);
        } else if ((rc = ckpt_fresh_push(ck, &d)) != 0) {
            rc = sl_error(e, rc, "checkpoint: out of memory");
        } else if ((rc = ckpt_write_object(ck, &img, d)) != 0) {
            rc = sl_error(e, rc, "checkpoint: object 0x%" PRIx64 ": %s", img.oid,
                          rc == -ENOSPC ? "checkpoint area full" : strerror(-rc));
        }
        if (rc) {
            return rc;            /* the rest of the snapshot goes with the abort */
        }
    }
    if (more < 0) {
        rc = sl_error(e, more, "checkpoint: snapshot failed (%s)", strerror(-more));
    }
    if (!rc && (rc = ckpt_stage_flush(ck)) != 0) {
        rc = sl_error(e, rc, "checkpoint: write failed: %s", strerror(-rc));
    }
    if (!rc) {
        qsort(ck->fresh, ck->nfresh, sizeof(ck->fresh[0]), ckpt_cmp_dirent);
    }
    return rc;
}

/* The committed directory with the fresh entries merged in (fresh wins; a
 * fresh PK_OBJ_NONE entry is the object's tombstone and stays). */
static PkDiskDirent *ckpt_merge(const PkCkpt *ck, uint64_t *n)
{
    PkDiskDirent *m = malloc((size_t)(ck->ndir + ck->nfresh + 1) * sizeof(*m));
    uint64_t i = 0, j = 0, k = 0;

    if (!m) {
        return NULL;
    }
    while (i < ck->ndir || j < ck->nfresh) {
        if (j == ck->nfresh || (i < ck->ndir && ck->dir[i].oid < ck->fresh[j].oid)) {
            m[k++] = ck->dir[i++];
            continue;
        }
        if (i < ck->ndir && ck->dir[i].oid == ck->fresh[j].oid) {
            i++;
        }
        m[k++] = ck->fresh[j++];
    }
    *n = k;
    return m;
}

/* Writes dir (n entries) to a fresh run of the area; fills h's dir fields. */
static int ckpt_write_dir(PkCkpt *ck, const PkDiskDirent *dir, uint64_t n, PkDiskHeader *h)
{
    uint32_t blocks = (uint32_t)((n + PK_DISK_DIRENTS_PER_BLOCK - 1) / PK_DISK_DIRENTS_PER_BLOCK);
    uint8_t *raw = calloc((size_t)blocks + 1, PK_DISK_BLOCK);
    int rc = 0;

    if (!raw) {
        return -ENOMEM;
    }
    h->dir_entries = n;
    h->dir_blocks = blocks;
    h->dir_lba = 0;
    for (uint64_t i = 0; i < n; i++) {
        pk_disk_format_encode_dirent(&dir[i], raw + i * PK_DISK_DIRENT_SIZE);
    }
    h->dir_sum = pk_disk_format_checksum(raw, (size_t)blocks * PK_DISK_BLOCK, 0);
    if (blocks) {
        rc = ckpt_alloc_run(ck, blocks, &h->dir_lba);
        if (!rc) {
            rc = ck->dev.write(ck->dev.opaque, h->dir_lba, blocks, raw);
        }
    }
    free(raw);
    return rc;
}

int pk_ckpt_commit(PkCkpt *ck, SlError *e)
{
    PkDiskHeader h = {0};
    PkDiskDirent *merged = NULL;
    bool header_sent = false;
    uint64_t n = 0;
    int rc;

    if (!ck->in_snapshot) {
        return sl_error(e, -EINVAL, "checkpoint: commit without begin");
    }
    h.seq = ck->hdr.seq + 1;
    /* Every OID handed out so far, snapshot or not; never below what the
     * disk has (a store whose table was put back from an older blob). */
    h.next_oid = ck->store->sc.next_oid > ck->hdr.next_oid ? ck->store->sc.next_oid
                                                           : ck->hdr.next_oid;
    rc = ckpt_write_snapshot(ck, e);
    if (!rc && !(merged = ckpt_merge(ck, &n))) {
        rc = sl_error(e, -ENOMEM, "checkpoint: out of memory");
    }
    if (!rc && (rc = ckpt_write_dir(ck, merged, n, &h)) != 0) {
        rc = sl_error(e, rc, "checkpoint %" PRIu64 ": directory: %s", h.seq,
                      rc == -ENOSPC ? "checkpoint area full" : strerror(-rc));
    }
    if (!rc && (rc = ck->dev.flush(ck->dev.opaque)) != 0) {
        rc = sl_error(e, rc, "checkpoint %" PRIu64 ": flush failed: %s", h.seq, strerror(-rc));
    }
    if (!rc) {
        /* The commit point: before this write the previous header rules. */
        pk_disk_format_encode_header(&h, ck->scratch);
        header_sent = true;
        rc = ck->dev.write(ck->dev.opaque, PK_DISK_HEADER_LBA + h.seq % 2, 1, ck->scratch);
        if (!rc) {
            rc = ck->dev.flush(ck->dev.opaque);
        }
        if (rc) {
            rc = sl_error(e, rc, "checkpoint %" PRIu64 ": header: %s", h.seq, strerror(-rc));
        }
    }
    if (rc) {
        /* The disk holds the previous checkpoint: the snapshot's objects
         * are dirty again, for the next one.  Unless the header reached the
         * disk after all (a write or flush that failed late): then the disk
         * holds this one, so its blocks stay reserved until a commit
         * replaces it -- the retry must not overwrite them. */
        if (header_sent) {
            memcpy(ck->used, ck->alloc, ck->layout.sb.ckpt_blocks / 8 + 1);
        }
        pk_store_snapshot_abort(ck->store);
        ck->in_snapshot = false;
        free(merged);
        return rc;
    }
    free(ck->dir);
    ck->dir = merged;
    ck->ndir = n;
    ck->hdr = h;
    ck->mig_pos = 0;
    ck->last_written = 0;
    for (uint64_t i = 0; i < ck->nfresh; i++) {
        ck->last_written += ck->fresh[i].type != PK_OBJ_NONE;
    }
    ckpt_rebuild_used(ck);
    /* On disk now: the snapshot's objects may be evicted and reloaded. */
    pk_store_snapshot_end(ck->store);
    ck->in_snapshot = false;
    return 0;
}

int pk_ckpt_checkpoint(PkCkpt *ck, SlError *e)
{
    int rc = pk_ckpt_begin(ck, e);

    return rc ? rc : pk_ckpt_commit(ck, e);
}

/* ---- migration ------------------------------------------------------------ */

int pk_ckpt_migrate(PkCkpt *ck, uint64_t max, uint64_t *moved, SlError *e)
{
    uint64_t done = 0, first = ck->mig_pos, i;
    int rc = 0;

    if (ck->in_snapshot) {
        return sl_error(e, -EBUSY, "migrate: a checkpoint is in progress");
    }
    /* Copy first, flush, then point the entries home: a load in between
     * still reads the checkpoint-area copy. */
    for (i = ck->mig_pos; i < ck->ndir && (max == 0 || done < max) && !rc; i++) {
        PkDiskDirent *d = &ck->dir[i];
        uint64_t home;

        if (d->type == PK_OBJ_NONE || !ckpt_in_area(ck, d->lba) ||
            pk_disk_format_home_lba(&ck->layout, d->oid, &home)) {
            continue;             /* a tombstone has nothing to migrate */
        }
        rc = ckpt_read_object(ck, d, e);
        if (!rc && (rc = ck->dev.write(ck->dev.opaque, home, 1, ck->scratch)) != 0) {
            rc = sl_error(e, rc, "migrate: object 0x%" PRIx64 ": write of home LBA 0x%" PRIx64
                          " failed: %s", d->oid, home, strerror(-rc));
        }
        done += rc == 0;
    }
    if (!rc && done && (rc = ck->dev.flush(ck->dev.opaque)) != 0) {
        rc = sl_error(e, rc, "migrate: flush failed: %s", strerror(-rc));
    }
    if (!rc) {
        for (uint64_t k = first; k < i; k++) {
            uint64_t home;

            if (ck->dir[k].type != PK_OBJ_NONE && ckpt_in_area(ck, ck->dir[k].lba) &&
                pk_disk_format_home_lba(&ck->layout, ck->dir[k].oid, &home) == 0) {
                ck->dir[k].lba = home;
            }
        }
        ck->mig_pos = i;
    }
    if (moved) {
        *moved = rc ? 0 : done;
    }
    return rc;
}

void pk_ckpt_stats(const PkCkpt *ck, PkCkptStats *st)
{
    memset(st, 0, sizeof(*st));
    st->seq = ck->hdr.seq;
    st->last_written = ck->last_written;
    st->next_oid = ck->hdr.next_oid;
    for (uint64_t i = 0; i < ck->ndir; i++) {
        if (ck->dir[i].type == PK_OBJ_NONE) {
            st->tombstones++;
            continue;
        }
        st->objects++;
        st->unmigrated += ckpt_in_area(ck, ck->dir[i].lba);
    }
    for (uint64_t i = 0; i < ck->layout.sb.ckpt_blocks; i++) {
        st->ckpt_free += !ckpt_bit(ck->used, i);
    }
}
