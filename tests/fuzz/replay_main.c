/* Replays a fuzz corpus without libFuzzer: calls LLVMFuzzerTestOneInput on every file of the
 * directories (or files) given, so the corpus runs under CTest with any compiler. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (16u << 20)

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    int rc = 1;
    if (!fp) {
        perror(path);
        return 1;
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || n > (long)REPLAY_MAX_INPUT ||
        fseek(fp, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    rc = 0;
out:
    if (rc) fprintf(stderr, "%s: cannot read\n", path);
    free(buf);
    fclose(fp);
    return rc;
}

int main(int argc, char **argv)
{
    int failed = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        if (!d) {
            perror(argv[i]);
            return 1;
        }
        while ((e = readdir(d)) != NULL) {
            char path[4096];
            if (e->d_name[0] == '.') continue;
            if ((size_t)snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name) >= sizeof path)
                continue;
            failed |= run_file(path);
            files++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", files);
    return failed || files == 0;
}
