"""The device install on arm64, proven on this x86 machine under emulation.

Builds a Debian Bookworm arm64 root (what Raspberry Pi OS Bookworm 64-bit is built on) with
``mmdebstrap`` and ``qemu-user-static`` through binfmt_misc, installs edgefer's device side
into a venv there the way ``docs/raspberry-pi.md`` says (``pip install "edgefer[cpu]"``:
PyPI's aarch64 wheels of onnxruntime, opencv-python-headless and numpy; edgefer itself as the
wheel of this checkout), then runs ``edgefer info`` and ``edgefer run`` on short videos with
an FP32 bundle this script makes (a small EfficientViT-M5 trained for one epoch) and with
the shipped INT8 default, and compares the JSON lines with the same runs on x86:

* the same faces, boxes within a pixel, the same labels (per frame: ``--smoothing none``);
* FP32 probabilities within 1e-3;
* INT8 top-1 agreement at least the export gate's (INT8 against FP32 on the validation slice).

Both sides read the same pixels: each benchmark video (Motion JPEG) is decoded once on x86 and
its first frames written again losslessly (FFV1), and the runs read that copy. The Motion
JPEG files themselves do not decode to the same pixels on the two machines (FFmpeg's x86 and
Arm IDCTs differ by a grey level or two); the script measures that separately and reports it,
because on a device it is real: the same video file gives slightly different frames there.

picamera2 is not installable there (the Raspberry Pi archive is not reachable from here),
so no camera is opened: the sources are video files, as the stand-in tests do. Emulated
timings are not device timings: the wall times recorded are the emulation's, nothing else.

    python benchmarks/arm64_check.py                     # ~25 min the first time (the root), then ~75 (2 cores)
    python benchmarks/arm64_check.py --frames 20 --root /var/tmp/arm64-root

Needs root (chroot, mounts), ``apt install mmdebstrap qemu-user-static`` and a kernel with
binfmt_misc; the Debian archive and PyPI must be reachable. Writes
``benchmarks/results/arm64-DATE/arm64.md`` and ``arm64.json``.
"""

import argparse
import datetime
import glob
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edgefer.atomic import write_json, write_text  # noqa: E402
from edgefer.cache import cache_dir  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FER_CSV = os.path.join(SHARED, "data", "fer2013", "fer2013.csv.gz")
DEFAULT_BUNDLE = os.path.join(ROOT, "edgefer", "bundles", "default.edgefer")
BINFMT = "/proc/sys/fs/binfmt_misc"
QEMU_CONF = "/usr/lib/binfmt.d/qemu-aarch64.conf"
PACKAGES = "python3,python3-venv,python3-pip,ca-certificates,libgomp1"
VENV = "/opt/edgefer/venv"
VIDEOS = ("one_face_640x360", "group_640x360")
BOX_TOLERANCE_PX = 1.0
FP32_TOLERANCE = 1e-3
SCORE_THRESHOLD = 0.6  # edgefer run's --score-threshold default
SCORE_MARGIN = 0.01


