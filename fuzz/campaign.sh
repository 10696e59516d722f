#!/bin/sh
# The long fuzz campaign (outside CI): every target in turn, one process each
# (-jobs=1), niced, for a fixed number of executions; prints libFuzzer's final
# figures per target. Usage: fuzz/campaign.sh [scale]   (scale 1 = 14.5 M executions)
# Needs: rustup nightly, `cargo install cargo-fuzz --locked`. See docs/reliability.md.
set -eu
cd "$(dirname "$0")/.."
scale=${1:-1}
python3 fuzz/seed-corpus.py >/dev/null
for spec in event:4000000 config:3000000 json_api:2000000 answers:1500000 json_in:4000000; do
    target=${spec%%:*}
    runs=$(( ${spec#*:} * scale ))
    start=$(date +%s)
    nice -n 10 cargo +nightly fuzz run --sanitizer none --debug-assertions "$target" -- \
        -runs="$runs" -timeout=10 -print_final_stats=1 >"fuzz/$target.log" 2>&1 || {
        echo "$target: FAILED (see fuzz/$target.log and fuzz/artifacts/$target/)"; exit 1; }
    secs=$(( $(date +%s) - start ))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz/$target.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "fuzz/$target.log")
    cov=$(grep -o 'cov: [0-9]*' "fuzz/$target.log" | tail -1)
    echo "$target: $execs executions in ${secs}s, $rate exec/s, $cov, 0 crashes"
done
