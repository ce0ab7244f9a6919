#!/usr/bin/env bash
# t0006-experiment-tables.sh - summarize_genfl.py, which turns GenFL run
# folders into the table of docs/results-genfl.md: it pools seeds from
# several folders into mean ± sd, and refuses what cannot share a table
# (other settings, a row given twice, rows scored by different evaluators),
# and lays the downstream accuracies out like the poster's Table 1 with the
# paired effect of pre-training.
# Runs on fabricated eval.json files: no training, no data.  Emits TAP.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
sum="python3 $root/scripts/experiments/summarize_genfl.py"
tmp=$(mktemp -d /tmp/fedsyn-t0006-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
echo "1..9"

# run DIR SEED ALPHA CAS FLOOR [CLIENTS [EVALUATOR_HASH]]: one folder
# holding one scored row (without a hash: an eval.json from before it was
# recorded)
run() {
    local d=$tmp/$1 clients=${6:-10} hash=""
    [[ -n ${7:-} ]] && hash="\"evaluator_model_hash\": \"$7\", "
    mkdir -p "$d/mnist-seed$2-alpha$3"
    cat > "$d/settings.json" <<EOF
{"experiment": "genfl", "mode": "quick", "clients": $clients, "rounds": 20, "local_iters": 30,
 "batch": 64, "model": "cvae:400", "eval_samples": 10000, "cas_epochs": 3}
EOF
    cat > "$d/mnist-seed$2-alpha$3/eval.json" <<EOF
{$hash"fid_test": 100.0, "fid_floor_train_vs_test": $5,
 "coverage": {"classes_present": 10}, "cas": {"accuracy": $4}}
EOF
}
# acc DIR SEED ALPHA WITHOUT WITH: the row's downstream accuracies
acc() {
    mkdir -p "$tmp/$1/mnist-seed$2-alpha$3/downstream"
    echo "{\"without\": $4, \"with\": $5, \"pretrained_only\": 0.5}" \
        > "$tmp/$1/mnist-seed$2-alpha$3/downstream/acc.json"
}

run a 1 iid 0.50 0.6214
run b 2 iid 0.60 0.6214
acc a 1 iid 0.90 0.92
acc b 2 iid 0.80 0.79
if $sum "$tmp/a" "$tmp/b" --out "$tmp/pool" > /dev/null 2> "$tmp/err" &&
    grep -q "| IID | 55.00 ± 7.07 |" "$tmp/pool/table.md"; then
    ok "two seeds from two folders pool into mean ± sd (55.00 ± 7.07)"
else
    not_ok "pooling: $(cat "$tmp/err")"
fi
if grep -q '"runs"' "$tmp/pool/results.json"; then ok "results.json names the pooled runs"; else not_ok "results.json"; fi
# poster layout: without 85.00 ± 7.07 beside the poster's IID 87.08; the
# paired effect: seed 1 +2.00, seed 2 -1.00, mean +0.50 ± 2.12, helps in 1 of 2
if grep -q "| IID | \*\*85.00 ± 7.07\*\* (poster 87.08 ± 1.03) | \*\*85.50 ± 9.19\*\* (poster 93.92 ± 0.28)" "$tmp/pool/table-poster.md" &&
    grep -q "| IID | +2.00 / -1.00 | +0.50 ± 2.12 | 1 of 2 |" "$tmp/pool/table-poster.md"; then
    ok "table-poster.md: the poster's layout beside its figures, and the paired effect seed by seed"
else
    not_ok "table-poster.md: $(cat "$tmp/pool/table-poster.md" 2>&1)"
fi

refused() { # NAME WANT ARGS...: exits non-zero and says WANT
    local name=$1 want=$2
    shift 2
    if ! $sum "$@" > /dev/null 2> "$tmp/err" && grep -q "$want" "$tmp/err"; then ok "$name"; else not_ok "$name: $(cat "$tmp/err")"; fi
}
refused "several runs need --out" "needs --out" "$tmp/a" "$tmp/b"
run c 1 iid 0.55 0.6214
refused "a row given twice is refused" "appears in both" "$tmp/a" "$tmp/c" --out "$tmp/x"
run d 3 iid 0.55 0.6565
refused "rows scored by different evaluators are refused" "different evaluators" "$tmp/a" "$tmp/d" --out "$tmp/x"
run e 4 iid 0.55 0.6214 4
refused "runs of different settings are refused, naming the setting" "clients=4" "$tmp/a" "$tmp/e" --out "$tmp/x"
h1=$(printf '1%.0s' {1..64}) h2=$(printf '2%.0s' {1..64})
run f 5 iid 0.55 0.6214 10 "$h1"
run g 6 iid 0.55 0.6214 10 "$h2"
refused "rows of the same floor but different evaluator hashes are refused" "evaluator_model_hash" "$tmp/f" "$tmp/g" --out "$tmp/x"
if $sum "$tmp/a" "$tmp/f" --out "$tmp/pool2" > /dev/null 2> "$tmp/err"; then
    ok "a row with a hash pools with an older row of the same floor"
else
    not_ok "old and new rows: $(cat "$tmp/err")"
fi
