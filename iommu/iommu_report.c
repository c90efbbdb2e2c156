/*
 * iommu/iommu_report.c: fault records as report lines and JSON, statistics
 * and the exit summary.  Format (STYLE): `iommu: what happened [key=0x...]`;
 * the JSON object carries the same fields under the same keys.
 */
#include "iommu/iommu_internal.h"

#include <inttypes.h>
#include <string.h>

static const char *const iommu_reason_names[IOMMU_REASON_COUNT] = {
    [IOMMU_REASON_NONE] = "none",
    [IOMMU_REASON_NO_DOMAIN] = "no-domain",
    [IOMMU_REASON_NOT_MAPPED] = "not-mapped",
    [IOMMU_REASON_PERMISSION] = "permission",
    [IOMMU_REASON_STALE_IOTLB] = "stale-iotlb",
    [IOMMU_REASON_OUT_OF_RANGE] = "out-of-range",
    [IOMMU_REASON_DOMAIN_BOUND] = "domain-pin-bound",
    [IOMMU_REASON_GLOBAL_BOUND] = "global-pin-bound",
    [IOMMU_REASON_BAD_MAP] = "bad-map",
};

/* What happened, in words, for the report line. */
static const char *const iommu_reason_text[IOMMU_REASON_COUNT] = {
    [IOMMU_REASON_NONE] = "no fault",
    [IOMMU_REASON_NO_DOMAIN] = "dma by a device with no domain attached",
    [IOMMU_REASON_NOT_MAPPED] = "dma to an unmapped iova",
    [IOMMU_REASON_PERMISSION] = "dma in a direction the mapping does not permit",
    [IOMMU_REASON_STALE_IOTLB] = "dma after unmap, completed through a stale iotlb entry",
    [IOMMU_REASON_OUT_OF_RANGE] = "dma outside the address space",
    [IOMMU_REASON_DOMAIN_BOUND] = "map refused, device pin bound exceeded",
    [IOMMU_REASON_GLOBAL_BOUND] = "map refused, global pin bound exceeded",
    [IOMMU_REASON_BAD_MAP] = "map request refused",
};

const char *iommu_reason_name(IommuReason r)
{
    return (unsigned)r < IOMMU_REASON_COUNT ? iommu_reason_names[r] : "unknown";
}

static const char *iommu_report_text(unsigned r)
{
    return r < IOMMU_REASON_COUNT ? iommu_reason_text[r] : "unknown fault";
}

static const char *iommu_report_dir(unsigned dir)
{
    return dir == IOMMU_DIR_WRITE ? "write" : "read";
}

int iommu_fault_format(const IommuFault *f, char *buf, size_t size)
{
    char rip[64] = "";

    if (f->rip_known) {
        snprintf(rip, sizeof(rip), " [rip=0x%" PRIx64 "] [value=0x%" PRIx64 "]",
                 f->rip, f->rip_value);
    }
    return snprintf(buf, size,
                    "iommu: %s [rid=0x%04x] [bdf=%02x:%02x.%x] [name=%s] "
                    "[iova=0x%" PRIx64 "] [len=%" PRIu64 "] [dir=%s] [reason=%s] "
                    "[time=%" PRIu64 "] [seq=%" PRIu64 "]%s",
                    iommu_report_text(f->reason), f->rid, f->rid >> 8, (f->rid >> 3) & 0x1f,
                    f->rid & 7, f->name[0] ? f->name : "-", f->iova, f->len,
                    iommu_report_dir(f->dir), iommu_reason_name((IommuReason)f->reason),
                    f->time_ns, f->seq, rip);
}

/* The domain name as a JSON string body: quote, backslash and control
 * characters escaped. */
static void iommu_report_json_name(const IommuFault *f, char *out, size_t size)
{
    size_t i, o = 0;
    unsigned char c;

    for (i = 0; i < IOMMU_NAME_MAX && f->name[i] && o + 7 < size; i++) {
        c = (unsigned char)f->name[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

int iommu_fault_format_json(const IommuFault *f, char *buf, size_t size)
{
    char name[IOMMU_NAME_MAX * 6 + 8];
    char rip[80] = "\"rip\":null,\"value\":null";

    iommu_report_json_name(f, name, sizeof(name));
    if (f->rip_known) {
        snprintf(rip, sizeof(rip), "\"rip\":\"0x%" PRIx64 "\",\"value\":\"0x%" PRIx64 "\"",
                 f->rip, f->rip_value);
    }
    return snprintf(buf, size,
                    "{\"subsys\":\"iommu\",\"what\":\"%s\",\"rid\":\"0x%04x\","
                    "\"bdf\":\"%02x:%02x.%x\",\"name\":\"%s\",\"iova\":\"0x%" PRIx64 "\","
                    "\"len\":%" PRIu64 ",\"dir\":\"%s\",\"reason\":\"%s\","
                    "\"time\":%" PRIu64 ",\"seq\":%" PRIu64 ",%s}",
                    iommu_report_text(f->reason), f->rid, f->rid >> 8, (f->rid >> 3) & 0x1f,
                    f->rid & 7, name, f->iova, f->len, iommu_report_dir(f->dir),
                    iommu_reason_name((IommuReason)f->reason), f->time_ns, f->seq, rip);
}

void iommu_stats(const Iommu *mmu, IommuStats *out)
{
    *out = mmu->stats;
    out->pins_now = mmu->pins;
}

void iommu_print_summary(const Iommu *mmu, FILE *out)
{
    IommuStats s;
    unsigned r;
    uint64_t total = 0;

    iommu_stats(mmu, &s);
    fprintf(out,
            "iommu: mappings [map_calls=%" PRIu64 "] [pages_mapped=%" PRIu64
            "] [unmap_calls=%" PRIu64 "] [pages_unmapped=%" PRIu64 "]\n",
            s.map_calls, s.pages_mapped, s.unmap_calls, s.pages_unmapped);
    fprintf(out, "iommu: pins [now=%" PRIu64 "] [peak=%" PRIu64 "] [deferred=%" PRIu64 "]\n",
            s.pins_now, s.pins_peak, mmu->pins_deferred);
    fprintf(out,
            "iommu: iotlb [mode=%s] [hits=%" PRIu64 "] [misses=%" PRIu64
            "] [invalidations=%" PRIu64 "] [flushes=%" PRIu64 "]\n",
            mmu->mode == IOMMU_MODE_LAZY ? "lazy" : "strict", s.iotlb_hits, s.iotlb_misses,
            s.iotlb_invalidations, s.flushes);
    for (r = 1; r < IOMMU_REASON_COUNT; r++) {
        total += s.faults[r];
    }
    fprintf(out, "iommu: faults [total=%" PRIu64 "] [dropped=%" PRIu64 "]", total,
            s.faults_dropped);
    for (r = 1; r < IOMMU_REASON_COUNT; r++) {
        if (s.faults[r]) {
            fprintf(out, " [%s=%" PRIu64 "]", iommu_reason_name((IommuReason)r), s.faults[r]);
        }
    }
    fputc('\n', out);
}
