#!/usr/bin/env bash
# t0003-fuzz-smoke.sh - a short libFuzzer run (10 s) of each decoder
# harness built by `make fuzz-build`; `make fuzz` runs them longer.
# Emits TAP; skips when clang-14 was not available to build them.
set -u
dir=${FEDSYN_FUZZERS:-build/fuzz/fuzzers}
secs=${FEDSYN_FUZZ_SMOKE_SECONDS:-10}
shopt -s nullglob
fuzzers=("$dir"/fuzz_*)
if [[ ${#fuzzers[@]} -eq 0 ]]; then
    echo "1..0 # SKIP no fuzzers in $dir (clang-14 missing: make deps)"
    exit 0
fi
dir=$(cd "$dir" && pwd)
fuzzers=("$dir"/fuzz_*)
tmp=$(mktemp -d /tmp/fedsyn-t0003-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..${#fuzzers[@]}"
n=0
for f in "${fuzzers[@]}"; do
    n=$((n + 1))
    name=$(basename "$f")
    mkdir -p "$tmp/$name"
    if (cd "$tmp" && "$f" -max_total_time="$secs" -rss_limit_mb=2048 "$tmp/$name" >"$tmp/log" 2>&1); then
        echo "ok $n - $name: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$tmp/log" | tail -1 || true)$(tail -1 "$tmp/log" | sed 's/^/ /')"
    else
        echo "not ok $n - $name found a crash"
        tail -20 "$tmp/log" | sed 's/^/# /'
    fi
done
