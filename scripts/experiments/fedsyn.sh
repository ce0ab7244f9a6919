#!/usr/bin/env bash
# fedsyn.sh - the FedSyn paper's section IV on fedsyn's own federation.
#
# Every federated row is a real federation: three `fedsyn node` processes on
# loopback (scripts/federation.sh), the label split {0,1,2} {3,4,5,6} {7,8,9}
# (weights about 0.3 / 0.4 / 0.3), the same node and round code users run.
#
#   central      one GAN on all of MNIST, the same number of iterations as
#                one member trains in the whole federation (the paper's
#                reference and upper bound)
#   alone-G      each member's own GAN on its labels only, same iterations
#   paper-b      the federation with the paper's noise (Laplace(b) on the
#                weights, no clip: no formal guarantee), b = 1e-6 ... 1,
#                aggregator scale = b
#   gauss-eps-E / laplace-eps-E   clipped DP rows: the scale that spends a
#                tight total of E over the run (fedsyn privacy --target-eps)
#   oneshot-b    the paper's own schedule as the literature reads it: one
#                round in which each member trains all its iterations, then
#                a single aggregation (RESEARCH.md), Laplace scale b
#
# fedsyn's default for labelled data (cgan:W, the conditional GAN with its
# recipe, docs/engine.md) gets the same rows at half the batch and twice the
# iterations (about the same time: its iteration costs half the paper's):
#   cgan-central, cgan-alone-G   as central and alone-G
#   cgan-fed     the federation, paper noise b = 1e-5 (the demo's), the
#                mode's rounds x local iterations, and the genesis' server
#                step 2 on the averaged update (fedsyn's federated recipe,
#                docs/results.md; the paper's rows keep plain FedAvg)
#   cgan-fed-short  the same iterations in rounds six times as many and
#                six times as short (quick: 60 x 50 at batch 32, the demo's
#                shape)
#   fashion-cgan-central, fashion-cgan-fed, fashion-cgan-fed-short   the
#                same on Fashion-MNIST
#                (needs evaluators/fashion.fsm)
#
# Each row is scored with `fedsyn eval`: FID against the real test set, FID
# against the central GAN's samples (the paper's measure), label coverage;
# and gets a 10x10 sample grid.  scripts/experiments/summarize.py writes the
# table (table.md), the metrics (results.json) and FID against the scale
# (fid-vs-scale.png, gnuplot) beside the paper's Table I.
#
# usage: scripts/experiments/fedsyn.sh [--quick | --full] [--out DIR]
#                                      [--scales "1e-6 1e-5 ..."] [--port P]
#   --quick  width 32, batch 64, 10 rounds x 150 local iterations, 5,000
#            samples per score (about an hour on 2 cores)
#   --full   the paper's width 128 and batch 256, 20 rounds x 59 local
#            iterations (one local epoch of the largest member), 10,000 samples
#   --smoke  width 16, 2 rounds x 10 iterations: checks the pipeline in minutes
#   --dp-eps "8 1000"  targets of the clipped DP rows
#   --oneshot "1e-5"   Laplace scales of the one-shot rows ("" for none)
#   --rows "paper cgan fashion"  which groups of rows to make (default all
#            three: paper = the rows of the paper's model above)
#   --continue DIR  finish an interrupted run in DIR: rows that have their
#            eval.json are kept, the others are (re)made with the same mode
#   --rescore DIR   score every finished row of DIR again with the current
#            build and evaluator (after a better evaluator); each old
#            eval.json is kept as eval.TIMESTAMP.json, then the table is redone
# Results go to runs/experiments/fedsyn-MODE-TIMESTAMP/ (never overwritten).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=quick out="" port=7600 resume=0 rescore=0
cgan_server_lr=2 # fedsyn's federated recipe: the genesis' server step (docs/results.md)
scales="1e-6 1e-5 1e-4 1e-3 1e-2 1e-1 1"
dp_eps="8 1000"
oneshot="1e-5"
groups="paper cgan fashion"
while (( $# )); do
    case $1 in
        --quick) mode=quick ;;
        --full) mode=full ;;
        --smoke) mode=smoke ;;
        --out) out=$2; shift ;;
        --continue) out=$2; resume=1; shift ;;
        --rescore) out=$2; resume=1; rescore=1; shift ;;
        --scales) scales=$2; shift ;;
        --dp-eps) dp_eps=$2; shift ;;
        --oneshot) oneshot=$2; shift ;;
        --rows) groups=$2; shift ;;
        --port) port=$2; shift ;;
        -h|--help) sed -n '2,53p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fedsyn.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if (( resume )); then
    [[ -f $out/settings.json ]] || { echo "fedsyn.sh: $out has no settings.json to continue" >&2; exit 2; }
    mode=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mode"])' "$out/settings.json")
