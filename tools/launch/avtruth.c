/* avtruth: the command as installed, a small program that starts avtruth-core (the commands,
 * tools/avtruth.c) from its own directory with OpenMP's wait policy set.
 *
 * Between parallel regions libgomp's idle threads spin by default, burning a core each while
 * the main thread writes HDF5 or reads images (docs/benchmarks.md); libgomp reads
 * OMP_WAIT_POLICY once, when it is loaded, so it must be in the environment before the
 * program that links it starts. avtruth-core used to set it and start itself again, loading
 * its 55 libraries twice (6.5 ms each); this program links only libc. A policy the user set
 * is kept. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    (void)argc;
    static const char core[] = "avtruth-core";
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof core - 1);
    char *slash = n > 0 ? memrchr(path, '/', (size_t)n) : NULL;
    if (!slash) {
        fprintf(stderr, "avtruth: cannot find its own directory (/proc/self/exe): %s\n",
                n < 0 ? strerror(errno) : "no '/'");
        return 127;
    }
    memcpy(slash + 1, core, sizeof core);
    if (!getenv("OMP_WAIT_POLICY")) setenv("OMP_WAIT_POLICY", "passive", 1);
    execv(path, argv);
    fprintf(stderr, "avtruth: cannot start %s: %s\n", path, strerror(errno));
    return 127;
}
