"""Build TensorRT engines on the device, and cache them (runtime layer: everything that runs
on the device lives here; ``edgefer export --trt`` calls it, see ARCHITECTURE.md).

TensorRT engines are not part of a bundle (ARCHITECTURE.md, "The bundle is the contract"): an
engine only runs on the TensorRT version and the GPU it was built for, so it is built on
the device from the bundle's ONNX artifact and cached under ``~/.cache/edgefer/engines/``
(``$EDGEFER_CACHE_DIR/engines``), keyed by the artifact's sha256, the TensorRT version,
the GPU's compute capability and the precision (plus the DLA core and the shape profile
when given). An engine whose key does not match is rebuilt, never loaded.

Device-side code: Python 3.8, no torch, and ``tensorrt`` / ``pycuda`` / ``cuda-python`` are
imported lazily inside the functions, so importing this module never needs them. GPU memory
(the calibrator's uploads) goes through the one CUDA layer, :mod:`edgefer.runtime.cuda`.

API generations handled (from NVIDIA's TensorRT Python API reference):

* TensorRT 8.0 - 8.6 (JetPack 5: 8.5; x86: 8.6): networks need
  ``1 << int(NetworkDefinitionCreationFlag.EXPLICIT_BATCH)``; ``build_serialized_network``
  exists since 8.0; ``set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)`` since 8.4 (before,
  ``config.max_workspace_size``); INT8 either from Q/DQ nodes (explicit quantization) or an
  ``IInt8EntropyCalibrator2`` set as ``config.int8_calibrator`` (implicit quantization).
* TensorRT 10.x (JetPack 6: 10.3): networks are always explicit batch (the flag is
  deprecated and ignored); ``build_engine`` and ``max_workspace_size`` are removed; the
  implicit-quantization calibrators are deprecated from 10.1 on ("superseded by explicit
  quantization"), so INT8 comes only from the QDQ ONNX artifact.
* TensorRT 11 removes the weak-typing precision flags (``BuilderFlag.FP16`` / ``INT8``) and
  ``int8_calibrator``: precision then comes from the ONNX graph's types, so the flags are set
  only where they exist.
"""

import hashlib
import json
import logging
import os
import re
import subprocess

from ..atomic import write_bytes, write_json
from ..bundle import sha256_file
from ..cache import cache_dir
from ..errors import EdgeferError, reason, require
from .cuda import CUDA_HINT, DeviceUpload, check, cudart

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
INT8_MODES = ("qdq", "calibrator")
LOGGER_SEVERITIES = ("INTERNAL_ERROR", "ERROR", "WARNING", "INFO", "VERBOSE")

TENSORRT_HINT = (
    "on a Jetson TensorRT comes with JetPack: sudo apt install python3-libnvinfer, and use the "
    "system python3 or a venv made with --system-site-packages; on x86 with an NVIDIA GPU: "
    "pip install tensorrt; a Raspberry Pi or a CPU-only machine has no TensorRT: use the ONNX "
    "Runtime backend instead"
)

# The calibrators (IInt8EntropyCalibrator2 and the others) are "Deprecated in TensorRT 10.1.
# Superseded by explicit quantization." (TensorRT C++ API, deprecated list).
CALIBRATOR_LAST_VERSION = (10, 1)

_QDQ_ADVICE = (
    "on TensorRT >= 10.1 INT8 comes from Q/DQ nodes in the ONNX graph: build from the bundle's "
    "QDQ INT8 artifact (int8_mode='qdq')"
)

# Probes for compute_capability(); module-level so the tests can point them elsewhere.
_NVIDIA_SMI = "nvidia-smi"
_DEVICE_TREE_FILES = ("/proc/device-tree/compatible", "/proc/device-tree/model")
# Jetson SoCs: tegra ids from /proc/device-tree/compatible first, then the model names.
_JETSON_CAPABILITIES = (
    ("tegra234", "8.7"),  # Orin (AGX Orin, Orin NX, Orin Nano)
    ("tegra194", "7.2"),  # Xavier (AGX Xavier, Xavier NX)
    ("tegra186", "6.2"),  # TX2
    ("tegra210", "5.3"),  # Nano, TX1
    ("orin", "8.7"),
    ("xavier", "7.2"),
    ("tx2", "6.2"),
    ("nano", "5.3"),  # after "orin": an Orin Nano's model name says both
)

