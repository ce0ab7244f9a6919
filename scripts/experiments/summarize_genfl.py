#!/usr/bin/env python3
"""summarize_genfl.py - the table of one GenFL experiment folder.

usage: scripts/experiments/summarize_genfl.py RUNDIR [RUNDIR ...] [--out DIR]

Reads RUNDIR/settings.json and every RUNDIR/DATASET-seedS-alphaA/eval.json
(fedsyn eval --json of the federation's global CVAE) and writes
results.json and table.md into RUNDIR (or DIR): per split (IID, then alpha
from large to small) and data set, the CVAE's CAS as mean +- standard
deviation over the seeds, with FID against the real test set and the
classes present, and the downstream classifier's accuracies.

Several RUNDIRs (e.g. one per seed, run on different days) are pooled into
one table written to --out; they must share the settings that shape a
figure (clients, rounds, iterations, model, scoring, downstream budget), and
no (data set, seed, split) may appear twice, and every row of a data set
must have been scored by the same evaluator.
"""
import json
import os
import re
import statistics
import sys

ROW = re.compile(r"^(mnist|fashion)-seed(\d+)-alpha(.+)$")


# The poster's Table 1 (../shared/seeds/, GenFL): downstream accuracy, mean
# and sd, per split: MNIST without, MNIST with, Fashion without, Fashion with.
POSTER_TABLE_1 = {
    "iid": ((87.08, 1.03), (93.92, 0.28), (71.35, 1.02), (78.21, 0.24)),
    "100": ((83.78, 5.32), (93.80, 0.33), (70.26, 1.93), (78.32, 0.13)),
    "10": ((81.70, 8.91), (93.85, 0.16), (70.23, 2.55), (78.00, 0.21)),
    "1": ((85.87, 2.87), (93.59, 0.26), (69.48, 2.64), (77.70, 0.21)),
    "0.1": ((41.35, 15.28), (88.24, 2.43), (56.94, 4.32), (68.96, 3.42)),
    "0.01": ((22.52, 5.24), (57.45, 6.67), (30.90, 4.90), (48.85, 8.39)),
}


def split_name(alpha):
    return "IID" if alpha == "iid" else "Dirichlet α = %s" % alpha


def split_key(alpha):
    return (0, 0) if alpha == "iid" else (1, -float(alpha))


def mean_sd(xs, scale=1.0, digits=2):
    if not xs:
        return "-"
    m = statistics.mean(xs) * scale
    if len(xs) == 1:
        return ("%." + str(digits) + "f (1 seed)") % m
    return ("%." + str(digits) + "f ± %." + str(digits) + "f") % (m, statistics.stdev(xs) * scale)


# settings that change what a figure means; runs pooled into one table must agree
SAME = ("clients", "rounds", "local_iters", "batch", "model", "eval_samples", "cas_epochs")
SAME_DOWN = ("rounds", "local_iters", "batch", "pretrain_epochs", "pretrain_samples")


def die(msg):
    print("summarize_genfl: " + msg, file=sys.stderr)
    sys.exit(1)


def load_settings(run):
    s = json.load(open(os.path.join(run, "settings.json")))
    ds_path = os.path.join(run, "downstream-settings.json")
    if os.path.exists(ds_path):
        s = dict(s, downstream=json.load(open(ds_path)))
    return s


def check_same(first, run0, other, run):
    for k in SAME:
        if first.get(k) != other.get(k):
            die("%s has %s=%r but %s has %r: these runs cannot share a table"
                % (run, k, other.get(k), run0, first.get(k)))
    a, b = first.get("downstream"), other.get("downstream")
    if a and b:
        for k in SAME_DOWN:
            if a.get(k) != b.get(k):
                die("%s's downstream has %s=%r but %s's has %r: these runs cannot share a table"
                    % (run, k, b.get(k), run0, a.get(k)))


