#!/bin/sh
# decode_models.sh: LiDAR decode throughput per model on long synthetic captures.
#
# usage: bench/decode_models.sh [BUILD_DIR [SECONDS [THREADS]]]   (defaults: build 60 nproc)
# For every case below that `avtruth synth` accepts (others are reported and skipped), writes
# a SECONDS-long capture without cameras and runs bench_decode on it with 1 and THREADS
# threads next to the bare libpcap floor. For LONG_MODEL it then writes a capture 10x longer
# and runs bench_decode on it in a separate process: peak RSS must stay flat. The model and
# calibration (HDL-64E) or metadata (Ouster) come from the log.yaml the generator writes.
# Build first: cmake --build BUILD_DIR --target avtruth bench_decode
set -eu

BUILD=${1:-build}
SECS=${2:-60}
THREADS=${3:-$(nproc)}
LONG_MODEL=${LONG_MODEL:-vlp16}
# One case a line: a label, then the synth options. Add a line for a new model or mode.
CASES=${CASES:-"
vlp16       --lidar vlp16
vlp16hires  --lidar vlp16hires
hdl32e      --lidar hdl32e
vlp32c      --lidar vlp32c
vls128      --lidar vls128
hdl64e      --lidar hdl64e
hdl64e_s2   --lidar hdl64e_s2
vlp16-dual  --lidar vlp16 --lidar-return dual
hdl32e-dual --lidar hdl32e --lidar-return dual
os1-64      --lidar os1-64
os0-128     --lidar os0-128
os1-64-dual --lidar os1-64 --lidar-profile rng19-dual
"}

AVTRUTH=$BUILD/avtruth
BENCH=$BUILD/bench/bench_decode
for f in "$AVTRUTH" "$BENCH"; do
    [ -x "$f" ] || { echo "decode_models.sh: $f missing (cmake --build $BUILD --target avtruth bench_decode)" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/avt_decode_models.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

echo "machine: $(uname -srm), $(nproc) CPUs online, load average $(cut -d' ' -f1-3 /proc/loadavg)"
lscpu 2>/dev/null | grep -E '^(Model name|Thread|Core|Socket|L2|L3)' || true

# lidar_key LOG KEY: a value of the `lidar:` block of LOG/log.yaml, or nothing
lidar_key() {
    [ -f "$1/log.yaml" ] || return 0
    sed -n '/^lidar:/,/^[^ ]/s/^  '"$2"': *//p' "$1/log.yaml" | head -n 1
}

# run LABEL SECONDS SYNTH-OPTIONS...: synthesize, then bench_decode in its own process
run() {
    label=$1 secs=$2
    shift 2
    log=$WORK/$label-$secs
    if ! "$AVTRUTH" synth "$log" --seconds "$secs" --cameras 0 "$@" >"$WORK/synth.out" 2>&1; then
        echo "== $label: skipped, this avtruth does not write it: $(tail -n 1 "$WORK/synth.out")"
        return 0
    fi
    set -- "$log"/lidar/*.pcap
    pcap=$1
    meta=$(lidar_key "$log" metadata)
    model=$(lidar_key "$log" model)
    calib=$(lidar_key "$log" calibration)
    metaarg=-
    [ -z "$meta" ] || metaarg=$log/$meta
    set -- "$pcap" "$metaarg" 3 --threads "$THREADS"
    [ -z "$model" ] || set -- "$@" --model "$model"
    [ -z "$calib" ] || set -- "$@" --calibration "$log/$calib"
    echo "== $label, $secs s: bench_decode $*"
    "$BENCH" "$@" | grep -v '^machine'
    rm -rf "$log"
}

echo "$CASES" | while read -r label opts; do
    [ -n "$label" ] || continue
    # shellcheck disable=SC2086 # opts are words
    run "$label" "$SECS" $opts
done
echo "== memory as the capture grows: $LONG_MODEL, $SECS s and $((SECS * 10)) s (peak RSS should match)"
run "$LONG_MODEL" "$SECS" --lidar "$LONG_MODEL"
run "$LONG_MODEL" "$((SECS * 10))" --lidar "$LONG_MODEL"