_LOGGERS = {}


# ----------------------------------------------------------------------------- imports


def import_tensorrt(why="building a TensorRT engine"):
    """The ``tensorrt`` module, or MissingDependencyError saying how to install it."""
    return require("tensorrt", why, TENSORRT_HINT)


def unavailable_reason():
    """None when TensorRT can run here (the module imports and an NVIDIA GPU is found), else
    why not, in one line. The one "is TensorRT usable?" check (backend ``auto``, benchmarks)."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "TensorRT not installed (no Python module tensorrt; it comes with JetPack or pip install tensorrt)"
    except Exception as exc:  # noqa: BLE001 - a broken install
        return "TensorRT cannot be imported: %s" % reason(exc)
    try:
        compute_capability()
    except Exception as exc:  # noqa: BLE001 - no GPU, no driver
        return "TensorRT is installed but no NVIDIA GPU was found (%s)" % reason(exc)[:200]
    return None


def _version_tuple(version):
    """``"10.3.0.30"`` -> ``(10, 3, 0, 30)``; ``"8.6.1.post1"`` -> ``(8, 6, 1)``."""
    numbers = []
    for part in str(version).split("."):
        m = re.match(r"\d+", part)
        if not m:
            break
        numbers.append(int(m.group(0)))
        if m.group(0) != part:
            break
    return tuple(numbers)


def _trt_version(trt):
    return _version_tuple(getattr(trt, "__version__", "0"))


def tensorrt_version():
    """The installed TensorRT version, e.g. ``"10.3.0.30"``."""
    return str(import_tensorrt("finding the TensorRT version").__version__)


def _logger(trt, severity):
    name = str(severity).upper()
    if name not in LOGGER_SEVERITIES:
        raise EdgeferError(
            "logger_severity %r is not one of %s" % (severity, ", ".join(LOGGER_SEVERITIES))
        )
    level = getattr(trt.Logger, name)
    # One logger per process: TensorRT warns when builders/runtimes get different loggers.
    logger = _LOGGERS.get(trt)
    if logger is None:
        logger = _LOGGERS[trt] = trt.Logger(level)
    else:
        logger.min_severity = level
    return logger


# ----------------------------------------------------------------------------- GPU probes


def _cc_from_pycuda():
    import pycuda.driver as cuda  # noqa: F811

    cuda.init()
    major, minor = cuda.Device(0).compute_capability()
    return "%d.%d" % (major, minor)


def _cc_from_cuda_python():
    rt = cudart()
    attrs = rt.cudaDeviceAttr
    major = check(rt, rt.cudaDeviceGetAttribute(attrs.cudaDevAttrComputeCapabilityMajor, 0), "cudaDeviceGetAttribute")
    minor = check(rt, rt.cudaDeviceGetAttribute(attrs.cudaDevAttrComputeCapabilityMinor, 0), "cudaDeviceGetAttribute")
    return "%d.%d" % (int(major), int(minor))


def _cc_from_nvidia_smi():
    # compute_cap is a query field since driver 510; older drivers answer with an error.
    p = subprocess.run(
        [_NVIDIA_SMI, "--query-gpu=compute_cap", "--format=csv,noheader"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        universal_newlines=True,
        timeout=20,
        check=False,
    )
    if p.returncode != 0:
        raise RuntimeError("nvidia-smi exited with %d" % p.returncode)
    lines = p.stdout.strip().splitlines()
    return lines[0].strip() if lines else ""


def _cc_from_device_tree():
    for path in _DEVICE_TREE_FILES:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("latin-1").lower()
        except OSError:
            continue
        for needle, capability in _JETSON_CAPABILITIES:
            if needle in text:
                return capability
    return ""


_CC_PROBES = (
    ("pycuda", _cc_from_pycuda),
    ("cuda-python", _cc_from_cuda_python),
    ("nvidia-smi", _cc_from_nvidia_smi),
    ("/proc/device-tree", _cc_from_device_tree),
)


def compute_capability():
    """The first GPU's compute capability as ``"major.minor"`` (e.g. ``"8.7"`` on Orin).

    Tries pycuda, cuda-python, ``nvidia-smi`` and the Jetson device tree in turn; a probe
    that is missing or fails falls through to the next."""
    tried = []
    for name, probe in _CC_PROBES:
        try:
            value = probe()
        except Exception as exc:  # any probe failure falls through (ImportError, no driver, ...)
            tried.append("%s (%s)" % (name, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        value = str(value or "").strip()
        if re.match(r"^\d+\.\d+$", value):
            return value
        tried.append("%s (no answer)" % name)
    raise EdgeferError(
        "could not find the GPU's compute capability; tried %s. Is this an NVIDIA GPU or a "
        "Jetson? Install pycuda or cuda-python (%s)" % ("; ".join(tried), CUDA_HINT)
    )


# ----------------------------------------------------------------------------- cache keys


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.]+", "_", str(text)).strip("_")


def engine_key(onnx_sha256, precision, trt_version, compute_capability, dla_core=None, batch=None):
    """A readable, filesystem-safe cache key, e.g. ``3f2a...-int8-trt10.3.0.30-sm87-dla0-b1``.

    The full sha256 and the other fields are also written to the engine's JSON sidecar;
    only the first 16 hex digits of the sha appear in the name."""
    sha = str(onnx_sha256).strip().lower()
    if not re.match(r"^[0-9a-f]{16,}$", sha):
        raise EdgeferError("onnx_sha256 %r is not a hex sha256 digest" % (onnx_sha256,))
    if precision not in PRECISIONS:
        raise EdgeferError("precision %r is not one of %s" % (precision, ", ".join(PRECISIONS)))
    cc = str(compute_capability).strip()
    if not re.match(r"^\d+\.\d+$", cc):
        raise EdgeferError("compute capability %r is not like '8.7'" % (compute_capability,))
    parts = [sha[:16], precision, "trt" + _safe(trt_version), "sm" + cc.replace(".", "")]
    if dla_core is not None:
        parts.append("dla%d" % int(dla_core))
    if batch is not None:
        parts.append("b" + _safe(batch))
    return "-".join(parts)


def _engines_dir(cache_root=None):
    try:
        if cache_root is None:
            return cache_dir("engines")
        os.makedirs(cache_root, exist_ok=True)
        return os.fspath(cache_root)
    except OSError as exc:
        raise EdgeferError(
            "cannot create the TensorRT engine cache folder (%s); set EDGEFER_CACHE_DIR to a "
            "writable folder" % exc
        ) from None


def engine_cache_path(key, cache_root=None):
    """Where the engine for ``key`` lives: ``<cache_root>/<key>.engine``; ``cache_root`` is the
    folder holding the engines, by default ``cache_dir("engines")``."""
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", str(key)):
        raise EdgeferError("engine key %r is not filesystem-safe" % (key,))
    return os.path.join(_engines_dir(cache_root), key + ".engine")


def _sidecar_path(engine_path):
    return os.path.splitext(engine_path)[0] + ".json"


def _shapes_tag(input_shapes):
    """The part of the key that names an explicit shape profile: ``"1_4_8"`` when only the
    batch varies, else a short hash of the shapes."""
    if not input_shapes:
        return None
    try:
        canon = {str(k): [list(map(int, s)) for s in v] for k, v in dict(input_shapes).items()}
        if not all(len(v) == 3 and len(v[0]) > 0 for v in canon.values()):
            raise ValueError
    except (TypeError, ValueError):
        raise EdgeferError("input_shapes must be {input name: (min, opt, max) shapes}, got %r" % (input_shapes,)) from None
    batches = set()
    simple = True
    for mn, opt, mx in canon.values():
        if not (mn[1:] == opt[1:] == mx[1:]):
            simple = False
        batches.add((mn[0], opt[0], mx[0]))
    if simple and len(batches) == 1:
        mn, opt, mx = batches.pop()
        return str(mn) if mn == opt == mx else "%d_%d_%d" % (mn, opt, mx)  # min_opt_max
    digest = hashlib.sha256(json.dumps(canon, sort_keys=True).encode("utf-8")).hexdigest()
    return "p" + digest[:8]


# ----------------------------------------------------------------------------- building


def _set_flag(config, trt, name):
    flag = getattr(trt.BuilderFlag, name, None)
    if flag is not None:  # TensorRT 11 removed FP16/INT8: types come from the ONNX graph
        config.set_flag(flag)


def _describe_parser_error(err):
    try:
        desc = str(err.desc())
    except Exception:
        return " ".join(str(err).split())
    try:
        node = int(err.node())
    except Exception:
        node = -1
    text = ("node %d: %s" % (node, desc)) if node >= 0 else desc
    return " ".join(text.split())


def _check_shape_triple(onnx_path, name, triple, rank):
    try:
        mn, opt, mx = [tuple(int(d) for d in s) for s in triple]
    except (TypeError, ValueError):
        raise EdgeferError(
            "input_shapes[%r] for %s must be (min, opt, max) shapes, got %r" % (name, onnx_path, triple)
        ) from None
    if not (len(mn) == len(opt) == len(mx) == rank):
        raise EdgeferError(
            "input_shapes[%r] for %s: the input has %d dimensions, got %r" % (name, onnx_path, rank, triple)
        )
    if not all(0 < a <= b <= c for a, b, c in zip(mn, opt, mx)):
        raise EdgeferError(
            "input_shapes[%r] for %s must satisfy 0 < min <= opt <= max in every dimension, got %r"
            % (name, onnx_path, triple)
        )
    return mn, opt, mx


def _profile(trt, builder, network, onnx_path, input_shapes):
    """An optimization profile for the network's dynamic inputs, or None for a fixed graph.

    A dynamic dimension (-1) needs ``input_shapes={name: (min, opt, max)}``; without it a
    dynamic *batch* (first) dimension gets batch 1/1/1."""
    input_shapes = dict(input_shapes or {})
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    names = [t.name for t in inputs]
    unknown = sorted(set(input_shapes) - set(names))
    if unknown:
        raise EdgeferError(
            "input_shapes names %s, which %s does not have (its inputs: %s)"
            % (", ".join(unknown), onnx_path, ", ".join(names))
        )
    profile = None
    for tensor in inputs:
        shape = tuple(int(d) for d in tensor.shape)
        if tensor.name in input_shapes:
            mn, opt, mx = _check_shape_triple(onnx_path, tensor.name, input_shapes[tensor.name], len(shape))
            for i, d in enumerate(shape):
                if d >= 0 and not (mn[i] == opt[i] == mx[i] == d):
                    raise EdgeferError(
                        "input_shapes[%r] for %s changes dimension %d, which the graph fixes at %d"
                        % (tensor.name, onnx_path, i, d)
                    )
        elif any(d < 0 for d in shape):
            if any(d < 0 for d in shape[1:]):
                raise EdgeferError(
                    "input %r of %s has dynamic dimensions %s; give input_shapes={%r: (min, opt, max)}"
                    % (tensor.name, onnx_path, list(shape), tensor.name)
                )
            mn = opt = mx = (1,) + shape[1:]
        else:
            continue
        if all(d >= 0 for d in shape):
            continue  # a fixed input needs no profile entry
        if profile is None:
            profile = builder.create_optimization_profile()
        profile.set_shape(tensor.name, mn, opt, mx)
    return profile


def _load_timing_cache(config, timing_cache_path):
    blob = b""
    if os.path.exists(timing_cache_path):
        with open(timing_cache_path, "rb") as f:
            blob = f.read()
    cache = config.create_timing_cache(blob)
    # ignore_mismatch=False: a cache made on another GPU / TensorRT build is refused (and we
    # start an empty one) rather than mixing timings from different device properties.
    if cache is None or config.set_timing_cache(cache, False) is False:
        config.set_timing_cache(config.create_timing_cache(b""), False)


def build_serialized_engine(
    onnx_path,
    precision,
    *,
    int8_mode="qdq",
    calibrator=None,
    workspace_mb=1024,
    dla_core=None,
    timing_cache_path=None,
    input_shapes=None,
    logger_severity="WARNING"
):
    """Parse ``onnx_path`` and build a serialized TensorRT engine (bytes).

    precision: ``fp32``, ``fp16`` or ``int8``. For int8, ``int8_mode="qdq"`` builds from a
    QDQ ONNX (explicit quantization: INT8 + FP16 flags, no calibrator; the only INT8 path on
    TensorRT >= 10.1); ``int8_mode="calibrator"`` builds a float ONNX with ``calibrator``
    (see :func:`make_entropy_calibrator`; TensorRT 8.x / < 10.1 only). ``dla_core`` runs the
    engine on that DLA core with GPU fallback; ``timing_cache_path`` is read before and
    written back after the build; ``input_shapes={name: (min, opt, max)}`` sets the profile
    for dynamic inputs."""
    onnx_path = os.fspath(onnx_path)
    _check_build_options(onnx_path, precision, int8_mode, dla_core, workspace_mb)
    trt = import_tensorrt()
    use_calibrator = precision == "int8" and int8_mode == "calibrator"
    _check_tensorrt_for_build(trt, onnx_path, use_calibrator, calibrator)
    logger = _logger(trt, logger_severity)
    builder = trt.Builder(logger)
    network = _parse_onnx(trt, builder, logger, onnx_path)
    config = builder.create_builder_config()
    _set_workspace(trt, config, workspace_mb)
    _set_precision(trt, config, precision, use_calibrator, calibrator)
    if dla_core is not None:
        _set_dla(trt, builder, config, dla_core)
    profile = _profile(trt, builder, network, onnx_path, input_shapes)
    if profile is not None:
        config.add_optimization_profile(profile)
        if use_calibrator and hasattr(config, "set_calibration_profile"):
            # Calibrating a network with dynamic shapes needs a calibration profile.
            config.set_calibration_profile(profile)
    if timing_cache_path is not None:
        _load_timing_cache(config, os.fspath(timing_cache_path))
    serialized = _build(builder, network, config, onnx_path, precision, calibrator if use_calibrator else None)
    if timing_cache_path is not None:
        timing_cache = config.get_timing_cache()
        if timing_cache is not None:
            write_bytes(os.fspath(timing_cache_path), bytes(timing_cache.serialize()))
    return bytes(serialized)


def _check_build_options(onnx_path, precision, int8_mode, dla_core, workspace_mb):
    """The options of :func:`build_serialized_engine` that need no TensorRT, checked."""
    if precision not in PRECISIONS:
        raise EdgeferError("precision %r is not one of %s" % (precision, ", ".join(PRECISIONS)))
    if int8_mode not in INT8_MODES:
        raise EdgeferError("int8_mode %r is not one of %s" % (int8_mode, ", ".join(INT8_MODES)))
    if not os.path.isfile(onnx_path):
        raise EdgeferError("ONNX file not found: %s" % onnx_path)
    if dla_core is not None and precision == "fp32":
        raise EdgeferError("DLA runs fp16 or int8 only; build %s with precision fp16 or int8 for dla_core" % onnx_path)
    if workspace_mb is not None and int(workspace_mb) <= 0:
        raise EdgeferError("workspace_mb must be a positive number of MiB, got %r" % (workspace_mb,))


def _check_tensorrt_for_build(trt, onnx_path, use_calibrator, calibrator):
    """TensorRT >= 8.0; for implicit INT8 calibration, TensorRT < 10.1 and a calibrator."""
    version = _trt_version(trt)
    if version < (8, 0):
        raise EdgeferError(
            "TensorRT %s is too old: edgefer needs TensorRT >= 8.0 (JetPack >= 4.6)" % trt.__version__
        )
    if use_calibrator:
        if version >= CALIBRATOR_LAST_VERSION:
            raise EdgeferError(
                "int8_mode='calibrator' needs TensorRT < 10.1 (implicit calibration is deprecated "
                "from 10.1 on; this is %s); %s" % (trt.__version__, _QDQ_ADVICE)
            )
        if calibrator is None:
            raise EdgeferError(
                "int8_mode='calibrator' for %s needs a calibrator (make_entropy_calibrator)" % onnx_path
            )


def _parse_onnx(trt, builder, logger, onnx_path):
    """An explicit-batch network definition parsed from ``onnx_path``."""
    if _trt_version(trt) < (10,):
        # TensorRT 8.x: explicit batch must be requested (implicit batch is deprecated).
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    else:
        # TensorRT 10: "EXPLICIT_BATCH: [DEPRECATED] Ignored because networks are always
        # explicit batch in TensorRT 10.0."
        flags = 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as f:
        model = f.read()
    # parse(model, path): the path lets the parser find external weight files (TRT >= 8.0).
    if not parser.parse(model, os.path.abspath(onnx_path)):
        errors = [_describe_parser_error(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EdgeferError(
            "TensorRT cannot parse %s: %s" % (onnx_path, "; ".join(errors) or "no error reported by the parser")
        )
    return network


def _set_workspace(trt, config, workspace_mb):
    """The builder's workspace limit (None: TensorRT's default)."""
    if workspace_mb is not None:
        size = int(workspace_mb) << 20
        if hasattr(config, "set_memory_pool_limit"):  # TensorRT >= 8.4
            config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, size)
        else:  # TensorRT 8.0 - 8.3 (max_workspace_size was removed in 10)
            config.max_workspace_size = size


def _set_precision(trt, config, precision, use_calibrator, calibrator):
    """The precision flags (where this TensorRT has them) and the implicit-INT8 calibrator."""
    if precision == "fp16":
        _set_flag(config, trt, "FP16")
    elif precision == "int8":
        _set_flag(config, trt, "INT8")
        if use_calibrator:
            config.int8_calibrator = calibrator  # implicit quantization (TensorRT 8.x)
        else:
            # Explicit quantization: scales come from the Q/DQ nodes; FP16 lets the layers
            # left in float run in half precision instead of fp32.
            _set_flag(config, trt, "FP16")


def _set_dla(trt, builder, config, dla_core):
    """Run on DLA core ``dla_core``, with GPU fallback for the layers DLA cannot run."""
    available = getattr(builder, "num_DLA_cores", None)
    if available is not None and not 0 <= int(dla_core) < int(available):
        raise EdgeferError(
            "dla_core %s is not available: this device has %d DLA core(s) (Xavier and AGX Orin have "
            "DLA, Orin Nano has none)" % (dla_core, available)
        )
    config.default_device_type = trt.DeviceType.DLA
    config.DLA_core = int(dla_core)
    _set_flag(config, trt, "GPU_FALLBACK")  # layers DLA cannot run go to the GPU


def _build(builder, network, config, onnx_path, precision, calibrator):
    """The serialized engine; a calibration failure (kept by ``calibrator``) or a failed
    build is an :class:`EdgeferError`."""
    serialized = builder.build_serialized_network(network, config)  # TensorRT >= 8.0
    calibration_error = getattr(calibrator, "error", None) if calibrator is not None else None
    if calibration_error:
        raise EdgeferError("INT8 calibration for %s failed: %s" % (onnx_path, calibration_error))
    if serialized is None:
        raise EdgeferError(
            "TensorRT could not build a %s engine from %s (the TensorRT log above says why; rerun "
            "with logger_severity='VERBOSE' for more)" % (precision, onnx_path)
        )
    return serialized


# ----------------------------------------------------------------------------- calibration


_WHY_CALIBRATION = "INT8 calibration for TensorRT (copying images to the GPU)"


# Long on purpose: the calibrator class must subclass the IInt8EntropyCalibrator2 of the
# tensorrt module found at call time, so it is defined inside this function.
def make_entropy_calibrator(batches, cache_path, input_name):
    """An ``IInt8EntropyCalibrator2`` (TensorRT 8.x, < 10.1) feeding ``batches``.

    ``batches``: an iterable of float32 numpy arrays N x C x H x W (the calibration images of
    the INT8 ONNX, preprocessed the same way), all the same shape. ``cache_path``: the
    calibration cache file, read when it exists (then no image is needed) and written
    atomically after calibration; None for no cache. ``input_name``: the network input fed.
    A failure inside a TensorRT callback is kept in ``.error`` (build_serialized_engine
    raises it) since exceptions must not cross into TensorRT."""
    import numpy as np

    trt = import_tensorrt("INT8 calibration for TensorRT")
    base = getattr(trt, "IInt8EntropyCalibrator2", None)
    if base is None or _trt_version(trt) >= CALIBRATOR_LAST_VERSION:
        raise EdgeferError(
            "the entropy calibrator needs TensorRT < 10.1 (deprecated from 10.1 on; this is %s); %s"
            % (trt.__version__, _QDQ_ADVICE)
        )
    cache_path = os.fspath(cache_path) if cache_path is not None else None

    class EntropyCalibrator(base):
        def __init__(self):
            base.__init__(self)  # pybind11 trampolines need the base __init__
            self.input_name = input_name
            self.cache_path = cache_path
            self.error = None
            self.batches_fed = 0
            self._batches = iter(batches)
            self._first = None
            self._shape = None
            # Without a calibration cache the images go to the GPU: find pycuda / cuda-python
            # now, so a missing one is reported before TensorRT starts building.
            self._copier = None if self.read_calibration_cache() is not None else DeviceUpload(_WHY_CALIBRATION)

        def _peek(self):
            if self._first is None and self._shape is None:
                try:
                    self._first = next(self._batches)
                except StopIteration:
                    return None
                self._shape = tuple(np.shape(self._first))
            return self._shape

        def get_batch_size(self):
            shape = self._peek()
            return int(shape[0]) if shape else 1

        def get_batch(self, names, *args):
            if self.error:
                return None
            try:
                if self.input_name not in list(names):
                    self.error = "the network's inputs are %s, not %r" % (list(names), self.input_name)
                    return None
                self._peek()
                if self._first is not None:
                    batch, self._first = self._first, None
                else:
                    batch = next(self._batches, None)
                if batch is None:
                    self.close()
                    return None
                batch = np.ascontiguousarray(batch, dtype=np.float32)
                if batch.ndim != 4 or batch.shape != self._shape:
                    self.error = "calibration batch %d has shape %s, expected %s (N x C x H x W, all alike)" % (
                        self.batches_fed + 1,
                        batch.shape,
                        self._shape,
                    )
                    return None
                if self._copier is None:
                    self._copier = DeviceUpload(_WHY_CALIBRATION)
                pointer = self._copier.upload(batch)
                self.batches_fed += 1
                return [int(pointer)]
            except Exception as exc:  # never let an exception cross into TensorRT
                self.error = "%s: %s" % (type(exc).__name__, exc)
                return None

        def read_calibration_cache(self, *args):
            if self.cache_path and os.path.isfile(self.cache_path):
                with open(self.cache_path, "rb") as f:
                    return f.read()
            return None

        def write_calibration_cache(self, cache, *args):
            if self.cache_path:
                try:
                    write_bytes(self.cache_path, bytes(cache))
                except Exception as exc:
                    self.error = "cannot write the calibration cache %s: %s" % (self.cache_path, exc)

        def close(self):
            if self._copier is not None:
                self._copier.free()
                self._copier = None

    return EntropyCalibrator()


# ----------------------------------------------------------------------------- engine cache


def _cached_engine_problem(engine_path, fields):
    """None when the cached engine at ``engine_path`` matches ``fields``, else why not."""
    if not os.path.isfile(engine_path):
        return "first use"
    try:
        with open(_sidecar_path(engine_path), "r", encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return "its sidecar %s is missing or unreadable" % _sidecar_path(engine_path)
    if not isinstance(meta, dict):
        return "its sidecar is not a JSON object"
    for name, value in fields.items():
        if meta.get(name) != value:
            return "cached %s %r does not match %r" % (name, meta.get(name), value)
    try:
        if meta.get("engine_size") != os.path.getsize(engine_path) or meta.get("engine_sha256") != sha256_file(
            engine_path
        ):
            return "the cached engine file does not match its sidecar"
    except OSError as exc:
        return "the cached engine cannot be read (%s)" % exc
    return None


def get_engine(onnx_path, onnx_sha256, precision, *, cache_root=None, rebuild=False, **build_options):
    """The path of a TensorRT engine for ``onnx_path``, built on first use and cached.

    The key (see :func:`engine_key`) combines ``onnx_sha256``, ``precision``, the installed
    TensorRT version, the GPU's compute capability, ``dla_core`` and ``input_shapes`` from
    ``build_options``. A cached engine is returned only when its JSON sidecar matches that
    key (and the engine file's own sha256); otherwise it is rebuilt (atomically), never
    loaded. ``build_options`` go to :func:`build_serialized_engine`."""
    onnx_path = os.fspath(onnx_path)
    trt_version = tensorrt_version()
    capability = compute_capability()
    dla_core = build_options.get("dla_core")
    batch = _shapes_tag(build_options.get("input_shapes"))
    key = engine_key(onnx_sha256, precision, trt_version, capability, dla_core=dla_core, batch=batch)
    int8_mode = build_options.get("int8_mode", "qdq") if precision == "int8" else None
    if int8_mode == "calibrator":
        key += "-cal"  # calibrated from a float ONNX: not the same engine as one from Q/DQ nodes
    path = engine_cache_path(key, cache_root)
    fields = {
        "key": key,
        "onnx_sha256": str(onnx_sha256).strip().lower(),
        "precision": precision,
        "tensorrt_version": trt_version,
        "compute_capability": capability,
        "dla_core": None if dla_core is None else int(dla_core),
        "batch": batch,
        "int8_mode": int8_mode,
    }
    problem = "rebuild requested" if rebuild else _cached_engine_problem(path, fields)
    if problem is None:
        return path

    if not os.path.isfile(onnx_path):
        raise EdgeferError("ONNX file not found: %s" % onnx_path)
    actual = sha256_file(onnx_path)
    if actual != fields["onnx_sha256"]:
        raise EdgeferError(
            "%s has sha256 %s, not the %s given for it (the bundle's manifest and its files differ)"
            % (onnx_path, actual, fields["onnx_sha256"])
        )
    log.info(
        "building TensorRT %s engine for %s (%s; cached at %s; this can take minutes)",
        precision, os.path.basename(onnx_path), problem, path,
    )
    data = build_serialized_engine(onnx_path, precision, **build_options)
    sidecar = _sidecar_path(path)
    meta = dict(fields)
    meta["engine_size"] = len(data)
    meta["engine_sha256"] = hashlib.sha256(data).hexdigest()
    meta["onnx_file"] = os.path.basename(onnx_path)
    try:
        if os.path.exists(sidecar):
            os.remove(sidecar)  # the old sidecar must never vouch for the new engine
        write_bytes(path, data)
        write_json(sidecar, meta)
    except OSError as exc:
        raise EdgeferError(
            "cannot write the TensorRT engine cache %s (%s); set EDGEFER_CACHE_DIR to a writable folder"
            % (path, exc)
        ) from None
    return path


def load_engine(engine_path, logger_severity="WARNING", dla_core=None):
    """Deserialize an engine file with ``trt.Runtime(logger).deserialize_cuda_engine``.

    ``dla_core``: for an engine built for DLA, the core it runs on (``Runtime.DLA_core`` must
    be set before deserializing). The returned engine keeps its Runtime alive (the Python
    binding ties their lifetimes)."""
    trt = import_tensorrt("loading a TensorRT engine")
    with open(os.fspath(engine_path), "rb") as f:
        data = f.read()
    runtime = trt.Runtime(_logger(trt, logger_severity))
    if dla_core is not None:
        runtime.DLA_core = int(dla_core)
    engine = runtime.deserialize_cuda_engine(data)
    if engine is None:
        raise EdgeferError(
            "TensorRT %s cannot load the engine %s (built by another TensorRT version or for another "
            "GPU?); delete it to rebuild" % (trt.__version__, engine_path)
        )
    return engine
