/* avtruth: the command as installed, a small program that starts avtruth-core (the commands,
 * tools/avtruth.c) from its own directory with OpenMP's wait policy set.
 *
 * Between parallel regions libgomp's idle threads spin by default, burning a core each while
 * the main thread writes HDF5 or reads images (docs/benchmarks.md); libgomp reads
 * OMP_WAIT_POLICY once, when it is loaded, so it must be in the environment before the
 * program that links it starts. avtruth-core used to set it and start itself again, loading
 * its 55 libraries twice (6.5 ms each); this program links only libc. A policy the user set
 * is kept. Its own directory comes from /proc/self/exe, else from argv[0]; without either
 * (no /proc, started through PATH) avtruth-core is looked up in PATH. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char CORE[] = "avtruth-core";

/* dir/avtruth-core into out (n bytes), dir being the part of path[0..len) before its last
 * '/'; 0 if there is none or it does not fit. */
static int beside(const char *path, size_t len, char *out, size_t n)
{
    const char *slash = memrchr(path, '/', len);
    size_t d = slash ? (size_t)(slash - path) + 1 : 0;
    if (!slash || d + sizeof CORE > n) return 0;
    memcpy(out, path, d);
    memcpy(out + d, CORE, sizeof CORE);
    return 1;
}

int main(int argc, char **argv)
{
    char self[PATH_MAX], core[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self);
    int found = n > 0 && (size_t)n < sizeof self && beside(self, (size_t)n, core, sizeof core);
    if (!found && argc > 0 && argv[0]) found = beside(argv[0], strlen(argv[0]), core, sizeof core);
    if (!getenv("OMP_WAIT_POLICY")) setenv("OMP_WAIT_POLICY", "passive", 1);
    if (found) execv(core, argv);
    else execvp(CORE, argv);
    fprintf(stderr, "avtruth: cannot start %s: %s\n", found ? core : CORE, strerror(errno));
    return 127;
}
