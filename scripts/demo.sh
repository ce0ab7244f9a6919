#!/usr/bin/env bash
# demo.sh - what `make demo` runs after building and fetching MNIST.
# Until the federation exists (issue 4) the demo trains the FedSyn GAN
# (narrow: width 64) on a 10,000-image slice of MNIST for 3 epochs, prints
# progress, and writes a sample grid and the model under runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/demo
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
build/fedsyn train --dataset mnist --limit 10000 --width 64 --epochs 3 \
    --out "$out/gan.fsm" --grid "$out/grid.png"
build/fedsyn sample --model "$out/gan.fsm" --n 100 --grid "$out/samples.png" --idx "$out/samples.idx"
echo "demo: model $out/gan.fsm, grids $out/grid.png and $out/samples.png"