fi
case $mode in
    smoke) width=16 batch=32 rounds=2 iters=10 neval=1000 timeout=60000 ;;
    quick) width=32 batch=64 rounds=10 iters=150 neval=5000 timeout=300000 ;;
    full) width=128 batch=256 rounds=20 iters=59 neval=10000 timeout=1800000 ;;
esac
out=${out:-runs/experiments/fedsyn-$mode-$(date +%Y%m%d-%H%M%S)}
[[ -e $out ]] && (( ! resume )) &&
    { echo "fedsyn.sh: $out exists; results are never overwritten (--continue $out finishes it)" >&2; exit 2; }
[[ -x ${FEDSYN:-build/fedsyn} ]] || { echo "fedsyn.sh: ${FEDSYN:-build/fedsyn} missing: run 'make'" >&2; exit 2; }
[[ -f data/mnist/train-images-idx3-ubyte ]] || [[ -f data/mnist/train-images-idx3-ubyte.gz ]] ||
    { echo "fedsyn.sh: no MNIST in data/mnist: run 'make data'" >&2; exit 2; }
[[ -f evaluators/mnist.fsm ]] ||
    { echo "fedsyn.sh: no evaluator: run 'build/fedsyn evaluator train --dataset mnist'" >&2; exit 2; }
if [[ " $groups " == *" fashion "* ]]; then
    [[ -f evaluators/fashion.fsm ]] ||
        { echo "fedsyn.sh: no evaluators/fashion.fsm for the fashion rows: run 'build/fedsyn" \
               "evaluator train --dataset fashion', or leave them out with --rows" >&2; exit 2; }
    [[ -d data/fashion ]] || { echo "fedsyn.sh: no data/fashion: run 'make data'" >&2; exit 2; }
fi
mkdir -p "$out/bin"
# a private copy of the binary: rebuilding build/ during a run cannot change
# it (a rescore gets its own, leaving the one that trained the rows alone)
bin=fedsyn
(( rescore )) && bin=fedsyn-rescore
cp "${FEDSYN:-build/fedsyn}" "$out/bin/$bin"
FEDSYN=$(cd "$out/bin" && pwd)/$bin
export FEDSYN
total_iters=$(( rounds * iters ))
t_start=$SECONDS

log() { echo "[$(date +%H:%M:%S) +$(( (SECONDS - t_start) / 60 ))m] fedsyn-exp: $*" | tee -a "$out/progress.log" >&2; }

(( resume )) || cat > "$out/settings.json" <<EOF
{"experiment": "fedsyn", "mode": "$mode", "width": $width, "batch": $batch, "rounds": $rounds,
 "local_iters": $iters, "eval_samples": $neval, "scales": "$scales", "dp_eps": "$dp_eps",
 "groups": "0,1,2/3,4,5,6/7,8,9", "rows": "$groups", "machine": "$(nproc) cores, $(uname -m)",
 "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
 "command": "scripts/experiments/fedsyn.sh --$mode --scales '$scales' --dp-eps '$dp_eps' --rows '$groups'"}
EOF
log "mode $mode: width $width (dcgan:$width for the paper's rows, cgan:$width for fedsyn's), batch $batch, $rounds rounds x $iters local iterations; results in $out"

# row_dataset ROW, row_reference ROW: a row's data set, and the row whose
# generator is its reference (the central one of the same model and data)
row_dataset() { [[ $1 == fashion-* ]] && echo fashion || echo mnist; }
# fedsyn's cgan rows train at half the mode's batch for twice its iterations
# (its iteration reuses D's fakes, so that costs about what the mode's
# iterations cost the paper's model; docs/results.md, session 14): quick's
# cgan-fed-short is then the demo's 60 rounds x 50 iterations at batch 32.
row_batch() { [[ $1 == *cgan-* ]] && echo $(( batch / 2 )) || echo "$batch"; }
row_iters() { [[ $1 == *cgan-* ]] && echo $(( 2 * $2 )) || echo "$2"; }
row_reference() {
    case $1 in
        fashion-cgan-*) echo fashion-cgan-central ;; cgan-*) echo cgan-central ;; *) echo central ;;
    esac
}

