#!/usr/bin/env bash
# t0001-cli.sh - the fedsyn program as a user runs it: --help everywhere,
# usage errors, train -> sample -> eval on a tiny IDX fixture, and a
# truncated model file refused with a clear message.  Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
RUN="${FEDSYN_WRAP:-} $FEDSYN"
tmp=$(mktemp -d /tmp/fedsyn-t0001-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err" 2>/dev/null | tail -5; }
check() { # description, then command
    local d=$1; shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else not_ok "$d"; fi
}

echo "1..63"
check "fedsyn --help" $RUN --help
check "fedsyn help train prints train's usage" bash -c "$RUN help train | grep -q 'usage: fedsyn train'"
for c in train sample eval evaluator; do
    check "fedsyn $c --help exits 0 and prints usage" bash -c "$RUN $c --help | grep -q usage"
done
$RUN train --epochs zero >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 2 ]] && grep -q "expected a whole number" "$tmp/err"; then ok "bad --epochs: exit 2, names the problem"; else not_ok "bad --epochs (rc $rc)"; fi

# a tiny data set: 200 images of 28x28 blobs, labels 0-9, as IDX files
python3 - "$tmp/data" <<'PY'
import os, random, struct, sys
d = sys.argv[1]; os.makedirs(d)
random.seed(1)
def write(prefix, n):
    imgs = bytearray(); labs = bytearray()
    for i in range(n):
        lab = i % 10; cx = 6 + 2 * lab
        for y in range(28):
            for x in range(28):
                imgs.append(255 if abs(x - cx) < 3 and 4 < y < 24 else 0)
        labs.append(lab)
    open(f"{d}/{prefix}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 28, 28) + imgs)
    open(f"{d}/{prefix}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + labs)
write("train", 200); write("t10k", 100)
PY
check "train a narrow GAN on the fixture" $RUN train --data "$tmp/data" --width 8 --batch 16 --iters 5 --epochs 2 --checkpoint-every 1 --out "$tmp/gan.fsm" --grid "$tmp/grid.png"
if grep -q "epoch 2/2 iter 5/5" "$tmp/err" && grep -q "img/s" "$tmp/err" && grep -q "ETA" "$tmp/err"; then ok "progress shows epoch, iteration, img/s, ETA"; else not_ok "progress line"; fi
if [[ -s $tmp/gan.fsm && -s $tmp/gan.epoch1.fsm && -s $tmp/gan.epoch1.png ]] && head -c 8 "$tmp/grid.png" | od -An -c | grep -q "P   N   G"; then ok "model, checkpoints and PNG grid written"; else not_ok "outputs missing"; fi
# --out keeps the trainer's state: two halves give the very same file as one run
$RUN train --data "$tmp/data" --width 8 --batch 16 --iters 5 --epochs 1 --out "$tmp/half.fsm" --quiet 2>"$tmp/err" &&
    $RUN train --data "$tmp/data" --width 8 --batch 16 --iters 5 --resume "$tmp/half.fsm" --to-epoch 2 --out "$tmp/half.fsm" --quiet 2>"$tmp/err"
if grep -q "resuming .*half.fsm exactly: epoch 2, iteration 0, Adam step 5" "$tmp/err"; then ok "resume says it goes on exactly, from where"; else not_ok "resume message"; fi
if cmp -s "$tmp/gan.fsm" "$tmp/half.fsm"; then ok "two halves (--epochs 1, then --resume --to-epoch 2) equal one run, bit for bit"; else not_ok "resumed run differs from one run"; fi
says_ok() { local name=$1 want=$2; shift 2; "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?; if [[ $rc -eq 0 ]] && grep -q "$want" "$tmp/err"; then ok "$name"; else not_ok "$name (rc $rc)"; fi; }
says_ok "--to-epoch at or below the checkpoint's epochs does nothing, and says so" "already holds 2 epochs" $RUN train --data "$tmp/data" --width 8 --batch 16 --iters 5 --resume "$tmp/half.fsm" --to-epoch 2 --out "$tmp/none.fsm"
check "sample writes a grid and an IDX file" $RUN sample --model "$tmp/gan.fsm" --n 20 --grid "$tmp/s.png" --idx "$tmp/s.idx"
size=$(stat -c %s "$tmp/s.idx" 2>/dev/null || echo 0)
if [[ $size -eq $((16 + 20 * 784)) ]]; then ok "sample IDX holds 20 images"; else not_ok "sample IDX size $size"; fi
check "evaluator trains on the fixture" $RUN evaluator train --data "$tmp/data" --epochs 1 --out "$tmp/ev.fsm"
check "eval --json reports FID, coverage and pseudo-label CAS" bash -c "$RUN eval --model '$tmp/gan.fsm' --n 64 --evaluator '$tmp/ev.fsm' --data '$tmp/data' --pseudo-cas --cas-epochs 1 --json | grep -q '\"fid_test\".*\"classes_present\".*pseudo'"
# fedsim: two label-split members in one process, scored every round
check "fedsim trains a two-member federation and scores each round" $RUN fedsim --model cgan:8 --data "$tmp/data" --split 0-4/5-9 --rounds 2 --local-iters 3 --batch 16 --evaluator "$tmp/ev.fsm" --score-every 1 --score-samples 32 --out "$tmp/fsim" --quiet
check "fedsim is reproducible from its seed, and --server-lr 2 changes the global model" bash -c "for x in a b; do $RUN fedsim --model cgan:8 --data '$tmp/data' --split 0-4/5-9 --rounds 2 --local-iters 3 --batch 16 --out '$tmp/fs-'\$x --quiet 2>/dev/null || exit 1; done; $RUN fedsim --model cgan:8 --data '$tmp/data' --split 0-4/5-9 --rounds 2 --local-iters 3 --batch 16 --server-lr 2 --out '$tmp/fs-c' --quiet 2>/dev/null && cmp -s '$tmp/fs-a/global.fsm' '$tmp/fs-b/global.fsm' && ! cmp -s '$tmp/fs-a/global.fsm' '$tmp/fs-c/global.fsm'"
check "fedsim --dp-sgd: each member's epsilon for its own sampling rate, the accountant's figure; --d-steps counts every D step" \
    bash -c "$RUN fedsim --model cgan:8 --data $tmp/data --split 0-4/5-9 --rounds 2 --local-iters 3 --batch 16 \
               --dp-sgd 1 --noise-multiplier 1.5 --out $tmp/fsdp --quiet > $tmp/fsdp.out 2>/dev/null &&
             want=\$($RUN privacy --mechanism dp-sgd --sample-rate 0.08 --noise-multiplier 1.5 --steps 6 --json |
                    /usr/bin/python3 -c 'import json,sys; print(\"%.4g\" % json.load(sys.stdin)[\"epsilon\"])') &&
             [[ \$(grep -c \"6 steps at sampling rate 0.08, noise multiplier 1.5, clip 1: (epsilon \$want, delta 1e-05)\" $tmp/fsdp.out) == 2 ]] &&
             $RUN fedsim --model cgan:8 --data $tmp/data --split 0-4/5-9 --rounds 2 --local-iters 3 --batch 16 \
               --dp-sgd 1 --noise-multiplier 1.5 --d-steps 3 --out $tmp/fsdp3 --quiet 2>/dev/null |
             grep -c '18 steps at sampling rate 0.08' | grep -qx 2"
check "fedsim's quality.jsonl holds one line per round, its global model samples" bash -c "[ \$(wc -l < '$tmp/fsim/quality.jsonl') = 2 ] && grep -q '\"round\": 2' '$tmp/fsim/quality.jsonl' && $RUN sample --model '$tmp/fsim/global.fsm' --n 20 --grid '$tmp/fsim/g.png' && [ -s '$tmp/fsim/g.png' ]"
# GenFL's CVAE through the same commands: labelled samples, CAS with true labels
check "train a narrow CVAE on the fixture" $RUN train --model cvae:16 --data "$tmp/data" --batch 16 --iters 5 --epochs 2 --out "$tmp/cvae.fsm" --grid "$tmp/cgrid.png"
if grep -q "epoch 2/2 iter 5/5  loss .* (recon .*, kl .*)" "$tmp/err"; then ok "CVAE progress shows loss, reconstruction and KL"; else not_ok "CVAE progress line"; fi
$RUN train --model cvae:16 --data "$tmp/data" --batch 16 --iters 5 --epochs 1 --out "$tmp/chalf.fsm" --quiet 2>"$tmp/err" &&
    $RUN train --model cvae:16 --data "$tmp/data" --batch 16 --iters 5 --resume "$tmp/chalf.fsm" --to-epoch 2 --out "$tmp/chalf.fsm" --quiet 2>"$tmp/err"
if grep -q "resuming .*chalf.fsm exactly: epoch 2, iteration 0, Adam step 5" "$tmp/err" && cmp -s "$tmp/cvae.fsm" "$tmp/chalf.fsm"; then ok "a CVAE's two halves equal one run, bit for bit"; else not_ok "CVAE resume"; fi
check "sample from a CVAE writes images and their labels" $RUN sample --model "$tmp/cvae.fsm" --n 20 --idx "$tmp/c.idx" --labels "$tmp/c.lab"
if [[ $(od -An -tu1 -v -w20 -j8 "$tmp/c.lab" | tr -s ' ' | sed 's/^ //') == "0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9" ]]; then ok "CVAE labels are balanced, i mod 10"; else not_ok "CVAE labels"; fi
check "eval warns of a weak evaluator and names it in its text output" bash -c "$RUN eval --model '$tmp/gan.fsm' --n 64 --evaluator '$tmp/ev.fsm' --data '$tmp/data' --cas-epochs 1 2>$tmp/weak.err | grep -q '^evaluator .*ev.fsm (test accuracy' && grep -q 'warning: the evaluator .*ev.fsm scored only' $tmp/weak.err"
check "eval of a CVAE runs CAS with its true labels" bash -c "$RUN eval --model '$tmp/cvae.fsm' --n 64 --evaluator '$tmp/ev.fsm' --data '$tmp/data' --cas-epochs 1 --json | grep -q '\"labels\": \"true\"'"
fails_with_text() { local name=$1 want=$2; shift 2; "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?; if [[ $rc -ne 0 ]] && grep -q "$want" "$tmp/err"; then ok "$name"; else not_ok "$name (rc $rc)"; fi; }
fails_with_text "sample refuses a classifier file, naming what it is" "a classifier file is not a generator" $RUN sample --model "$tmp/ev.fsm" --grid "$tmp/x.png"
fails_with_text "evaluator train refuses an out-of-range shift, naming it" "shift '9': expected a whole number from 0 to 8" $RUN evaluator train --data "$tmp/data" --shift 9
fails_with_text "train refuses --epochs beside --to-epoch" "not both" $RUN train --data "$tmp/data" --epochs 2 --to-epoch 3
fails_with_text "train --model refuses an unknown model" "expected dcgan:W, cdcgan:W, cgan:W or cvae:H" $RUN train --model vae --data "$tmp/data"
fails_with_text "fedsim names a bad member of --split" "labels 'x'" $RUN fedsim --data "$tmp/data" --split 0-4/x --out "$tmp/fbad"
check "train a narrow conditional GAN on the fixture" $RUN train --model cdcgan:8 --data "$tmp/data" --batch 16 --iters 5 --out "$tmp/cgan.fsm" --grid "$tmp/cggrid.png"
check "train makes --out's and --grid's folders before it trains" bash -c "$RUN train --model cdcgan:8 --data $tmp/data --batch 16 --iters 2 --out $tmp/new/a/g.fsm --grid $tmp/new/b/g.png --quiet && test -f $tmp/new/a/g.fsm && test -f $tmp/new/b/g.png"
fails_with_text "train refuses an --out under a file before it trains, naming the file" "cgan.fsm: exists and is not a folder" $RUN train --model cdcgan:8 --data "$tmp/data" --batch 16 --iters 2 --out "$tmp/cgan.fsm/x.fsm"
check "train's grid holds 10 x 10 (a column per label) even when the batch is 16" python3 -c "import struct,sys; d=open('$tmp/cggrid.png','rb').read(); w,h=struct.unpack('>II',d[16:24]); sys.exit(0 if w==h else 1)"
$RUN sample --model "$tmp/cgan.fsm" --n 20 --idx "$tmp/cg.idx" --labels "$tmp/cg.lab" >"$tmp/out" 2>"$tmp/err"
if [[ $(od -An -tu1 -v -w20 -j8 "$tmp/cg.lab" | tr -s ' ' | sed 's/^ //') == "0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9" ]]; then ok "a conditional GAN's samples carry labels i mod 10"; else not_ok "conditional GAN labels"; fi
check "eval of a conditional GAN reports label agreement and true-label CAS" bash -c "$RUN eval --model '$tmp/cgan.fsm' --n 64 --evaluator '$tmp/ev.fsm' --data '$tmp/data' --cas-epochs 1 --json | grep -Eq '\"label_agreement\": [01]\.[0-9]{4}, \"cas\": \{\"accuracy\": [0-9.]+, \"labels\": \"true\"'"
# fedsyn's recipe: two halves equal one run with G's average too, and samplers draw from the average
$RUN train --model cgan:8 --data "$tmp/data" --batch 16 --iters 5 --epochs 2 --out "$tmp/rg.fsm" --quiet 2>"$tmp/err" &&
    $RUN train --model cgan:8 --data "$tmp/data" --batch 16 --iters 5 --epochs 1 --out "$tmp/rgh.fsm" --quiet 2>"$tmp/err" &&
    $RUN train --model cgan:8 --data "$tmp/data" --batch 16 --iters 5 --resume "$tmp/rgh.fsm" --to-epoch 2 --out "$tmp/rgh.fsm" --quiet 2>"$tmp/err"
if cmp -s "$tmp/rg.fsm" "$tmp/rgh.fsm" && grep -aq "g_norm=pixel .*ema=0.999 ema_steps=10" "$tmp/rg.fsm"; then ok "a cgan's two halves equal one run, its average included"; else not_ok "cgan resume"; fi
check "sample from a cgan (its average) writes labelled images" $RUN sample --model "$tmp/rg.fsm" --n 20 --idx "$tmp/rg.idx" --labels "$tmp/rg.lab"
fails_with_text "train --init is refused without --model cdcgan" "give it with --model cdcgan" $RUN train --init "$tmp/gan.fsm" --data "$tmp/data"
fails_with_text "a conditional run refuses to resume an unconditional file, naming both" "model cdcgan:8, but .*gan.fsm was trained with dcgan:8" $RUN train --model cdcgan:8 --data "$tmp/data" --batch 16 --iters 1 --resume "$tmp/gan.fsm" --out "$tmp/x.fsm"
# --resume alone takes the run's settings from the checkpoint (model, batch, iterations)
$RUN train --model cgan:8 --data "$tmp/data" --batch 16 --iters 5 --epochs 1 --out "$tmp/rg3.fsm" --quiet 2>"$tmp/err" &&
    $RUN train --data "$tmp/data" --resume "$tmp/rg3.fsm" --to-epoch 2 --out "$tmp/rg3.fsm" --quiet 2>"$tmp/err"
if cmp -s "$tmp/rg.fsm" "$tmp/rg3.fsm"; then ok "--resume alone goes on with the checkpoint's model, batch and iterations: equal to one run"; else not_ok "--resume alone"; fi
# netcfg check times a few local iterations against the round's deadline
FEDSYN_ABS=$(cd "$(dirname "$FEDSYN")" && pwd)/$(basename "$FEDSYN")
FEDSYN=$FEDSYN_ABS bash "$(dirname "$0")/../../scripts/federation.sh" init "$tmp/fd" --nodes 2 \
    --data "$tmp/data" --model cgan:8 --rounds 1 --local-iters 100000 --batch 16 \
    --timeout-ms 1000 --port 7990 >"$tmp/out" 2>"$tmp/err" || cat "$tmp/err"
check "netcfg check warns when local training cannot meet the round's deadline" \
    bash -c "cd $tmp/fd && ${FEDSYN_WRAP:-} $FEDSYN_ABS netcfg check alice.zpl 2>&1 |
             grep -q 'warning: local training of 100000 iterations .* will come too late'"
# exit codes as the README gives them: 2 for a file of the wrong kind, 1 for one
# that is not a fedsyn file at all
printf 'hello' >"$tmp/notmodel.fsm"
$RUN sample --model "$tmp/ev.fsm" --n 4 --grid "$tmp/x.png" >/dev/null 2>&1; rc_kind=$?
$RUN sample --model "$tmp/notmodel.fsm" --n 4 --grid "$tmp/x.png" >/dev/null 2>&1; rc_bytes=$?
$RUN sample --bogus >/dev/null 2>&1; rc_opt=$?
if [[ $rc_kind == 2 && $rc_bytes == 1 && $rc_opt == 2 ]]; then ok "exit codes: 2 for a classifier given as a generator and for an unknown option, 1 for a file that is no model"
else not_ok "exit codes (kind $rc_kind, bytes $rc_bytes, option $rc_opt)"; fi
fails_with_text "a resumed run refuses another batch, naming both" "batch 32, but .*rg3.fsm was trained with 16" $RUN train --data "$tmp/data" --resume "$tmp/rg3.fsm" --batch 32 --to-epoch 3 --out "$tmp/x.fsm"
fails_with_text "sample refuses a temperature out of range, naming it" "temperature '9': expected a number from 0.001 to 4" $RUN sample --model "$tmp/gan.fsm" --grid "$tmp/x.png" --temperature 9
fails_with_text "eval refuses --temperature with --samples" "applies to --model only" $RUN eval --samples "$tmp/s.idx" --temperature 0.5
check "eval --temperature records it, and the evaluator's hash, in the JSON" bash -c "$RUN eval --model '$tmp/gan.fsm' --n 64 --evaluator '$tmp/ev.fsm' --data '$tmp/data' --temperature 0.5 --json | grep -Eq '\"evaluator_model_hash\": \"[0-9a-f]{64}\", \"temperature\": 0.5,'"
head -c 1000 "$tmp/gan.fsm" > "$tmp/cut.fsm"
$RUN sample --model "$tmp/cut.fsm" --grid "$tmp/x.png" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -ne 0 ]] && grep -q "cut.fsm.*truncated" "$tmp/err"; then ok "truncated model file refused, named"; else not_ok "truncated model (rc $rc)"; fi
# netcfg provision: a description's mistakes are named by file and line
$RUN keygen --dir "$tmp/pv/a" >/dev/null 2>&1
$RUN keygen --dir "$tmp/pv/b" >/dev/null 2>&1
printf 'federation\n    model = cgan:8\n    quorum = two\nsite\n    name = a\n    endpoint = tcp://a:1\n    identity = a/identity.pub\n' \
    > "$tmp/pv/bad.zpl"
$RUN netcfg provision "$tmp/pv/bad.zpl" --key "$tmp/pv/a" --out "$tmp/pv/kit" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc == 2 ]] && grep -q "bad.zpl:3: quorum = 'two': expected a number" "$tmp/err" && [[ ! -e $tmp/pv/kit ]]; then
    ok "netcfg provision names a description's bad line (exit 2) and writes nothing"
else not_ok "netcfg provision with a bad line (rc $rc)"; fi
printf 'site\n    name = b\n    endpoint = tcp://b:1\n    identity = b/identity.pub\n' > "$tmp/pv/nofounder.zpl"
fails_with_text "netcfg provision refuses a founder that is not one of the sites" \
    "the founder's key (a) is not one of the sites" \
    $RUN netcfg provision "$tmp/pv/nofounder.zpl" --key "$tmp/pv/a" --out "$tmp/pv/kit"
printf 'site\n    name = a\n    endpoint = tcp://a:1\n    identity = a/identity.pub\nsite\n    name = b\n    endpoint = tcp://b:1\n    identity = b/identity.pub\n' \
    > "$tmp/pv/good.zpl"
$RUN netcfg provision "$tmp/pv/good.zpl" --key "$tmp/pv/a" --out "$tmp/pv/kit2" >/dev/null 2>&1
ino=$(stat -c %i "$tmp/pv/kit2/b.zpl")  # an atomic rewrite would change it
check "netcfg provision refuses a folder that holds a federation, changing nothing" \
    bash -c "! $RUN netcfg provision $tmp/pv/good.zpl --key $tmp/pv/a --out $tmp/pv/kit2 \
               2> $tmp/pv/again.err && grep -q 'kit2/genesis.fsl exists' $tmp/pv/again.err &&
             [[ \$(stat -c %i $tmp/pv/kit2/b.zpl) == $ino ]]"
printf 'federation\n    model = cgan:8\n    dp-sgd = 1\n    record-eps = 8\nsite\n    name = a\n    endpoint = tcp://a:1\n    identity = a/identity.pub\nsite\n    name = b\n    endpoint = tcp://b:1\n    identity = b/identity.pub\n' \
    > "$tmp/pv/dp.zpl"
check "netcfg provision founds a federation with record-level DP (dp-sgd, record-eps)" \
    bash -c "$RUN netcfg provision $tmp/pv/dp.zpl --key $tmp/pv/a --out $tmp/pv/kit3 >/dev/null 2>&1 &&
             $RUN ledger show $tmp/pv/kit3/genesis.fsl | grep -q 'clip 1 per record; budget epsilon 8 per record'"
check "privacy --mechanism dp-sgd: the published figure (q 256/60000, sigma 1.1, 60 epochs: eps 3.01 classic) in JSON" \
    bash -c "$RUN privacy --mechanism dp-sgd --sample-rate 0.0042666666666666667 --noise-multiplier 1.1 \
             --steps 14062 --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert abs(d[\"epsilon_classic\"] - 3.01) < 0.02 and d[\"epsilon\"] < d[\"epsilon_classic\"], d'"
# DP-SGD on D (issue 21): epsilon as the accountant computes it for the
# steps taken, resumed runs keep the settings and count every step
check "train --dp-sgd prints the epsilon of its steps, the accountant's figure" \
    bash -c "$RUN train --model cgan:8 --data $tmp/data --batch 16 --iters 3 --epochs 2 --dp-sgd 1 \
               --noise-multiplier 1.2 --out $tmp/dp.fsm --quiet > $tmp/dp.out 2> $tmp/dp.err &&
             grep -q 'DP-SGD on D: clip 1, noise multiplier 1.2, sampling rate 0.04 ' $tmp/dp.err &&
             want=\$($RUN privacy --mechanism dp-sgd --sample-rate 0.04 --noise-multiplier 1.2 --steps 6 --json |
                    /usr/bin/python3 -c 'import json,sys; print(\"%.4g\" % json.load(sys.stdin)[\"epsilon\"])') &&
             grep -q \"6 steps at sampling rate 0.04, noise multiplier 1.2, clip 1: (epsilon \$want, delta 1e-05)\" $tmp/dp.out"
check "train --dp-sgd --resume keeps the run's DP settings and counts the earlier steps" \
    bash -c "$RUN train --data $tmp/data --resume $tmp/dp.fsm --epochs 1 --out $tmp/dp.fsm --quiet \
               > $tmp/dp2.out 2>/dev/null && grep -q '9 steps at sampling rate 0.04, noise multiplier 1.2, clip 1' $tmp/dp2.out"
check "train --dp-sgd --target-eps solves the noise multiplier for the planned steps" \
    bash -c "$RUN train --model cgan:8 --data $tmp/data --batch 16 --iters 3 --dp-sgd 0.5 --target-eps 4 \
               --out $tmp/dpt.fsm --quiet > $tmp/dpt.out 2>/dev/null &&
             grep -q '(epsilon 4, delta 1e-05)' $tmp/dpt.out"
check "eval --membership: the discriminator's membership AUC on training against test images, in JSON" \
    bash -c "$RUN eval --model $tmp/dp.fsm --membership --n 50 --data $tmp/data --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"members\"] == 50 and d[\"non_members\"] == 50 and 0 <= d[\"auc\"] <= 1, d'"
$RUN eval --model "$tmp/cvae.fsm" --membership --data "$tmp/data" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -ne 0 ]] && grep -q "attacks a GAN's discriminator" "$tmp/err"; then ok "eval --membership on a CVAE file: refused, says what it takes"; else not_ok "eval --membership cvae (rc $rc)"; fi
$RUN train --data "$tmp/data" --resume "$tmp/gan.fsm" --dp-sgd 1 --noise-multiplier 1 --out "$tmp/x.fsm" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 2 ]] && grep -q "trained without DP-SGD, so its steps so far have no guarantee" "$tmp/err"; then ok "--dp-sgd on resuming a run trained without it: exit 2, says why"; else not_ok "--dp-sgd resume of a plain run (rc $rc)"; fi
$RUN train --model cvae --data "$tmp/data" --dp-sgd 1 --noise-multiplier 1 --out "$tmp/x.fsm" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 2 ]] && grep -q "CVAE has none" "$tmp/err"; then ok "--dp-sgd on a CVAE: exit 2, says why"; else not_ok "--dp-sgd cvae (rc $rc)"; fi
exit $((fails > 0))
