#!/usr/bin/env bash
# genfl_downstream.sh - GenFL's second half on one genfl.sh results folder:
# the downstream classifier trained by FedAvg over the same clients and the
# same split, without and with pre-training on the federation's CVAE.
#
# Where the pre-training happens, without a server: the CVAE federation's
# final global model is public to its members (its hash is in their ledger).
# One member - here the founder - draws labelled samples from it and trains
# the classifier on them (fedsyn sample + fedsyn evaluator train), then
# founds the classifier federation with that file as round 0's model
# (fedsyn ledger init --initial FILE): the genesis pins its hash, every
# member is given the same file (federation/initial) and a node holding any
# other file refuses to start.  Anyone can redo the pre-training from the
# ledger's CVAE to audit it.
#
# For every row DIR/DATASET-seedS-alphaA with a global CVAE, writes
# DIR/ROW/downstream/: pretrain/ (samples, pre.fsm), without/ and with/
# (the two classifier federations), and acc.json (test accuracies).  Every
# member ends with the same global classifier, so each client's accuracy on
# the real test set is that model's, and their weighted average is it too.
#
# usage: scripts/experiments/genfl_downstream.sh DIR [--rounds R] [--iters I]
#            [--samples N] [--pretrain-epochs E] [--port P]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
(( $# >= 1 )) || { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
dir=$1; shift
rounds=10 iters=20 samples=10000 epochs=2 port=7900
while (( $# )); do
    case $1 in
        --rounds) rounds=$2; shift ;; --iters) iters=$2; shift ;;
        --samples) samples=$2; shift ;; --pretrain-epochs) epochs=$2; shift ;;
        --port) port=$2; shift ;;
        *) echo "genfl_downstream.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done
[[ -f $dir/settings.json ]] || { echo "genfl_downstream.sh: $dir is not a genfl.sh folder" >&2; exit 2; }
# its own private copy of the binary (the CVAE pass may predate this one)
cp "${FEDSYN:-build/fedsyn}" "$dir/bin/fedsyn-downstream"
FEDSYN=$(cd "$dir/bin" && pwd)/fedsyn-downstream
export FEDSYN
clients=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clients"])' "$dir/settings.json")
t_start=$SECONDS
log() { echo "[$(date +%H:%M:%S) +$(( (SECONDS - t_start) / 60 ))m] genfl-downstream: $*" | tee -a "$dir/progress.log" >&2; }
cat > "$dir/downstream-settings.json" <<EOF
{"rounds": $rounds, "local_iters": $iters, "batch": 32, "pretrain_samples": $samples,
 "pretrain_epochs": $epochs, "model": "classifier",
 "command": "scripts/experiments/genfl_downstream.sh $dir --rounds $rounds --iters $iters --samples $samples --pretrain-epochs $epochs"}
EOF
log "classifier: $clients clients, $rounds rounds x $iters local iterations; pre-training on $samples CVAE samples, $epochs epochs"
for row_dir in "$dir"/*-seed*-alpha*/; do
    row=$(basename "$row_dir")
    row_dir=${row_dir%/}
    # rows whose CVAE federation finished (eval.json) and whose downstream has not
    [[ -s $row_dir/eval.json && ! -f $row_dir/downstream/acc.json ]] || continue
    rm -rf "$row_dir/downstream"
    d=${row%%-seed*}; rest=${row#*-seed}; s=${rest%%-alpha*}; a=${rest#*-alpha}
    part=(--partition dirichlet --alpha "$a")
    [[ $a == iid ]] && part=(--partition iid)
    pre=$row_dir/downstream/pretrain
    mkdir -p "$pre"
    log "$row: pre-training on the global CVAE's samples"
    "$FEDSYN" sample --model "$row_dir/state/alice/global.fsm" --n "$samples" --seed "$s" \
        --idx "$pre/train-images-idx3-ubyte" --labels "$pre/train-labels-idx1-ubyte" 2>/dev/null
    for f in "$root/data/$d"/t10k-*; do ln -sf "$f" "$pre/"; done
    # the plain recipe (Adam 1e-3 throughout, images as drawn), not the
    # evaluator's shifts and decay: pre-training sees the CVAE's samples only
    "$FEDSYN" evaluator train --data "$pre" --epochs "$epochs" --seed "$s" --out "$pre/pre.fsm" \
        --shift 0 --lr-final 0 \
        > "$pre/train.txt" 2> "$pre/train.log"
    for mode in without with; do
        init=()
        [[ $mode == with ]] && init=(--initial "$pre/pre.fsm")
        log "$row: classifier federation $mode pre-training"
        if ! FEDSYN_LOG_EVERY=0 OPENBLAS_NUM_THREADS=1 scripts/federation.sh run \
            "$row_dir/downstream/$mode" --nodes "$clients" --dataset "$d" --data "data/$d" \
            --model classifier "${init[@]}" "${part[@]}" --data-seed "$s" --rounds "$rounds" \
            --local-iters "$iters" --batch 32 --noise none --timeout-ms 600000 --port "$port" \
            > "$row_dir/downstream/$mode.run.log" 2>&1; then
            log "$row: $mode: federation failed (see $row_dir/downstream/$mode.run.log)"
            continue 2
        fi
        "$FEDSYN" evaluator test --model "$row_dir/downstream/$mode/state/alice/global.fsm" \
            --dataset "$d" --json > "$row_dir/downstream/$mode.json"
    done
    python3 - "$row_dir/downstream" <<'EOF'
import json, os, sys
d = sys.argv[1]
acc = {m: json.load(open(os.path.join(d, m + ".json")))["accuracy"] for m in ("without", "with")}
txt = open(os.path.join(d, "pretrain", "train.txt")).read()
acc["pretrained_only"] = float(txt.split("test accuracy ")[1].split()[0])
json.dump(acc, open(os.path.join(d, "acc.json"), "w"))
EOF
    log "$row: accuracy without $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print("%.4f, with %.4f (pre-trained alone %.4f)" % (a["without"], a["with"], a["pretrained_only"]))' "$row_dir/downstream/acc.json")"
done
log "done in $(( (SECONDS - t_start) / 60 )) min"
