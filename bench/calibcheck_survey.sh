#!/bin/sh
# calibcheck_survey.sh: verdicts of `avtruth calib-check` over synthetic logs of several LiDAR
# models, correct calibrations and planted errors (docs/calibration-check.md, Limitations).
#
# usage: bench/calibcheck_survey.sh [BUILD_DIR [MODELS [SEEDS [PLANT]]]]
#   defaults: build "vlp16 hdl64e vlp32c os1-64 hdl32e os0-128 vls128" "1 2 3 4 5" ""
#   PLANT: a --miscalibrate value (e.g. front:yaw=0.25) for the front camera; empty: none.
#   LOG_SECONDS (environment): the logs' length, default 1.
# Each log: `avtruth synth LOG --seed S --seconds LOG_SECONDS --cameras 2 --lidar MODEL --moving-objects 0
# --static-objects 20` (kept in $WORK, default a temporary directory), then `avtruth calib-check
# LOG --json R`. Prints one line per camera (status, estimate, gain, significance) and the
# counts per model. With PLANT, the front camera's line says whether the planted error was
# flagged.
set -eu
BUILD=${1:-build}
MODELS=${2:-"vlp16 hdl64e vlp32c os1-64 hdl32e os0-128 vls128"}
SEEDS=${3:-"1 2 3 4 5"}
PLANT=${4:-}
LEN=${LOG_SECONDS:-1}
AVTRUTH=$BUILD/avtruth
PY=${PYTHON:-/usr/bin/python3}
[ -x "$AVTRUTH" ] || { echo "calibcheck_survey.sh: $AVTRUTH missing" >&2; exit 2; }
. "$(dirname "$0")/work_dir.sh"
work_dir avt_cc_survey
tag=$(echo "$PLANT" | tr ':=,' '___')
for model in $MODELS; do
    for seed in $SEEDS; do
        log=$WORK/${model}_s${seed}${tag:+_$tag}$([ "$LEN" = 1 ] || echo "_${LEN}s")
        [ -d "$log" ] || "$AVTRUTH" synth "$log" --seed "$seed" --seconds "$LEN" --cameras 2 --lidar "$model" \
            --moving-objects 0 --static-objects 20 ${PLANT:+--miscalibrate "$PLANT"} --quiet >/dev/null
        rc=0
        "$AVTRUTH" calib-check "$log" --json "$WORK/report.json" --quiet >/dev/null 2>&1 || rc=$?
        [ "$rc" -le 2 ] || { echo "$model seed $seed: calib-check failed (exit $rc)" >&2; exit 1; }
        "$PY" - "$WORK/report.json" "$model" "$seed" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["cameras"]:
    e = c["error"]
    sig, need, ag = c.get("significance"), c.get("significance_needed"), c["displacement"].get("across_rings_gain")
    print("%-8s seed %s %-11s %-13s r%+.2f p%+.2f y%+.2f deg x%+.3f y%+.3f z%+.3f m  significance %s" % (
        sys.argv[2], sys.argv[3], c["camera"], c["status"], e["roll_deg"], e["pitch_deg"], e["yaw_deg"],
        e["x_m"], e["y_m"], e["z_m"], "-" if sig is None else "%.1f (needs %s, %.1f bands)" % (
            sig, "inf" if need is None else "%.1f" % need, c["bands"])) + (
        "" if ag is None else "  across-ring gain %+.2f%%" % (100 * ag)) + "  across-ring share %s" % (
        "-" if c["displacement"].get("across_rings_share") is None else "%.2f" % c["displacement"]["across_rings_share"]))
EOF
    done
done | tee "$WORK/survey.txt"
echo "counts (model: aligned / miscalibrated / undetermined):"
for model in $MODELS; do
    printf '%-8s %s / %s / %s\n' "$model" "$(grep -c "^$model .* aligned " "$WORK/survey.txt" || true)" \
        "$(grep -c "^$model .* miscalibrated " "$WORK/survey.txt" || true)" \
        "$(grep -c "^$model .* undetermined " "$WORK/survey.txt" || true)"
done
