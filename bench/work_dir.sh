# work_dir.sh: sourced by the bench scripts. `work_dir PREFIX` sets WORK to the caller's $WORK
# (created, kept) or to a new temporary directory PREFIX.XXXXXX removed when the script exits.
work_dir() {
    if [ -n "${WORK:-}" ]; then
        mkdir -p "$WORK"
    else
        WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
        trap 'rm -rf "$WORK"' EXIT INT TERM
    fi
}
