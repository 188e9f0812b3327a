/* Fuzz target: Ouster sensor metadata JSON, and the batcher (XYZ table) built from it. */
#include <stddef.h>
#include <stdint.h>

#include "ingest_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    avt_ouster_meta m;
    avt_error err;
    if (avt_ouster_meta_parse((const char *)data, size, "fuzz.json", &m, &err) != AVT_OK)
        return 0;
    avt_ouster_batcher_free(avt_ouster_batcher_new(&m, 0.1, 250.0, &err));
    return 0;
}
