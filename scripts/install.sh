#!/usr/bin/env bash
# install.sh - what `make install` and `make uninstall` do (PREFIX, DESTDIR
# as usual); tests/integration/t0007-install.sh runs it on a test prefix.
#
#   scripts/install.sh [--uninstall]
#
# Environment: FEDSYN (the binary, default build/fedsyn), PREFIX (default
# /usr/local), DESTDIR (default empty), UNITDIR (default
# PREFIX/lib/systemd/system), VERSION (the man pages' version, default what
# `fedsyn --version` prints).
#
# Installs the binary; a man page per command, made by help2man from each
# --help text so the pages cannot drift from the program; the evaluators;
# an example site configuration; the systemd unit of a node, with the
# installed paths written into these two (docs/operations.md); and the
# plotting scripts an operator reads a node's files with (share/fedsyn/
# scripts: round-history.py, quality-plot.py and the plotlib.py they share).
set -euo pipefail
cd "$(dirname "$0")/.."
FEDSYN=${FEDSYN:-build/fedsyn}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
BINDIR=$PREFIX/bin
MANDIR=$PREFIX/share/man/man1
DATADIR=$PREFIX/share/fedsyn
COMMANDS=(train fedsim sample eval keygen ledger node status member netcfg privacy evaluator version)
die() { echo "install: error: $*" >&2; exit 1; }

if [[ ${1:-} == --uninstall ]]; then
    rm -f "$DESTDIR$BINDIR/fedsyn" "$DESTDIR$MANDIR/fedsyn.1" "$DESTDIR$UNITDIR/fedsyn-node@.service"
    for c in "${COMMANDS[@]}"; do
        rm -f "$DESTDIR$MANDIR/fedsyn-$c.1"
    done
    rm -rf "$DESTDIR$DATADIR"
    echo "install: removed fedsyn from $DESTDIR$PREFIX"
    exit 0
fi
[[ $# -eq 0 ]] || die "unknown argument '$1' (expected nothing or --uninstall)"
[[ -x $FEDSYN ]] || die "no binary at $FEDSYN: run 'make' first"
command -v help2man >/dev/null || die "help2man is missing (it writes the man pages): run 'make deps'"
VERSION=${VERSION:-$("$FEDSYN" --version | awk 'NR == 1 { print $2 }')}

stage=$(mktemp -d "${TMPDIR:-/tmp}/fedsyn-install-XXXXXX")
trap 'rm -rf "$stage"' EXIT
help2man --no-info --version-string="$VERSION" \
    --name="peer-to-peer federation node for synthetic-data generators" \
    --output="$stage/fedsyn.1" "$FEDSYN"
for c in "${COMMANDS[@]}"; do
    summary=$("$FEDSYN" --help | awk -v c="$c" '$1 == c { $1 = ""; sub(/^ +/, ""); print }')
    [[ -n $summary ]] || die "'$c' is not in fedsyn --help's list of commands"
    help2man --no-info --version-string="$VERSION" --name="$summary" \
        --output="$stage/raw.1" "$FEDSYN $c"
    # the page's title is the command's: FEDSYN-NODE(1), not FEDSYN(1)
    sed "s/^\\.TH FEDSYN /.TH FEDSYN-${c^^} /" "$stage/raw.1" > "$stage/fedsyn-$c.1"
done
rm -f "$stage/raw.1"
sed "s|@DATADIR@|$DATADIR|g" scripts/install/site.zpl.in > "$stage/site.zpl"
sed "s|@BINDIR@|$BINDIR|g" scripts/install/fedsyn-node@.service.in > "$stage/fedsyn-node@.service"

install -d "$DESTDIR$BINDIR" "$DESTDIR$MANDIR" "$DESTDIR$DATADIR/evaluators" \
    "$DESTDIR$DATADIR/examples" "$DESTDIR$DATADIR/scripts" "$DESTDIR$UNITDIR"
install -m 0755 "$FEDSYN" "$DESTDIR$BINDIR/fedsyn"
install -m 0644 "$stage"/*.1 "$DESTDIR$MANDIR/"
install -m 0644 evaluators/mnist.fsm evaluators/fashion.fsm "$DESTDIR$DATADIR/evaluators/"
install -m 0644 "$stage/site.zpl" "$DESTDIR$DATADIR/examples/"
install -m 0755 scripts/round-history.py scripts/quality-plot.py "$DESTDIR$DATADIR/scripts/"
install -m 0644 scripts/plotlib.py "$DESTDIR$DATADIR/scripts/"
install -m 0644 "$stage/fedsyn-node@.service" "$DESTDIR$UNITDIR/"
echo "install: fedsyn $VERSION under $DESTDIR$PREFIX (binary, $(( ${#COMMANDS[@]} + 1 )) man pages," \
     "evaluators, examples/site.zpl, fedsyn-node@.service, scripts/); next: docs/operations.md"
