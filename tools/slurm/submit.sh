#!/bin/bash
# Submits a fleet's logs to Slurm: a job array (one task per GROUP logs, longest logs first)
# and a stitch job that runs when every task succeeded. Rerunning it after failures rebuilds
# only what is missing or stale (docs/scale-out.md "Resume").
#   tools/slurm/submit.sh [--group G] [--cpus C] [--stitch-args "..."] LOGLIST OUTDIR [-- SBATCH_OPTIONS...]
# LOGLIST: one log directory per line. AVTRUTH: the avtruth binary (default: on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
group=1 cpus=2 stitch_args=""
while [ $# -gt 0 ]; do
    case $1 in
    --group) group=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --stitch-args) stitch_args=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) break ;;
    esac
done
list=${1:?LOGLIST}
out=${2:?OUTDIR}
shift 2
[ "${1:-}" = "--" ] && shift
avtruth=${AVTRUTH:-avtruth}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# longest first (capture bytes), so that no long log starts last
# absolute paths: the tasks run in OUTDIR
lines=$(grep -v '^[[:space:]]*$' "$list" | while read -r l; do readlink -f "$l"; done)
mapfile -t logs <<< "$lines"
[ -n "$lines" ] || logs=()
[ "${#logs[@]}" -gt 0 ] || { echo "submit.sh: $list lists no logs" >&2; exit 2; }
"$avtruth" batch --print-order "${logs[@]}" > "$out/logs.txt"
n=${#logs[@]}
tasks=$(((n + group - 1) / group))
export AVTRUTH="$avtruth"
array=$(sbatch --parsable --array=0-$((tasks - 1)) --cpus-per-task="$cpus" --chdir="$out" "$@" \
        "$here/avtruth-array.sbatch" "$out/logs.txt" "$out" "$group")
array=${array%%;*}
# shellcheck disable=SC2086  # stitch_args is a list of options
stitch=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --chdir="$out" "$@" \
         "$here/avtruth-stitch.sbatch" "$out" $stitch_args)
echo "array job $array: $tasks tasks over $n logs ($group per task, $cpus CPUs each); stitch job ${stitch%%;*} after it"
