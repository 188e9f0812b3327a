/* dump_sweeps: decodes a LiDAR capture with the ingest stage and writes every point, for the
 * reference comparison in test_velodyne_reference.py.
 *
 * usage: dump_sweeps CAPTURE OUT.bin [MODEL [MAX_RANGE_M [CUT_DEG [METADATA_JSON [CALIBRATION]]]]]
 * OUT.bin: one little-endian 32-byte record per point:
 *   u32 sweep, f32 x, f32 y, f32 z, f32 intensity, u16 ring, u8 return_type, u8 0, i64 t_ns
 * stdout: "sweep INDEX N START_NS END_NS TIMESTAMP_NS PACKETS LOST COMPLETE" per sweep, then
 * "stats RECORDS DATA POSITION SKIPPED CORRUPT LOST SWEEPS MODEL", then
 * "ouster COLUMNS_LOST LATE DUPLICATES" and "frag FRAGMENTS REASSEMBLED DROPPED OVERLAPS"; errors on stderr with the
 * status name, exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avtruth/ingest.h"

static void put(unsigned char *b, size_t *o, const void *v, size_t n)
{
    memcpy(b + *o, v, n); /* the test hosts are little-endian, as the record format */
    *o += n;
}

int main(int argc, char **argv)
{
    avt_lidar_config cfg;
    avt_lidar_reader *r = NULL;
    avt_error err = {0};
    FILE *out = NULL;
    int status = 2, rc;
    const avt_sweep *s;

    if (argc < 3) {
        fprintf(stderr, "usage: dump_sweeps CAPTURE OUT.bin [MODEL [MAX_RANGE_M [CUT_DEG [METADATA [CALIBRATION]]]]]\n");
        return 2;
    }
    avt_lidar_config_default(&cfg);
    if (argc > 3) cfg.model = argv[3];
    if (argc > 4 && !avt_parse_double(argv[4], &cfg.max_range_m)) goto out;
    if (argc > 5 && !avt_parse_double(argv[5], &cfg.cut_angle_deg)) goto out;
    if (argc > 6 && *argv[6]) cfg.metadata_path = argv[6];
    if (argc > 7) cfg.calibration_path = argv[7];
    out = fopen(argv[2], "wb");
    if (!out) {
        perror(argv[2]);
        goto out;
    }
    r = avt_lidar_open(argv[1], &cfg, &err);
    if (!r) goto fail;
    while ((rc = avt_lidar_next(r, &s, &err)) == 1) {
        printf("sweep %llu %zu %lld %lld %lld %u %u %d\n", (unsigned long long)s->index, s->n,
               (long long)s->start_ns, (long long)s->end_ns, (long long)s->timestamp_ns,
               s->packets, s->packets_lost, s->complete);
        for (size_t i = 0; i < s->n; i++) {
            unsigned char b[32];
            size_t o = 0;
            uint32_t sw = (uint32_t)s->index;
            uint8_t pad = 0;
            put(b, &o, &sw, 4);
            put(b, &o, &s->xyz[3 * i], 12);
            put(b, &o, &s->intensity[i], 4);
            put(b, &o, &s->ring[i], 2);
            put(b, &o, &s->return_type[i], 1);
            put(b, &o, &pad, 1);
            put(b, &o, &s->t_ns[i], 8);
            if (fwrite(b, 1, sizeof b, out) != sizeof b) {
                perror(argv[2]);
                goto out;
            }
        }
    }
    avt_lidar_stats st;
    avt_lidar_stats_get(r, &st);
    printf("stats %llu %llu %llu %llu %llu %llu %llu %s\n", (unsigned long long)st.records,
           (unsigned long long)st.data_packets, (unsigned long long)st.position_packets,
           (unsigned long long)st.skipped, (unsigned long long)st.corrupt,
           (unsigned long long)st.packets_lost, (unsigned long long)st.sweeps,
           st.model[0] ? st.model : "-");
    printf("ouster %llu %llu %llu\n", (unsigned long long)st.columns_lost,
           (unsigned long long)st.late, (unsigned long long)st.duplicates);
    printf("frag %llu %llu %llu %llu\n", (unsigned long long)st.fragments,
           (unsigned long long)st.reassembled, (unsigned long long)st.frag_dropped,
           (unsigned long long)st.frag_overlaps);
    if (st.first_corrupt[0]) printf("first_corrupt %s\n", st.first_corrupt);
    if (rc < 0) goto fail;
    status = 0;
    goto out;
fail:
    fprintf(stderr, "%s: %s\n", avt_status_name(err.code), err.msg);
out:
    avt_lidar_close(r);
    if (out && fclose(out) != 0) status = 2;
    return status;
}
