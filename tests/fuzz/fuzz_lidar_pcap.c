/* Fuzz target: a whole capture in memory through the LiDAR reader (pcap/pcapng records, link
 * layers, IPv4 reassembly, Velodyne packets, sweep cutting). */
#include <stddef.h>
#include <stdint.h>

#include "avtruth/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avt_lidar_config cfg;
    avt_error err;
    const avt_sweep *s;
    avt_lidar_config_default(&cfg);
    if (size == 0) return 0;
    avt_lidar_reader *r = avt_lidar_open_mem(data, size, "fuzz.pcap", &cfg, &err);
    if (!r) return 0;
    for (int i = 0; i < 100000 && avt_lidar_next(r, &s, &err) == 1; i++) {
        volatile float sink = 0;
        for (size_t k = 0; k < s->n; k++) sink += s->xyz[3 * k];
        (void)sink;
    }
    avt_lidar_close(r);
    return 0;
}
