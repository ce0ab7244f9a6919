#!/usr/bin/env bash
# check-layers.sh - fails on an #include that goes up or sideways in the
# module layering (docs/layers.md; ../shared/DESIGN.md §3.1).
#
# Every source file outside tests/ belongs to the module named by its
# directory (node/main.c to "node").  A quoted include names a file from
# the repository root, so its directory is the module it depends on; that
# module must be the file's own or one listed for it in LAYERS below.  Three
# library rules ride along: only node/fed and node/cli include czmq or
# libzmq, node/nn includes neither czmq nor libsodium, and a quoted include
# always has a directory (so its layer is visible in the line itself).
# node/proto, the protocol core (issue 18), is pure: of the system headers
# only those without I/O or clocks (PURE_HEADERS), none of node/base's file
# or logging helpers, and no call of a clock, file, socket or random source
# (PURE_CALLS) - time and bytes come in as arguments, decisions go out as data.
# Prints one line per violation, file:line first, and exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."

# module: the modules it may include (besides itself), lowest layers first.
# A new directory must be added here before its files build.
LAYERS='
node/base:
crypto: node/base
node/nn: node/base
node/data: node/base
node/image: node/base
node/privacy: node/base crypto
ledger: node/base crypto
netcfg: node/base crypto ledger
node/proto: node/base crypto ledger
node/models: node/base node/nn
node/train: node/base node/nn node/models node/data node/image node/privacy
node/metrics: node/base node/nn node/models node/data node/train
node/fed: node/base crypto ledger netcfg node/nn node/data node/image node/models node/train
          node/metrics node/privacy node/proto
node/cli: node/base crypto ledger netcfg node/nn node/data node/image node/models node/train
          node/metrics node/privacy node/proto node/fed
node: node/base crypto ledger netcfg node/nn node/data node/image node/models node/train
      node/metrics node/privacy node/proto node/fed node/cli
'

PURE_HEADERS='assert.h stdbool.h stddef.h stdint.h stdlib.h string.h limits.h math.h'
PURE_BANNED_INCLUDES='node/base/fsio.h node/base/log.h'
PURE_CALLS='(fopen|fread|fwrite|fprintf|printf|puts|open|read|write|close|time|clock'
PURE_CALLS+='|clock_gettime|gettimeofday|zclock_[a-z]+|rand|random|srand|getenv'
PURE_CALLS+='|randombytes_[a-z]+|sleep|usleep|socket|identity_new|identity_load'
PURE_CALLS+='|identity_save|keyring_load_file|chain_open|chain_create|chain_append'
PURE_CALLS+='|chain_replace_head|fsio_[a-z_]+|log_[a-z_]+)'

files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h' | grep -v '^tests/' || true)
[ -n "$files" ] || { echo "check-layers: no sources found (not a git checkout?)" >&2; exit 1; }

# shellcheck disable=SC2086
printf '%s\n' "$LAYERS" | awk -v files="$files" -v pure_headers="$PURE_HEADERS" \
    -v pure_banned="$PURE_BANNED_INCLUDES" -v pure_calls="$PURE_CALLS" '
    # The layer map: continuation lines (indented) extend the module above.
    /^[^ \t].*:/ { mod = $1; sub(/:$/, "", mod); known[mod] = 1
                   for (i = 2; i <= NF; i++) allow[mod, $i] = 1; next }
    /^[ \t]+[^ \t]/ { for (i = 1; i <= NF; i++) allow[mod, $i] = 1; next }
    END {
        np = split(pure_headers, ph, " "); for (i = 1; i <= np; i++) pure_ok[ph[i]] = 1
        nb = split(pure_banned, pb, " "); for (i = 1; i <= nb; i++) pure_no[pb[i]] = 1
        n = split(files, list, "\n")
        bad = 0
        for (k = 1; k <= n; k++) {
            f = list[k]
            m = f; sub(/\/[^\/]*$/, "", m)
            if (!(m in known)) {
                printf "%s: module %s is not in the layer map (scripts/check-layers.sh)\n", f, m
                bad++
                continue
            }
            line = 0
            while ((getline text < f) > 0) {
                line++
                if (m == "node/proto") {
                    code = text; sub(/\/\/.*$/, "", code)
                    if (code ~ ("(^|[^a-z_.>])" pure_calls "[ \t]*\\(")) {
                        printf "%s:%d: node/proto calls a clock, file, socket or random source\n",
                               f, line
                        bad++
                    }
                    if (text ~ /^[ \t]*#[ \t]*include[ \t]*</) {
                        h = text; sub(/^[^<]*</, "", h); sub(/>.*$/, "", h)
                        if (!(h in pure_ok)) {
                            printf "%s:%d: node/proto includes <%s> (the core is pure)\n",
                                   f, line, h
                            bad++
                        }
                    }
                }
                if (text !~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) continue
                if (text ~ /<(czmq|zmq)\.h>/ && m != "node/fed" && m != "node/cli") {
                    printf "%s:%d: %s includes czmq/libzmq (only node/fed and node/cli may)\n",
                           f, line, m
                    bad++
                }
                if (text ~ /<(czmq|sodium)\.h>/ && m == "node/nn") {
                    printf "%s:%d: node/nn includes czmq or libsodium\n", f, line
                    bad++
                }
                if (text !~ /"/) continue
                inc = text; sub(/^[^"]*"/, "", inc); sub(/".*$/, "", inc)
                if (inc !~ /\//) {
                    printf "%s:%d: \"%s\": write includes from the repository root\n",
                           f, line, inc
                    bad++
                    continue
                }
                if (m == "node/proto" && (inc in pure_no)) {
                    printf "%s:%d: node/proto includes %s (the core touches no file)\n",
                           f, line, inc
                    bad++
                }
                d = inc; sub(/\/[^\/]*$/, "", d)
                if (d != m && !((m, d) in allow)) {
                    printf "%s:%d: %s includes %s: %s may not depend on %s\n",
                           f, line, m, inc, m, d
                    bad++
                }
            }
            close(f)
        }
        if (bad) {
            printf "check-layers: %d include(s) against the layering (docs/layers.md)\n", bad
            exit 1
        }
        printf "check-layers: %d files, includes follow the layering\n", n
    }'
