/* avtruth export tests: writes the fixture logs for check_fixture.py.
 * Usage: export_fixture OUT_DIR  ->  OUT_DIR/fixture.h5 (gzip, with inputs small.txt and
 * big.bin) and OUT_DIR/fixture_raw.h5 (compression "none", no inputs). */
#include <stdio.h>

#include "fixture.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    char path[1024];
    avt_error err = {0, ""};
    if (avt_path_join(path, sizeof path, argv[1], "fixture.h5") ||
        fixture_write(path, argv[1], "gzip", &err)) {
        fprintf(stderr, "export_fixture: %s\n", err.msg);
        return 1;
    }
    if (avt_path_join(path, sizeof path, argv[1], "fixture_raw.h5") ||
        fixture_write(path, NULL, "none", &err)) {
        fprintf(stderr, "export_fixture: %s\n", err.msg);
        return 1;
    }
    return 0;
}
