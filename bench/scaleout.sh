#!/bin/bash
# scaleout.sh: fleet throughput of avtruth-mpi (logs/hour) on 1, 2 and 4 ranks against the
# serial `avtruth batch --threads 1` measured in the same run (one log at a time, one thread:
# what one rank does, mpirun binding it to one core), parallel efficiency, the default
# `avtruth batch` (all cores to one log) for comparison, and the per-log CPU cost from which
# docs/scale-out.md projects a 10,000-log fleet.
#
# usage: bench/scaleout.sh [BUILD_DIR [LOGS [WORK_DIR [ROUNDS]]]]
#        (defaults: build 12 /tmp/avt-scaleout 2)
# Writes LOGS synthetic logs 0.5 s to 3 s long (default synth settings: 2 cameras), then
# builds all of them from scratch per configuration (outputs deleted in between; no stitch),
# the configurations interleaved, ROUNDS times; the fastest round of each is reported (on a
# shared machine the others measure the neighbours). Build first:
# cmake --build BUILD_DIR --target avtruth avtruth-mpi
set -euo pipefail
BUILD=${1:-build}
N=${2:-12}
WORK=${3:-/tmp/avt-scaleout}
ROUNDS=${4:-2}
AVT="$BUILD/avtruth"
MPI="$BUILD/avtruth-mpi"
mkdir -p "$WORK/logs"
logs=()
for i in $(seq 0 $((N - 1))); do
    sec=$(awk -v i="$i" -v n="$N" 'BEGIN { printf "%.2f", 0.5 + 2.5 * i / (n > 1 ? n - 1 : 1) }')
    # the logs of an earlier run are reused (synth is deterministic: same seed, same log)
    [ -f "$WORK/logs/log$i/calib.yaml" ] ||
        "$AVT" synth "$WORK/logs/log$i" --seconds "$sec" --seed $((100 + i)) > /dev/null
    logs+=("$WORK/logs/log$i")
done
frames=0
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "fleet: $N logs, 0.5 s .. 3 s (synth defaults), longest first"
run() { # label, command...: "wall_s cpu_s" (cpu: user + sys of the command and its children)
    local label=$1
    shift
    rm -rf "$WORK/out"
    /usr/bin/time -o "$WORK/$label.time" -f "%e %U %S" "$@" > "$WORK/$label.log" 2>&1
    awk '{ printf "%.2f %.2f", $1, $2 + $3 }' "$WORK/$label.time"
}
best() { # current best, new "wall cpu": the one with the smaller wall time
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        print (a == "" || y[1] < x[1]) ? b : a }'
}
declare -A t
configs=(base all mpi1 mpi2 mpi4)
for _ in $(seq "$ROUNDS"); do
    t[base]=$(best "${t[base]:-}" "$(run base "$AVT" batch "${logs[@]}" -o "$WORK/out" --threads 1)")
    t[all]=$(best "${t[all]:-}" "$(run all "$AVT" batch "${logs[@]}" -o "$WORK/out")")
    for r in 1 2 4; do
        t[mpi$r]=$(best "${t[mpi$r]:-}" "$(run "mpi$r" mpirun --allow-run-as-root --oversubscribe -np "$r" \
                                           "$MPI" "${logs[@]}" -o "$WORK/out" --no-stitch)")
    done
done
for f in "$WORK"/out/*.h5; do
    frames=$((frames + $(h5dump -a /num_frames "$f" | awk '/\(0\)/ { print $2 }')))
done
# speedup and efficiency (speedup / ranks) from wall time; CPU ratio: baseline CPU s / CPU s
# (what the scheduling, MPI and heartbeats cost on top of the builds)
printf "%-30s %7s %7s %10s %8s %10s %9s\n" configuration "wall s" "CPU s" logs/hour speedup efficiency "CPU ratio"
labels=("batch --threads 1 (baseline)" "batch (all cores, one log)" "avtruth-mpi -np 1" "avtruth-mpi -np 2" "avtruth-mpi -np 4")
ranks=(1 1 1 2 4)
for i in "${!configs[@]}"; do
    awk -v l="${labels[$i]}" -v m="${t[${configs[$i]}]}" -v b="${t[base]}" -v r="${ranks[$i]}" -v n="$N" 'BEGIN {
        split(m, x, " "); split(b, y, " ")
        printf "%-30s %7.2f %7.2f %10.0f %8.2f %9.0f%% %9.2f\n", l, x[1], x[2], 3600 * n / x[1],
               y[1] / x[1], 100 * y[1] / x[1] / r, y[2] / x[2] }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v b="${t[base]}" -v f="$frames" -v n="$N" 'BEGIN {
    split(b, y, " ")
    printf "per-log cost (batch --threads 1): %.2f CPU s for %d frames: %.4f CPU s per frame, %.3f per log of %.0f frames\n", y[2], f, y[2] / f, y[2] / n, f / n }'
