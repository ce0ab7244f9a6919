#!/usr/bin/env bash
# demo.sh - what `make demo` runs after building and fetching MNIST.
#
# Three nodes on loopback with the FedSyn paper's label split ({0,1,2},
# {3,4,5,6}, {7,8,9}: about 0.3 / 0.4 / 0.3 of the data) train one narrow
# GAN (width 32) for 10 rounds of 150 local iterations (about 4 minutes on
# 2 cores; 6 x 100 takes 2 but draws blobs rather than strokes); each node
# prints one line per round.
# Then: the three ledgers are verified and compared byte for byte, the
# global generator draws a sample grid, and the audit table is printed.
# Everything lands in runs/demo-TIMESTAMP/ (never overwritten).
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/demo-$(date +%Y%m%d-%H%M%S)
export OPENBLAS_NUM_THREADS=1   # three nodes share the cores
ROUNDS=${DEMO_ROUNDS:-10} ITERS=${DEMO_ITERS:-150} WIDTH=${DEMO_WIDTH:-32}
echo "demo: 3 nodes, label split 0,1,2 / 3,4,5,6 / 7,8,9, dcgan:$WIDTH, $ROUNDS rounds x $ITERS local iterations"
FEDSYN_LOG_EVERY=50 scripts/federation.sh run "$out" --nodes 3 --groups "0,1,2/3,4,5,6/7,8,9" \
    --width "$WIDTH" --rounds "$ROUNDS" --local-iters "$ITERS" --batch 64 \
    --noise paper --scale 1e-5 --timeout-ms 120000 --port "${DEMO_PORT:-7300}"
build/fedsyn sample --model "$out/state/alice/global.fsm" --n 100 --grid "$out/global-grid.png"
echo
build/fedsyn ledger show "$out/state/alice/ledger.fsl"
echo
echo "demo: ledgers $out/state/*/ledger.fsl, global model $out/state/alice/global.fsm,"
echo "      sample grid $out/global-grid.png, node logs $out/logs/"