# score ROW MODEL: grid, samples and metrics of one row (the reference is
# the row's central GAN, once it exists)
score() {
    local row=$1 model=$2 ref=() refrow dataset
    refrow=$(row_reference "$row") dataset=$(row_dataset "$row")
    [[ -f $out/$refrow/gan.fsm && $row != "$refrow" ]] && ref=(--reference "$out/$refrow/gan.fsm")
    "$FEDSYN" sample --model "$model" --n 100 --grid "$out/$row/grid.png" > /dev/null 2>&1
    # eval.json appears whole or not at all: a row with one counts as done
    # (--continue), so a cut or failed eval must not leave a partial one
    "$FEDSYN" eval --model "$model" --n "$neval" --dataset "$dataset" "${ref[@]}" --json \
        > "$out/$row/eval.json.tmp" 2> "$out/$row/eval.log" || { rm -f "$out/$row/eval.json.tmp"; return 1; }
    mv "$out/$row/eval.json.tmp" "$out/$row/eval.json"
    log "$row: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["fid_reference"]; a=d.get("label_agreement"); print("FID test %.1f, FID vs central %s, %d classes%s" % (d["fid_test"], "-" if r is None else "%.1f" % r, d["coverage"]["classes_present"], "" if a is None else ", label agreement %.1f%%" % (100 * a)))' "$out/$row/eval.json")"
}

# done ROW: the row was scored in an earlier pass (--continue); a partial
# row is cleared for a fresh start
done_row() {
    [[ -f $out/$1/eval.json ]] && { log "$1: kept from the earlier pass"; return 0; }
    rm -rf "${out:?}/$1" "$out/$1.run.log"
    return 1
}

# train_alone ROW LABELS [MODEL]: one GAN trained by `fedsyn train`
# (central, alone-*; MODEL default dcgan:W)
train_alone() {
    local row=$1 labels=$2 model=${3:-dcgan:$width} args=()
    done_row "$row" && return 0
    [[ -n $labels ]] && args+=(--labels "$labels")
    mkdir -p "$out/$row"
    local n_iters b_row
    n_iters=$(row_iters "$row" "$total_iters")
    b_row=$(row_batch "$row")
    log "$row: $model, training ${labels:-all labels}, $n_iters iterations at batch $b_row"
    local t0=$SECONDS
    "$FEDSYN" train --dataset "$(row_dataset "$row")" --model "$model" "${args[@]}" \
        --width "$width" --batch "$b_row" \
        --epochs 1 --iters "$n_iters" --seed 1 --out "$out/$row/gan.fsm" \
        2> "$out/$row/train.log"
    echo $(( SECONDS - t0 )) > "$out/$row/seconds"
    tail -1 "$out/$row/train.log" | tee -a "$out/progress.log" >&2
    score "$row" "$out/$row/gan.fsm"
}

# federate ROW NOISE SCALE [CLIP [ROUNDS ITERS [MODEL]]]: one federation of
# three nodes (MODEL default dcgan:W)
federate() {
    local row=$1 noise=$2 scale=$3 clip=${4:-0} f_rounds=${5:-$rounds} f_iters=${6:-$iters}
    local model=${7:-dcgan:$width} server_lr=${8:-1} dataset b_row
    dataset=$(row_dataset "$row")
    b_row=$(row_batch "$row")
    f_iters=$(row_iters "$row" "$f_iters")
    done_row "$row" && return 0
    log "$row: federation of 3, $model on $dataset, batch $b_row, $f_rounds x $f_iters, noise $noise, scale $scale${4:+, clip $clip}, server step $server_lr"
    local t0=$SECONDS
    FEDSYN_LOG_EVERY=$(( f_iters / 2 )) OPENBLAS_NUM_THREADS=1 scripts/federation.sh run "$out/$row" \
        --nodes 3 --groups "0,1,2/3,4,5,6/7,8,9" --model "$model" --batch "$b_row" \
        --dataset "$dataset" --data "data/$dataset" \
        --rounds "$f_rounds" --local-iters "$f_iters" --noise "$noise" --scale "$scale" \
        --agg-scale "$scale" --clip "$clip" --timeout-ms "$(( timeout * rounds / f_rounds ))" \
        --port "$port" --server-lr "$server_lr" \
        > "$out/$row.run.log" 2>&1 || { log "$row: federation failed (see $out/$row.run.log)"; return 1; }
    echo $(( SECONDS - t0 )) > "$out/$row/seconds"
    grep -E "round [0-9]+ " "$out/$row/logs/alice.out" | tail -1 | cut -c1-160 >&2 || true
    "$FEDSYN" ledger show "$out/$row/state/alice/ledger.fsl" > "$out/$row/ledger.txt"
    score "$row" "$out/$row/state/alice/global.fsm"
}

