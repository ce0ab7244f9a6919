#!/usr/bin/env python3
"""summarize.py - table, metrics and plot of one FedSyn experiment folder.

usage: scripts/experiments/summarize.py RUNDIR

Reads RUNDIR/settings.json and every row's eval.json (fedsyn eval --json),
seconds and ledger (fedsyn ledger export --json), and writes:
  RUNDIR/results.json      every row's metrics and privacy, one object
  RUNDIR/table.md          the table of docs/results-fedsyn.md
  RUNDIR/fid-vs-scale.png  FID against the Laplace scale, beside the paper's
                           Table I (gnuplot; skipped with a note if missing)
"""
import json
import os
import shutil
import subprocess
import sys

# The FedSyn paper's Table I (MNIST column): FID against the central GAN's
# samples in Inception features, by Laplace scale.
PAPER_TABLE_I = {1e-6: 23.43, 1e-5: 24.88, 1e-4: 24.91, 1e-3: 25.31, 1e-2: 28.96,
                 1e-1: 111.63, 1.0: 132.45}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FEDSYN = os.environ.get("FEDSYN", os.path.join(ROOT, "build", "fedsyn"))


def row_kind(name):
    # fedsyn's default (cgan rows, on MNIST or Fashion-MNIST) before the paper's prefixes
    for prefix in ("fashion-cgan-", "cgan-"):
        if name.startswith(prefix):
            return "cgan"
    for prefix in ("central", "alone-", "paper-", "gauss-eps-", "laplace-eps-", "oneshot-"):
        if name.startswith(prefix):
            return prefix.rstrip("-")
    return None


def ledger_privacy(path):
    out = subprocess.run([FEDSYN, "ledger", "export", "--json", path], check=True,
                         capture_output=True, text=True).stdout
    blocks = json.loads(out)["blocks"]
    genesis, last = blocks[0], blocks[-1]
    return {"rounds": len(blocks) - 1, "genesis": genesis["genesis"],
            "privacy": last["block"]["privacy"] if len(blocks) > 1 else None}


def load_rows(run):
    rows = []
    for name in sorted(os.listdir(run)):
        d = os.path.join(run, name)
        kind = row_kind(name)
        if not kind or not os.path.isfile(os.path.join(d, "eval.json")):
            continue
        with open(os.path.join(d, "eval.json")) as f:
            ev = json.load(f)
        row = {"row": name, "kind": kind, "eval": ev}
        sec = os.path.join(d, "seconds")
        if os.path.exists(sec):
            row["seconds"] = int(open(sec).read().strip())
        ledger = os.path.join(d, "state", "alice", "ledger.fsl")
        if os.path.exists(ledger):
            row["ledger"] = ledger_privacy(ledger)
            g = row["ledger"]["genesis"]
            row["scale"] = g.get("member_scale")
            row["mechanism"] = g.get("mechanism")
        rows.append(row)
    order = {"central": 0, "alone": 1, "paper": 2, "oneshot": 3, "gauss-eps": 4, "laplace-eps": 5,
             "cgan": 6}
    rows.sort(key=lambda r: (order[r["kind"]], r.get("scale") or 0, r["row"]))
    return rows


def fmt(x, spec="%.1f"):
    return "-" if x is None else spec % x


def eps_text(row):
    led = row.get("ledger")
    if not led:
        return "-"
    p = led["privacy"] or {}
    if not p.get("formal"):
        return ("none (no formal guarantee)" if row["kind"] in ("paper", "oneshot")
                else "none")
    return "%.3g (basic %.3g), delta %g" % (p["eps_total_adv"], p["eps_total"],
                                            led["genesis"].get("delta", 0))


