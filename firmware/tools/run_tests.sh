#!/usr/bin/env bash
# bnn-edge: runs test programs (in parallel), checks each exits 0 and ends with the line
# "N passed, M failed" with M = 0, prints one line per program and a total.
# usage: run_tests.sh <label> "<runner command prefix, may be empty>" program...
# env: JOBS (parallel programs, default 2), TIMEOUT (seconds per program, default 300)
set -u
label=$1
runner=$2
shift 2
JOBS=${JOBS:-2}
TIMEOUT=${TIMEOUT:-300}
[ $# -gt 0 ] || { echo "[$label] no test programs"; exit 0; }
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
export logdir runner TIMEOUT

run_one() {
    local bin=$1 name
    name=$(basename "$bin")
    local t0 t1
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    timeout "$TIMEOUT" $runner "$bin" >"$logdir/$name.log" 2>&1 </dev/null
    local rc=$?
    t1=$(date +%s%N)
    echo "$rc $(( (t1 - t0) / 1000000 ))" >"$logdir/$name.rc"
}
export -f run_one

t_start=$(date +%s%N)
printf '%s\n' "$@" | xargs -P "$JOBS" -I{} bash -c 'run_one "$1"' _ {}
t_end=$(date +%s%N)

total_pass=0
total_fail=0
bad=0
for bin in "$@"; do
    name=$(basename "$bin")
    read -r rc ms <"$logdir/$name.rc"
    last=$(tail -n 1 "$logdir/$name.log" | tr -d '\r')
    if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]}
        f=${BASH_REMATCH[2]}
    else
        p=0
        f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
        bad=$((bad + 1))
        printf '[%s] FAIL %-28s rc=%s %6d ms  %s\n' "$label" "$name" "$rc" "$ms" "$last"
        [ "$rc" -eq 124 ] && echo "    (timed out after ${TIMEOUT}s)"
        tail -n 40 "$logdir/$name.log" | sed 's/^/    | /'
    else
        printf '[%s] ok   %-28s %6d ms  %s\n' "$label" "$name" "$ms" "$last"
    fi
done
secs=$(( (t_end - t_start) / 1000000 ))
printf '[%s] total: %d passed, %d failed; %d of %d programs failed; %d ms wall\n' \
    "$label" "$total_pass" "$total_fail" "$bad" "$#" "$secs"
[ "$bad" -eq 0 ]