def main():
    args = sys.argv[1:]
    out = None
    if "--out" in args:
        i = args.index("--out")
        if i + 1 >= len(args):
            die("--out needs a folder")
        out = args[i + 1]
        del args[i:i + 2]
    if not args or any(a.startswith("-") for a in args):
        print(__doc__)
        sys.exit(2)
    if len(args) > 1 and out is None:
        die("pooling %d runs needs --out DIR (where table.md and results.json go)" % len(args))
    out = out or args[0]
    settings = load_settings(args[0])
    rows = {}
    where = {}
    for run in args:
        check_same(settings, args[0], load_settings(run), run)
        s_rows(run, rows, where)
    s_table(settings, rows, out, args)


def s_rows(run, rows, where):
    for name in sorted(os.listdir(run)):
        m = ROW.match(name)
        path = os.path.join(run, name, "eval.json")
        if not m or not os.path.exists(path):
            continue
        ev = json.load(open(path))
        sec = os.path.join(run, name, "seconds")
        acc_path = os.path.join(run, name, "downstream", "acc.json")
        acc = json.load(open(acc_path)) if os.path.exists(acc_path) else {}
        key = (m.group(1), m.group(2), m.group(3))
        if key in where:
            die("%s appears in both %s and %s" % (name, where[key], run))
        where[key] = run
        rows.setdefault((m.group(3), m.group(1)), []).append({
            "seed": int(m.group(2)), "cas": ev["cas"]["accuracy"], "fid": ev["fid_test"],
            "classes": ev["coverage"]["classes_present"],
            "without": acc.get("without"), "with": acc.get("with"),
            "pretrained_only": acc.get("pretrained_only"),
            "seconds": int(open(sec).read()) if os.path.exists(sec) else None,
            "floor": ev["fid_floor_train_vs_test"],
            "evaluator_hash": ev.get("evaluator_model_hash"), "run": run})


def s_table(settings, rows, out, runs):
    if not rows:
        die("no scored rows in %s" % " ".join(runs))
    # FID from two evaluators cannot be averaged.  The real train-vs-test FID
    # every eval.json carries depends only on the evaluator (the data are
    # fixed), so a differing floor means a differing evaluator.
    for d in {k[1] for k in rows}:
        floors = {(x["floor"], x["run"]) for k, r in rows.items() if k[1] == d for x in r}
        if len({f for f, _ in floors}) > 1:
            die("%s rows were scored by different evaluators (train-vs-test FID %s): "
                "score them again with one ('fedsyn eval')" % (
                    d, ", ".join("%.4f in %s" % f for f in sorted(floors))))
        # eval.json files written since the evaluator's hash is recorded
        # name the evaluator exactly; older ones are covered by the floor
        hashes = {(x["evaluator_hash"], x["run"]) for k, r in rows.items() if k[1] == d
                  for x in r if x.get("evaluator_hash")}
        if len({h for h, _ in hashes}) > 1:
            die("%s rows were scored by different evaluators (evaluator_model_hash %s): "
                "score them again with one ('fedsyn eval')" % (
                    d, ", ".join("%s... in %s" % (h[:12], run) for h, run in sorted(hashes))))
    datasets = [d for d in ("mnist", "fashion") if any(k[1] == d for k in rows)]
    splits = sorted({k[0] for k in rows}, key=split_key)
    cols = ["CAS (%)", "FID", "classes", "classifier without pre-training (%)",
            "classifier with pre-training (%)", "pre-trained, before FL (%)"]
    head = "| split | " + " | ".join("%s %s" % (d, c) for d in datasets for c in cols) + " |"
    lines = [head, "|" + "---|" * (1 + len(cols) * len(datasets))]
    for a in splits:
        cells = [split_name(a)]
        for d in datasets:
            r = rows.get((a, d), [])
            cells.append(mean_sd([x["cas"] for x in r], 100))
            cells.append(mean_sd([x["fid"] for x in r], 1, 1))
            cells.append(mean_sd([x["classes"] for x in r], 1, 1))
            for k in ("without", "with", "pretrained_only"):
                cells.append(mean_sd([x[k] for x in r if x[k] is not None], 100))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("CVAE cvae:%s trained by FedAvg over %d clients, %d rounds x %d local iterations; "
                 "CAS: a classifier trained %d epochs on %d labelled CVAE samples, tested on the "
                 "real test set; FID in the evaluator's features." % (
                     settings["model"].split(":")[1], settings["clients"], settings["rounds"],
                     settings["local_iters"], settings["cas_epochs"], settings["eval_samples"]))
    ds = settings.get("downstream")
    if ds:
        lines.append("Downstream classifier (the evaluator's LeNet-style CNN, not the poster's "
                     "ExquisiteNetV1) trained by FedAvg over the same clients and split, %d rounds "
                     "x %d local iterations of batch %d; pre-training: %d epochs on %d labelled "
                     "samples of the federation's global CVAE, pinned as round 0's model by the "
                     "classifier federation's genesis. Accuracy on the real test set." % (
                         ds["rounds"], ds["local_iters"], ds["batch"], ds["pretrain_epochs"],
                         ds["pretrain_samples"]))
    seeds = sorted({x["seed"] for r in rows.values() for x in r})
    lines.append("Seeds pooled: %s, from %s." % (" ".join(map(str, seeds)), " ".join(runs)))
    os.makedirs(out, exist_ok=True)
    json.dump({"settings": settings, "runs": runs,
               "rows": {"%s/%s" % k: v for k, v in rows.items()}},
              open(os.path.join(out, "results.json"), "w"), indent=1)
    open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    poster = s_poster_table(rows, splits)
    open(os.path.join(out, "table-poster.md"), "w").write("\n".join(poster) + "\n")
    print()
    print("\n".join(poster))


