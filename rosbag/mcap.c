/* avtruth rosbag: MCAP reader, written from the MCAP specification (foxglove/mcap,
 * docs/specification/README.md, major version 0).
 *
 *   file    = <magic 89 4D 43 41 50 30 0D 0A> <Header> <data section> [<summary section>]
 *             [<summary offset section>] <Footer> <magic>
 *   record  = <opcode u8> <content length u64 LE> <content>
 *   Chunk   = start u64 | end u64 | uncompressed_size u64 | uncompressed_crc u32 |
 *             compression string | records (u64 length + bytes: Schema/Channel/Message records)
 *
 * Records are decoded by one table of field kinds per opcode (record_tables below); fields a
 * newer writer appends are ignored, as the specification asks. CRC32 (zlib's, the ISO-HDLC
 * polynomial the specification's "CRC32" names) is checked for chunks, attachments, the data
 * section (DataEnd: every byte from the file's start to the DataEnd record) and the summary
 * (Footer: from summary_start, or the Footer itself without a summary, to the Footer's
 * summary_offset_start field inclusive). Zero means "not computed" for each of them. */
#include <fcntl.h>
#include <lz4frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "avtruth/rosbag.h"

static const uint8_t MAGIC[8] = {0x89, 'M', 'C', 'A', 'P', '0', '\r', '\n'};
#define FOOTER_BYTES (1 + 8 + 20)

/* ---------------------------------------------------------------------------------------- */
/* Record tables                                                                             */

typedef struct field_spec {
    const char *name;
    int kind;
} field_spec;

typedef struct record_spec {
    const char *type;
    field_spec f[AVT_MCAP_MAX_FIELDS];
} record_spec;

#define F(n, k) {n, AVT_MCAP_##k}
static const record_spec record_tables[16] = {
    [AVT_MCAP_HEADER] = {"Header", {F("profile", STR), F("library", STR)}},
    [AVT_MCAP_FOOTER] = {"Footer", {F("summary_start", U64), F("summary_offset_start", U64), F("summary_crc", U32)}},
    [AVT_MCAP_SCHEMA] = {"Schema", {F("id", U16), F("name", STR), F("encoding", STR), F("data", BYTES32)}},
    [AVT_MCAP_CHANNEL] = {"Channel", {F("id", U16), F("schema_id", U16), F("topic", STR),
                                      F("message_encoding", STR), F("metadata", MAP_SS)}},
    [AVT_MCAP_MESSAGE] = {"Message", {F("channel_id", U16), F("sequence", U32), F("log_time", U64),
                                      F("publish_time", U64), F("data", REST)}},
    [AVT_MCAP_CHUNK] = {"Chunk", {F("message_start_time", U64), F("message_end_time", U64),
                                  F("uncompressed_size", U64), F("uncompressed_crc", U32),
                                  F("compression", STR), F("records", BYTES64)}},
    [AVT_MCAP_MESSAGE_INDEX] = {"MessageIndex", {F("channel_id", U16), F("records", TUPLES)}},
    [AVT_MCAP_CHUNK_INDEX] = {"ChunkIndex", {F("message_start_time", U64), F("message_end_time", U64),
                                             F("chunk_start_offset", U64), F("chunk_length", U64),
                                             F("message_index_offsets", MAP_U16U64),
                                             F("message_index_length", U64), F("compression", STR),
                                             F("compressed_size", U64), F("uncompressed_size", U64)}},
    [AVT_MCAP_ATTACHMENT] = {"Attachment", {F("log_time", U64), F("create_time", U64), F("name", STR),
                                            F("media_type", STR), F("data", BYTES64), F("crc", U32)}},
    [AVT_MCAP_ATTACHMENT_INDEX] = {"AttachmentIndex", {F("offset", U64), F("length", U64), F("log_time", U64),
                                                       F("create_time", U64), F("data_size", U64),
                                                       F("name", STR), F("media_type", STR)}},
    [AVT_MCAP_STATISTICS] = {"Statistics", {F("message_count", U64), F("schema_count", U16),
                                            F("channel_count", U32), F("attachment_count", U32),
                                            F("metadata_count", U32), F("chunk_count", U32),
                                            F("message_start_time", U64), F("message_end_time", U64),
                                            F("channel_message_counts", MAP_U16U64)}},
    [AVT_MCAP_METADATA] = {"Metadata", {F("name", STR), F("metadata", MAP_SS)}},
    [AVT_MCAP_METADATA_INDEX] = {"MetadataIndex", {F("offset", U64), F("length", U64), F("name", STR)}},
    [AVT_MCAP_SUMMARY_OFFSET] = {"SummaryOffset", {F("group_opcode", U8), F("group_start", U64),
                                                   F("group_length", U64)}},
    [AVT_MCAP_DATA_END] = {"DataEnd", {F("data_section_crc", U32)}},
};
#undef F

