"""The prepared GPU session for issue 9: the runs a 2-core CPU cannot afford, in one device call.

Runs, all at once on the one GPU (small models at batch 64 leave it mostly idle, so five
processes share it), each `edgefer train` with its architecture's recipe
(edgefer/train/recipes.py) and seed 0; only the length and the input size change:

| run | what it answers |
|---|---|
| lite0-96  | the shipped recipe on the GPU: the control for the two below (AMP, other kernels) |
| lite0-112 | the issue's input-size comparison, 112 px |
| lite0-128 | 128 px |
| b064-long | EfficientNet-B0 + attention from scratch for as many epochs as fit (the CPU's 36 still rose) |
| vit64-long | EfficientViT-M5 from scratch, likewise (the CPU's 26) |

The call has 10 minutes, so each run's length is set from its own first epoch: every run
first trains one epoch (``--stop-after 1``; the first epoch is all warm-up in every recipe,
so its learning rates do not depend on the total), then continues (``--resume --epochs E``)
with the E epochs that fit before the deadline, at most its cap (the Lite0 recipe's 14; 300
for the two from scratch, the record holders' length). Then every run's best checkpoint (by
validation loss, the trainer's own choice) is scored once on FER2013 PublicTest.

Back under $OUT (at most 8 files, 16 MiB each): ``runs.tar.xz`` (every run's config, split,
history, log and PublicTest report) and the best checkpoints of the Lite0 and B0 runs
(EfficientViT-M5's, 50 MB, cannot come back; its numbers do).

    python3 benchmarks/gpu/train.py --check                                       # the first device call
    python3 benchmarks/gpu/train.py --src /tmp/egpu-parts --deadline 540         # the last device call
    python3 benchmarks/gpu/train.py --smoke --src .gpu --out /tmp/gpu-smoke       # here, on the CPU

``--smoke`` runs the same steps on this machine's CPU with 300 training images and 2 epochs,
to find a bug before it costs device time.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

from pack import CSV as DATA, WEIGHTS  # the names pack.py unpacks to (this folder is on sys.path)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# name -> (edgefer train arguments, most epochs, whether its best.pt comes back)
RUNS = {
    "lite0-96": (["--arch", "efficientnet_lite0", "--img-size", "96", "--weights", "@" + WEIGHTS], 14, True),
    "lite0-112": (["--arch", "efficientnet_lite0", "--img-size", "112", "--weights", "@" + WEIGHTS], 14, True),
    "lite0-128": (["--arch", "efficientnet_lite0", "--img-size", "128", "--weights", "@" + WEIGHTS], 14, True),
    "b064-long": (["--arch", "efficientnet_b0_attn"], 300, True),
    "vit64-long": (["--arch", "efficientvit_m5"], 300, False),
}
EVAL_RESERVE_S = 75  # PublicTest for five checkpoints and the packing, after the deadline


def edgefer_env(**extra):
    """The environment edgefer runs in here: the work tree importable (edgefer is not installed
    on the GPU machine), output unbuffered."""
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONUNBUFFERED="1",
                **extra)


def edgefer(args, log, env):
    return subprocess.Popen([sys.executable, "-m", "edgefer"] + args, stdout=log, stderr=subprocess.STDOUT,
                            cwd=ROOT, env=env)


def wait_all(procs):
    return {name: p.wait() for name, p in procs.items()}


def first_epoch(args, data_dir, runs_dir, env):
    """Every run's first epoch, all at once; {name: exit code}."""
    procs = {}
    for name, (extra, cap, _) in RUNS.items():
        a = [x.replace("@", data_dir + "/") for x in extra]
        a += ["--data", os.path.join(data_dir, DATA), "--epochs", str(cap), "--stop-after", "1", "--seed", "0",
              "--device", args.device, "--quiet", "--out", os.path.join(runs_dir, name)]
        if args.smoke:
            a += ["--train-limit", "300"]
        procs[name] = edgefer(["train"] + a, open(os.path.join(runs_dir, name + ".log"), "a"), env)
    return wait_all(procs)


