#!/usr/bin/env bash
# t0010-partition.sh - majority-witnessed blocks under a real partition
# (issue 19 items 1 and 8): five nodes, each in its own network namespace
# with its own address on a shared bridge (10.99.0.0/24, not loopback),
# quorum 1 (the setting in which a federation without witnesses forked for
# good), `--finality majority`.  The link is split 2 | 3 for a while: the
# three finalize blocks and evict the two, the two finalize nothing, and a
# newcomer that starts on the majority's side is admitted; then the split
# heals; then one node is cut off alone and comes back; then one link fails
# one way (a partition that is not transitive); then an aggregator is cut
# off right after it proposes.  Every ledger must be one
# history (each a prefix of the longest, no fork), valid for fedsyn and for
# the independent PyNaCl verifier.  The figures (blocks on each side,
# seconds to converge) are printed as TAP comments
# (FEDSYN_T0010_FINALITY=signed runs the same steps without witnesses, to
# see the fork it prevents).  Needs root and `ip netns`; skips with the
# reason otherwise.  Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
FEDSYN=$(cd "$(dirname "$FEDSYN")" && pwd)/$(basename "$FEDSYN")
export FEDSYN
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FED="$ROOT/scripts/federation.sh"
. "$ROOT/tests/integration/netns.sh"
S=${FEDSYN_TEST_SLOW:-1}
PLAN=13
echo "1..$PLAN"
skip_all() { for i in $(seq 1 $PLAN); do echo "ok $i # skip $1"; done; exit 0; }
[[ $(id -u) == 0 ]] || skip_all "needs root for network namespaces"
command -v ip >/dev/null || skip_all "no ip command (iproute2)"
tag=fs10$$
names=(alice bob carol dave erin frank) # frank: a spare on the allow-list, joins during the split
founders=(alice bob carol dave erin)
. "$ROOT/tests/integration/harness.sh"
tap_cleanup_hook() { netns_delete "${names[@]}"; }
tap_begin t0010
height() { ledger_height "$1"; }

