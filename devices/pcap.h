/*
 * devices/pcap.h: packet backends on classic libpcap files
 * (https://wiki.wireshark.org/Development/LibpcapFileFormat, and the IETF
 * draft "PCAP Capture File Format"): a 24-byte file header, then per frame a
 * 16-byte record header (ts_sec, ts_frac, incl_len, orig_len) and incl_len
 * bytes of frame.
 *
 * Writer (--pcap-out): little-endian, microsecond magic 0xa1b2c3d4, version
 * 2.4, snaplen 65535, LINKTYPE_ETHERNET (1), frames without FCS.  Timestamps
 * are the machine's virtual time, given by the caller in ns and truncated to
 * us; host time never enters a file, so two identical runs write identical
 * bytes.  The file is written to PATH.tmp.PID and renamed to PATH only by a
 * successful pcap_writer_close(), so a user never sees a half-written file.
 *
 * Reader (--pcap-in): either byte order, microsecond or nanosecond magic,
 * Ethernet only.  The whole file is loaded and checked before the first frame
 * is handed out; a bad file is one SlError line naming the file, the record
 * index and byte offset, the field and what was expected.
 *
 * Not supported: pcapng, link types other than Ethernet (including an FCS
 * length in the link-type field), "modified" (Kuznetzov) pcap magics.
 */
#ifndef DEVICES_PCAP_H
#define DEVICES_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "devices/net_frames.h"

#define PCAP_MAGIC_USEC 0xa1b2c3d4u
#define PCAP_MAGIC_NSEC 0xa1b23c4du
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_LINKTYPE_ETHERNET 1u
#define PCAP_SNAPLEN 65535u          /* what the writer declares */
#define PCAP_SNAPLEN_MAX 262144u     /* libpcap's MAXIMUM_SNAPLEN: larger is corrupt */
#define PCAP_RECORD_MAX 65535u       /* largest incl_len the reader accepts */
#define PCAP_FILE_HEADER_LEN 24u
#define PCAP_RECORD_HEADER_LEN 16u

/* --- writer ----------------------------------------------------------------- */

typedef struct PcapWriter PcapWriter;

/* Creates PATH.tmp.PID (exclusively) and writes the file header.  0, or a
 * negative errno with e naming the file. */
int pcap_writer_open(const char *path, PcapWriter **out, SlError *e);

/* Appends one frame seen at virtual time time_ns.  A frame longer than the
 * snaplen is cut to it (orig_len keeps the real length).  0, or a negative
 * errno; the first failure also sticks and is reported again by close. */
int pcap_writer_write(PcapWriter *w, uint64_t time_ns, const uint8_t *frame,
                      size_t len, SlError *e);

/* Frames written so far. */
uint64_t pcap_writer_count(const PcapWriter *w);

/* Flushes, syncs and renames the temporary file over PATH, then frees w.
 * On any failure (now or earlier) the temporary file is removed, PATH is
 * left as it was, and a negative errno is returned with e filled. */
int pcap_writer_close(PcapWriter *w, SlError *e);

/* Removes the temporary file and frees w: PATH is left as it was.  NULL is
 * a no-op. */
void pcap_writer_discard(PcapWriter *w);

/* Writes frames 0..n-1 of g (net_frames_gen_frame) with timestamps
 * t0_ns + i * step_ns: the --pcap-in input of the integration tests. */
int pcap_write_generated(const char *path, const NetFramesGen *g, uint64_t n,
                         uint64_t t0_ns, uint64_t step_ns, SlError *e);

/* --- reader ------------------------------------------------------------------ */

typedef struct PcapRecord {
    uint64_t time_ns;                /* ts_sec and ts_frac, in ns */
    uint32_t len;                    /* incl_len: bytes at data */
    uint32_t orig_len;               /* length on the wire (>= len) */
    const uint8_t *data;             /* valid until pcap_file_free() */
} PcapRecord;

typedef struct PcapFile PcapFile;

/* Reads and validates the whole file at path.  0, or a negative errno with
 * e holding one line: "FILE: record N at offset 0x...: FIELD ... (expected
 * ...)" (or "FILE: offset 0x...: ..." for the file header). */
int pcap_file_load(const char *path, PcapFile **out, SlError *e);

/* The same on len bytes at buf (copied), reported under the name name. */
int pcap_file_parse(const char *name, const uint8_t *buf, size_t len,
                    PcapFile **out, SlError *e);

void pcap_file_free(PcapFile *f);

/* Records, in file order.  Timestamps are as recorded: the file may go
 * back in time, and the caller schedules each frame no earlier than the one
 * before it. */
size_t pcap_file_count(const PcapFile *f);
/* Record i (< pcap_file_count). */
void pcap_file_record(const PcapFile *f, size_t i, PcapRecord *out);

/* Header facts, for reports. */
bool pcap_file_is_nanosecond(const PcapFile *f);
bool pcap_file_is_big_endian(const PcapFile *f);
uint32_t pcap_file_snaplen(const PcapFile *f);

#endif
