#!/usr/bin/env bash
# genfl.sh - GenFL's generator on fedsyn's own federation: a conditional VAE
# trained by FedAvg over N clients whose data follow a Dirichlet(alpha) split
# of the labels (or an IID split), scored by its Classification Accuracy
# Score (a classifier trained on the CVAE's labelled samples alone, tested on
# the real test set), with FID and label coverage beside it.
#
# Every row is a real federation: N `fedsyn node` processes on loopback
# (scripts/federation.sh --model cvae:H --partition dirichlet --alpha A),
# one seeded split that every member draws alike, the same round code users
# run.  No noise (the poster adds none).
#
# usage: scripts/experiments/genfl.sh [--quick | --full | --smoke] [--out DIR]
#            [--datasets "mnist fashion"] [--seeds "1 2 3"]
#            [--alphas "iid 100 10 1 0.1 0.01"] [--port P]
#        scripts/experiments/genfl.sh --continue DIR
#        scripts/experiments/genfl.sh --rescore DIR
#   --quick  MNIST, seed 1, 10 clients, 20 rounds x 30 local iterations,
#            cvae:400, 10,000 samples per score (about half an hour on 2 cores)
#   --full   MNIST and Fashion-MNIST, seeds 1 2 3, 10 clients, 20 rounds x 94
#            local iterations (one local epoch of an average client)
#   --smoke  4 clients, 2 rounds x 5 iterations, cvae:32: checks the pipeline
#   --continue DIR  goes on with a run that was cut (a session's end): the
#            settings come from DIR/settings.json, finished rows (eval.json)
#            are kept, a row cut half-way is run again from the start
#   --rescore DIR   scores every finished CVAE of DIR again (FID, coverage,
#            CAS) with the current build and evaluators, on this machine:
#            after a better evaluator, or to pool runs made on different
#            machines (CAS moves by about a point with the BLAS kernels);
#            each old eval.json is kept as eval.TIMESTAMP.json
# Then scripts/experiments/genfl_downstream.sh trains the downstream
# classifier by FedAvg on the same splits, without and with pre-training on
# each federation's CVAE.
# Results go to runs/experiments/genfl-MODE-TIMESTAMP/ (never overwritten):
# one folder per dataset/seed/alpha (ledgers, models, grid, eval.json,
# downstream/), and table.md + results.json from summarize_genfl.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mode=quick out="" port=7800 datasets="" seeds="" alphas="iid 100 10 1 0.1 0.01" cont="" rescore=0
while (( $# )); do
    case $1 in
        --quick) mode=quick ;; --full) mode=full ;; --smoke) mode=smoke ;;
        --out) out=$2; shift ;; --datasets) datasets=$2; shift ;;
        --seeds) seeds=$2; shift ;; --alphas) alphas=$2; shift ;; --port) port=$2; shift ;;
        --continue) cont=$2; shift ;;
        --rescore) cont=$2; rescore=1; shift ;;
        -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "genfl.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [[ -n $cont ]]; then
    [[ -f $cont/settings.json ]] || { echo "genfl.sh: $cont/settings.json not found: not a genfl run folder" >&2; exit 2; }
    # the cut run's own settings, whatever else was given
    eval "$(python3 - "$cont/settings.json" <<'PY'
import json, shlex, sys
s = json.load(open(sys.argv[1]))
for k in ("mode", "datasets", "seeds", "alphas"):
    print(f"{k}={shlex.quote(str(s[k]))}")
PY
)"
    out=$cont
fi
case $mode in
    smoke) clients=4 rounds=2 iters=5 hidden=32 neval=1000 cas=1 ;;
    quick) clients=10 rounds=20 iters=30 hidden=400 neval=10000 cas=3 ;;
    full) clients=10 rounds=20 iters=94 hidden=400 neval=10000 cas=3 ;;
esac
[[ -n $datasets ]] || { [[ $mode == full ]] && datasets="mnist fashion" || datasets=mnist; }
[[ -n $seeds ]] || { [[ $mode == full ]] && seeds="1 2 3" || seeds=1; }
out=${out:-runs/experiments/genfl-$mode-$(date +%Y%m%d-%H%M%S)}
if [[ -z $cont ]]; then
    [[ -e $out ]] && { echo "genfl.sh: $out exists; results are never overwritten (--continue $out goes on with it)" >&2; exit 2; }
    mkdir -p "$out/bin"
    # a private copy of the binary: rebuilding build/ during a run cannot change it
    cp "${FEDSYN:-build/fedsyn}" "$out/bin/fedsyn"
fi
FEDSYN=$(cd "$out/bin" && pwd)/fedsyn
export FEDSYN
for d in $datasets; do
    [[ -d data/$d ]] || { echo "genfl.sh: no data/$d: run 'make data'" >&2; exit 2; }
    [[ -f evaluators/$d.fsm ]] ||
        { echo "genfl.sh: no evaluators/$d.fsm: run 'build/fedsyn evaluator train --dataset $d'" >&2; exit 2; }
