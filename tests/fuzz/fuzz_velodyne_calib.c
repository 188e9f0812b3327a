/* Fuzz target: Velodyne calibration files (ROS YAML, VeloView db.xml) and the decode tables
 * built from them for every model of the same laser count. */
#include <stddef.h>
#include <stdint.h>

#include "ingest_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static avt_vlp_calib c;
    avt_vlp_tables t;
    avt_error err;
    static const char *const models[] = {"vlp16", "hdl32e", "hdl64e", "vls128"};
    if (avt_vlp_calib_parse((const char *)data, size, "fuzz.yaml", &c, &err) != AVT_OK) return 0;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        const avt_vlp_model *m = avt_vlp_model_find(models[i]);
        if (m->lasers != c.lasers) continue;
        if (avt_vlp_tables_init(&t, m, &c, 0.1, 250.0, &err) == AVT_OK) avt_vlp_tables_free(&t);
    }
    return 0;
}
