#!/usr/bin/env bash
# demo.sh - what `make demo` runs after building and fetching MNIST.
#
# Three nodes on loopback with the FedSyn paper's label split ({0,1,2},
# {3,4,5,6}, {7,8,9}: about 0.3 / 0.4 / 0.3 of the data) train one
# conditional GAN with fedsyn's recipe (cgan:32: pixel norm and
# nearest-neighbour upsampling in the generator, a projection discriminator
# with an auxiliary classifier, G's step on D's fakes, the generator's
# moving average for sampling; docs/engine.md) for DEMO_ROUNDS (60) rounds
# of DEMO_ITERS (50) local iterations at batch DEMO_BATCH (32), the
# aggregator taking a server step of DEMO_SERVER_LR (2) on the averaged
# update (the genesis' server_lr; docs/results.md); each node prints one
# line per round.  No member holds more
# than four of the ten digits; the global generator draws all ten.
# Then: the three ledgers are verified and compared byte for byte, the
# global generator draws a grid (column c: label c), the audit table is
# printed, and the evaluator scores DEMO_EVAL_N (10,000) samples against the
# 10,000 test images, the project's definition of FID (docs/results.md; 2,000
# samples read 0.2-0.8 higher), with label agreement and classes drawn;
# alice scores the global model every sixth round as it trains
# (quality.jsonl, drawn as quality.png).  The scores use the project's
# evaluator, evaluators/mnist.fsm (kept in git: `fedsyn evaluator
# train`, 99.27%); without it the demo first trains a one-epoch evaluator
# for itself and says so (its FIDs do not compare with docs/results.md).
# Everything lands in runs/demo-TIMESTAMP/ (never overwritten).
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/demo-$(date +%Y%m%d-%H%M%S)
export OPENBLAS_NUM_THREADS=1   # three nodes share the cores
ROUNDS=${DEMO_ROUNDS:-60} ITERS=${DEMO_ITERS:-50} MODEL=${DEMO_MODEL:-cgan:32}
SERVER_LR=${DEMO_SERVER_LR:-2} BATCH=${DEMO_BATCH:-32}
evaluator=evaluators/mnist.fsm
if [ ! -f "$evaluator" ]; then
    evaluator=$out/evaluator-1epoch.fsm
    echo "demo: no evaluators/mnist.fsm; training a one-epoch evaluator for the scores"
    echo "      (the project's scores use 'build/fedsyn evaluator train': 8 epochs, 99.27%)"
    mkdir -p "$out"
    OPENBLAS_NUM_THREADS=2 build/fedsyn evaluator train --epochs 1 --out "$evaluator" 2>&1 | tail -n 1
fi
echo "demo: 3 nodes, label split 0,1,2 / 3,4,5,6 / 7,8,9, $MODEL, $ROUNDS rounds x $ITERS local iterations at batch $BATCH, server step $SERVER_LR"
FEDSYN_LOG_EVERY=50 scripts/federation.sh run "$out" --nodes 3 --groups "0,1,2/3,4,5,6/7,8,9" \
    --model "$MODEL" --rounds "$ROUNDS" --local-iters "$ITERS" --batch "$BATCH" \
    --noise paper --scale 1e-5 --timeout-ms 120000 --port "${DEMO_PORT:-7300}" \
    --server-lr "$SERVER_LR" --log-json \
    --score-every "${DEMO_SCORE_EVERY:-6}" --score-samples 1000 --score-on alice \
    --evaluator "$evaluator"
python3 scripts/quality-plot.py "$out/state/alice/quality.jsonl" --label alice \
    --title "demo: the global generator while it trains ($MODEL, 1000 samples per score)" \
    --out "$out/quality.png"
python3 scripts/round-history.py "$out"/logs/*.jsonl --out "$out/history.png" \
    --title "demo: every round (seconds to close, contributors) and the quality alice scored" \
    > "$out/history.txt"
build/fedsyn sample --model "$out/state/alice/global.fsm" --n 100 --grid "$out/global-grid.png"
echo
build/fedsyn ledger show "$out/state/alice/ledger.fsl"
echo
OPENBLAS_NUM_THREADS=2 build/fedsyn eval --model "$out/state/alice/global.fsm" \
    --n "${DEMO_EVAL_N:-10000}" \
    --evaluator "$evaluator" --json > "$out/eval.json"
python3 - "$out/eval.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cov = d.get("coverage", {})
print("demo: the global generator, %d samples scored by %s:" % (d["samples"], d["evaluator"]))
print("      FID vs the test set %.1f (floor %.1f, noise %.1f), label agreement %.1f%%,"
      % (d["fid_test"], d["fid_floor_train_vs_test"], d["fid_ceiling_noise_vs_test"],
         100 * d["label_agreement"]))
print("      classes drawn (share >= 2%%): %s of 10, CAS %.1f%%"
      % (cov.get("classes_present", "?"), 100 * d["cas"]["accuracy"]))
PY
echo "demo: ledgers $out/state/*/ledger.fsl, global model $out/state/alice/global.fsm,"
echo "      sample grid $out/global-grid.png (column c: label c), scores $out/eval.json,"
echo "      quality per round $out/state/alice/quality.jsonl (plot $out/quality.png),"
echo "      the rounds' history $out/history.txt (plot $out/history.png),"
echo "      node logs $out/logs/"