def cgan_table(rows):
    """The rows of fedsyn's default (cgan): label agreement and CAS beside FID."""
    rows = [r for r in rows if r["kind"] == "cgan"]
    if not rows:
        return []
    order = {"central": 0, "alone": 1, "fed": 2}
    rows.sort(key=lambda r: (r["row"].startswith("fashion-"),
                             order.get(r["row"].split("cgan-")[1].split("-")[0], 3), r["row"]))
    lines = ["", "fedsyn's default for labelled data (cgan), the same iterations per member:", "",
             "| row | data | FID vs test (floor) | FID vs its central | label agreement | CAS "
             "| classes | smallest class share | wall |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ev = r["eval"]
        cov = ev["coverage"]
        agree = ev.get("label_agreement")
        cas = (ev.get("cas") or {}).get("accuracy")
        lines.append("| %s | %s | %s (%s) | %s | %s | %s | %d | %.3f | %s |" % (
            r["row"], "fashion" if r["row"].startswith("fashion-") else "mnist",
            fmt(ev["fid_test"]), fmt(ev["fid_floor_train_vs_test"], "%.2f"),
            fmt(ev["fid_reference"]), "-" if agree is None else "%.1f%%" % (100 * agree),
            "-" if cas is None else "%.1f%%" % (100 * cas), cov["classes_present"],
            min(cov["share"]), "%dm%02ds" % divmod(r["seconds"], 60) if "seconds" in r else "-"))
    return lines


def write_table(run, settings, rows):
    extra = cgan_table(rows)
    rows = [r for r in rows if r["kind"] != "cgan"]
    lines = [
        "| row | noise | scale | epsilon after the run (tight) | FID vs test | FID vs central "
        "| classes | groups {0-2} {3-6} {7-9} | class shares 0..9 | TV from real | wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ev = r["eval"]
        cov = ev["coverage"]
        shares = " ".join(("%.2f" % s).lstrip("0") for s in cov["share"])
        noise = r.get("mechanism") or ("-" if r["kind"] != "alone" else "-")
        groups = " ".join("%.2f" % g for g in cov["groups"])
        lines.append("| %s | %s | %s | %s | %s | %s | %d | %s | %s | %.2f | %s |" % (
            r["row"], noise, fmt(r.get("scale"), "%g"), eps_text(r), fmt(ev["fid_test"]),
            fmt(ev["fid_reference"]), cov["classes_present"], groups, shares, cov["tv_from_real"],
            "%dm%02ds" % divmod(r["seconds"], 60) if "seconds" in r else "-"))
    floor = rows[0]["eval"]["fid_floor_train_vs_test"] if rows else None
    ceiling = rows[0]["eval"]["fid_ceiling_noise_vs_test"] if rows else None
    lines.append("")
    lines.append("FID floor (real train vs test): %s; ceiling (uniform noise vs test): %s; "
                 "%d samples per score, evaluator features." % (fmt(floor, "%.2f"),
                                                                fmt(ceiling), settings["eval_samples"]))
    if not rows:  # only fedsyn's default was run (--rows cgan)
        lines = extra[1:]
    else:
        lines += extra
    with open(os.path.join(run, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def write_plot(run, rows):
    pts = [(r["scale"], r["eval"]["fid_reference"], r["eval"]["fid_test"])
           for r in rows if r["kind"] == "paper" and r.get("scale")]
    if not pts:
        return
    data = os.path.join(run, "fid-vs-scale.dat")
    with open(data, "w") as f:
        f.write("# scale  fedsyn_fid_vs_central  fedsyn_fid_vs_test\n")
        for s, fr, ft in sorted(pts):
            f.write("%g %s %s\n" % (s, fr if fr is not None else "NaN", ft))
    paper_data = os.path.join(run, "paper-table-I.dat")
    with open(paper_data, "w") as f:
        f.write("# scale  paper_fid_mnist (Inception features, vs central GAN)\n")
        for s, v in sorted(PAPER_TABLE_I.items()):
            f.write("%g %g\n" % (s, v))
    central = [r for r in rows if r["kind"] == "central"]
    if not shutil.which("gnuplot"):
        print("summarize: gnuplot missing (apt-get install gnuplot-nox): no plot; data in %s" % data)
        return
    script = [
        "set terminal png size 900,560",
        "set output '%s'" % os.path.join(run, "fid-vs-scale.png"),
        "set logscale x", "set format x '10^{%L}'", "set xlabel 'Laplace scale b (members and aggregator)'",
        "set ylabel 'FID (evaluator features)'", "set y2label 'FID, paper Table I (Inception)'",
        "set ytics nomirror", "set y2tics", "set key below", "set grid",
        "set title 'FedSyn on fedsyn: FID of the global generator against the noise scale'",
    ]
    plot = ["'%s' using 1:2 with linespoints lw 2 title 'fedsyn: vs central GAN'" % data,
            "'%s' using 1:3 with linespoints lw 2 title 'fedsyn: vs real test set'" % data,
            "'%s' using 1:2 axes x1y2 with linespoints dt 2 lw 2 title 'paper Table I (right axis)'" % paper_data]
    if central:
        script.append("set arrow from graph 0, first %g to graph 1, first %g nohead dt 3" % (
            central[0]["eval"]["fid_test"], central[0]["eval"]["fid_test"]))
        script.append("set label 'central GAN vs test' at graph 0.75, first %g offset 0,0.7" %
                      central[0]["eval"]["fid_test"])
    script.append("plot " + ", ".join(plot))
    subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    run = sys.argv[1]
    with open(os.path.join(run, "settings.json")) as f:
        settings = json.load(f)
    rows = load_rows(run)
    if not rows:
        print("summarize: no scored rows in %s" % run, file=sys.stderr)
        sys.exit(1)
    with open(os.path.join(run, "results.json"), "w") as f:
        json.dump({"settings": settings, "rows": rows, "paper_table_I_mnist": {
            "%g" % k: v for k, v in PAPER_TABLE_I.items()}}, f, indent=1)
    write_table(run, settings, rows)
    write_plot(run, rows)


if __name__ == "__main__":
    main()
