#!/usr/bin/env python3
"""summarize_genfl.py - the table of one GenFL experiment folder.

usage: scripts/experiments/summarize_genfl.py RUNDIR

Reads RUNDIR/settings.json and every RUNDIR/DATASET-seedS-alphaA/eval.json
(fedsyn eval --json of the federation's global CVAE) and writes
RUNDIR/results.json and RUNDIR/table.md: per split (IID, then alpha from
large to small) and data set, the CVAE's CAS as mean +- standard deviation
over the seeds, with FID against the real test set and the classes present.
"""
import json
import os
import re
import statistics
import sys

ROW = re.compile(r"^(mnist|fashion)-seed(\d+)-alpha(.+)$")


def split_key(alpha):
    return (0, 0) if alpha == "iid" else (1, -float(alpha))


def mean_sd(xs, scale=1.0, digits=2):
    if not xs:
        return "-"
    m = statistics.mean(xs) * scale
    if len(xs) == 1:
        return ("%." + str(digits) + "f (1 seed)") % m
    return ("%." + str(digits) + "f ± %." + str(digits) + "f") % (m, statistics.stdev(xs) * scale)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    run = sys.argv[1]
    settings = json.load(open(os.path.join(run, "settings.json")))
    rows = {}
    for name in sorted(os.listdir(run)):
        m = ROW.match(name)
        path = os.path.join(run, name, "eval.json")
        if not m or not os.path.exists(path):
            continue
        ev = json.load(open(path))
        sec = os.path.join(run, name, "seconds")
        acc_path = os.path.join(run, name, "downstream", "acc.json")
        acc = json.load(open(acc_path)) if os.path.exists(acc_path) else {}
        rows.setdefault((m.group(3), m.group(1)), []).append({
            "seed": int(m.group(2)), "cas": ev["cas"]["accuracy"], "fid": ev["fid_test"],
            "classes": ev["coverage"]["classes_present"],
            "without": acc.get("without"), "with": acc.get("with"),
            "pretrained_only": acc.get("pretrained_only"),
            "seconds": int(open(sec).read()) if os.path.exists(sec) else None})
    if not rows:
        print("summarize_genfl: no scored rows in %s" % run, file=sys.stderr)
        sys.exit(1)
    datasets = [d for d in ("mnist", "fashion") if any(k[1] == d for k in rows)]
    splits = sorted({k[0] for k in rows}, key=split_key)
    cols = ["CAS (%)", "FID", "classes", "classifier without pre-training (%)",
            "classifier with pre-training (%)", "pre-trained, before FL (%)"]
    head = "| split | " + " | ".join("%s %s" % (d, c) for d in datasets for c in cols) + " |"
    lines = [head, "|" + "---|" * (1 + len(cols) * len(datasets))]
    for a in splits:
        cells = ["IID" if a == "iid" else "Dirichlet α = %s" % a]
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
    ds_path = os.path.join(run, "downstream-settings.json")
    if os.path.exists(ds_path):
        ds = json.load(open(ds_path))
        lines.append("Downstream classifier (the evaluator's LeNet-style CNN, not the poster's "
                     "ExquisiteNetV1) trained by FedAvg over the same clients and split, %d rounds "
                     "x %d local iterations of batch %d; pre-training: %d epochs on %d labelled "
                     "samples of the federation's global CVAE, pinned as round 0's model by the "
                     "classifier federation's genesis. Accuracy on the real test set." % (
                         ds["rounds"], ds["local_iters"], ds["batch"], ds["pretrain_epochs"],
                         ds["pretrain_samples"]))
        settings = dict(settings, downstream=ds)
    json.dump({"settings": settings, "rows": {"%s/%s" % k: v for k, v in rows.items()}},
              open(os.path.join(run, "results.json"), "w"), indent=1)
    open(os.path.join(run, "table.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
