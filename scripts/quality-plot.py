#!/usr/bin/env python3
"""quality-plot.py - the quality curve of a federation, as a PNG.

Reads the quality.jsonl files that `fedsyn node` writes with quality/score-every
(one JSON object per scored round, node/fed/quality_log.h) and draws, per round,
one panel each for FID against the test set, label agreement (conditional
models) and the classes drawn, one line per file. Python 3's standard library
only: the PNG is drawn and encoded here (zlib), so it runs on any machine that
runs the nodes. Also prints a summary line per file.

usage: scripts/quality-plot.py [--out PNG] [--title TEXT] [--label NAME]... [--log-fid]
                               FILE [FILE...]
example: scripts/quality-plot.py runs/demo/state/*/quality.jsonl --out quality.png
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plotlib import COLORS, figure, read_jsonl  # noqa: E402


def read_scores(path):
    return sorted(read_jsonl(path, "quality-plot"), key=lambda r: r.get("round", 0))


def main():
    ap = argparse.ArgumentParser(
        description="Draws the quality curve (FID against the test set, label agreement, "
                    "classes drawn, per round) of one or more quality.jsonl files written by "
                    "fedsyn node with quality/score-every; one line per file.",
        epilog="example: scripts/quality-plot.py runs/demo/state/*/quality.jsonl "
               "--out quality.png")
    ap.add_argument("files", nargs="+", metavar="FILE", help="quality.jsonl files")
    ap.add_argument("--out", default="quality.png", help="the PNG to write (default %(default)s)")
    ap.add_argument("--title", default="", help="a title above the panels")
    ap.add_argument("--label", action="append", default=[],
                    help="a name per file, in order (default: the file's folder, the node)")
    ap.add_argument("--log-fid", action="store_true", help="FID on a logarithmic axis")
    args = ap.parse_args()

    series = []
    for i, path in enumerate(args.files):
        try:
            rows = read_scores(path)
        except OSError as e:
            sys.exit("quality-plot: %s: %s" % (path, e.strerror))
        if i < len(args.label):
            label = args.label[i]
        else:
            parent = os.path.basename(os.path.dirname(os.path.abspath(path)))
            label = parent or os.path.basename(path)
        series.append((label, rows, COLORS[i % len(COLORS)]))
        if rows:
            last = rows[-1]
            fids = [r["fid_test"] for r in rows if isinstance(r.get("fid_test"), (int, float))]
            agree = last.get("label_agreement")
            print("%s: %d scores, rounds %s-%s; last: FID %s, classes %s/10, agreement %s; "
                  "best FID %s" % (
                      label, len(rows), rows[0].get("round"), last.get("round"),
                      "%.2f" % last["fid_test"] if isinstance(last.get("fid_test"), (int, float))
                      else "-", last.get("classes_present", "-"),
                      "%.1f%%" % (100 * agree) if isinstance(agree, (int, float)) else "-",
                      "%.2f" % min(fids) if fids else "-"))
        else:
            print("%s: no scores" % label)
    if not any(rows for _, rows, _ in series):
        sys.exit("quality-plot: no scores in %s" % " ".join(args.files))

    has_agreement = any(isinstance(r.get("label_agreement"), (int, float))
                        for _, rows, _ in series for r in rows)
    panels = [("fid_test", "FID vs test (lower is better)" + (", log" if args.log_fid else ""),
               dict(lo=0, log=args.log_fid))]
    if has_agreement:
        panels.append(("label_agreement", "label agreement", dict(lo=0, hi=100, percent=True)))
    panels.append(("classes_present", "classes drawn (of 10)", dict(lo=0, hi=10)))

    width, height = figure(args.out, args.title, series, panels, "round")
    print("quality-plot: wrote %s (%d x %d)" % (args.out, width, height))


if __name__ == "__main__":
    main()