# the network: two bridges in a switch namespace (br1 is the far side of a
# split), one veth per node; a kernel without them skips, saying so
netns_create "${names[@]}"
# alice and bob to the far bridge: they hear each other, not the others
split() { if (($#)); then netns_split "$@"; else netns_split 1 2; fi; }
heal() { netns_heal 6; }

# five founders made by the launcher; each configuration then names the
# nodes' own addresses, and each node runs in its namespace (FEDSYN_WRAP)
/usr/bin/python3 "$ROOT/tests/integration/bars_fixture.py" "$tmp/data" 500 1
"$FED" init "$f" --nodes 5 --spares 1 --data "$tmp/data" --width 4 --rounds 0 --local-iters 1 --batch 16 \
    --timeout-ms $((2000 * S)) --attempt-extra-ms 500 --inactive-after 3 --quorum 1 \
    --port 7800 --finality "${FEDSYN_T0010_FINALITY:-majority}" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
netns_readdress 7800 6
netns_wrapper "$tmp/wrap"
# frank's one bootstrap peer is carol (alice will be cut off when he starts)
sed -i -e "s|tcp://10.99.0.1:7800|tcp://10.99.0.3:7802|" -e "s|keys/alice/identity.pub|keys/carol/identity.pub|" \
    "$f/frank.zpl"
FEDSYN_WRAP=$tmp/wrap "$FED" start "$f"

if wait_height 3 $((60 * S)) "${founders[@]}"; then ok "five nodes in five namespaces finalize 3 rounds"
else not_ok "five nodes in five namespaces finalize 3 rounds" "$f/logs/alice.log" "$f/logs/carol.log"; fi

# 2 | 3: the minority may finish the block already witnessed, then nothing
split
sleep $((3 * S))
minority_at=$(height alice); bob_at=$(height bob); majority_at=$(height carol)
t_split=$SECONDS
FEDSYN_WRAP=$tmp/wrap "$FED" start "$f" frank # a join during the partition
wait_height $((majority_at + 6)) $((60 * S)) carol dave erin
sleep $((2 * S))
majority_end=$(height carol)
echo "# partition 2 | 3: alice and bob at $minority_at and $bob_at blocks, then $(height alice) and $(height bob);" \
     "carol from $majority_at to $majority_end in $((SECONDS - t_split)) s"
if (( majority_end >= majority_at + 6 )); then ok "the majority side finalizes blocks through the partition ($((majority_end - majority_at)) blocks)"
else not_ok "the majority side finalizes blocks through the partition" "$f/logs/carol.log"; fi
if (( $(height alice) == minority_at && $(height bob) == bob_at )); then ok "the minority side finalizes nothing"
else not_ok "the minority side finalizes nothing ($minority_at -> $(height alice))" "$f/logs/alice.log"; fi
check "fedsyn status on the minority side says it waits for witnesses (votes below the majority)" \
    bash -c "cd $f && ip netns exec ${tag}alice $FEDSYN status --config alice.zpl --json |
             /usr/bin/python3 -c 'import json, sys; w = json.load(sys.stdin)[\"witnesses\"]; print(w)
assert w[\"voters\"] == 5 and w[\"needed\"] == 3 and w[\"votes\"] < 3, w' &&
             ip netns exec ${tag}alice $FEDSYN status --config alice.zpl | grep -q 'witnesses.*waiting'"
check "the majority evicted the two it no longer hears (a majority block)" \
    bash -c "$FEDSYN ledger show $f/state/carol/ledger.fsl > $tmp/show &&
             grep -q 'left: alice (inactive)' $tmp/show && grep -q 'left: bob (inactive)' $tmp/show"
wait_for_join() { local end=$((SECONDS + $1)); while ((SECONDS < end)); do
    $FEDSYN ledger show "$f/state/carol/ledger.fsl" 2>/dev/null | grep -q 'joined: frank' && return 0
    sleep 0.5; done; return 1; }
if wait_for_join $((40 * S)); then ok "a newcomer joining during the partition is admitted by the majority"
else not_ok "a newcomer joining during the partition is admitted by the majority" "$f/logs/frank.log"; fi

# heal: the two adopt the majority's chain by sync, and ask to join again
heal
t_heal=$SECONDS
target=$(height carol)
if wait_height "$target" $((60 * S)) alice bob; then
    ok "after the heal the cut-off nodes adopt the majority's chain ($((SECONDS - t_heal)) s to height $target)"
else
    not_ok "after the heal the cut-off nodes adopt the majority's chain" "$f/logs/alice.log"
fi
echo "# heal: alice and bob reached carol's $target blocks in $((SECONDS - t_heal)) s"

# 1 | 5: erin alone finalizes nothing, then catches up
sleep $((3 * S))
split 5
sleep $((3 * S))
erin_at=$(height erin); others_at=$(height carol); t_iso=$SECONDS
wait_height $((others_at + 4)) $((60 * S)) carol dave
sleep $((1 * S))
erin_then=$(height erin)
echo "# isolation 1 | 5: erin at $erin_at then $erin_then blocks; carol from $others_at to $(height carol) in $((SECONDS - t_iso)) s"
heal
t_heal=$SECONDS
target=$(height carol)
if (( erin_then == erin_at )) && wait_height "$target" $((60 * S)) erin; then
    ok "a node isolated alone finalizes nothing, then catches up ($((SECONDS - t_heal)) s)"
else
    not_ok "a node isolated alone finalizes nothing, then catches up ($erin_at -> $erin_then)" "$f/logs/erin.log"
fi

# a link that fails one way: alice's packets to carol vanish (a blackhole
# route in alice's namespace; over TCP their connection then fails both
# ways), every other link works: a partition that is not transitive
ip netns exec "${tag}alice" ip route add blackhole 10.99.0.3/32
a_at=$(height alice); c_at=$(height carol); t_cut=$SECONDS
wait_height $((c_at + 6)) $((60 * S)) alice carol dave
echo "# one-way link alice -> carol down: alice from $a_at to $(height alice), carol from $c_at to" \
     "$(height carol) in $((SECONDS - t_cut)) s"
if (( $(height alice) >= a_at + 6 && $(height carol) >= c_at + 6 )); then
    ok "with the link alice -> carol down both go on finalizing blocks (through the others)"
else
    not_ok "with the link alice -> carol down both go on finalizing blocks" "$f/logs/alice.log" "$f/logs/carol.log"
fi
ip netns exec "${tag}alice" ip route del blackhole 10.99.0.3/32
sleep $((4 * S))

# an aggregator cut off right after it proposes: watch the founders' logs
# for a new proposal and move its author to the far bridge at once; the
# four others must go on (its block is final if their votes reached it
# first, else a later attempt's aggregator proposes again what a majority
# may have chosen), the cut-off one finalizes nothing more, and after the
# heal it adopts the one history
proposals() { local x c=""; for x in "${founders[@]}"; do
    c+="$(grep -c 'block proposed at attempt' "$f/logs/$x.log" 2>/dev/null) "; done; echo "$c"; }
victim=""
base=($(proposals))
end=$((SECONDS + 30 * S))
while [[ -z $victim ]] && ((SECONDS < end)); do
    now=($(proposals))
    for k in 0 1 2 3 4; do
        if (( now[k] > base[k] )); then victim=$k; break; fi
    done
    [[ -z $victim ]] && sleep 0.02
done
if [[ -n $victim ]]; then
    vname=${founders[$victim]}
    split $((victim + 1))
    t_cut=$SECONDS
    others=(); for x in "${founders[@]}"; do [[ $x == "$vname" ]] || others+=("$x"); done
    v_at=$(height "$vname"); o_at=$(height "${others[0]}")
    wait_height $((o_at + 4)) $((60 * S)) "${others[@]}"
    sleep $((1 * S))
    v_then=$(height "$vname")
    # whose block is the one the victim proposed, once the four decided its height
    pb=$($FEDSYN ledger show "$f/state/${others[0]}/ledger.fsl" 2>/dev/null |
         awk -v h="$v_at" '$1 == h { print $3 }')
    echo "# $vname cut off right after proposing block $v_at: it went from $v_at to $v_then blocks" \
         "(its ledger's records); the four from $o_at to $(height "${others[0]}") in" \
         "$((SECONDS - t_cut)) s, their block $v_at made by ${pb:-?}"
    heal
    target=$(height "${others[0]}")
    if (( v_then <= v_at + 1 && $(height "${others[0]}") >= o_at + 4 )) &&
       wait_height "$target" $((60 * S)) "$vname"; then
        ok "an aggregator cut off right after proposing: the four go on, it finalizes nothing more, then catches up"
    else
        not_ok "an aggregator cut off right after proposing ($vname: $v_at -> $v_then)" "$f/logs/$vname.log"
    fi
else
    not_ok "an aggregator cut off right after proposing (no proposal seen in 30 s)"
fi
sleep $((2 * S))
"$FED" stop "$f" >/dev/null 2>&1
check "every ledger is one history: fedsyn verify of all six finds no fork" \
    bash -c "$FEDSYN ledger verify $f/state/*/ledger.fsl > $tmp/v 2>&1; ! grep -q FORK $tmp/v &&
             [[ \$(grep -c ': valid' $tmp/v) == 6 ]]"
check "the PyNaCl verifier accepts every ledger (each commit a majority's witnesses)" \
    bash -c "for x in ${names[*]}; do /usr/bin/python3 $ROOT/tests/integration/verify_ledger.py $f/state/\$x/ledger.fsl || exit 1; done"
check "no node logged a refused final block; the two evicted asked to join again and were admitted" \
    bash -c "! grep -h 'differs from our final one' $f/logs/*.log &&
             $FEDSYN ledger show $f/state/carol/ledger.fsl > $tmp/show &&
             grep -q 'joined: alice' $tmp/show && grep -q 'joined: bob' $tmp/show"
