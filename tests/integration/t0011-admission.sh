#!/usr/bin/env bash
# t0011-admission.sh - membership by the members' vote (issue 19 item 2):
# three founders run a federation that admits by vote; dave, an institution
# on no list and in nobody's configuration, starts with the federation id
# and one bootstrap peer and is refused at the handshake; alice proposes
# his admission (`fedsyn member propose`), bob signs it (`member sign`),
# the next block records it with their signatures, every authenticator
# follows the ledger, dave connects, syncs, joins and contributes.  Then
# the four remove dave (three signatures of four), his key is taken out of
# the others' authenticators, his node stops saying why, and a restart of
# it stops again.  The ledgers are one history, valid for fedsyn and for
# the PyNaCl verifier.  Last, a damaged witness/acceptor file stops a node
# at start, naming it.  Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
FEDSYN=$(cd "$(dirname "$FEDSYN")" && pwd)/$(basename "$FEDSYN")
export FEDSYN
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FED="$ROOT/scripts/federation.sh"
S=${FEDSYN_TEST_SLOW:-1}
S=$(( S > 4 ? S / 4 : 1 ))
export OPENBLAS_NUM_THREADS=1 FEDSYN_LOG_EVERY=0
tmp=$(mktemp -d /tmp/fedsyn-t0011-XXXXXX)
f=$tmp/f
trap '"$FED" stop "$f" >/dev/null 2>&1; [[ ${FEDSYN_TEST_KEEP:-0} == 1 ]] && echo "# kept $tmp" >&2 || rm -rf "$tmp"' EXIT
echo "1..15"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; local x
           for x in "${@:2}"; do sed "s|^|# $(basename "$x"): |" "$x" 2>/dev/null | tail -8; done; }
check() { local d=$1; shift; if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else not_ok "$d" "$tmp/err" "$tmp/out"; fi; }
wait_for() { local t=$1; shift; local end=$((SECONDS + t)); while ((SECONDS < end)); do "$@" && return 0; sleep 0.3; done; return 1; }

/usr/bin/python3 "$ROOT/tests/integration/bars_fixture.py" "$tmp/data" 400 1
"$FED" init "$f" --nodes 3 --newcomers 1 --data "$tmp/data" --width 4 --rounds 0 --local-iters 5 \
    --batch 16 --timeout-ms $((4000 * S)) --attempt-extra-ms 1000 --port 7900 --keep-models 2 \
    --request-window 100000 >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
cd "$f" || exit 1
check "ledger init admits by vote by default (with majority-witnessed blocks)" \
    bash -c "$FEDSYN ledger show genesis.fsl | grep -q 'admission vote'"
"$FED" start "$f" alice bob carol
wait_for $((30 * S)) grep -q ': round 2 ' logs/alice.out
"$FED" start "$f" dave
wait_for $((30 * S)) test -S state/dave/control.sock
sleep 2
check "dave (federation id and one bootstrap peer, admitted by nobody) is refused: no ledger" \
    bash -c "! [[ -s state/dave/ledger.fsl ]] &&
             $FEDSYN member pending --config dave.zpl | grep -q 'no ledger yet'"
check "a motion needs a member's node: dave's own is refused, saying why" \
    bash -c "! $FEDSYN member propose --config dave.zpl --admit keys/dave/identity.pub 2> $tmp/e &&
             grep -q 'no ledger yet' $tmp/e"
if $FEDSYN member propose --config alice.zpl --admit keys/dave/identity.pub > "$tmp/prop" 2>&1 &&
   grep -q 'admit dave, signed by 1 of the 3 active members (2 needed)' "$tmp/prop"; then
    ok "alice proposes dave's admission: 1 of the 2 signatures needed"
else not_ok "alice proposes dave's admission" "$tmp/prop"; fi
id=$(sed -n 's/^motion \([0-9a-f]*\):.*/\1/p' "$tmp/prop")
check "bob's node learnt the motion by gossip (member pending)" \
    wait_for $((10 * S)) bash -c "$FEDSYN member pending --config bob.zpl | grep -q \"motion $id  admit dave\""
check "an unknown motion id is refused, naming what to do" \
    bash -c "! $FEDSYN member sign --config carol.zpl 0000beef 2> $tmp/e && grep -q 'no pending motion has id' $tmp/e"