def s_poster_table(rows, splits):
    """The poster's layout with its figures beside ours, then the paired
    effect of pre-training: the two classifier federations of one seed share
    the split, so their difference removes the split's own luck."""
    names = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
    lines = ["| split | " + " | ".join("%s %s pre-training (%%)" % (names[d], k)
                                       for d in ("mnist", "fashion")
                                       for k in ("without", "with")) + " |",
             "|---|---|---|---|---|"]
    for a in splits:
        cells = [split_name(a)]
        for i, d in enumerate(("mnist", "fashion")):
            for j, k in enumerate(("without", "with")):
                ours = mean_sd([x[k] for x in rows.get((a, d), []) if x[k] is not None], 100)
                paper = POSTER_TABLE_1.get(a)
                cells.append("**%s** (poster %s)" % (ours, "%.2f ± %.2f" % paper[2 * i + j]
                                                      if paper else "-"))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Paired effect of pre-training (with minus without, accuracy points), seed by seed:", "",
              "| split | " + " | ".join("%s: seeds %s | mean ± sd | seeds it helps" % (names[d], "/".join(
                  str(x["seed"]) for x in sorted(rows.get((splits[0], d), []),
                                                 key=lambda x: x["seed"])))
                  for d in ("mnist", "fashion")) + " |",
              "|---|---|---|---|---|---|---|"]
    for a in splits:
        cells = [split_name(a)]
        for d in ("mnist", "fashion"):
            r = sorted((x for x in rows.get((a, d), []) if x["with"] is not None
                        and x["without"] is not None), key=lambda x: x["seed"])
            diff = [100 * (x["with"] - x["without"]) for x in r]
            cells.append(" / ".join("%+.2f" % v for v in diff) or "-")
            cells.append(("%+.2f ± %.2f" % (statistics.mean(diff), statistics.stdev(diff))
                          if len(diff) > 1 else "-"))
            cells.append("%d of %d" % (sum(v > 0 for v in diff), len(diff)))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Poster: GenFL, Table 1 (ExquisiteNetV1 downstream, its own budget); "
              "ours: the downstream classifier above."]
    return lines


if __name__ == "__main__":
    main()
