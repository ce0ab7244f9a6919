#!/usr/bin/env bash
# t0007-install.sh - what an operator installs (scripts/install.sh, which
# `make install` runs): the binary and its --version, a man page per
# command that man can render, the evaluators, an example site
# configuration that checks clean once its placeholders are filled, and a
# systemd unit that systemd-analyze accepts; uninstall removes it all.
# Emits TAP.
set -u
FEDSYN=${FEDSYN:-build/fedsyn}
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d /tmp/fedsyn-t0007-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$tmp/err" 2>/dev/null | tail -5; }
check() { # description, then command
    local d=$1; shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else not_ok "$d"; fi
}
skip() { n=$((n + 1)); echo "ok $n # skip $1"; }

echo "1..12"
check "--version names the version, the commit and the libraries" bash -c "
    $FEDSYN --version > $tmp/v &&
    grep -Eq '^fedsyn [0-9]+\.[0-9]+\.[0-9]+ \(commit [^)]+\)$' $tmp/v &&
    grep -q 'libzmq [0-9]' $tmp/v && grep -q 'czmq [0-9]' $tmp/v &&
    grep -q 'libsodium [0-9]' $tmp/v && grep -q 'OpenBLAS' $tmp/v"
$FEDSYN --version --verbose >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 2 ]] && grep -q "'--verbose'" "$tmp/err"; then ok "--version with an option: exit 2, names it"; else not_ok "--version --verbose (rc $rc)"; fi

if ! command -v help2man >/dev/null; then
    for i in $(seq 3 12); do skip "help2man is missing (make deps installs it)"; done
    exit 0
fi
prefix=$tmp/prefix
check "install.sh installs into a prefix" env FEDSYN="$FEDSYN" PREFIX="$prefix" scripts/install.sh
check "the installed binary runs" bash -c "$prefix/bin/fedsyn --version | grep -q '^fedsyn '"
pages=$(ls "$prefix/share/man/man1" 2>/dev/null | wc -l)
cmds=$($FEDSYN --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { c++ } END { print c }')
if [[ $pages -eq $((cmds + 1)) ]]; then ok "a man page per command and one for fedsyn ($pages)"; else not_ok "man pages: $pages for $cmds commands"; fi
check "man renders fedsyn-node(1) with the node's options" bash -c "
    MANWIDTH=100 man -l $prefix/share/man/man1/fedsyn-node.1 2>/dev/null > $tmp/man &&
    grep -q 'FEDSYN-NODE(1)' $tmp/man && grep -q -- '--config' $tmp/man && grep -q 'fedsyn node - run' $tmp/man"
check "the evaluators and the plotting scripts are installed (they run from there)" bash -c "
    test -s $prefix/share/fedsyn/evaluators/mnist.fsm -a -s $prefix/share/fedsyn/evaluators/fashion.fsm &&
    cd / && /usr/bin/python3 $prefix/share/fedsyn/scripts/round-history.py --help | grep -q 'usage:' &&
    /usr/bin/python3 $prefix/share/fedsyn/scripts/quality-plot.py --help | grep -q 'usage:'"

# the example configuration, filled in as an operator would: it checks clean
site=$tmp/site
mkdir -p "$site/data"
$FEDSYN keygen --dir "$site/keys/alice" >/dev/null 2>&1
$FEDSYN keygen --dir "$site/keys/bob" >/dev/null 2>&1
$FEDSYN keygen --dir "$site/keys/carol" >/dev/null 2>&1
$FEDSYN ledger init --key "$site/keys/alice" --member "$site/keys/bob/identity.pub" \
    --member "$site/keys/carol/identity.pub" --model cgan:8 --out "$site/genesis.fsl" >/dev/null 2>&1
python3 - "$site/data" <<'PY'
import os, struct, sys
d = sys.argv[1]
n = 20
with open(os.path.join(d, "train-images-idx3-ubyte"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(n * 784))
with open(os.path.join(d, "train-labels-idx1-ubyte"), "wb") as f:
    f.write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
PY
sed -e "s|/etc/fedsyn/keys|$site/keys|; s|/etc/fedsyn/genesis.fsl|$site/genesis.fsl|" \
    -e "s|/var/lib/fedsyn/alice|$site/state|; s|/srv/fedsyn/data|$site/data|" \
    -e "s|tcp://\*:7100|tcp://127.0.0.1:7199|" \
    -e "s|\"fedsyn-id1 REPLACE-WITH-BOB'S-PUBLIC-LINE\"|\"$(cat "$site/keys/bob/identity.pub")\"|" \
    -e "s|\"fedsyn-id1 REPLACE-WITH-CAROL'S-PUBLIC-LINE\"|\"$(cat "$site/keys/carol/identity.pub")\"|" \
    "$prefix/share/fedsyn/examples/site.zpl" > "$site/alice.zpl"
check "the example site configuration, filled in, passes netcfg check" \
    $FEDSYN netcfg check "$site/alice.zpl"
$FEDSYN netcfg check "$prefix/share/fedsyn/examples/site.zpl" >"$tmp/out" 2>"$tmp/err"; rc=$?
if [[ $rc -eq 2 ]] && grep -q "REPLACE\|expected 'fedsyn-id1" "$tmp/err"; then
    ok "the example as shipped is refused until its peers' keys are filled in"
else
    not_ok "the example as shipped (rc $rc)"
fi

unit=$prefix/lib/systemd/system/fedsyn-node@.service
if grep -q "^ExecStart=$prefix/bin/fedsyn node --config /etc/fedsyn/%i.zpl$" "$unit" 2>/dev/null; then
    ok "the unit runs the installed binary on /etc/fedsyn/<instance>.zpl"
else
    not_ok "the unit's ExecStart"
fi
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify accepts the unit, without a warning" bash -c "
        systemd-analyze verify --man=no $unit > $tmp/sa 2>&1; rc=\$?; cat $tmp/sa >&2;
        [[ \$rc -eq 0 && ! -s $tmp/sa ]]"
else
    skip "systemd-analyze is not on this machine"
fi
env PREFIX="$prefix" scripts/install.sh --uninstall >/dev/null 2>"$tmp/err"
left=$(find "$prefix" -type f | wc -l)
if [[ $left -eq 0 ]]; then ok "uninstall removes every file it installed"; else not_ok "uninstall left $left files"; find "$prefix" -type f | sed 's/^/# /'; fi
exit $((fails > 0))