check "bob signs it by the first 6 digits of its id: a majority" \
    bash -c "$FEDSYN member sign --config bob.zpl ${id:0:6} | grep -q 'signed by 2 of the 3 active members'"
check "a block records the admission with its signatures" \
    wait_for $((20 * S)) bash -c "$FEDSYN ledger show state/carol/ledger.fsl | grep -q 'vote: admit dave'"
check "dave's redial now passes every authenticator: he syncs, joins and contributes" \
    wait_for $((90 * S)) bash -c "$FEDSYN ledger show state/alice/ledger.fsl | grep -q 'joined: dave' &&
        $FEDSYN ledger export --json state/alice/ledger.fsl | /usr/bin/python3 -c '
import json, sys
b = json.load(sys.stdin)[\"blocks\"][-1][\"block\"]
assert len(b[\"contributors\"]) == 4, len(b[\"contributors\"])'"
# removing dave: a majority of four is three (these rounds take tens of
# milliseconds: the window above keeps the motion valid while people sign)
$FEDSYN member propose --config alice.zpl --remove dave > "$tmp/rm" 2>&1
rid=$(sed -n 's/^motion \([0-9a-f]*\):.*/\1/p' "$tmp/rm")
wait_for $((10 * S)) bash -c "$FEDSYN member pending --config carol.zpl | grep -q \"motion $rid\"" &&
    wait_for $((10 * S)) bash -c "$FEDSYN member pending --config bob.zpl | grep -q \"motion $rid\""
$FEDSYN member sign --config bob.zpl "$rid" > "$tmp/rm2" 2>&1
check "two signatures of four are not enough: no block removes dave yet" \
    bash -c "grep -q 'signed by 2 of the 4 active members (3 needed)' $tmp/rm2 && sleep 3 &&
             ! $FEDSYN ledger show state/alice/ledger.fsl | grep -q 'vote: remove dave'"
$FEDSYN member sign --config carol.zpl "$rid" > "$tmp/rm3" 2>&1
check "carol's signature makes three: a block removes dave, and dave's node stops saying why" \
    wait_for $((30 * S)) bash -c "$FEDSYN ledger show state/alice/ledger.fsl | grep -q 'vote: remove dave' &&
        [[ -s run/dave.rc ]] && grep -q 'removed this node by their vote' logs/dave.log"
check "dave's transport key is out of every member's authenticator" \
    bash -c "sleep 2
             for m in alice bob carol; do ls state/\$m/allowed-keys/ | grep -q . || exit 1; done
             for m in alice bob carol; do grep -rl 'name = \"dave\"' state/\$m/allowed-keys/ && exit 1; done; exit 0"
"$FED" stop "$f" dave >/dev/null 2>&1 # (it stopped: this only tidies up if it did not)
"$FED" start "$f" dave
check "restarted, dave's node reads its removal in its ledger and stops again" \
    wait_for $((20 * S)) bash -c "[[ -s run/dave.rc ]] && [[ \$(grep -c 'removed this node by their vote' logs/dave.log) -ge 2 ]]"
sleep 2
"$FED" stop "$f" >/dev/null 2>&1
check "one history: fedsyn verify of the four ledgers finds no fork; the PyNaCl verifier checks the motions" \
    bash -c "$FEDSYN ledger verify state/*/ledger.fsl > $tmp/v 2>&1 && ! grep -q FORK $tmp/v &&
             [[ \$(grep -c ': valid' $tmp/v) == 4 ]] &&
             for x in alice bob carol dave; do /usr/bin/python3 $ROOT/tests/integration/verify_ledger.py state/\$x/ledger.fsl || exit 1; done"
# a damaged acceptor file (what alice promised and voted) stops her at
# start, naming it: without it she could vote twice at one height
printf 'garbage' > state/alice/witness/acceptor
"$FED" start "$f" alice
check "a damaged witness/acceptor file stops the node at start, naming it and what to do" \
    wait_for $((30 * S)) bash -c "[[ -s run/alice.rc && \$(cat run/alice.rc) != 0 ]] &&
        grep -q 'witness/acceptor is damaged: it holds what this member promised and voted' logs/alice.log"