if (( rescore )); then
    stamp=$(date +%Y%m%d-%H%M%S)
    log "rescoring the finished rows with $(git rev-parse --short HEAD 2>/dev/null || echo '?')'s build and evaluators/mnist.fsm (old scores kept as eval.$stamp.json)"
    # central first: the others are scored against its samples
    rows=(central)
    for e in "$out"/*/eval.json; do
        row=$(basename "$(dirname "$e")")
        [[ $row == central ]] || rows+=("$row")
    done
    for row in "${rows[@]}"; do
        e=$out/$row/eval.json
        [[ -f $e ]] || continue
        model=$out/$row/gan.fsm
        [[ -f $model ]] || model=$out/$row/state/alice/global.fsm
        [[ -f $model ]] || { log "$row: no model file, not rescored"; continue; }
        # the old score is copied aside; eval.json is replaced only by a
        # complete new one, so a cut leaves the row scored either way
        cp "$e" "$out/$row/eval.$stamp.json"
        score "$row" "$model" || {
            rm -f "$out/$row/eval.$stamp.json" # eval.json still holds it
            log "$row: fedsyn eval failed (see $out/$row/eval.log); old score kept"
        }
    done
    python3 scripts/experiments/summarize.py "$out"
    log "rescored in $(( (SECONDS - t_start) / 60 )) min: $out/table.md"
    exit 0
fi

if [[ " $groups " == *" paper "* ]]; then
    train_alone central ""
    train_alone alone-012 "0,1,2"
    train_alone alone-3456 "3,4,5,6"
    train_alone alone-789 "7,8,9"
    # a failed row is logged and the sweep goes on
    for b in $scales; do
        federate "paper-$b" paper "$b" || true
    done
    for e in $dp_eps; do
        s=$("$FEDSYN" privacy --noise gaussian-clipped --clip 1 --target-eps "$e" --rounds "$rounds" |
            awk 'NR == 1 { print $2 }')
        federate "gauss-eps-$e" gaussian-clipped "$s" 1 || true
        s=$("$FEDSYN" privacy --noise laplace-clipped --clip 1 --target-eps "$e" --rounds "$rounds" |
            awk 'NR == 1 { print $2 }')
        federate "laplace-eps-$e" laplace-clipped "$s" 1 || true
    done
    for b in $oneshot; do
        federate "oneshot-$b" paper "$b" 0 1 "$total_iters" || true
    done
fi
if [[ " $groups " == *" cgan "* ]]; then
    train_alone cgan-central "" "cgan:$width"
    train_alone cgan-alone-012 "0,1,2" "cgan:$width"
    train_alone cgan-alone-3456 "3,4,5,6" "cgan:$width"
    train_alone cgan-alone-789 "7,8,9" "cgan:$width"
    federate cgan-fed paper 1e-5 0 "$rounds" "$iters" "cgan:$width" "$cgan_server_lr" || true
    federate cgan-fed-short paper 1e-5 0 "$(( rounds * 6 ))" "$(( iters / 6 ))" "cgan:$width" \
        "$cgan_server_lr" || true
fi
if [[ " $groups " == *" fashion "* ]]; then
    train_alone fashion-cgan-central "" "cgan:$width"
    federate fashion-cgan-fed paper 1e-5 0 "$rounds" "$iters" "cgan:$width" "$cgan_server_lr" \
        || true
    federate fashion-cgan-fed-short paper 1e-5 0 "$(( rounds * 6 ))" "$(( iters / 6 ))" \
        "cgan:$width" "$cgan_server_lr" || true
fi
python3 scripts/experiments/summarize.py "$out"
log "done in $(( (SECONDS - t_start) / 60 )) min: $out/table.md$([[ -f $out/fid-vs-scale.png ]] && echo ", $out/fid-vs-scale.png")"
