#!/bin/sh
# identity.sh: does a new avtruth binary write the same files as a reference binary?
#
# usage: bench/identity.sh REF_AVTRUTH NEW_AVTRUTH [WORKDIR]
# Synthesizes (with REF) the demo log (`synth` defaults), a few seconds of every synthetic
# LiDAR model, imports the KITTI object frames of ../shared/data (point-cloud logs), and builds each with both binaries under every sync policy listed below, then
# compares the outputs dataset by dataset with bench/h5_identical.py (provenance times and
# the git revision excepted). Reference outputs already in WORKDIR are reused. Prints one line per case; exits 1 if any output differs.
set -u
REF=$1
NEW=$2
WORK=${3:-$(mktemp -d "${TMPDIR:-/tmp}/avt_identity.XXXXXX")}
PY=${PYTHON:-/usr/bin/python3} # the Debian python with h5py
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$WORK"
SECS=${SECS:-2}
MODELS=${MODELS:-"vlp16 vlp16hires hdl32e vlp32c vls128 hdl64e hdl64e_s2 os1-64 os0-128"}
# one build variant a line: a label, then the build options
VARIANTS=${VARIANTS:-"
trigger      --sync trigger
nearest      --sync nearest
approximate  --sync approximate
"}
fail=0
run_case() { # log label options...
    log=$1 label=$2
    shift 2
    for bin in ref new; do
        exe=$REF
        [ $bin = new ] && exe=$NEW
        # reference outputs are kept between runs of the same WORKDIR
        [ $bin = ref ] && [ -s "$WORK/$label.ref.h5" ] && continue
        rm -f "$WORK/$label.$bin.h5"
        "$exe" build "$WORK/$log" -o "$WORK/$label.$bin.h5" "$@" >"$WORK/$label.$bin.out" 2>&1 || {
            echo "$label: $bin build failed:"; tail -3 "$WORK/$label.$bin.out"; fail=1; return; }
    done
    if "$PY" "$HERE/h5_identical.py" "$WORK/$label.ref.h5" "$WORK/$label.new.h5" >"$WORK/$label.cmp" 2>&1; then
        echo "$label: $(tail -1 "$WORK/$label.cmp")"
    else
        echo "$label: $(tail -1 "$WORK/$label.cmp")"; head -5 "$WORK/$label.cmp"; fail=1
    fi
    # the terminal summary too, but for the time line
    grep -v '^time ' "$WORK/$label.ref.out" | sed "s/$label.ref/X/" >"$WORK/$label.ref.sum"
    grep -v '^time ' "$WORK/$label.new.out" | sed "s/$label.new/X/" >"$WORK/$label.new.sum"
    cmp -s "$WORK/$label.ref.sum" "$WORK/$label.new.sum" || { echo "$label: terminal summary differs"; diff "$WORK/$label.ref.sum" "$WORK/$label.new.sum" | head -5; fail=1; }
}
[ -d "$WORK/demo" ] || "$REF" synth "$WORK/demo" >/dev/null 2>&1
echo "$VARIANTS" | while read -r label opts; do
    [ -n "$label" ] || continue
    # shellcheck disable=SC2086
    run_case demo "demo-$label" $opts
    [ $fail = 0 ] || echo FAIL >"$WORK/failed"
done
for m in $MODELS; do
    [ -d "$WORK/$m" ] || "$REF" synth "$WORK/$m" --lidar "$m" --seconds "$SECS" >/dev/null 2>&1
    run_case "$m" "$m-trigger"
    [ $fail = 0 ] || echo FAIL >"$WORK/failed"
done
# box visibility, clock correction and depth options on the demo log
run_case demo demo-boxall --box-visibility all
run_case demo demo-boxnone --box-visibility none --clock-correct on
run_case demo demo-clockoff --clock-correct off --sync nearest
# point-cloud logs (lidar/<t_ns>.bin): the KITTI object frames of ../shared/data, imported
KITTI=${KITTI:-$HERE/../../shared/data/kitti/object}
if [ -d "$KITTI" ]; then
    [ -d "$WORK/kitti" ] || "$REF" import kitti "$KITTI" "$WORK/kitti" >/dev/null 2>&1
    for cal in "$WORK"/kitti/*/calib.yaml; do
        [ -e "$cal" ] || continue
        k=$(basename "$(dirname "$cal")")
        run_case "kitti/$k" "kitti-$k"
    done
else
    echo "kitti: skipped ($KITTI absent)"
fi
[ $fail = 0 ] || echo FAIL >"$WORK/failed"
if [ -e "$WORK/failed" ]; then rm -f "$WORK/failed"; echo "identity: DIFFERENCES (outputs in $WORK)"; exit 1; fi
echo "identity: every output identical (outputs in $WORK)"
