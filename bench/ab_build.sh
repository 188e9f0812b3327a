#!/bin/sh
# ab_build.sh: interleaved A/B timings of two avtruth binaries building the same log.
#
# usage: bench/ab_build.sh AVTRUTH_A AVTRUTH_B LOG [ROUNDS]   (default 3 rounds)
# Each round builds LOG with A, then with B (so a change of the machine's load hits both),
# printing wall and CPU seconds and peak RSS, and the load average after the round. Outputs
# go to a temporary directory; compare them with bench/h5_identical.py if wanted (KEEP=1
# keeps them and prints where). COLD=1 drops LOG's files from the page cache before every
# build (posix_fadvise DONTNEED on each file, as a batch job meets a log read from disk;
# docs/benchmarks.md, "a log read cold").
set -eu
A=$1
B=$2
LOG=$3
ROUNDS=${4:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/avt_ab.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$W"' EXIT INT TERM
for r in $(seq "$ROUNDS"); do
    for x in A B; do
        exe=$A
        [ $x = B ] && exe=$B
        rm -f "$W/$x.h5"
        [ -z "${COLD:-}" ] || "${PYTHON:-python3}" -c '
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        fd = os.open(os.path.join(root, f), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)' "$LOG"
        /usr/bin/time -o "$W/time" -f "$x round $r: wall %e s, CPU %U+%S s, RSS %M KB" \
            "$exe" build "$LOG" -o "$W/$x.h5" >"$W/$x.out" 2>&1 || { echo "$x failed:"; tail -3 "$W/$x.out"; }
        cat "$W/time"
    done
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
done
[ -z "${KEEP:-}" ] || echo "outputs in $W"
