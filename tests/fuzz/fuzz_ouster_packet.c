/* Fuzz target: Ouster lidar packets through the check and the frame batcher.
 * Input: byte 0 selects the profile (mod 4) and byte 1 the column window; the rest is cut
 * into packets of the profile's size for a 16-beam, 512-column sensor (the last one short,
 * which the check must refuse). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ingest_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avt_ouster_meta m;
    avt_error err;
    char why[160];
    if (size < 2) return 0;
    memset(&m, 0, sizeof m);
    m.profile = data[0] % AVT_OUSTER_PROFILES;
    m.fusa_header = (data[0] / AVT_OUSTER_PROFILES) & 1;
    m.h = 16;
    m.w = 512;
    m.cols_per_packet = 16;
    m.col_lo = data[1] & 1 ? 0 : 500;  /* a wrapping window too */
    m.col_hi = data[1] & 1 ? 511 : 20;
    for (int u = 0; u < m.h; u++) {
        m.alt_deg[u] = 15.0 - 2.0 * u;
        m.az_deg[u] = (u % 4) - 1.5;
    }
    m.beam_to_lidar[0] = m.beam_to_lidar[5] = m.beam_to_lidar[10] = m.beam_to_lidar[15] = 1;
    m.beam_to_lidar[3] = 12.163;
    memcpy(m.lidar_to_sensor,
           (const double[16]){-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 36.18, 0, 0, 0, 1},
           sizeof m.lidar_to_sensor);
    avt_ouster_batcher *b = avt_ouster_batcher_new(&m, 0.1, 250.0, &err);
    if (!b) return 0;
    const size_t ps = avt_ouster_packet_size(&m);
    size_t pos = 2;
    int64_t rec_ns = 1600000000000000000LL;
    while (pos < size) {
        size_t n = size - pos < ps ? size - pos : ps;
        uint32_t fid;
        int late, dup;
        if (avt_ouster_check(&m, data + pos, n, &fid, why, sizeof why) == AVT_OK)
            avt_ouster_batcher_push(b, data + pos, fid, rec_ns, &late, &dup);
        while (avt_ouster_batcher_release(b, 0)) {
        }
        pos += n;
        rec_ns += 1000000;
    }
    while (avt_ouster_batcher_release(b, 1)) {
    }
    avt_ouster_batcher_free(b);
    return 0;
}
