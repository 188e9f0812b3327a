#!/bin/sh
# bench_build.sh: `avtruth build` end to end on fixed synthetic logs.
#
# usage: [ROUNDS=N] bench/bench_build.sh [BUILD_DIR [THREADS [SECONDS...]]]   (defaults: build 2 "20 120")
# For every length in SECONDS it synthesizes (once, kept in $WORK, default a temporary
# directory) a VLP-32C log with 6 cameras of 640x400 and a VLS-128 log without cameras, builds
# each with OMP_NUM_THREADS=THREADS, and prints wall and CPU time, peak RSS, times real time
# (log seconds / wall seconds) and M points/s (points written / wall seconds) of the build of
# median wall time among ROUNDS builds of the log (default 1), and under each
# build the wall seconds of its stages (its summary's time line; each log's files are read
# once before it is timed), after a line
# describing the machine and its load (other jobs slow a shared machine down: compare figures
# of one run only, and rerun). The Python stack the issue compares with (velodyne_decoder ->
# numpy -> h5py gzip) runs on the VLS-128 capture when `import velodyne_decoder` works (set
# PYTHONPATH to where it is built), right after avtruth's build of the same capture, and its
# line gives its wall time over avtruth's; else the line says why it is skipped.
set -eu

BUILD=${1:-build}
THREADS=${2:-2}
LENGTHS=${3:-"20 120"}
ROUNDS=${ROUNDS:-1}
AVTRUTH=$BUILD/avtruth
PY=${PYTHON:-/usr/bin/python3}
[ -x "$AVTRUTH" ] || { echo "bench_build.sh: $AVTRUTH missing (cmake --build $BUILD --target avtruth)" >&2; exit 2; }
. "$(dirname "$0")/work_dir.sh"
work_dir avt_bench_build

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo)," \
     "$(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg); threads $THREADS; $("$AVTRUTH" --version)"
printf '%-24s %8s %8s %9s %8s %10s %9s\n' log "wall s" "CPU s" "RSS MB" "x real" "M pts/s" points

# the log's files read once before it is timed: the build is measured, not the disk (a 120 s
# log's capture fresh from disk made its setup three times slower)
warm() { find "$1" -type f -exec cat {} + >/dev/null; }

# one log's builds (ROUNDS of them): label, log dir, log seconds. The figures are those of the
# build of median wall time; with ROUNDS > 1 a line gives every build's wall time.
run() {
    warm "$2"
    : >"$WORK/rounds"
    for r in $(seq "$ROUNDS"); do
        rm -f "$WORK/out.h5"
        OMP_NUM_THREADS=$THREADS /usr/bin/time -o "$WORK/time" -f "%e %U %S %M" \
            "$AVTRUTH" build "$2" -o "$WORK/out.h5" >"$WORK/build.out" 2>&1 ||
            { echo "$1: build failed:"; tail -3 "$WORK/build.out"; return 1; }
        # wall user sys rss, then the build's own stage timers (where the wall time went)
        printf '%s %s\n' "$(cat "$WORK/time")" \
            "$(sed -n 's/^time  *[0-9.]* s (\(.*\))$/\1/p' "$WORK/build.out" | tr ' ' '_')" >>"$WORK/rounds"
    done
    pts=$(awk '/^lidar points/ {print $3}' "$WORK/build.out")
    sort -n "$WORK/rounds" >"$WORK/rounds.sorted"
    sed -n "$(((ROUNDS + 1) / 2))p" "$WORK/rounds.sorted" >"$WORK/median"
    read -r wall user sys rss stages <"$WORK/median"
    last_wall=$wall
    awk -v l="$1" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v sec="$3" -v p="$pts" 'BEGIN {
        printf "%-24s %8.2f %8.2f %9.1f %8.1f %10.2f %9d\n", l, w, u + s, r / 1024, sec / w, p / w / 1e6, p }'
    echo "  stages: $stages" | tr '_' ' '
    [ "$ROUNDS" -eq 1 ] || echo "  $ROUNDS builds, wall s: $(cut -d' ' -f1 "$WORK/rounds.sorted" | tr '\n' ' ')"
}

for secs in $LENGTHS; do
    v=$WORK/vlp32c_6cam_${secs}s
    h=$WORK/vls128_${secs}s
    [ -d "$v" ] || "$AVTRUTH" synth "$v" --lidar vlp32c --cameras 6 --width 640 --height 400 --seconds "$secs" >/dev/null 2>&1
    [ -d "$h" ] || "$AVTRUTH" synth "$h" --lidar vls128 --cameras 0 --seconds "$secs" >/dev/null 2>&1
    run "vlp32c+6cam ${secs}s" "$v" "$secs"
    run "vls128 ${secs}s" "$h" "$secs"
    if "$PY" -c "import velodyne_decoder" 2>/dev/null; then
        cap=$(ls "$h"/lidar/*.pcap | head -1)
        warm "$h"
        rm -f "$WORK/py.h5"
        if /usr/bin/time -o "$WORK/time" -f "%e %U %S %M" "$PY" "$(dirname "$0")/python_stack.py" "$cap" \
            "$WORK/py.h5" >"$WORK/py.out" 2>&1; then
            read -r wall user sys rss <"$WORK/time"
            awk -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v a="$last_wall" -v sec="$secs" \
                -v what="$(tail -1 "$WORK/py.out")" 'BEGIN {
                printf "python stack vls128 %ss: wall %.2f s, CPU %.2f s, %.1f MB (%s): %.1fx avtruth'"'"'s wall\n",
                    sec, w, u + s, r / 1024, what, w / a }'
        else
            echo "python stack vls128 ${secs}s: failed:"
            tail -3 "$WORK/py.out"
        fi
    else
        echo "python stack vls128 ${secs}s: skipped: velodyne_decoder is not importable by $PY" \
             "(a PyPI package, not in Debian: install it, or set PYTHONPATH to a build of it, docs/benchmarks.md)"
    fi
done