/* A map's or array's entries must fill its byte length exactly. */
static int entries_ok(int kind, const uint8_t *p, size_t n)
{
    avt_cursor c = avt_cursor_make(p, n);
    while (avt_cursor_left(&c) > 0) {
        if (kind == AVT_MCAP_MAP_SS) {
            for (int k = 0; k < 2; k++) avt_cursor_skip(&c, avt_get_le32(&c));
        } else if (kind == AVT_MCAP_MAP_U16U64) {
            avt_cursor_skip(&c, 10);
        } else {
            avt_cursor_skip(&c, 16);
        }
        if (c.bad) return 0;
    }
    return !c.bad;
}

int avt_mcap_decode(uint8_t op, const uint8_t *body, size_t len, avt_mcap_record *rec, avt_error *err)
{
    const record_spec *spec = op < 16 ? &record_tables[op] : NULL;
    rec->op = op;
    rec->nfields = 0;
    rec->type = spec && spec->type ? spec->type : "Unknown";
    if (!spec || !spec->type) return AVT_OK;
    avt_cursor c = avt_cursor_make(body, len);
    for (int i = 0; i < AVT_MCAP_MAX_FIELDS && spec->f[i].name; i++) {
        avt_mcap_field *f = &rec->f[i];
        f->name = spec->f[i].name;
        f->kind = spec->f[i].kind;
        f->u = 0;
        f->p = NULL;
        f->n = 0;
        uint64_t n = 0;
        switch (f->kind) {
        case AVT_MCAP_U8: f->u = avt_get_u8(&c); break;
        case AVT_MCAP_U16: f->u = avt_get_le16(&c); break;
        case AVT_MCAP_U32: f->u = avt_get_le32(&c); break;
        case AVT_MCAP_U64: f->u = avt_get_le64(&c); break;
        case AVT_MCAP_BYTES64: n = avt_get_le64(&c); break;
        case AVT_MCAP_REST: n = avt_cursor_left(&c); break;
        default: n = avt_get_le32(&c); break; /* strings, bytes32, maps, arrays */
        }
        if (f->kind >= AVT_MCAP_STR) {
            if (c.bad || n > avt_cursor_left(&c))
                return avt_err(err, AVT_FORMAT, "%s.%s: length %llu, %zu bytes left in the record",
                               spec->type, f->name, (unsigned long long)n, avt_cursor_left(&c));
            f->p = c.p + c.pos;
            f->n = (size_t)n;
            c.pos += (size_t)n;
            if (f->kind >= AVT_MCAP_MAP_SS && !entries_ok(f->kind, f->p, f->n))
                return avt_err(err, AVT_FORMAT, "%s.%s: entries do not fill its %zu bytes",
                               spec->type, f->name, f->n);
        }
        if (c.bad)
            return avt_err(err, AVT_FORMAT, "%s.%s: record ends at byte %zu", spec->type, f->name, len);
        rec->nfields = i + 1;
    }
    return AVT_OK;
}

