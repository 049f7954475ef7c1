"""Run the benchmark suites of ``benchmarks/suites.json`` with ``edgefer bench`` and record
the results with the date and the device report.

    python benchmarks/run_suites.py                               # everything, defaults below
    python benchmarks/run_suites.py --quick --out /tmp/bench      # check it runs end to end
    python benchmarks/run_suites.py --cpus 0-1 --update-readme    # record and show in README.md
    python benchmarks/run_suites.py --only model --bundle my.edgefer --status "preliminary"

Each suite is one ``edgefer bench`` command (its JSON, CSV, markdown and PNGs go to
``OUT/SUITE/``). Then ``OUT/summary.md`` (every table, the commands, the device report) and
``OUT/summary.json`` (date, status, device report, the suites and their result files) are
written; ``--update-readme`` puts the summary tables into benchmarks/README.md between the
``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers.

Defaults fit this project's development machine (the checkout beside ../shared and ../runs):
``--bundle ../runs/vit48.edgefer``, ``--data ../shared/data/fer2013/fer2013.csv.gz``,
``--yunet ../shared/models/face_detection_yunet_2026may.onnx``; the videos are made by
``benchmarks/make_videos.py`` into the cache when missing.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PARENT = os.path.dirname(ROOT)
sys.path.insert(0, ROOT)

from edgefer.atomic import write_json, write_text  # noqa: E402
from edgefer.bench import device, report  # noqa: E402

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _expand(args, values):
    """Fill in {bundle}, {data}, {videos}, {yunet}; without a YuNet model, drop yunet."""
    args = list(args)
    if not values.get("yunet") or not os.path.isfile(values["yunet"]):
        if "--detector-model" in args:
            i = args.index("--detector-model")
            del args[i:i + 2]
        if "--detector" in args:
            i = args.index("--detector") + 1
            args[i] = ",".join(d for d in args[i].split(",") if d != "yunet")
    return [a.format(**values) for a in args]


def _quick(args, quick):
    args = list(args)
    for k, v in quick.items():
        if k in args:
            args[args.index(k) + 1] = v
        elif k == "--max-frames" and "--pipeline" in args:
            args += [k, v]
    return args


def _missing_input(args):
    for i, a in enumerate(args):
        if a in ("--data", "--source", "--detector-model") or (i == 1 and not a.startswith("-")):
            if not os.path.exists(args[i + 1] if a.startswith("-") else a):
                return args[i + 1] if a.startswith("-") else a
    return None


def summary_markdown(date, status, rep, done):
    out = ["# edgefer bench results, %s%s" % (date, " (%s)" % status if status else ""), "",
           "Machine: %s." % device.summary(rep), ""]
    for s in done:
        out += ["## %s" % s["name"], "", s["what"], "", "`%s`" % s["command"], ""]
        if s.get("doc") is None:
            out += ["not run: %s" % s["skipped"], ""]
            continue
        out += ["- %s" % l for l in report.context_lines(s["doc"])[2:]] + [""]
        out += report.markdown_table(s["doc"]) + [""]
        out.append("Files: %s" % ", ".join("[%s](%s)" % (f, os.path.join(s["name"], f)) for f in s["files"]))
        out.append("")
    out += ["## Device report", "", "```"] + device.lines(rep) + ["```", ""]
    return "\n".join(out)


def update_readme(readme, out_dir, date, status, done, rep):
    text = open(readme, encoding="utf-8").read()
    if START not in text or END not in text:
        raise SystemExit("%s has no %s ... %s markers" % (readme, START, END))
    rel = os.path.relpath(out_dir, os.path.dirname(readme))
    body = [START, "", "Recorded %s%s on %s; full results in [`%s/summary.md`](%s/summary.md)." % (
        date, " (**%s**)" % status if status else "", device.summary(rep), rel, rel), ""]
    for s in done:
        if s.get("doc") is None:
            continue
        body += ["#### %s" % s["name"], "", s["what"], ""] + report.markdown_table(s["doc"]) + [""]
    body.append(END)
    head, rest = text.split(START, 1)
    write_text(readme, head + "\n".join(body) + rest.split(END, 1)[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suites", default=os.path.join(HERE, "suites.json"))
    ap.add_argument("--only", default=None, help="comma-separated suite names")
    ap.add_argument("--bundle", default=os.path.join(PARENT, "runs", "vit48.edgefer"))
    ap.add_argument("--data", default=os.path.join(PARENT, "shared", "data", "fer2013", "fer2013.csv.gz"))
    ap.add_argument("--yunet", default=os.path.join(PARENT, "shared", "models", "face_detection_yunet_2026may.onnx"))
    ap.add_argument("--faces", default=os.path.join(PARENT, "shared", "data", "faces"),
                    help="photos for benchmarks/make_videos.py")
    ap.add_argument("--videos", default=None, help="folder of the videos (default: made in the cache)")
    ap.add_argument("--cpus", default=None, help="pin every run to these CPUs (edgefer bench --cpus)")
    ap.add_argument("--quick", action="store_true", help="short runs: check the suites run end to end")
    ap.add_argument("--status", default="", help="e.g. 'preliminary, machine busy' (shown with the date)")
    ap.add_argument("--out", default=None, help="results folder (default: benchmarks/results/bench-DATE)")
    ap.add_argument("--update-readme", action="store_true", help="show the tables in benchmarks/README.md")
    a = ap.parse_args()

    with open(a.suites, encoding="utf-8") as f:
        spec = json.load(f)
    date = datetime.date.today().isoformat()
    out_dir = os.path.abspath(a.out or os.path.join(HERE, "results", "bench-" + date))
    os.makedirs(out_dir, exist_ok=True)
    videos = a.videos
    if videos is None:
        import make_videos

        videos = os.path.dirname(list(make_videos.ensure(a.faces).values())[0])
    values = {"bundle": a.bundle, "data": a.data, "videos": videos, "yunet": a.yunet}
    only = set(a.only.split(",")) if a.only else None
    done = []
    for s in spec["suites"]:
        if only and s["name"] not in only:
            continue
        args = _expand(s["args"], values)
        if a.quick:
            args = _quick(args, spec.get("quick", {}).get("args", {}))
        if a.cpus:
            args += ["--cpus", a.cpus]
        entry = {"name": s["name"], "what": s["what"], "command": "edgefer " + " ".join(args)}
        missing = _missing_input(args)
        if missing:
            entry["skipped"] = "missing input %s" % missing
            print("%s: skipped (%s)" % (s["name"], entry["skipped"]), flush=True)
            done.append(entry)
            continue
        sub = os.path.join(out_dir, s["name"])
        print("== %s: %s" % (s["name"], entry["command"]), flush=True)
        p = subprocess.run([sys.executable, "-m", "edgefer"] + args + ["--out", sub], cwd=ROOT)
        if p.returncode != 0:
            entry["skipped"] = "edgefer bench failed (exit %d)" % p.returncode
            done.append(entry)
            continue
        kind = "pipeline" if "--pipeline" in args else "model"
        with open(os.path.join(sub, kind + ".json"), encoding="utf-8") as f:
            entry["doc"] = json.load(f)
        entry["files"] = sorted(os.listdir(sub))
        done.append(entry)

    rep = device.report()
    status = ("quick check, not for reporting" if a.quick and not a.status else a.status)
    write_text(os.path.join(out_dir, "summary.md"), summary_markdown(date, status, rep, done))
    write_json(os.path.join(out_dir, "summary.json"), {
        "date": date, "status": status or None, "device": rep,
        "suites": [{"name": s["name"], "what": s["what"], "command": s["command"],
                    "result": None if s.get("doc") is None else os.path.join(
                        s["name"], ("pipeline" if s["doc"]["kind"] == "pipeline" else "model") + ".json"),
                    "skipped": s.get("skipped")} for s in done]})
    if a.update_readme:
        update_readme(os.path.join(HERE, "README.md"), out_dir, date, status, done, rep)
    print("wrote %s" % os.path.join(out_dir, "summary.md"))
    return 1 if any(s.get("skipped", "").startswith("edgefer bench failed") for s in done) else 0


if __name__ == "__main__":
    sys.exit(main())
