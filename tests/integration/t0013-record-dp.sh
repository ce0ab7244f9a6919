#!/usr/bin/env bash
# t0013-record-dp.sh - record-level DP in a running federation (issue 21
# item 3): a genesis with `--dp-sgd 1 --record-eps 4`; three members train
# their discriminators with DP-SGD, each planning its noise for a different
# number of rounds (train/dp-rounds 5, 30 and 40); every block records each
# contributor's (q, sigma, steps) and its running epsilon; each member stops
# when one more round would pass the budget and leaves, the others going
# on; the last one, with nobody left to record its leave, stops by itself.
# Both verifiers recompute every epsilon.  Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
FEDSYN=$(cd "$(dirname "$FEDSYN")" && pwd)/$(basename "$FEDSYN")
export FEDSYN
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FED="$ROOT/scripts/federation.sh"
. "$ROOT/tests/integration/harness.sh"
S=${FEDSYN_TEST_SLOW:-1}
tap_begin t0013
echo "1..10"

mkdir -p "$tmp/k"
$FEDSYN keygen --name a --dir "$tmp/k/a" >/dev/null 2>&1
refuses() { # WORD ARGS...: ledger init refuses, naming WORD
    local word=$1; shift
    ! $FEDSYN ledger init --key "$tmp/k/a" --out "$tmp/x.fsl" "$@" 2>"$tmp/e" && grep -q -- "$word" "$tmp/e"; }
check "ledger init refuses --dp-sgd without a budget, on a model without a discriminator, or without witnesses" \
    bash -c "$(declare -f refuses); FEDSYN=$FEDSYN tmp=$tmp
             refuses --record-eps --model cgan:4 --dp-sgd 1 &&
             refuses 'not a GAN' --model cvae:16 --dp-sgd 1 --record-eps 4 &&
             refuses majority --model cgan:4 --dp-sgd 1 --record-eps 4 --finality signed &&
             [[ ! -e $tmp/x.fsl ]]"

/usr/bin/python3 "$ROOT/tests/integration/bars_fixture.py" "$tmp/data" 600 1
"$FED" init "$f" --nodes 3 --data "$tmp/data" --model cgan:4 --rounds 0 --local-iters 2 \
    --batch 16 --timeout-ms $((3000 * S)) --attempt-extra-ms 500 --port 7730 \
    --groups "0,1,2/3-6/7,8,9" --noise none --dp-sgd 1 --record-eps 4 \
    >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
check "the genesis fixes the mechanism, the clip, delta and the budget per record" \
    bash -c "$FEDSYN ledger show $f/genesis.fsl | grep -q 'record-level DP: DP-SGD.*clip 1 per record; budget epsilon 4 per record at delta 1e-05'"
plan() { sed -i "s/^    log-every = 10\$/    log-every = 10\n    dp-rounds = $2/" "$f/$1.zpl"; }
plan alice 5
plan bob 30
plan carol 40
"$FED" start "$f" 2>>"$tmp/start.err"
"$FED" wait "$f" $((120 * S)) >"$tmp/wait" 2>&1
check "all three nodes stopped by themselves, exit status 0" \
    bash -c "! grep -q 'still running\|status [1-9]' $tmp/wait"
$FEDSYN ledger show "$f/state/carol/ledger.fsl" >"$tmp/show" 2>&1
check "each member trained for the rounds its noise was planned for, and its epsilon stays within 4" \
    bash -c "grep -Eq '^  alice +5 +3\\.99' $tmp/show && grep -Eq '^  bob +30 +3\\.99' $tmp/show &&
             grep -Eq '^  carol +40 +3\\.99' $tmp/show"
check "the members whose budget was spent left by request (blocks 6 and 31), the others going on" \
    bash -c "grep -A1 '^    6 ' $tmp/show | grep -q 'left: alice (requested)' &&
             grep -A1 '^   31 ' $tmp/show | grep -q 'left: bob (requested)' &&
             grep -q '^   40 .* 1/1 ' $tmp/show && ! grep -q '^   41 ' $tmp/show"
check "each said why in its log (and which labels its fakes ask for); the last one stopped when no block could record its leave" \
    bash -c "grep -q 'the fakes ask for public labels only: 3 4 5 6\$' $f/logs/bob.log &&
             grep -q 'round 6: record-level DP: my records have spent epsilon' $f/logs/alice.log &&
             grep -q 'round 31: record-level DP' $f/logs/bob.log &&
             grep -q 'no block recorded my leave' $f/logs/carol.log"
check "fedsyn ledger verify recomputes every contributor's epsilon: all valid" \
    bash -c "$FEDSYN ledger verify $f/state/*/ledger.fsl > $tmp/v 2>&1; [[ \$(grep -c ': valid' $tmp/v) == 3 ]]"
check "the PyNaCl verifier (with its own accountant) accepts every ledger" \
    bash -c "for x in alice bob carol; do /usr/bin/python3 $ROOT/tests/integration/verify_ledger.py $f/state/\$x/ledger.fsl || exit 1; done"
check "ledger export --json carries each contributor's q, sigma, steps and epsilon" \
    bash -c "$FEDSYN ledger export --json $f/state/carol/ledger.fsl | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"blocks\"][0][\"genesis\"][\"record_dp\"][\"eps_budget\"] == 4
c = d[\"blocks\"][5][\"block\"][\"contributors\"]
assert len(c) == 3 and all(x[\"record_dp\"][\"steps\"] == 2 and 0 < x[\"record_dp\"][\"eps\"] <= 4 for x in c), c
'"
# alice, whose budget is spent, started again: she neither trains nor asks
# to join, and says why
"$FED" start "$f" alice 2>>"$tmp/start.err"
sleep $((3 * S))
"$FED" stop "$f" alice >/dev/null 2>&1
check "a member whose budget is spent, restarted, says so and neither trains nor asks to join" \
    bash -c "grep -q 'this node does not train or join again' $f/logs/alice.log &&
             ! grep -q 'will ask to join' $f/logs/alice.log &&
             [[ \$($FEDSYN ledger show $f/state/alice/ledger.fsl | grep -c 'joined: alice') == 0 ]]"