const avt_mcap_field *avt_mcap_field_get(const avt_mcap_record *rec, const char *name)
{
    for (int i = 0; i < rec->nfields; i++)
        if (strcmp(rec->f[i].name, name) == 0) return &rec->f[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Reader                                                                                    */

struct avt_mcap_reader {
    const uint8_t *data;
    size_t len;
    void *map; /* mmap of a file, or NULL */
    char name[512];
    size_t end;       /* end of the records: before the closing magic, or len when cut */
    int cut;          /* no closing magic: the file was cut or is still being written */
    size_t pos;       /* next top-level record */
    size_t nrecords;  /* top-level records read */
    int done;
    int data_ended;
    uint8_t *chunk;   /* decompressed records of the current chunk (NULL: in place) */
    const uint8_t *chunk_p;
    size_t chunk_len, chunk_pos;
    uint64_t chunk_offset;
};

static uint32_t crc32_of(const uint8_t *p, size_t n) { return (uint32_t)crc32_z(0, p, n); }

int avt_mcap_open_mem(const void *data, size_t len, const char *name, avt_mcap_reader **out, avt_error *err)
{
    *out = NULL;
    if (len < 8)
        return avt_err(err, AVT_TRUNCATED, "%s: %zu bytes, too short for an MCAP file", name, len);
    const uint8_t *d = data;
    if (memcmp(d, MAGIC, 8) != 0)
        return avt_err(err, AVT_FORMAT, "%s: no MCAP magic at the start (major version 0)", name);
    /* complete: ... Footer magic. Otherwise cut (power loss) or still being written: read up
     * to the last complete record, then report where it ends */
    int cut = len < 8 + 9 + FOOTER_BYTES + 8 || memcmp(d + len - 8, MAGIC, 8) != 0;
    if (!cut) {
        avt_cursor c = avt_cursor_make(d + len - 8 - FOOTER_BYTES, FOOTER_BYTES);
        if (avt_get_u8(&c) != AVT_MCAP_FOOTER || avt_get_le64(&c) != 20)
            return avt_err(err, AVT_FORMAT, "%s: no Footer record at byte %zu before the closing magic", name,
                           len - 8 - FOOTER_BYTES);
    }
    avt_mcap_reader *r = calloc(1, sizeof *r);
    if (!r) return avt_err(err, AVT_NOMEM, "%s: out of memory", name);
    r->data = d;
    r->len = len;
    r->end = cut ? len : len - 8;
    r->cut = cut;
    r->pos = 8;
    snprintf(r->name, sizeof r->name, "%s", name);
    *out = r;
    return AVT_OK;
}

int avt_mcap_open(const char *path, avt_mcap_reader **out, avt_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return avt_err(err, AVT_IO, "%s: cannot open", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0) {
        close(fd);
        return avt_err(err, AVT_TRUNCATED, "%s: empty or unreadable", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return avt_err(err, AVT_IO, "%s: cannot map into memory", path);
    int rc = avt_mcap_open_mem(map, (size_t)st.st_size, path, out, err);
    if (rc) {
        munmap(map, (size_t)st.st_size);
        return rc;
    }
    (*out)->map = map;
    return AVT_OK;
}

double avt_mcap_fraction(const avt_mcap_reader *r) { return r && r->end ? (double)r->pos / (double)r->end : 0.0; }

void avt_mcap_close(avt_mcap_reader *r)
{
    if (!r) return;
    free(r->chunk);
    if (r->map) munmap(r->map, r->len);
    free(r);
}

static int decompress(avt_mcap_reader *r, const char *what, const avt_mcap_record *ch, size_t size,
                      avt_error *err)
{
    const avt_mcap_field *comp = avt_mcap_field_get(ch, "compression");
    const avt_mcap_field *recs = avt_mcap_field_get(ch, "records");
    free(r->chunk);
    r->chunk = NULL;
    if (comp->n == 0) {
        if (recs->n != size)
            return avt_err(err, AVT_FORMAT, "%s: uncompressed_size %zu, records hold %zu bytes", what, size,
                           recs->n);
        r->chunk_p = recs->p;
        return AVT_OK;
    }
    r->chunk = malloc(size ? size : 1);
    if (!r->chunk) return avt_err(err, AVT_NOMEM, "%s: out of memory for %zu bytes", what, size);
    r->chunk_p = r->chunk;
    if (comp->n == 4 && memcmp(comp->p, "zstd", 4) == 0) {
        size_t got = ZSTD_decompress(r->chunk, size, recs->p, recs->n);
        if (ZSTD_isError(got))
            return avt_err(err, AVT_FORMAT, "%s: zstd: %s", what, ZSTD_getErrorName(got));
        if (got != size)
            return avt_err(err, AVT_FORMAT, "%s: zstd gave %zu bytes, uncompressed_size %zu", what, got, size);
        return AVT_OK;
    }
    if (comp->n == 3 && memcmp(comp->p, "lz4", 3) == 0) {
        LZ4F_dctx *dc = NULL;
        if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION)))
            return avt_err(err, AVT_NOMEM, "%s: lz4 context", what);
        size_t in_pos = 0, out_pos = 0, hint = 1;
        int rc = AVT_OK;
        while (hint != 0) {
            size_t in_n = recs->n - in_pos, out_n = size - out_pos;
            hint = LZ4F_decompress(dc, r->chunk + out_pos, &out_n, recs->p + in_pos, &in_n, NULL);
            if (LZ4F_isError(hint)) {
                rc = avt_err(err, AVT_FORMAT, "%s: lz4: %s", what, LZ4F_getErrorName(hint));
                break;
            }
            in_pos += in_n;
            out_pos += out_n;
            if (hint != 0 && in_n == 0 && out_n == 0) {
                rc = avt_err(err, AVT_FORMAT, "%s: lz4 frame cut after %zu of %zu bytes (%zu of %zu out)",
                             what, in_pos, recs->n, out_pos, size);
                break;
            }
        }
        LZ4F_freeDecompressionContext(dc);
        if (rc == AVT_OK && (out_pos != size || in_pos != recs->n))
            rc = avt_err(err, AVT_FORMAT, "%s: lz4 gave %zu bytes from %zu of %zu, uncompressed_size %zu", what,
                         out_pos, in_pos, recs->n, size);
        return rc;
    }
    return avt_err(err, AVT_UNSUPPORTED, "%s: compression \"%.*s\" (supported: \"\", zstd, lz4)", what,
                   (int)(comp->n > 32 ? 32 : comp->n), (const char *)comp->p);
}

/* Enters a Chunk record: decompresses it and checks its CRC. */
static int enter_chunk(avt_mcap_reader *r, const avt_mcap_record *ch, const char *what, avt_error *err)
{
    uint64_t size = avt_mcap_field_get(ch, "uncompressed_size")->u;
    if (size > AVT_MCAP_MAX_CHUNK)
        return avt_err(err, AVT_UNSUPPORTED, "%s: uncompressed_size %llu above the limit %llu", what,
                       (unsigned long long)size, (unsigned long long)AVT_MCAP_MAX_CHUNK);
    int rc = decompress(r, what, ch, (size_t)size, err);
    if (rc) return rc;
    uint32_t want = (uint32_t)avt_mcap_field_get(ch, "uncompressed_crc")->u;
    if (want != 0 && crc32_of(r->chunk_p, (size_t)size) != want)
        return avt_err(err, AVT_FORMAT, "%s: CRC32 of the records 0x%08x, uncompressed_crc 0x%08x", what,
                       crc32_of(r->chunk_p, (size_t)size), want);
    r->chunk_len = (size_t)size;
    r->chunk_pos = 0;
    return AVT_OK;
}

/* Reads (op, len, content) at *pos of (p, n); returns 0 and sets *body and *blen, or -1. */
static int frame(const uint8_t *p, size_t n, size_t *pos, uint8_t *op, const uint8_t **body, size_t *blen)
{
    avt_cursor c = avt_cursor_make(p + *pos, n - *pos);
    *op = avt_get_u8(&c);
    uint64_t len = avt_get_le64(&c);
    if (c.bad || len > avt_cursor_left(&c)) return -1;
    *body = c.p + c.pos;
    *blen = (size_t)len;
    *pos += 9 + (size_t)len;
    return 0;
}

static int check_crcs(avt_mcap_reader *r, avt_mcap_record *rec, size_t at, const char *what, avt_error *err)
{
    if (rec->op == AVT_MCAP_ATTACHMENT) {
        /* the CRC covers the fields before it: 9 bytes of framing are not part of it */
        const avt_mcap_field *crc = avt_mcap_field_get(rec, "crc");
        size_t covered = (size_t)(avt_mcap_field_get(rec, "data")->p + avt_mcap_field_get(rec, "data")->n -
                                  (r->data + at + 9));
        uint32_t got = crc32_of(r->data + at + 9, covered);
        if (crc->u != 0 && got != crc->u)
            return avt_err(err, AVT_FORMAT, "%s: CRC32 0x%08x, the record says 0x%08x", what, got,
                           (unsigned)crc->u);
    } else if (rec->op == AVT_MCAP_DATA_END) {
        uint32_t want = (uint32_t)rec->f[0].u, got = crc32_of(r->data, at);
        if (want != 0 && got != want)
            return avt_err(err, AVT_FORMAT, "%s: data section CRC32 0x%08x, DataEnd says 0x%08x", what, got, want);
    } else if (rec->op == AVT_MCAP_FOOTER) {
        uint64_t start = rec->f[0].u ? rec->f[0].u : at;
        uint32_t want = (uint32_t)rec->f[2].u;
        if (start > at)
            return avt_err(err, AVT_FORMAT, "%s: summary_start %llu after the Footer", what,
                           (unsigned long long)start);
        uint32_t got = crc32_of(r->data + start, at + 9 + 16 - (size_t)start);
        if (want != 0 && got != want)
            return avt_err(err, AVT_FORMAT, "%s: summary CRC32 0x%08x, Footer says 0x%08x", what, got, want);
    }
    return AVT_OK;
}

static int next_record(avt_mcap_reader *r, avt_mcap_record *rec, avt_error *err)
{
    char what[640];
    for (;;) {
        if (r->done) return 0;
        if (r->chunk_p && r->chunk_pos < r->chunk_len) {
            size_t at = r->chunk_pos;
            uint8_t op;
            const uint8_t *body;
            size_t blen;
            snprintf(what, sizeof what, "%s: chunk at byte %llu: record at byte %zu", r->name,
                     (unsigned long long)r->chunk_offset, at);
            if (frame(r->chunk_p, r->chunk_len, &r->chunk_pos, &op, &body, &blen))
                return avt_err(err, AVT_FORMAT, "%s: length runs past the chunk's %zu bytes", what, r->chunk_len);
            if (op != AVT_MCAP_SCHEMA && op != AVT_MCAP_CHANNEL && op != AVT_MCAP_MESSAGE && op < 0x80)
                return avt_err(err, AVT_FORMAT, "%s: opcode 0x%02x inside a chunk (Schema, Channel, Message only)",
                               what, op);
            int rc = avt_mcap_decode(op, body, blen, rec, err);
            if (rc) return avt_err_prefix(err, "%s", what);
            rec->offset = r->chunk_offset;
            rec->in_chunk = 1;
            return 1;
        }
        r->chunk_p = NULL;
        size_t at = r->pos;
        uint8_t op;
        const uint8_t *body;
        size_t blen;
        snprintf(what, sizeof what, "%s: record %zu at byte %zu", r->name, r->nrecords, at);
        if (r->cut && at == r->end)
            return avt_err(err, AVT_TRUNCATED, "%s: the file ends there without its Footer and closing magic "
                           "(cut, or still being written)", what);
        if (frame(r->data, r->end, &r->pos, &op, &body, &blen)) {
            if (r->cut)
                return avt_err(err, AVT_TRUNCATED, "%s: cut at byte %zu, the end of the file (no Footer, no closing "
                               "magic)", what, r->len);
            return avt_err(err, AVT_FORMAT, "%s: length runs past the Footer (file of %zu bytes)", what, r->len);
        }
        if ((r->nrecords == 0) != (op == AVT_MCAP_HEADER))
            return avt_err(err, AVT_FORMAT, "%s: opcode 0x%02x, %s", what, op,
                           r->nrecords == 0 ? "the first record must be a Header" : "a second Header");
        r->nrecords++;
        int rc = avt_mcap_decode(op, body, blen, rec, err);
        if (rc) return avt_err_prefix(err, "%s", what);
        if ((rc = check_crcs(r, rec, at, what, err))) return rc;
        rec->offset = at;
        rec->in_chunk = 0;
        if (op == AVT_MCAP_FOOTER) {
            if (!r->cut && r->pos != r->end)
                return avt_err(err, AVT_FORMAT, "%s: a Footer before the end of the file", what);
            r->done = 1; /* cut: only (part of) the closing magic is missing */
        } else if (!r->cut && r->pos == r->end) {
            return avt_err(err, AVT_FORMAT, "%s: the last record is not a Footer (opcode 0x%02x)", what, op);
        }
        if (op == AVT_MCAP_DATA_END) r->data_ended = 1;
        if (op == AVT_MCAP_CHUNK) {
            if (r->data_ended) return avt_err(err, AVT_FORMAT, "%s: a Chunk after DataEnd", what);
            if ((rc = enter_chunk(r, rec, what, err))) return rc;
            r->chunk_offset = at;
            continue;
        }
        return 1;
    }
}

int avt_mcap_next(avt_mcap_reader *r, avt_mcap_record *rec, avt_error *err)
{
    int rc = next_record(r, rec, err);
    if (rc < 0) { /* stop here: a later call returns the end rather than reading on */
        r->done = 1;
        r->chunk_p = NULL;
    }
    return rc;
}