done
t_start=$SECONDS
log() { echo "[$(date +%H:%M:%S) +$(( (SECONDS - t_start) / 60 ))m] genfl-exp: $*" | tee -a "$out/progress.log" >&2; }
[[ -n $cont ]] || cat > "$out/settings.json" <<EOF
{"experiment": "genfl", "mode": "$mode", "clients": $clients, "rounds": $rounds,
 "local_iters": $iters, "batch": 64, "model": "cvae:$hidden", "eval_samples": $neval,
 "cas_epochs": $cas, "datasets": "$datasets", "seeds": "$seeds", "alphas": "$alphas",
 "machine": "$(nproc) cores, $(uname -m)",
 "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)",
 "command": "scripts/experiments/genfl.sh --$mode --datasets '$datasets' --seeds '$seeds' --alphas '$alphas'"}
EOF
if (( rescore )); then
    # a copy of the current build of its own: the binary that trained the
    # rows stays as it was
    cp build/fedsyn "$out/bin/fedsyn-rescore"
    stamp=$(date +%Y%m%d-%H%M%S)
    log "rescoring with $(git rev-parse --short HEAD 2>/dev/null || echo '?')'s build (old scores kept as eval.$stamp.json)"
    for e in "$out"/*-seed*-alpha*/eval.json; do
        [[ -f $e ]] || continue
        row=$(dirname "$e")
        d=$(basename "$row"); d=${d%%-seed*}
        [[ -f $row/state/alice/global.fsm ]] || { log "$(basename "$row"): no global.fsm, not rescored"; continue; }
        # the old score is copied aside; eval.json is replaced only by a
        # complete new one, so a cut leaves the row scored either way
        cp "$e" "$row/eval.$stamp.json"
        t0=$SECONDS
        if ! "$out/bin/fedsyn-rescore" eval --model "$row/state/alice/global.fsm" --dataset "$d" \
            --n "$neval" --cas-epochs "$cas" --json > "$row/eval.json.tmp" 2> "$row/eval.log"; then
            rm -f "$row/eval.json.tmp" "$row/eval.$stamp.json" # eval.json still holds it
            log "$(basename "$row"): fedsyn eval failed (see $row/eval.log); old score kept"
            continue
        fi
        mv "$row/eval.json.tmp" "$e"
        log "$(basename "$row"): $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); o=json.load(open(sys.argv[2])); print("CAS %.4f (was %.4f), FID %.1f (was %.1f), %d classes" % (d["cas"]["accuracy"], o["cas"]["accuracy"], d["fid_test"], o["fid_test"], d["coverage"]["classes_present"]))' "$row/eval.json" "$row/eval.$stamp.json") ($(( SECONDS - t0 )) s)"
    done
    python3 scripts/experiments/summarize_genfl.py "$out" > /dev/null
    log "rescored: $out/table.md"
    exit 0
fi
[[ -z $cont ]] || log "continuing the cut run in $out (its settings.json; finished rows kept)"
log "mode $mode: cvae:$hidden, $clients clients, $rounds rounds x $iters local iterations; results in $out"
for d in $datasets; do
    for s in $seeds; do
        for a in $alphas; do
            row=$d-seed$s-alpha$a
            if [[ -s $out/$row/eval.json ]]; then
                continue # finished before the run was cut
            fi
            rm -rf "$out/$row" # a federation cut half-way starts again
            part=(--partition dirichlet --alpha "$a")
            [[ $a == iid ]] && part=(--partition iid)
            log "$row: federation of $clients"
            t0=$SECONDS
            if ! FEDSYN_LOG_EVERY=0 OPENBLAS_NUM_THREADS=1 scripts/federation.sh run "$out/$row" \
                --nodes "$clients" --dataset "$d" --data "data/$d" --model "cvae:$hidden" \
                "${part[@]}" --data-seed "$s" --rounds "$rounds" --local-iters "$iters" \
                --batch 64 --noise none --timeout-ms 600000 --port "$port" \
                > "$out/$row.run.log" 2>&1; then
                log "$row: federation failed (see $out/$row.run.log)"
                continue
            fi
            echo $(( SECONDS - t0 )) > "$out/$row/seconds"
            grep -h "local data:" "$out/$row"/logs/*.log | sed 's/^[^:]*: [a-z]*: //' \
                > "$out/$row/shares.txt" || true
            "$FEDSYN" sample --model "$out/$row/state/alice/global.fsm" --n 100 \
                --grid "$out/$row/grid.png" > /dev/null 2>&1
            "$FEDSYN" eval --model "$out/$row/state/alice/global.fsm" --dataset "$d" --n "$neval" \
                --cas-epochs "$cas" --json > "$out/$row/eval.json.tmp" 2> "$out/$row/eval.log"
            mv "$out/$row/eval.json.tmp" "$out/$row/eval.json" # whole or not at all
            log "$row: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("CAS %.4f, FID %.1f, %d classes" % (d["cas"]["accuracy"], d["fid_test"], d["coverage"]["classes_present"]))' "$out/$row/eval.json") ($(( SECONDS - t0 )) s)"
        done
    done
done
# the downstream classifier, without and with pre-training on each CVAE
case $mode in
    smoke) down=(--rounds 2 --iters 3 --samples 500 --pretrain-epochs 1) ;;
    quick) down=(--rounds 10 --iters 20 --samples 10000 --pretrain-epochs 2) ;;
    full) down=(--rounds 20 --iters 94 --samples 60000 --pretrain-epochs 3) ;;
esac
scripts/experiments/genfl_downstream.sh "$out" "${down[@]}"
python3 scripts/experiments/summarize_genfl.py "$out"
log "done in $(( (SECONDS - t_start) / 60 )) min: $out/table.md"