def say(msg):
    print("arm64-check: %s" % msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    say("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


# ------------------------------------------------------------------------- the arm64 root

def binfmt_ready():
    """qemu-aarch64 registered with binfmt_misc (mounted and registered here if need be)."""
    if not os.path.exists(os.path.join(BINFMT, "register")):
        subprocess.run(["mount", "binfmt_misc", "-t", "binfmt_misc", BINFMT], check=False)
    entry = os.path.join(BINFMT, "qemu-aarch64")
    if not os.path.exists(entry) and os.path.exists(QEMU_CONF):
        with open(QEMU_CONF) as f, open(os.path.join(BINFMT, "register"), "w") as reg:
            reg.write(f.read().strip())
    if not os.path.exists(entry):
        raise SystemExit("arm64-check: qemu-aarch64 is not registered with binfmt_misc (apt install qemu-user-static; "
                         "a container may need --privileged)")
    return open(entry).read().split("\n")[0].strip()


def make_root(root):
    if os.path.exists(os.path.join(root, "usr", "bin", "python3")):
        say("arm64 root %s exists (delete it to rebuild)" % root)
        return False
    partial = root + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    sh(["mmdebstrap", "--arch=arm64", "--variant=apt", "--include=" + PACKAGES, "bookworm", partial,
        "http://deb.debian.org/debian"])
    os.rename(partial, root)
    return True


def cortex_a76_cpuinfo(cpus):
    """/proc/cpuinfo as an arm64 kernel writes it for Cortex-A76 cores (a Raspberry Pi 5's).
    qemu-user 7.2 (Debian Bookworm's) passes the host's x86 /proc/cpuinfo through, and
    onnxruntime's CPU probe (cpuinfo) then crashes at import (SIGSEGV): the root gets this
    text over its /proc/cpuinfo instead."""
    core = ("processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics "
            "fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
            "CPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n")
    return "\n".join(core % i for i in range(cpus))


class Chroot(object):
    """/proc (with an arm64 /proc/cpuinfo), /dev and /sys mounted into the root, DNS and the
    CA bundle copied in."""

    def __init__(self, root):
        self.root = root
        self.mounts = []

    def __enter__(self):
        for src, fstype in (("/proc", "proc"), ("/sys", "sysfs")):
            target = os.path.join(self.root, src.lstrip("/"))
            sh(["mount", "-t", fstype, fstype.replace("sysfs", "sys"), target])
            self.mounts.append(target)
        target = os.path.join(self.root, "dev")
        sh(["mount", "--bind", "/dev", target])
        self.mounts.append(target)
        fake = os.path.join(self.root, "tmp", "cpuinfo-arm64")
        write_text(fake, cortex_a76_cpuinfo(os.cpu_count() or 1))
        target = os.path.join(self.root, "proc", "cpuinfo")
        sh(["mount", "--bind", fake, target])
        self.mounts.append(target)
        shutil.copy("/etc/resolv.conf", os.path.join(self.root, "etc", "resolv.conf"))
        ca = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
        shutil.copy(ca, os.path.join(self.root, "etc", "ssl", "certs", "host-ca.crt"))
        return self

    def run(self, args, **kw):
        env = {"HOME": "/root", "PATH": VENV + "/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "PIP_CERT": "/etc/ssl/certs/host-ca.crt", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
               "EDGEFER_CACHE_DIR": "/var/cache/edgefer"}
        return sh([shutil.which("chroot") or "/usr/sbin/chroot", self.root] + list(args), env=env, **kw)

    def __exit__(self, *exc):
        for target in reversed(self.mounts):
            subprocess.run(["umount", "-l", target], check=False)


def install(chroot, wheel):
    inside = "/tmp/" + os.path.basename(wheel)
    shutil.copy(wheel, chroot.root + inside)
    chroot.run(["python3", "-m", "venv", VENV])
    chroot.run([VENV + "/bin/pip", "install", "--no-cache-dir", inside + "[cpu]"])
    # pip keeps an installed edgefer of the same version: put this checkout's in its place.
    chroot.run([VENV + "/bin/pip", "install", "--no-cache-dir", "--force-reinstall", "--no-deps", inside])
    out = chroot.run([VENV + "/bin/pip", "list", "--format", "json"], capture_output=True, text=True).stdout
    return {p["name"]: p["version"] for p in json.loads(out)}


# ------------------------------------------------------------------------- the x86 side

def edgefer(*args, **kw):
    return sh([sys.executable, "-m", "edgefer"] + [str(a) for a in args], **kw)


def build_wheel(work):
    sh([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", work, ROOT],
       stdout=subprocess.DEVNULL)
    return sorted(glob.glob(os.path.join(work, "edgefer-*.whl")))[-1]


def fp32_bundle(work):
    """A small EfficientViT-M5 (48 px, one epoch on 1,200 Training images) exported as FP32 only."""
    run = os.path.join(work, "tiny-run")
    bundle = os.path.join(work, "tiny-fp32.edgefer")
    if not os.path.isdir(bundle):
        edgefer("train", "--arch", "efficientvit_m5", "--img-size", 48, "--data", FER_CSV, "--train-limit", 1200,
                "--epochs", 1, "--seed", 0, "--out", run)
        edgefer("export", os.path.join(run, "best.pt"), "--batches", 1, "--out", bundle)
    return bundle


def videos():
    sh([sys.executable, os.path.join(ROOT, "benchmarks", "make_videos.py")], stdout=subprocess.DEVNULL)
    folder = cache_dir("bench-videos")
    return {name: os.path.join(folder, name + ".avi") for name in VIDEOS}


def lossless_copy(video, frames):
    """The first ``frames`` frames of ``video`` (as OpenCV decodes them here) in an FFV1 AVI,
    which every FFmpeg build decodes to exactly these pixels."""
    import cv2

    out = os.path.splitext(video)[0] + "-ffv1-%d.avi" % frames
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    tmp = out + ".part.avi"
    writer, n = None, 0
    while n < frames:
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"FFV1"), fps, (frame.shape[1], frame.shape[0]))
            if not writer.isOpened():
                raise SystemExit("arm64-check: this OpenCV cannot write FFV1 video")
        writer.write(frame)
        n += 1
    cap.release()
    if writer is None:
        raise SystemExit("arm64-check: %s has no frames" % video)
    writer.release()
    os.replace(tmp, out)
    return out


DECODE = ("import sys, cv2, numpy as np\n"
          "cap, frames = cv2.VideoCapture(sys.argv[1]), []\n"
          "while len(frames) < int(sys.argv[3]):\n"
          "    ok, f = cap.read()\n"
          "    if not ok: break\n"
          "    frames.append(f)\n"
          "np.save(sys.argv[2], np.stack(frames))\n")


def decoder_check(chroot, video, frames):
    """Decode the Motion JPEG ``video`` on both machines; how far apart are the pixels?"""
    import numpy as np

    script, here = "/tmp/edgefer-decode.py", os.path.join(cache_dir("arm64"), "x86-decoded.npy")
    write_text(chroot.root + script, DECODE)
    inside = "/tmp/" + os.path.basename(video)
    shutil.copy(video, chroot.root + inside)
    sh([sys.executable, chroot.root + script, video, here, str(frames)])
    chroot.run([VENV + "/bin/python", script, inside, "/tmp/arm64-decoded.npy", str(frames)])
    x86, arm = np.load(here).astype(np.int16), np.load(chroot.root + "/tmp/arm64-decoded.npy").astype(np.int16)
    if x86.shape != arm.shape:
        return {"video": os.path.basename(video), "frames": [len(x86), len(arm)], "same_shape": False}
    diff = np.abs(x86 - arm)
    return {"video": os.path.basename(video), "frames": len(x86), "same_shape": True,
            "max_pixel_diff": int(diff.max()), "pixels_differing": float((diff > 0).mean()),
            "mean_abs_diff": float(diff.mean())}


def run_args(video, bundle, frames, out):
    return ["run", "--source", video, "--bundle", bundle, "--max-frames", frames, "--smoothing", "none",
            "--threads", 1, "--json", out, "--quiet"]


# ------------------------------------------------------------------------- comparison

def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match_faces(fa, fb):
    """Pairs (i, j) of the same face in two records, greedily by IoU >= 0.5, and the faces
    of each that have no partner."""
    pairs = sorted(((_iou(a["box"], b["box"]), i, j) for i, a in enumerate(fa) for j, b in enumerate(fb)), reverse=True)
    used_a, used_b, out = set(), set(), []
    for iou, i, j in pairs:
        if iou >= 0.5 and i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.append((i, j))
    alone = [fa[i] for i in range(len(fa)) if i not in used_a] + [fb[j] for j in range(len(fb)) if j not in used_b]
    return out, alone


def compare(x86, arm, fp32):
    """Per frame: the same faces (matched by box); over matched faces, box, label and
    probability differences; the faces found on one side only, with their detector scores."""
    faces = same_faces = labels = 0
    box_err = prob_err = 0.0
    alone = []
    for a, b in zip(x86, arm):
        pairs, lone = match_faces(a["faces"], b["faces"])
        same_faces += not lone
        alone += [{"frame": a["frame"], "score": f["score"]} for f in lone]
        for i, j in pairs:
            fa, fb = a["faces"][i], b["faces"][j]
            faces += 1
            box_err = max(box_err, max(abs(p - q) for p, q in zip(fa["box"], fb["box"])))
            labels += fa["label"] == fb["label"]
            prob_err = max(prob_err, max(abs(fa["probs"][k] - fb["probs"][k]) for k in fa["probs"]))
    return {"frames": len(x86), "frames_compared": min(len(x86), len(arm)), "frames_same_faces": same_faces,
            "faces": faces, "faces_on_one_side_only": alone, "max_box_diff_px": round(box_err, 4),
            "label_agreement": labels / float(faces or 1), "max_prob_diff": prob_err, "fp32": fp32}


def verdict(row, gate_agreement, threshold):
    """Every face matched, except faces whose detector score is within SCORE_MARGIN of the
    threshold (a float rounding apart on the two machines decides those); boxes, labels and
    probabilities within the tolerances."""
    boundary = all(abs(f["score"] - threshold) <= SCORE_MARGIN for f in row["faces_on_one_side_only"])
    ok = (row["frames"] == row["frames_compared"] and boundary and row["faces"] > 0
          and row["max_box_diff_px"] <= BOX_TOLERANCE_PX)
    if row["fp32"]:
        return ok and row["label_agreement"] == 1.0 and row["max_prob_diff"] <= FP32_TOLERANCE
    return ok and row["label_agreement"] >= gate_agreement


def gate_agreement(bundle):
    with open(os.path.join(bundle, "manifest.json")) as f:
        m = json.load(f)
    cpu = [a for a in m["artifacts"] if a["precision"] == "int8" and a["target"] == "cpu" and a["batch"] == 1][0]
    return cpu["gate"]["final"]["agreement"]


# ------------------------------------------------------------------------- report

def write_report(doc, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "arm64.json"), doc)
    lines = ["# edgefer's device install on arm64, under emulation (%s)" % doc["date"], "",
             "Made by `python benchmarks/arm64_check.py` (%s) on %s: a Debian Bookworm arm64 root "
             "(`mmdebstrap`, run through `qemu-aarch64` registered with binfmt_misc), edgefer installed in a venv "
             "there as `docs/raspberry-pi.md` says (`pip install \"edgefer[cpu]\"`, edgefer as this checkout's "
             "wheel), then `edgefer info` and `edgefer run --smoothing none` on the first %d frames of each video, "
             "compared with the same runs on x86. Both sides read the same pixels: an FFV1 (lossless) copy of "
             "each video's first frames as decoded on x86." % (doc["command"], doc["host"], doc["frames"]), "",
             "**Emulated timings are not device timings**: the wall times below are the emulation's.", "",
             "Installed in the arm64 venv: " + ", ".join("%s %s" % (k, doc["arm64_packages"][k]) for k in
                                                        ("edgefer", "onnxruntime", "opencv-python-headless", "numpy")
                                                        if k in doc["arm64_packages"]), "",
             "| bundle | video | frames | frames with the same faces | faces matched | found on one side only "
             "(detector score) | max box diff (px) | labels equal | max prob diff | pass |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        lone = ", ".join("frame %d (%.4f)" % (f["frame"], f["score"]) for f in r["faces_on_one_side_only"]) or "none"
        lines.append("| %s | %s | %d | %d | %d | %s | %.4f | %.2f %% | %.2e | %s |" % (
            r["bundle"], r["video"], r["frames"], r["frames_same_faces"], r["faces"], lone, r["max_box_diff_px"],
            100 * r["label_agreement"], r["max_prob_diff"], "yes" if r["pass"] else "**no**"))
    lines += ["", "Criteria: the same faces in every frame (matched by box), except a face whose detector score "
              "is within %.2f of the %.1f threshold, which a float rounding apart decides on either machine; "
              "boxes within %.0f px; FP32: every label equal and probabilities within %.0e (the JSON lines round "
              "them to 4 decimals); INT8: labels equal on at least the export gate's INT8/FP32 agreement "
              "(%.2f %%)." % (SCORE_MARGIN, SCORE_THRESHOLD, BOX_TOLERANCE_PX, FP32_TOLERANCE,
                               100 * doc["gate_agreement"]), "",
              "The benchmark videos themselves (Motion JPEG) decode differently on the two machines (FFmpeg's x86 "
              "and Arm IDCTs), so a device reading the same file sees slightly different frames: "
              + "; ".join(_decoder_line(d) for d in doc["decoder"]) + ".", "",
              "`edgefer info` in the arm64 root:", "", "```", doc["arm64_info"].strip(), "```", "",
              "Wall times (s, emulated where arm64): " + ", ".join("%s %.0f" % kv for kv in doc["seconds"].items()),
              "", "Result: **%s**." % ("the arm64 runs match x86" if doc["pass"] else "MISMATCH"), ""]
    write_text(os.path.join(out_dir, "arm64.md"), "\n".join(lines))


# ------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.join(cache_dir("arm64"), "bookworm-arm64"))
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                  "arm64-" + datetime.date.today().isoformat()))
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("arm64-check: needs root (chroot and mounts)")
    seconds, work = {}, cache_dir("arm64")
    t = time.time()
    binfmt = binfmt_ready()
    made = make_root(a.root)
    seconds["arm64 root (mmdebstrap)" if made else "arm64 root (kept)"] = time.time() - t
    t = time.time()
    wheel, fp32, mjpeg = build_wheel(work), fp32_bundle(work), videos()
    vids = {name: lossless_copy(path, a.frames) for name, path in mjpeg.items()}
    seconds["x86: wheel, FP32 bundle, videos"] = time.time() - t
    bundles = {"fp32 (tiny EfficientViT-M5, made here)": fp32, "shipped INT8 default": DEFAULT_BUNDLE}
    rows, gate = [], gate_agreement(DEFAULT_BUNDLE)
    with Chroot(a.root) as chroot:
        t = time.time()
        packages = install(chroot, wheel)
        seconds["arm64: pip install edgefer[cpu]"] = time.time() - t
        info = chroot.run([VENV + "/bin/edgefer", "info"], capture_output=True, text=True).stdout
        t = time.time()
        decoder = [decoder_check(chroot, path, a.frames) for path in mjpeg.values()]
        seconds["both: Motion JPEG decoded"] = time.time() - t
        say("Motion JPEG decoded on both: %s" % json.dumps(decoder))
        for bname, bundle in bundles.items():
            inside_bundle = "/tmp/" + os.path.basename(bundle)
            shutil.rmtree(a.root + inside_bundle, ignore_errors=True)
            shutil.copytree(bundle, a.root + inside_bundle)
            for vname, video in vids.items():
                inside_video = "/tmp/" + os.path.basename(video)
                shutil.copy(video, a.root + inside_video)
                tag = "%s-%s" % (bname.split()[0], vname)
                x86_out, arm_out = os.path.join(work, "x86-%s.jsonl" % tag), "/tmp/arm64-%s.jsonl" % tag
                t = time.time()
                edgefer(*run_args(video, bundle, a.frames, x86_out))
                seconds["x86: %s, %s" % (bname.split()[0], vname)] = time.time() - t
                t = time.time()
                chroot.run([VENV + "/bin/edgefer"] + [str(x) for x in run_args(inside_video, inside_bundle, a.frames,
                                                                               arm_out)])
                seconds["arm64: %s, %s" % (bname.split()[0], vname)] = time.time() - t
                row = compare(read_lines(x86_out), read_lines(a.root + arm_out), fp32=bundle == fp32)
                row.update(bundle=bname, video=vname)
                row["pass"] = verdict(row, gate, SCORE_THRESHOLD)
                rows.append(row)
                say("%s / %s: %s" % (bname, vname, json.dumps(row)))
    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": "python benchmarks/arm64_check.py --frames %d" % a.frames, "host": _host(),
           "binfmt": binfmt, "frames": a.frames, "gate_agreement": gate, "arm64_packages": packages,
           "arm64_info": info, "decoder": decoder, "rows": rows, "seconds": {k: round(v, 1) for k, v in seconds.items()},
           "pass": all(r["pass"] for r in rows)}
    write_report(doc, a.out)
    print(os.path.join(a.out, "arm64.md"))
    return 0 if doc["pass"] else 1


def _decoder_line(d):
    if not d["same_shape"]:
        return "%s: different frame counts %s" % (d["video"], d["frames"])
    return "%s: %.1f %% of the pixel values differ, by at most %d grey levels (mean %.2f)" % (
        d["video"], 100 * d["pixels_differing"], d["max_pixel_diff"], d["mean_abs_diff"])


def _host():
    from edgefer.bench import device

    return device.summary(device.report())


if __name__ == "__main__":
    sys.exit(main())
