#!/bin/bash
# scaleout.sh: fleet throughput of avtruth-mpi (logs/hour) on 1, 2 and 4 ranks against the
# serial `avtruth batch` measured in the same run, parallel efficiency, and the per-log cost
# from which docs/scale-out.md projects a 10,000-log fleet.
#
# usage: bench/scaleout.sh [BUILD_DIR [LOGS [WORK_DIR]]]   (defaults: build 12 /tmp/avt-scaleout)
# Writes LOGS synthetic logs 0.5 s to 3 s long (default synth settings: 2 cameras), then
# builds all of them from scratch once per configuration (outputs deleted in between; no
# stitch). Build first: cmake --build BUILD_DIR --target avtruth avtruth-mpi
set -euo pipefail
BUILD=${1:-build}
N=${2:-12}
WORK=${3:-/tmp/avt-scaleout}
AVT="$BUILD/avtruth"
MPI="$BUILD/avtruth-mpi"
rm -rf "$WORK"
mkdir -p "$WORK/logs"
logs=()
for i in $(seq 0 $((N - 1))); do
    sec=$(awk -v i="$i" -v n="$N" 'BEGIN { printf "%.2f", 0.5 + 2.5 * i / (n > 1 ? n - 1 : 1) }')
    "$AVT" synth "$WORK/logs/log$i" --seconds "$sec" --seed $((100 + i)) > /dev/null
    logs+=("$WORK/logs/log$i")
done
frames=0
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fleet: $N logs, 0.5 s .. 3 s (synth defaults), longest first"
now() { date +%s.%N; }
run() { # label, command...
    local label=$1
    shift
    rm -rf "$WORK/out"
    local t0 t1
    t0=$(now)
    "$@" > "$WORK/$label.log" 2>&1
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
serial=$(run serial "$AVT" batch "${logs[@]}" -o "$WORK/out")
for f in "$WORK"/out/*.h5; do
    frames=$((frames + $(h5dump -a /num_frames "$f" | awk '/\(0\)/ { print $2 }')))
done
# efficiency: speedup / ranks; per core: speedup / min(ranks, cores)
printf "%-28s %8s %10s %8s %10s %9s\n" "configuration" "wall s" "logs/hour" "speedup" "efficiency" "per core"
row() { # label, seconds, ranks
    awk -v l="$1" -v s="$2" -v r="$3" -v base="$serial" -v n="$N" -v c="$(nproc)" 'BEGIN {
        u = r < c ? r : c
        printf "%-28s %8.2f %10.0f %8.2f %9.0f%% %8.0f%%\n", l, s, 3600 * n / s, base / s,
               100 * base / s / r, 100 * base / s / u }'
}
row "batch (serial, baseline)" "$serial" 1
for r in 1 2 4; do
    t=$(run "mpi$r" mpirun --allow-run-as-root --oversubscribe -np "$r" "$MPI" "${logs[@]}" -o "$WORK/out" --no-stitch)
    row "avtruth-mpi -np $r" "$t" "$r"
done
awk -v s="$serial" -v f="$frames" -v n="$N" 'BEGIN {
    printf "per-log cost (serial, all cores): %.3f s per frame, %.2f s per log of %.0f frames\n", s / f, s / n, f / n }'