def epochs_that_fit(run_dir, cap, seconds_left, smoke):
    """How many epochs in all fit in the time left, from the run's first epoch."""
    hist = [json.loads(line) for line in open(os.path.join(run_dir, "history.jsonl"))]
    per_epoch = hist[-1]["epoch_time_s"] * 1.1  # headroom for the validation pass and contention changes
    fit = 1 + int(seconds_left // per_epoch)
    return min(cap, fit, 2 if smoke else cap), per_epoch


def continue_runs(args, runs_dir, deadline, env):
    """Each run resumed with the epochs that fit; {name: {...}}; stopped with SIGINT at the deadline."""
    plan, procs = {}, {}
    for name, (_, cap, _) in RUNS.items():
        run_dir = os.path.join(runs_dir, name)
        if not os.path.isfile(os.path.join(run_dir, "history.jsonl")):
            plan[name] = {"skipped": "its first epoch failed (see its log)"}
            continue
        e, per_epoch = epochs_that_fit(run_dir, cap, deadline - time.time(), args.smoke)
        plan[name] = {"epochs": e, "first_epoch_s": round(per_epoch / 1.1, 1), "cap": cap}
        if e > 1:
            procs[name] = edgefer(["train", "--resume", run_dir, "--epochs", str(e), "--quiet"],
                                  open(os.path.join(runs_dir, name + ".log"), "a"), env)
    print("plan:", json.dumps(plan), flush=True)
    while any(p.poll() is None for p in procs.values()) and time.time() < deadline:
        time.sleep(2)
    for name, p in procs.items():
        if p.poll() is None:  # Ctrl-C leaves a usable best.pt / last.pt (tests/test_resume.py)
            p.send_signal(2)
            plan[name]["stopped_at_deadline"] = True
    for name, rc in wait_all(procs).items():
        plan[name]["exit_code"] = rc
    return plan


def evaluate(args, data_dir, runs_dir, env):
    procs = {}
    for name in RUNS:
        best = os.path.join(runs_dir, name, "best.pt")
        if os.path.isfile(best):
            procs[name] = edgefer(["eval", best, "--data", os.path.join(data_dir, DATA), "--split", "PublicTest",
                                   "--device", args.device, "--out", os.path.join(runs_dir, name, "eval-publictest")],
                                  open(os.path.join(runs_dir, name + ".log"), "a"), env)
    return wait_all(procs)


def collect(runs_dir, out, plan):
    with open(os.path.join(runs_dir, "plan.json"), "w") as f:
        json.dump(plan, f, indent=1)
    with tarfile.open(os.path.join(out, "runs.tar.xz"), "w:xz") as t:
        t.add(os.path.join(runs_dir, "plan.json"), "runs/plan.json")
        for name in RUNS:
            t.add(os.path.join(runs_dir, name + ".log"), "runs/%s.log" % name)
            for f in ("config.json", "split.json", "history.jsonl"):
                p = os.path.join(runs_dir, name, f)
                if os.path.isfile(p):
                    t.add(p, "runs/%s/%s" % (name, f))
            ev = os.path.join(runs_dir, name, "eval-publictest")
            if os.path.isdir(ev):
                t.add(ev, "runs/%s/eval-publictest" % name)
    for name, (_, _, back) in RUNS.items():
        best = os.path.join(runs_dir, name, "best.pt")
        if back and os.path.isfile(best):
            shutil.copy(best, os.path.join(out, name + "-best.pt"))


def check(device, out):
    """The training path on ``device`` in seconds, before the data arrive: two steps and a
    validation pass of each architecture family on a tiny folder of random faces."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    data = os.path.join(out, "check-data")
    for label in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"):
        os.makedirs(os.path.join(data, label), exist_ok=True)
        for i in range(10):
            cv2.imwrite(os.path.join(data, label, "%d.png" % i), rng.integers(0, 256, (48, 48), dtype=np.uint8))
    env = edgefer_env()
    codes = {}
    for arch in ("efficientnet_lite0", "efficientnet_b0_attn", "efficientvit_m5"):
        run = os.path.join(out, "check-" + arch)
        codes[arch] = subprocess.run([sys.executable, "-m", "edgefer", "train", "--data", data, "--arch", arch,
                                      "--epochs", "1", "--max-steps", "2", "--batch-size", "16", "--device", device,
                                      "--quiet", "--out", run], cwd=ROOT, env=env).returncode
    print("check on %s: %s" % (device, codes), flush=True)
    return all(c == 0 for c in codes.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default="/tmp/egpu-parts", help="the carried parts (benchmarks/gpu/pack.py)")
    ap.add_argument("--out", default=os.environ.get("OUT", ""), help="where results go (default: $OUT)")
    ap.add_argument("--deadline", type=float, default=560, help="seconds from now by which training ends")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--smoke", action="store_true", help="a few images and epochs on this machine's CPU")
    ap.add_argument("--check", action="store_true", help="only train each architecture two steps on random faces")
    args = ap.parse_args()
    if args.smoke:
        args.device = "cpu"
    start = time.time()
    if not args.out:
        sys.exit("--out: not given and $OUT is unset")
    if args.check:
        sys.exit(0 if check(args.device, args.out if args.smoke else "/tmp") else 1)
    work = os.path.join(args.out if args.smoke else "/tmp", "egpu-work")
    data_dir, runs_dir = os.path.join(work, "data"), os.path.join(work, "runs")
    os.makedirs(runs_dir, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "pack.py"), "unpack", "--src", args.src, "--out", data_dir],
                   check=True)
    # five processes share the cores: each gets its share of threads, not all of them
    env = edgefer_env(OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // len(RUNS))))
    firsts = first_epoch(args, data_dir, runs_dir, env)
    print("first epochs: exit codes %s, %.0f s since the start" % (firsts, time.time() - start), flush=True)
    plan = continue_runs(args, runs_dir, start + args.deadline - EVAL_RESERVE_S, env)
    codes = evaluate(args, data_dir, runs_dir, env)
    for name, rc in codes.items():
        plan[name]["eval_exit_code"] = rc
    plan["wall_s"] = round(time.time() - start, 1)
    collect(runs_dir, args.out, plan)
    print(json.dumps(plan, indent=1))


if __name__ == "__main__":
    main()
