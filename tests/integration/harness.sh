# harness.sh - what a federation integration test shares (sourced, not run):
# a scratch folder, the federation's stop at exit, and TAP's ok / not ok.
#
#   tap_begin NAME   tmp=/tmp/fedsyn-NAME-XXXXXX, f=$tmp/f, counters; at exit
#                    the federation in $f is stopped, tap_cleanup_hook run
#                    when the test defines it, and $tmp removed (kept, and
#                    said so, when FEDSYN_TEST_KEEP=1 and a test failed)
#   ok TEXT          ok N - TEXT
#   not_ok TEXT [FILE...]  not ok N - TEXT, then the last lines of each FILE
#   check TEXT CMD...      ok when CMD succeeds, else not ok with its output
# The caller sets FED (scripts/federation.sh) first.

tap_begin() {
    tmp=$(mktemp -d "/tmp/fedsyn-$1-XXXXXX")
    f=$tmp/f
    n=0
    fails=0
    trap tap_cleanup EXIT
}

tap_cleanup() {
    [[ -d $f/run ]] && "$FED" stop "$f" >/dev/null 2>&1
    declare -F tap_cleanup_hook >/dev/null && tap_cleanup_hook
    if [[ ${FEDSYN_TEST_KEEP:-0} == 1 ]] && ((fails > 0)); then
        echo "# kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}

ok() { n=$((n + 1)); echo "ok $n - $1"; }

not_ok() {
    n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"
    local x
    for x in "${@:2}"; do sed "s|^|# $(basename "$x"): |" "$x" 2>/dev/null | tail -8; done
}

check() {
    local d=$1; shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$d"; else not_ok "$d" "$tmp/err" "$tmp/out"; fi
}
