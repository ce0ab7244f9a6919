#!/usr/bin/env bash
# bench.sh - `make bench`: seconds per FedSyn GAN iteration (batch 256, the
# paper's width) in fedsyn and in PyTorch (Debian's python3-torch) on this
# machine with the same thread count; medians, spread, the ratio, fedsyn's
# GFLOP/s against this machine's sgemm rate, and peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
ITERS=${ITERS:-10}
export OPENBLAS_NUM_THREADS=$THREADS
# GFLOP per iteration at batch 256, counted from the layer shapes:
# G forward on 128 + G forward/backward on 256 (~3x forward), D likewise.
GFLOP=${GFLOP:-130}

REPS_LEDGER=${REPS_LEDGER:-5}
echo "bench: $(nproc) cores, $THREADS threads, $ITERS iterations each"
peak=$("$BUILD/bench/bench_sgemm")
echo "sgemm:   $peak"
echo "crypto:  $("$BUILD/bench/bench_crypto")   (per 4.8 MB model: the federation's floor)"
/usr/bin/time -f "%M" -o /tmp/fedsyn-bench-rss "$BUILD/bench/bench_gan_step" "$ITERS" 128 > /tmp/fedsyn-bench-c.json
rss_kb=$(cat /tmp/fedsyn-bench-rss)
echo "fedsyn:  $(cat /tmp/fedsyn-bench-c.json)"
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    /usr/bin/python3 tests/bench/torch_gan.py "$ITERS" "$THREADS" > /tmp/fedsyn-bench-t.json
    echo "pytorch: $(cat /tmp/fedsyn-bench-t.json)"
    # the two compute the same network: one D and one G step compared
    equiv=$(mktemp -d)
    "$BUILD/bench/bench_torch_equiv" "$equiv"
    /usr/bin/python3 tests/bench/torch_equiv.py "$equiv" | tail -1
    rm -rf "$equiv"
else
    echo '{"seconds": []}' > /tmp/fedsyn-bench-t.json
    echo "pytorch: not installed (FEDSYN_WITH_TORCH=1 make deps installs python3-torch)"
fi
/usr/bin/python3 - "$peak" "$rss_kb" "$GFLOP" <<'PY'
import json, statistics, sys
peak = json.loads(sys.argv[1])["gflops"]; rss = int(sys.argv[2]); gflop = float(sys.argv[3])
c = json.load(open("/tmp/fedsyn-bench-c.json"))["seconds"]
t = json.load(open("/tmp/fedsyn-bench-t.json"))["seconds"]
def summary(x):
    return f"median {statistics.median(x):.3f} s (min {min(x):.3f}, max {max(x):.3f}, n={len(x)})"
mc = statistics.median(c)
print(f"fedsyn  s/iter: {summary(c)}")
if t:
    mt = statistics.median(t)
    print(f"pytorch s/iter: {summary(t)}")
    print(f"ratio fedsyn/pytorch: {mc / mt:.2f}  (below 1.0 = fedsyn faster)")
print(f"fedsyn throughput: {gflop / mc:.1f} GFLOP/s = {100 * gflop / mc / peak:.0f}% of sgemm {peak:.1f} GFLOP/s")
print(f"fedsyn peak memory (max RSS) training at batch 256: {rss / 1024:.0f} MB")
PY

# Two settings of bench_gan_step on one thread, as each of the demo's nodes
# runs, in three alternations of ITERS each (the machine is shared: what is
# compared runs interleaved); prints both medians and the ratio of the
# first to the second.  alternate TITLE_A ARGS_A TITLE_B ARGS_B RATIO_NAME
alternate() {
    local rep
    for rep in 1 2 3; do
        # shellcheck disable=SC2086 # ARGS are several words
        OPENBLAS_NUM_THREADS=1 "$BUILD/bench/bench_gan_step" "$ITERS" $2 > "/tmp/fedsyn-bench-a$rep.json"
        # shellcheck disable=SC2086
        OPENBLAS_NUM_THREADS=1 "$BUILD/bench/bench_gan_step" "$ITERS" $4 > "/tmp/fedsyn-bench-b$rep.json"
    done
    /usr/bin/python3 - "$1" "$3" "$5" <<'PY'
import json, statistics, sys
def load(prefix):
    return [x for r in (1, 2, 3) for x in json.load(open(f"/tmp/fedsyn-bench-{prefix}{r}.json"))["seconds"]]
a, b = load("a"), load("b")
def summary(x):
    return f"median {statistics.median(x):.3f} s (min {min(x):.3f}, max {max(x):.3f}, n={len(x)})"
print(f"{sys.argv[1]}: {summary(a)}")
print(f"  {sys.argv[2]}: {summary(b)}")
print(f"  ratio {sys.argv[3]}: {statistics.median(a) / statistics.median(b):.2f}")
PY
}

# The demo's step: cgan:32 (fedsyn's recipe) at the demo's batch 32, beside
# its session-13 form (transposed convolutions, a fresh batch for G's step,
# batch 64; no PyTorch twin of this recipe).
alternate "demo step (cgan:32, batch 32, 1 thread) s/iter" "32 cgan:32 32" \
    "session 13's (transposed G, fresh batch for G, batch 64)" "32 cgan:32 64 session13" \
    "today/session 13"
# DP-SGD's step (issue 21): cgan:32 at batch 64, D trained with DP-SGD (each
# real image's own pass of D, clipped, the noise) beside the plain step.
alternate "cgan:32 step, batch 64, 1 thread, plain s/iter" "32 cgan:32 64" \
    "the same with DP-SGD on D (32 real images a step, one pass each)" "32 cgan:32 64 dpsgd" \
    "DP-SGD/plain"

# The ledger and the envelope (issue 3): verify 10,000 blocks of 16 members
# (limit 1 s) and seal + open one 4.8 MB update (limit 40 ms), against the
# libsodium primitives alone on the same bytes.
echo
echo "ledger and envelope ($REPS_LEDGER runs each; medians, min-max):"
"$BUILD/bench/bench_ledger" 10000 16 "$REPS_LEDGER"

# The federation (issue 4): the time per round outside training and the
# bytes each node sends, for the paper's 4.8 MB model with 3, 8 and 16
# local nodes (scripts/bench-federation.sh; needs the MNIST files).
echo
if [[ -f data/mnist/train-images-idx3-ubyte || -f data/mnist/train-images-idx3-ubyte.gz ]]; then
    FEDSYN="$PWD/$BUILD/fedsyn" scripts/bench-federation.sh ${BENCH_FED_SIZES:-3 8 16}
else
    echo "federation: skipped (run 'make data' first)"
fi
