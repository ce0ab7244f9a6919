#!/usr/bin/env python3
"""round-history.py - a federation's per-round history: a table and a PNG.

Reads the JSON-lines logs that `fedsyn node` writes with node/log-json (one
"round" record per block the node appends, one "quality" record per score
with quality/score-every) and prints, per round: the aggregator and its
attempt, contributors of expected, how the round closed, the seconds from
the round's start to its block, members joined and left, the running
epsilon where the federation claims one, and the quality of the global
model where a node scored it (FID against the test set, label agreement,
classes drawn). With --out it also draws the history as a PNG: seconds to
close and contributors per round for each node, then the quality panels.

The ledger is the record of what was agreed (`fedsyn ledger show` prints the
same rounds from it, every node's alike); the logs add what each node saw
(its seconds) and its own scores, which are not ledger claims.

usage: scripts/round-history.py [--out PNG] [--title TEXT] [--csv] LOG [LOG...]
example: scripts/round-history.py runs/demo/state/*/log.jsonl --out history.png
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plotlib import COLORS, figure, read_jsonl  # noqa: E402

PROG = "round-history"


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def read_log(path):
    """(node, {round: round record}, {round: quality record}) of one log; a
    round appended twice (a restart replays nothing, but a resync may print
    a block again) keeps its last record."""
    rounds, scores, node = {}, {}, None
    for rec in read_jsonl(path, PROG):
        event = rec.get("event")
        if event not in ("round", "quality") or not number(rec.get("round")):
            continue
        node = node or rec.get("node")
        (rounds if event == "round" else scores)[int(rec["round"])] = rec
    return node, rounds, scores


def cell(v, form, scale=1):
    return form % (v * scale) if number(v) else "-"


def main():
    ap = argparse.ArgumentParser(
        description="Prints a federation's per-round history (aggregator, contributors, how "
                    "and when each round closed, privacy spent, the scored quality) from the "
                    "JSON-lines logs of its nodes (node/log-json), and draws it as a PNG.",
        epilog="example: scripts/round-history.py runs/demo/state/*/log.jsonl "
               "--out history.png")
    ap.add_argument("logs", nargs="+", metavar="LOG", help="node/log-json files, one per node")
    ap.add_argument("--out", help="also draw the history into this PNG")
    ap.add_argument("--title", default="", help="a title above the panels")
    ap.add_argument("--csv", action="store_true", help="the table as CSV instead of columns")
    args = ap.parse_args()

    nodes = []
    for path in args.logs:
        try:
            node, rounds, scores = read_log(path)
        except OSError as e:
            sys.exit("%s: %s: %s (give the file that node/log-json names)" %
                     (PROG, path, e.strerror))
        if not rounds and not scores:
            print("%s: %s: no round or quality records (is node/log-json set, and has a "
                  "round closed?)" % (PROG, path), file=sys.stderr)
        nodes.append((node or os.path.basename(path), rounds, scores))
    all_rounds = sorted(set(r for _, rounds, scores in nodes for r in list(rounds) + list(scores)))
    if not all_rounds:
        sys.exit("%s: no round records in %s" % (PROG, " ".join(args.logs)))

    head = ["round", "aggregator", "attempt", "contrib", "close", "seconds", "joined", "left",
            "eps", "FID", "agreement", "classes", "scored by"]
    rows = []
    for r in all_rounds:
        rec = next((rounds[r] for _, rounds, _ in nodes if r in rounds), {})
        by, q = next(((name, scores[r]) for name, _, scores in nodes if r in scores), ("", {}))
        secs = [rounds[r]["seconds"] for _, rounds, _ in nodes
                if r in rounds and number(rounds[r].get("seconds"))]
        rows.append([
            str(r), str(rec.get("aggregator", "-")), cell(rec.get("attempt"), "%d"),
            "%s/%s" % (cell(rec.get("contributors"), "%d"), cell(rec.get("expected"), "%d")),
            str(rec.get("close", "-")), cell(max(secs) if secs else None, "%.1f"),
            cell(rec.get("joined"), "%d"), cell(rec.get("left"), "%d"),
            cell(rec.get("eps_total"), "%.4g"), cell(q.get("fid_test"), "%.2f"),
            cell(q.get("label_agreement"), "%.1f%%", 100), cell(q.get("classes_present"), "%d"),
            by or "-"])
    if args.csv:
        print(",".join(head))
        for row in rows:
            print(",".join(row))
    else:
        width = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
        print("  ".join(h.rjust(w) if i in (0, 2, 5, 6, 7, 8, 9, 10, 11) else h.ljust(w)
                        for i, (h, w) in enumerate(zip(head, width))).rstrip())
        for row in rows:
            print("  ".join(c.rjust(w) if i in (0, 2, 5, 6, 7, 8, 9, 10, 11) else c.ljust(w)
                            for i, (c, w) in enumerate(zip(row, width))).rstrip())
    closed = [row for row in rows if row[1] != "-"]
    full = sum(1 for row in closed if row[3].split("/")[0] == row[3].split("/")[1])
    print("%s: %d rounds, %d with every expected update; %d scored" %
          (PROG, len(closed), full, sum(1 for row in rows if row[9] != "-")), file=sys.stderr)

    if args.out:
        series = [(name, [rounds[r] for r in sorted(rounds)], COLORS[i % len(COLORS)])
                  for i, (name, rounds, _) in enumerate(nodes)]
        scored = [(name, [scores[r] for r in sorted(scores)], COLORS[i % len(COLORS)])
                  for i, (name, _, scores) in enumerate(nodes)]
        expected = max([rec.get("expected", 0) for _, rs, _ in series for rec in rs
                        if number(rec.get("expected"))] or [1])
        span = (all_rounds[0], all_rounds[-1])  # every panel on the same rounds
        panels = [("seconds", "seconds from each round's start to its block",
                   dict(lo=0, xspan=span), series),
                  ("contributors", "contributors (of %d expected)" % expected,
                   dict(lo=0, hi=expected, xspan=span), series)]
        if any(scores for _, _, scores in nodes):
            panels.append(("fid_test", "FID vs test (lower is better)", dict(lo=0, xspan=span),
                           scored))
            if any(number(q.get("label_agreement")) for _, qs, _ in scored for q in qs):
                panels.append(("label_agreement", "label agreement",
                               dict(lo=0, hi=100, percent=True, xspan=span), scored))
        w, h = figure(args.out, args.title, series, panels, "round")
        print("%s: wrote %s (%d x %d)" % (PROG, args.out, w, h), file=sys.stderr)


if __name__ == "__main__":
    main()
