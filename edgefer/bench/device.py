"""The device report: what machine a benchmark ran on (``edgefer info``; embedded in every
benchmark result).

``report()`` returns a JSON-able dict: CPU (model, architecture, the features that matter
for inference such as ``avx512_vnni`` or ``asimddp``, cores, frequency), memory, OS and
Python, the board (Jetson model with L4T / JetPack version, Raspberry Pi model), ONNX
Runtime (version, providers), TensorRT and CUDA, OpenCV (version, GStreamer, GUI), whether
torch is installed (found, never imported), and the cameras (``/dev/video*``).

Every probe fails soft: a missing file, command or package leaves its field out (or
``None``), never raises. Device side: Python 3.8, standard library only at import.
"""

import glob
import importlib
import os
import platform
import re
import subprocess
import sys

# CPU flags worth reporting for inference (x86: /proc/cpuinfo "flags"; ARM: "Features").
CPU_FEATURES = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16",
    "neon", "asimd", "asimdhp", "asimddp", "fphp", "i8mm", "bf16", "sve", "sve2",
)
# What the features mean for ONNX Runtime's INT8 (U8S8) kernels.
INT8_DOT_FEATURES = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")


def _read(path, binary=False):
    try:
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _run(args, timeout=5):
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout,
                           universal_newlines=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def _soft(fn, *args):
    """``fn(*args)``, or None when the probe fails in any way."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a probe must never break a benchmark
        return None


def _clean(d):
    return dict((k, v) for k, v in d.items() if v is not None and v != [] and v != {})


# ------------------------------------------------------------------------------------ CPU, memory

def _cpuinfo():
    text = _read("/proc/cpuinfo")
    if not text:
        return {}
    fields, flags, cores = {}, set(), set()
    phys = core = None
    for line in text.splitlines():
        if ":" not in line:
            continue
        k, v = [s.strip() for s in line.split(":", 1)]
        lk = k.lower()
        if lk in ("model name", "hardware", "model", "cpu part", "cpu implementer", "cpu architecture") and lk not in fields:
            fields[lk] = v
        elif lk in ("flags", "features") and not flags:
            flags = set(v.split())
        elif lk == "physical id":
            phys = v
        elif lk == "core id":
            core = v
            cores.add((phys, core))
    return {"fields": fields, "flags": flags, "physical_cores": len(cores) or None}


def _arm_cpu_name(fields):
    # /proc/cpuinfo on ARM has no "model name" on most kernels; CPU part ids of common boards.
    parts = {"0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
             "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
             "0xd0c": "Neoverse-N1", "0xd40": "Neoverse-V1", "0xd41": "Cortex-A78", "0xd42": "Cortex-A78AE",
             "0xd4f": "Neoverse-V2", "0x004": "NVIDIA Carmel"}
    part = (fields.get("cpu part") or "").lower()
    return parts.get(part)


def _usable_cpus():
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def cpu():
    info = _soft(_cpuinfo) or {}
    fields, flags = info.get("fields", {}), info.get("flags", set())
    model = fields.get("model name") or _arm_cpu_name(fields) or fields.get("hardware") or platform.processor() or None
    usable = _usable_cpus()
    freq = _read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    governor = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    features = [f for f in CPU_FEATURES if f in flags]
    return _clean({
        "model": model,
        "architecture": platform.machine() or None,
        "logical_cores": os.cpu_count(),
        "physical_cores": info.get("physical_cores"),
        "usable_cpus": usable,
        "max_mhz": int(freq.strip()) // 1000 if freq and freq.strip().isdigit() else None,
        "governor": governor.strip() if governor else None,
        "features": features,
        "int8_dot_product": [f for f in INT8_DOT_FEATURES if f in flags] or (None if not flags else []),
    })


def memory():
    text = _read("/proc/meminfo")
    if not text:
        return {}
    kb = {}
    for line in text.splitlines():
        m = re.match(r"(\w+):\s+(\d+)\s*kB", line)
        if m:
            kb[m.group(1)] = int(m.group(2))
    return _clean({"total_mb": kb.get("MemTotal", 0) // 1024 or None,
                   "available_mb": kb.get("MemAvailable", 0) // 1024 or None,
                   "swap_mb": kb.get("SwapTotal", 0) // 1024 if "SwapTotal" in kb else None})


def operating_system():
    pretty = None
    text = _read("/etc/os-release")
    if text:
        m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.MULTILINE)
        pretty = m.group(1) if m else None
    return _clean({"name": pretty or platform.system() or None, "kernel": platform.release() or None,
                   "platform": _soft(platform.platform)})


def python():
    return _clean({"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable or None})


# ------------------------------------------------------------------------------------------ board

# L4T major.minor -> JetPack (NVIDIA's JetPack archive); the dpkg package wins when present.
_JETPACK_BY_L4T = {
    "32.7": "4.6.x", "35.1": "5.0.2", "35.2": "5.1", "35.3": "5.1.1", "35.4": "5.1.2", "35.5": "5.1.3",
    "35.6": "5.1.4", "36.2": "6.0 DP", "36.3": "6.0", "36.4": "6.1 / 6.2",
}


def _device_tree_model():
    raw = _read("/proc/device-tree/model", binary=True)
    return raw.replace(b"\x00", b"").decode("utf-8", "replace").strip() or None if raw else None


def _l4t_release():
    text = _read("/etc/nv_tegra_release")
    if not text:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return "%s.%s" % (m.group(1), m.group(2)) if m else text.splitlines()[0].strip()


def _dpkg_version(package):
    return _run(["dpkg-query", "-W", "-f=${Version}", package])


def board():
    model = _device_tree_model()
    out = {"model": model}
    l4t = _l4t_release()
    if l4t or (model and "jetson" in model.lower()):
        core = _dpkg_version("nvidia-l4t-core")
        jetpack = _dpkg_version("nvidia-jetpack")
        guess = None
        if l4t:
            guess = _JETPACK_BY_L4T.get(".".join(l4t.split(".")[:2]))
        out["jetson"] = _clean({"l4t": l4t, "nvidia_l4t_core": core,
                                "jetpack": jetpack.split("-")[0].split("+")[0] if jetpack else None,
                                "jetpack_from_l4t": None if jetpack else guess})
    if model and model.lower().startswith("raspberry pi"):
        out["raspberry_pi"] = model
    return _clean(out)


# ------------------------------------------------------------------------------ inference stacks

def _module(name):
    """The module if it imports, else None (any failure: missing, broken install)."""
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001
        return None


def _installed(name):
    """Whether a package is importable, without importing it (torch stays out of the process)."""
    try:
        import importlib.util

        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _distribution_version(name):
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        return None
    try:
        return metadata.version(name)
    except Exception:  # noqa: BLE001
        return None


def onnxruntime():
    ort = _module("onnxruntime")
    if ort is None:
        return {"installed": False}
    return _clean({"installed": True, "version": getattr(ort, "__version__", None),
                   "providers": _soft(lambda: list(ort.get_available_providers())),
                   "device": _soft(ort.get_device)})


def tensorrt():
    trt = _module("tensorrt")
    if trt is None:
        return {"installed": False}
    return {"installed": True, "version": str(getattr(trt, "__version__", "?"))}


def _cuda_toolkit_version():
    text = _read("/usr/local/cuda/version.json")
    if text:
        m = re.search(r'"cuda"\s*:\s*\{[^}]*"version"\s*:\s*"([\d.]+)"', text)
        if m:
            return m.group(1)
    text = _read("/usr/local/cuda/version.txt")
    if text:
        m = re.search(r"([\d.]+)", text)
        if m:
            return m.group(1)
    out = _run(["nvcc", "--version"])
    if out:
        m = re.search(r"release ([\d.]+)", out)
        if m:
            return m.group(1)
    return None


def cuda():
    out = {"toolkit": _cuda_toolkit_version()}
    smi = _run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
    if smi:
        gpus = []
        for line in smi.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) >= 3:
                gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
        out["gpus"] = gpus
    if _installed("tensorrt") or smi or os.path.exists("/etc/nv_tegra_release"):
        try:
            from ..runtime.tensorrt_engine import compute_capability

            out["compute_capability"] = compute_capability()
        except Exception:  # noqa: BLE001
            pass
    out["pycuda"] = _distribution_version("pycuda")
    out["cuda_python"] = _distribution_version("cuda-python")
    return _clean(out)


def opencv():
    cv2 = _module("cv2")
    if cv2 is None:
        return {"installed": False}
    info = _soft(cv2.getBuildInformation) or ""

    def flag(name):
        m = re.search(r"^\s*%s:\s*(\S+)" % name, info, re.MULTILINE)
        return None if m is None else m.group(1).upper() != "NO" and m.group(1).upper() != "NONE"

    return _clean({"installed": True, "version": getattr(cv2, "__version__", None), "gstreamer": flag("GStreamer"),
                   "gui": flag("GUI"), "ffmpeg": flag("FFMPEG"), "v4l2": flag("v4l/v4l2")})


def cameras():
    out = []
    for dev in sorted(glob.glob("/dev/video*"), key=lambda p: (len(p), p)):
        name = _read("/sys/class/video4linux/%s/name" % os.path.basename(dev))
        out.append(_clean({"device": dev, "name": name.strip() if name else None}))
    return out


def packages():
    return _clean({"numpy": _distribution_version("numpy"), "torch": _distribution_version("torch") if _installed("torch") else None,
                   "matplotlib": _distribution_version("matplotlib"),
                   "picamera2": "installed" if _installed("picamera2") else None})


def report():
    """The device report (see the module docstring)."""
    from .. import __version__

    rep = {"edgefer": __version__, "hostname": platform.node() or None}
    for key, probe in (("cpu", cpu), ("memory", memory), ("os", operating_system), ("python", python),
                       ("board", board), ("onnxruntime", onnxruntime), ("tensorrt", tensorrt), ("cuda", cuda),
                       ("opencv", opencv), ("cameras", cameras), ("packages", packages)):
        value = _soft(probe)
        if value is not None:
            rep[key] = value
    return rep


def command_line():
    """How this process was started, e.g. ``edgefer bench vit.edgefer --threads 1``."""
    import shlex

    argv = list(sys.argv)
    if argv and os.path.basename(argv[0]) in ("edgefer", "__main__.py", "-m"):
        return " ".join(["edgefer"] + [shlex.quote(a) for a in argv[1:]])
    return " ".join(shlex.quote(a) for a in [os.path.basename(sys.executable or "python")] + argv)


def summary(rep):
    """One line: CPU, cores, RAM, board, OS, Python, onnxruntime."""
    c, m = rep.get("cpu", {}), rep.get("memory", {})
    parts = ["%s (%s)" % (c.get("model", "unknown CPU"), c.get("architecture", "?"))]
    usable = c.get("usable_cpus")
    parts.append("%s cores%s" % (c.get("logical_cores", "?"),
                                 "" if not usable or len(usable) == c.get("logical_cores") else ", %d usable" % len(usable)))
    if m.get("total_mb"):
        parts.append("%.1f GB RAM" % (m["total_mb"] / 1024.0))
    b = rep.get("board", {})
    if b.get("jetson"):
        j = b["jetson"]
        parts.append("%s, L4T %s%s" % (b.get("model", "Jetson"), j.get("l4t", "?"),
                                       ", JetPack %s" % (j.get("jetpack") or j.get("jetpack_from_l4t"))
                                       if (j.get("jetpack") or j.get("jetpack_from_l4t")) else ""))
    elif b.get("model"):
        parts.append(b["model"])
    parts.append(rep.get("os", {}).get("name", "?"))
    parts.append("Python %s" % rep.get("python", {}).get("version", "?"))
    ort = rep.get("onnxruntime", {})
    if ort.get("installed"):
        parts.append("onnxruntime %s" % ort.get("version"))
    trt = rep.get("tensorrt", {})
    if trt.get("installed"):
        parts.append("TensorRT %s" % trt.get("version"))
    return ", ".join(parts)


def lines(rep):
    """The report as readable lines (``edgefer info``)."""
    out = []
    c = rep.get("cpu", {})
    out.append("edgefer     %s" % rep.get("edgefer", "?"))
    out.append("CPU         %s, %s, %s logical / %s physical cores%s" % (
        c.get("model", "?"), c.get("architecture", "?"), c.get("logical_cores", "?"), c.get("physical_cores", "?"),
        ", %d MHz max" % c["max_mhz"] if c.get("max_mhz") else ""))
    if c.get("usable_cpus") is not None:
        out.append("            usable CPUs %s%s" % (_ranges(c["usable_cpus"]),
                                                     ", governor %s" % c["governor"] if c.get("governor") else ""))
    if "features" in c:
        out.append("            features: %s" % (" ".join(c["features"]) or "-"))
    if "int8_dot_product" in c:
        out.append("            INT8 dot-product instructions: %s" % (" ".join(c["int8_dot_product"]) or
                                                                   "none (INT8 gains less on this CPU)"))
    m = rep.get("memory", {})
    if m:
        out.append("RAM         %s MB total, %s MB available" % (m.get("total_mb", "?"), m.get("available_mb", "?")))
    o = rep.get("os", {})
    out.append("OS          %s (kernel %s)" % (o.get("name", "?"), o.get("kernel", "?")))
    p = rep.get("python", {})
    out.append("Python      %s %s (%s)" % (p.get("implementation", ""), p.get("version", "?"), p.get("executable", "?")))
    b = rep.get("board", {})
    if b.get("model"):
        out.append("Board       %s" % b["model"])
    if b.get("jetson"):
        j = b["jetson"]
        out.append("Jetson      L4T %s, JetPack %s%s" % (
            j.get("l4t", "?"), j.get("jetpack") or (j.get("jetpack_from_l4t") and j["jetpack_from_l4t"] + " (from L4T)") or "?",
            ", nvidia-l4t-core %s" % j["nvidia_l4t_core"] if j.get("nvidia_l4t_core") else ""))
    ort = rep.get("onnxruntime", {})
    out.append("onnxruntime %s" % ("%s, providers: %s" % (ort.get("version"), ", ".join(ort.get("providers", [])))
                                   if ort.get("installed") else "not installed (pip install 'edgefer[cpu]')"))
    trt = rep.get("tensorrt", {})
    out.append("TensorRT    %s" % (trt["version"] if trt.get("installed") else "not installed"))
    cu = rep.get("cuda", {})
    if cu:
        gpus = "; ".join("%s (driver %s, %s)" % (g["name"], g["driver"], g["memory"]) for g in cu.get("gpus", []))
        out.append("CUDA        %s" % ", ".join(x for x in (
            "toolkit %s" % cu["toolkit"] if cu.get("toolkit") else "",
            "compute capability %s" % cu["compute_capability"] if cu.get("compute_capability") else "",
            gpus, "pycuda %s" % cu["pycuda"] if cu.get("pycuda") else "",
            "cuda-python %s" % cu["cuda_python"] if cu.get("cuda_python") else "") if x)
            + ("" if cu.get("gpus") or cu.get("compute_capability") else " (no NVIDIA GPU found)"))
    else:
        out.append("CUDA        not found")
    cv = rep.get("opencv", {})
    if cv.get("installed"):
        yn = lambda v: "?" if v is None else ("yes" if v else "no")  # noqa: E731
        out.append("OpenCV      %s, GStreamer %s, GUI %s, FFmpeg %s, V4L2 %s" % (
            cv.get("version"), yn(cv.get("gstreamer")), yn(cv.get("gui")), yn(cv.get("ffmpeg")), yn(cv.get("v4l2"))))
    else:
        out.append("OpenCV      not installed")
    cams = rep.get("cameras", [])
    out.append("Cameras     %s" % (", ".join("%s%s" % (cm["device"], " (%s)" % cm["name"] if cm.get("name") else "")
                                              for cm in cams) or "none found (/dev/video*)"))
    pk = rep.get("packages", {})
    if pk:
        out.append("Packages    %s" % ", ".join("%s %s" % kv for kv in sorted(pk.items())))
    return out


def _ranges(values):
    """[0, 1, 2, 5] -> "0-2,5"."""
    values = sorted(values)
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(str(start) if start == v else "%d-%d" % (start, v))
            start = None
    return ",".join(out)
