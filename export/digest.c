/* avtruth export: SHA-256 of input files for /provenance/inputs (OpenSSL EVP, FIPS 180-4). */
#include <errno.h>
#include <stdatomic.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export_private.h"

#define DIGEST_BLOCK ((size_t)1 << 20) /* bytes read per step at most: memory stays flat for any input */

int avt_export_sha256_file(const char *path, const atomic_int *stop, char hex[65], uint64_t *size, avt_error *err)
{
    int rc = AVT_OK;
    FILE *f = NULL;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    uint64_t total = 0;

    f = fopen(path, "rb");
    if (!f) {
        rc = avt_err(err, AVT_IO, "%s: cannot open input for hashing: %s", path,
                     strerror(errno));
        goto out;
    }
    /* a small file (a camera image) in one read into a buffer of its size: a 1 MiB one would
     * be mapped and unmapped again for every image */
    struct stat sb;
    size_t block = DIGEST_BLOCK;
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size >= 0 && (uint64_t)sb.st_size < DIGEST_BLOCK)
        block = (size_t)sb.st_size + 1;
    buf = malloc(block);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx) {
        rc = avt_err(err, AVT_NOMEM, "%s: out of memory for hashing", path);
        goto out;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = avt_err(err, AVT_IO, "%s: EVP_DigestInit_ex(sha256) failed", path);
        goto out;
    }
    for (;;) {
        if (stop && atomic_load_explicit(stop, memory_order_relaxed)) {
            rc = avt_err(err, AVT_INVAL, "%s: hashing stopped at byte %llu (the build ended)", path,
                         (unsigned long long)total);
            goto out;
        }
        size_t got = fread(buf, 1, block, f);
        if (got && EVP_DigestUpdate(ctx, buf, got) != 1) {
            rc = avt_err(err, AVT_IO, "%s: EVP_DigestUpdate failed at byte %llu", path,
                         (unsigned long long)total);
            goto out;
        }
        total += got;
        if (got < block) break;
    }
    if (ferror(f)) {
        rc = avt_err(err, AVT_IO, "%s: read error at byte %llu: %s", path,
                     (unsigned long long)total, strerror(errno));
        goto out;
    }
    if (EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32) {
        rc = avt_err(err, AVT_IO, "%s: EVP_DigestFinal_ex failed", path);
        goto out;
    }
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    *size = total;
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    if (f) fclose(f);
    return rc;
}
