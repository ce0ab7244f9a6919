#!/usr/bin/env bash
# bench-federation.sh - the federation's cost per round outside training:
# N nodes on loopback (scripts/federation.sh) with the paper's model (dcgan:128,
# 1,204,994 parameters, a 4.8 MB update) and local-iters 0, so that members
# send the global model straight back and a round is nothing but protocol:
# noise, seal + sign, chunked send, open + verify, FedAvg, block, append
# (fsync), distribution, verification by every node (each node's model save,
# with fsync, runs on its writer thread).
# Each N runs with no noise (the protocol alone, the costs the issue lists)
# and with the paper's Laplace noise (1.2 M draws per member and for the
# aggregate).  Reports, per N: the median time between consecutive blocks (rounds 2..R,
# from the blocks' own timestamps) with min/max, the aggregator's close time,
# and the bytes each node sent per round.  All nodes share this machine's
# cores, so for large N the figure includes CPU contention.
#   usage: scripts/bench-federation.sh [N...]   (default: 3 8 16)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_FED_ROUNDS:-20}
WIDTH=${BENCH_FED_WIDTH:-128}
sizes=("$@")
(( ${#sizes[@]} )) || sizes=(3 8 16)
export OPENBLAS_NUM_THREADS=1 FEDSYN_LOG_EVERY=0
base=$(mktemp -d /tmp/fedsyn-bench-fed-XXXXXX)
# BENCH_FED_KEEP=1 keeps the nodes' logs and ledgers (to look into an outlier)
if [[ ${BENCH_FED_KEEP:-0} == 1 ]]; then
    echo "bench-federation: keeping $base"
else
    trap 'rm -rf "$base"' EXIT
fi
data=${BENCH_FED_DATA:-data/mnist}
echo "federation: dcgan:$WIDTH, local-iters 0, $ROUNDS rounds, $(nproc) cores, data $data"
NOISES=${BENCH_FED_NOISE:-none paper}
for n in "${sizes[@]}"; do
  for noise in $NOISES; do
    d=$base/n$n-$noise
    # keep-models 0: only the head's model is kept (no audit archive); each
    # block's model is still written durably before the block (issue 19)
    scripts/federation.sh init "$d" --nodes "$n" --data "$data" --limit 256 --width "$WIDTH" \
        --rounds "$ROUNDS" --local-iters 0 --timeout-ms 120000 --noise "$noise" --scale 1e-5 \
        --port $((7600 + 20 * n)) --keep-models 0 > /dev/null 2>&1
    scripts/federation.sh start "$d"
    scripts/federation.sh wait "$d" 900 > /dev/null || { echo "n=$n: the federation failed"; continue; }
    scripts/federation.sh check "$d" > /dev/null || { echo "n=$n: ledgers differ"; continue; }
    build/fedsyn ledger export --json "$d/state/alice/ledger.fsl" > "$d/ledger.json"
    /usr/bin/python3 - "$d" "$n" "$ROUNDS" "$noise" <<'PY'
import glob, json, re, statistics, sys
d, n, rounds, noise = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
b = json.load(open(f"{d}/ledger.json"))["blocks"][1:]
t = [x["block"]["time_ms"] for x in b]
gaps = [(t[i] - t[i - 1]) for i in range(1, len(t))]  # rounds 2..R
close = []
sent = []
for log in glob.glob(f"{d}/logs/*.log"):
    text = open(log).read()
    close += [int(m) for m in re.findall(r"closed: .* in (\d+) ms", text)]
    m = re.findall(r"traffic: (\d+) bytes sent", text)
    if m:
        sent.append(int(m[-1]) / rounds)
print(f"n={n:2d} noise {noise:5s}: round {statistics.median(gaps):7.0f} ms median (min {min(gaps)}, max {max(gaps)}, "
      f"{len(gaps)} rounds); aggregator close {statistics.median(close):.0f} ms median; "
      f"sent per node per round {statistics.median(sent) / 1e6:.1f} MB median "
      f"(max {max(sent) / 1e6:.1f} MB)")
PY
  done
done
