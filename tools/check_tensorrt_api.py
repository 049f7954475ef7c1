"""Check every TensorRT and CUDA name edgefer's device code uses against the real Python
modules, and the test fakes against the same list.

    python tools/check_tensorrt_api.py --real ~/trt-check10/bin/python --real ~/trt-check11/bin/python \\
        [--markdown report.md] [--json report.json]

Run it with the project's Python (it imports the test fakes from tests/); each ``--real``
is the interpreter of a check-only environment that has NVIDIA's ``tensorrt`` (or only its
``tensorrt_cu12_bindings`` wheel) and ``cuda-python`` (and pycuda if it built), e.g.::

    python3 -m venv ~/trt-check10 && ~/trt-check10/bin/pip install "tensorrt-cu12==10.*" "cuda-python>=12,<13"

What it does:

1. **Uses.** Parses ``edgefer/runtime/tensorrt_engine.py``, ``tensorrt_runner.py`` and
   ``cuda.py`` with ``ast`` and lists every attribute chain on the ``tensorrt`` module
   (``trt.BuilderFlag.FP16``), on the objects TensorRT hands back (a builder, a network, a
   config, an engine, a context, ...: known by the variable names the code gives them,
   ``VAR_ROLES`` below), on pycuda's ``driver`` and cuda-python's ``runtime`` module, with
   the positional and keyword arguments of every call, whether it reads, writes or only
   probes (``getattr(x, "name", None)``, ``hasattr``) the name, and the ``if`` tests around
   it. Names reached through a variable (``getattr(trt.BuilderFlag, name)``) are resolved
   from the source (the constants passed to ``_set_flag``, ``LOGGER_SEVERITIES``).
2. **Real modules.** In each ``--real`` interpreter, imports ``tensorrt`` (when the
   ``tensorrt_libs`` wheel with libnvinfer is absent, as here, it loads the real Python
   bindings over introspection-only stand-ins of TensorRT's nine C entry points, built with
   ``cc``: nothing can be computed, every class, enum, method, property and docstring
   signature is the real one) and ``cuda.bindings.runtime``, and answers for each use:
   does the name exist, is a written attribute a settable property, and do the call's
   arguments fit one of the documented signatures (pybind11 docstrings; ``inspect`` for
   cuda-python).
3. **Version gates.** A use the real module lacks is allowed only where ``GATES`` says the
   code reaches it on other versions only (and the gate is in the source); anything else
   is a failure.
4. **Fakes.** Builds the fakes of ``tests/test_tensorrt_build.py`` and
   ``tests/test_tensorrt_runner.py`` for every TensorRT version the tests emulate and
   compares, name by name, what each fake offers with the real module of the same major
   version (10.x fakes with the newest real 10, 11.x with 11); 8.x fakes, whose TensorRT
   cannot be imported here, with ``DOCUMENTED_8X`` (NVIDIA's TensorRT 8.6 Python API
   reference). A fake that offers a name the real API lacks is a failure (the tests would
   pass on a path real TensorRT cannot take); one that lacks a name the real API has is
   reported (that path is not exercised).

Exit status 0 when nothing failed. Without a GPU no Builder, Runtime or engine can be
created, so behaviour (return values, what TensorRT calls back, engine building and
execution) stays untested: the report says so.
"""

import argparse
import ast
import ctypes
import glob
import importlib
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("edgefer/runtime/tensorrt_engine.py", "edgefer/runtime/tensorrt_runner.py", "edgefer/runtime/cuda.py")

TRT, PYCUDA, CUDART = "tensorrt", "pycuda.driver", "cudart"
# What a variable (or parameter) of that name holds in these three files.
VAR_ROLES = {
    "trt": TRT, "builder": TRT + ".Builder", "network": TRT + ".INetworkDefinition",
    "config": TRT + ".IBuilderConfig", "parser": TRT + ".OnnxParser", "err": TRT + ".ParserError",
    "tensor": TRT + ".ITensor", "profile": TRT + ".IOptimizationProfile", "cache": TRT + ".ITimingCache",
    "timing_cache": TRT + ".ITimingCache", "runtime": TRT + ".Runtime", "logger": TRT + ".Logger",
    "engine": TRT + ".ICudaEngine", "context": TRT + ".IExecutionContext",
    "cuda": PYCUDA, "dev": PYCUDA + ".Device", "ctx": PYCUDA + ".Context", "rt": CUDART,
    "attrs": CUDART + ".cudaDeviceAttr",
}
# self.<attr> inside a class.
SELF_ROLES = {
    ("TensorRTRunner", "_trt"): TRT, ("TensorRTRunner", "_engine"): TRT + ".ICudaEngine",
    ("TensorRTRunner", "_context"): TRT + ".IExecutionContext",
    ("_PycudaIO", "_cuda"): PYCUDA, ("_PycudaIO", "_ctx"): PYCUDA + ".Context",
    ("_PycudaIO", "_stream"): PYCUDA + ".Stream", ("_CudartIO", "_rt"): CUDART,
}
MODULES = (TRT, PYCUDA, CUDART)

# Names the code reaches only on some TensorRT versions: (role, name) -> (where the
# code's gate is, a regular expression the source must contain, which majors lack it).
GATES = {
    (TRT + ".BuilderFlag", "FP16"): ("_set_flag: getattr(trt.BuilderFlag, name, None)", r"getattr\(trt\.BuilderFlag, name, None\)", (11,)),
    (TRT + ".BuilderFlag", "INT8"): ("_set_flag: getattr(trt.BuilderFlag, name, None)", r"getattr\(trt\.BuilderFlag, name, None\)", (11,)),
    (TRT + ".IBuilderConfig", "int8_calibrator"): ("int8_mode='calibrator' is refused on TensorRT >= 10.1 (_check_tensorrt_for_build)", r"version >= CALIBRATOR_LAST_VERSION", (11,)),
    (TRT, "IInt8EntropyCalibrator2"): ("make_entropy_calibrator: getattr(trt, 'IInt8EntropyCalibrator2', None)", r'getattr\(trt, "IInt8EntropyCalibrator2", None\)', (11,)),
    (TRT + ".IBuilderConfig", "max_workspace_size"): ("_set_workspace: only without set_memory_pool_limit (TensorRT < 8.4)", r'hasattr\(config, "set_memory_pool_limit"\)', (10, 11)),
    (TRT + ".ICudaEngine", "num_bindings"): ("_binding_tensors: only when the named-tensor API is missing (TensorRT < 8.5)", r"_binding_tensors\(trt, engine\)", (10, 11)),
    (TRT + ".ICudaEngine", "binding_is_input"): ("_binding_tensors (TensorRT < 8.5)", r"_binding_tensors\(trt, engine\)", (10, 11)),
    (TRT + ".ICudaEngine", "get_binding_shape"): ("_binding_tensors (TensorRT < 8.5)", r"_binding_tensors\(trt, engine\)", (10, 11)),
    (TRT + ".ICudaEngine", "get_binding_dtype"): ("_binding_tensors (TensorRT < 8.5)", r"_binding_tensors\(trt, engine\)", (10, 11)),
    (TRT + ".ICudaEngine", "get_profile_shape"): ("_binding_tensors (TensorRT < 8.5)", r"_binding_tensors\(trt, engine\)", (10, 11)),
    (TRT + ".ICudaEngine", "get_binding_name"): ("_binding_tensors (TensorRT < 8.5)", r"_binding_tensors\(trt, engine\)", (10, 11)),
    (TRT + ".IExecutionContext", "set_binding_shape"): ("_set_rows: only without the named API", r"self\._context\.set_binding_shape", (10, 11)),
    (TRT + ".IExecutionContext", "execute_async_v2"): ("_run_chunk: only without the named API", r"execute_async_v2\(self\._bindings", (10, 11)),
    (TRT + ".NetworkDefinitionCreationFlag", "EXPLICIT_BATCH"): ("_parse_onnx: only on TensorRT < 10", r"_trt_version\(trt\) < \(10,\)", (11,)),
}

# What TensorRT 8.5 / 8.6 (JetPack 5.1 / 6.0) have of the names the code uses, from NVIDIA's
# documentation, since neither can be imported here (tensorrt-bindings 8.6 needs
# libnvinfer.so.8, which no registry package provides): the TensorRT 8.6 Python API reference
# (docs.nvidia.com/deeplearning/tensorrt/archives/tensorrt-861/api/python_api/) and its C++
# member lists (e.g. .../tensorrt-861/api/c_api/classnvinfer1_1_1_i_cuda_engine-members.html:
# the bindings API still there, deprecated); "API Changes For TensorRT 8.5.1" in the 8.5.1 API
# reference (.../tensorrt-851/pdf/TensorRT-API.pdf: the named-tensor engine/context API);
# set_memory_pool_limit since 8.4; the TensorRT 10 migration guide (.../tensorrt-1010/
# migration-guide/) for what 10.0 removed (bindings API, execute_async_v2, build_engine,
# max_workspace_size).
DOCUMENTED_8X = {
    TRT: {"__version__", "Builder", "Logger", "OnnxParser", "Runtime", "BuilderFlag", "MemoryPoolType", "DeviceType",
          "NetworkDefinitionCreationFlag", "TensorIOMode", "IInt8EntropyCalibrator2", "nptype"},
    TRT + ".Logger": {"INTERNAL_ERROR", "ERROR", "WARNING", "INFO", "VERBOSE", "min_severity"},
    TRT + ".BuilderFlag": {"FP16", "INT8", "GPU_FALLBACK"},
    TRT + ".MemoryPoolType": {"WORKSPACE"},
    TRT + ".DeviceType": {"GPU", "DLA"},
    TRT + ".NetworkDefinitionCreationFlag": {"EXPLICIT_BATCH"},
    TRT + ".TensorIOMode": {"INPUT", "OUTPUT"},
    TRT + ".Builder": {"create_network", "create_builder_config", "create_optimization_profile",
                       "build_serialized_network", "build_engine", "num_DLA_cores"},
    TRT + ".INetworkDefinition": {"get_input", "num_inputs"},
    TRT + ".ITensor": {"name", "shape"},
    TRT + ".OnnxParser": {"parse", "get_error", "num_errors"},
    TRT + ".ParserError": {"desc", "node", "code"},
    TRT + ".IBuilderConfig": {"set_memory_pool_limit", "max_workspace_size", "set_flag", "int8_calibrator",
                              "default_device_type", "DLA_core", "add_optimization_profile",
                              "set_calibration_profile", "create_timing_cache", "set_timing_cache",
                              "get_timing_cache"},
    TRT + ".IOptimizationProfile": {"set_shape"},
    TRT + ".ITimingCache": {"serialize"},
    TRT + ".Runtime": {"deserialize_cuda_engine", "DLA_core"},
    TRT + ".ICudaEngine": {"num_io_tensors", "get_tensor_name", "get_tensor_mode", "get_tensor_shape",
                           "get_tensor_dtype", "get_tensor_profile_shape", "create_execution_context",
                           "num_bindings", "binding_is_input", "get_binding_shape", "get_binding_dtype",
                           "get_profile_shape", "get_binding_name", "num_optimization_profiles"},
    TRT + ".IExecutionContext": {"set_input_shape", "set_tensor_address", "execute_async_v3",
                                 "set_binding_shape", "execute_async_v2"},
    TRT + ".IInt8EntropyCalibrator2": {"get_batch_size", "get_batch", "read_calibration_cache",
                                       "write_calibration_cache"},
}
# The bindings API and execute_async_v2 exist before 8.5 too; the named API does not (8.2 fakes).
NAMED_API_8_5 = {(TRT + ".ICudaEngine", n) for n in ("num_io_tensors", "get_tensor_name", "get_tensor_mode",
                                                     "get_tensor_shape", "get_tensor_dtype",
                                                     "get_tensor_profile_shape")} | \
                {(TRT + ".IExecutionContext", n) for n in ("set_input_shape", "set_tensor_address", "execute_async_v3")} | \
                {(TRT, "TensorIOMode")}

FAKE_VERSIONS = ("8.2.1.8", "8.5.2.2", "8.6.1.6", "10.2.0.19", "10.3.0.30", "10.4.0.26", "11.0.0.1")

UNTESTABLE = [
    "No Builder, Runtime, engine or execution context can be created without a GPU (and, here, without "
    "libnvinfer): return values and types (build_serialized_network's IHostMemory, parse's bool, "
    "set_input_shape's False on a bad shape, deserialize_cuda_engine's None), the exceptions TensorRT raises, "
    "and what a real engine reports for its tensors are not checked.",
    "The INT8 calibrator protocol at run time (which overrides TensorRT calls, with which arguments, from which "
    "thread) is checked only for the method names against IInt8EntropyCalibrator2 (TensorRT 10); the build "
    "itself, DLA placement, timing caches and optimization profiles are not exercised.",
    "CUDA: cuda-python's functions are checked by name and signature; pycuda only if it built; nothing ran on a "
    "device (copies, streams, the primary context).",
]


# ------------------------------------------------------------------------------ 1. uses

class Use(object):
    def __init__(self, file, line, role, name, kind, npos=0, keywords=(), guard=""):
        self.file, self.line, self.role, self.name, self.kind = file, line, role, name, kind
        self.npos, self.keywords, self.guard = npos, tuple(keywords), guard

    def key(self):
        return (self.role, self.name)

    def to_dict(self):
        return dict(file=self.file, line=self.line, role=self.role, name=self.name, kind=self.kind,
                    npos=self.npos, keywords=list(self.keywords), guard=self.guard)


def _constants_passed(tree, function, index):
    """String constants given as argument ``index`` to calls of ``function`` in ``tree``."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function:
            if len(node.args) > index and isinstance(node.args[index], ast.Constant):
                out.append(node.args[index].value)
    return out


def _module_constant(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(name)


class _Visitor(ast.NodeVisitor):
    def __init__(self, file, tree, text):
        self.file, self.tree, self.text = file, tree, text
        self.uses, self.unresolved = [], []
        self.cls, self.func, self.guards = [None], [None], []
        self.dynamic = {  # getattr(X, <variable>): the names that variable takes, from the source
            (TRT + ".BuilderFlag", "_set_flag"): _constants_passed(tree, "_set_flag", 2),
            (TRT + ".Logger", "_logger"): list(_module_constant(tree, "LOGGER_SEVERITIES"))
            if "LOGGER_SEVERITIES =" in text else [],
        }

    def role(self, node):
        if isinstance(node, ast.Name):
            return VAR_ROLES.get(node.id)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                return SELF_ROLES.get((self.cls[-1], node.attr))
            base = self.role(node.value)
            if base in MODULES:
                return base + "." + node.attr
        if isinstance(node, ast.Call):  # Class(...) -> an instance of that class
            base = self.role(node.func)
            if base and base not in MODULES and base.split(".", 2)[0] in (TRT, "pycuda", CUDART):
                return base
        return None

    def add(self, node, role, name, kind, npos=0, keywords=()):
        guard = " and ".join(self.guards[-3:])
        self.uses.append(Use(self.file, node.lineno, role, name, kind, npos, keywords, guard))

    def visit_ClassDef(self, node):
        self.cls.append(node.name)
        self.generic_visit(node)
        self.cls.pop()

    def visit_FunctionDef(self, node):
        self.func.append(node.name)
        self.generic_visit(node)
        self.func.pop()

    def visit_If(self, node):
        self.visit(node.test)
        self.guards.append(ast.unparse(node.test) if hasattr(ast, "unparse") else "if")
        for child in node.body:
            self.visit(child)
        self.guards[-1] = "not (%s)" % self.guards[-1]
        for child in node.orelse:
            self.visit(child)
        self.guards.pop()

    def visit_Attribute(self, node):
        role = self.role(node.value)
        if role:
            kind = "store" if isinstance(node.ctx, ast.Store) else "read"
            self.add(node, role, node.attr, kind)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and len(node.args) >= 2:
            role = self.role(node.args[0])
            name = node.args[1]
            if role and isinstance(name, ast.Constant):
                self.add(node, role, name.value, "probe")
            elif role and isinstance(name, ast.Name):
                names = self.dynamic.get((role, self.func[-1]))
                if names:
                    for n in names:
                        self.add(node, role, n, "probe" if len(node.args) > 2 or func.id == "hasattr" else "read")
                else:
                    self.unresolved.append("%s:%d getattr(%s, %s)" % (self.file, node.lineno, role, name.id))
        if isinstance(func, ast.Attribute):
            role = self.role(func.value)
            if role and not (role in MODULES and func.attr[:1].isupper()):  # a class: its __init__, below
                self.add(node, role + ":call", func.attr, "call", len(node.args), [k.arg for k in node.keywords if k.arg])
        if isinstance(func, ast.Attribute) and self.role(func.value) in MODULES and func.attr[:1].isupper():
            # trt.Builder(logger), cuda.Device(0): the class's constructor
            self.add(node, self.role(func) + ":call", "__init__", "call", len(node.args),
                     [k.arg for k in node.keywords if k.arg])
        self.generic_visit(node)

    def visit_GeneratorExp(self, node):
        # all(hasattr(engine, a) for a in ("num_io_tensors", ...))
        for gen in node.generators:
            if isinstance(gen.target, ast.Name) and isinstance(gen.iter, ast.Tuple):
                call = node.elt
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "hasattr" \
                        and isinstance(call.args[1], ast.Name) and call.args[1].id == gen.target.id:
                    role = self.role(call.args[0])
                    for const in gen.iter.elts:
                        self.add(call, role, const.value, "probe")
                    return
        self.generic_visit(node)


def collect_uses(root=ROOT):
    uses, unresolved, overrides = [], [], []
    for rel in SOURCES:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        tree = ast.parse(text)
        v = _Visitor(rel, tree, text)
        v.visit(tree)
        uses += v.uses
        unresolved += v.unresolved
        # Methods of classes that subclass a TensorRT class found at run time (the calibrator).
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "base" for b in node.bases):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("_") and item.name != "close":
                        overrides.append(Use(rel, item.lineno, TRT + ".IInt8EntropyCalibrator2", item.name, "override"))
    return uses + overrides, unresolved


# ------------------------------------------------------------------------------ 2. real modules (child)

_STUB_C = """
void *createInferBuilder_INTERNAL(void *a, int b) { return 0; }
void *createInferRefitter_INTERNAL(void *a, void *b, int c) { return 0; }
void *createInferRuntime_INTERNAL(void *a, int b) { return 0; }
void *createNvOnnxParserRefitter_INTERNAL(void *a, void *b, int c) { return 0; }
void *createNvOnnxParser_INTERNAL(void *a, void *b, int c) { return 0; }
void *getBuilderPluginRegistry(int a) { return 0; }
int getNvOnnxParserVersion(void) { return 0; }
void *getPluginRegistry(void) { return 0; }
int initLibNvInferPlugins(void *a, const char *b) { return 0; }
"""


def _import_tensorrt(notes):
    """The real tensorrt module; when libnvinfer is missing, the real bindings loaded over
    introspection-only stand-ins of TensorRT's C entry points."""
    try:
        return importlib.import_module("tensorrt")
    except ImportError as exc:
        notes.append("import tensorrt: %s" % exc)
    try:
        bindings = importlib.util.find_spec("tensorrt_bindings")
    except (ImportError, ValueError):
        bindings = None
    if bindings is None:
        raise ImportError("neither tensorrt nor tensorrt_bindings is installed")
    so = glob.glob(os.path.join(os.path.dirname(bindings.origin), "tensorrt*.so"))[0]
    needed = re.findall(r"\[(libnv\w+\.so\.\d+)\]", subprocess.run(["readelf", "-d", so], stdout=subprocess.PIPE,
                                                                     universal_newlines=True).stdout)
    folder = tempfile.mkdtemp(prefix="trt-stubs-")
    src = os.path.join(folder, "stub.c")
    with open(src, "w") as f:
        f.write(_STUB_C)
    for soname in needed:
        out = os.path.join(folder, soname)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", out, "-Wl,-soname," + soname, src], check=True)
        ctypes.CDLL(out, mode=ctypes.RTLD_GLOBAL)
    notes.append("libnvinfer is not installed (the tensorrt_*_libs wheel comes only from pypi.nvidia.com): the real "
                 "Python bindings %s were loaded over introspection-only stand-ins of %s" % (so, ", ".join(needed)))
    module = importlib.import_module("tensorrt_bindings")
    sys.modules["tensorrt"] = module
    return module


def _split_params(text):
    depth, cur, out = 0, "", []
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _signatures(obj, name):
    """[(param names, number required)] from pybind11 docstrings or inspect, without self; None if unknown."""
    doc = getattr(obj, "__doc__", None) or ""
    sigs = []
    for m in re.finditer(r"^\s*(?:\d+\.\s*)?%s\((.*)\)\s*->" % re.escape(name), doc, re.M):
        params = _split_params(m.group(1))
        if params and params[0].startswith("self"):
            params = params[1:]
        names = [p.split(":")[0].split("=")[0].strip() for p in params]
        required = sum(1 for p in params if "=" not in p and not p.startswith("*"))
        sigs.append((names, required))
    if sigs:
        return sigs
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = [p for p in sig.parameters.values() if p.name != "self"]
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return [([p.name for p in params], sum(1 for p in params if p.default is p.empty))]


def _fits(sigs, npos, keywords):
    for names, required in sigs:
        if npos > len(names) or any(k not in names[npos:] for k in keywords):
            continue
        if npos + len(keywords) >= required:
            return True
    return False


def introspect(queries):
    """Answers for [(role, name, kind, npos, keywords)] in this interpreter (the child)."""
    notes, mods = [], {}
    try:
        mods[TRT] = _import_tensorrt(notes)
    except Exception as exc:  # noqa: BLE001
        notes.append("tensorrt: %s" % exc)
    for name, candidates in ((CUDART, ("cuda.bindings.runtime", "cuda.cudart")), (PYCUDA, ("pycuda.driver",))):
        for mod in candidates:
            try:
                mods[name] = importlib.import_module(mod)
                notes.append("%s: %s %s" % (name, mod, getattr(mods[name], "__version__", "")))
                break
            except Exception as exc:  # noqa: BLE001
                notes.append("%s: import %s failed: %s" % (name, mod, str(exc).splitlines()[0][:200]))
    versions = {TRT: getattr(mods.get(TRT), "__version__", None)}
    try:
        import cuda.bindings
        versions["cuda-python"] = cuda.bindings.__version__
    except Exception:  # noqa: BLE001
        pass
    answers = []
    for role, name, kind, npos, keywords in queries:
        base_role = role.split(":")[0]
        top = base_role.split(".")[0] if not base_role.startswith("pycuda") else PYCUDA
        module = mods.get(top)
        if module is None:
            answers.append({"status": "unchecked", "why": "%s not importable here" % top})
            continue
        obj = module
        path = base_role[len(top):].strip(".")
        missing = None
        for part in [p for p in path.split(".") if p]:
            if not hasattr(obj, part):
                missing = part
                break
            obj = getattr(obj, part)
        if missing:
            answers.append({"status": "missing", "why": "%s has no %s" % (top, missing)})
            continue
        if name == "__init__" and kind == "call":
            target = obj
        elif not hasattr(obj, name):
            answers.append({"status": "missing", "why": "no %s.%s" % (base_role, name)})
            continue
        else:
            target = getattr(obj, name)
        answer = {"status": "ok", "type": type(inspect.getattr_static(obj, name, None)).__name__ if name != "__init__" else "class"}
        if kind == "store":
            static = inspect.getattr_static(obj, name, None)
            if isinstance(static, property) and static.fset is None:
                answer = {"status": "readonly", "why": "%s.%s is a read-only property" % (base_role, name)}
        if kind == "call":
            sigs = _signatures(target.__init__ if name == "__init__" and hasattr(target, "__init__") and
                               "__init__(" in (getattr(target.__init__, "__doc__", "") or "") else target, name)
            if sigs is None:
                answer["args"] = "not introspectable"
            elif _fits(sigs, npos, keywords):
                answer["args"] = "fits %s" % "; ".join("(%s)" % ", ".join(n) for n, _ in sigs)
            else:
                answer = {"status": "bad-args", "why": "%d positional + %s do not fit %s" % (
                    npos, list(keywords), "; ".join("(%s)" % ", ".join(n) for n, _ in sigs))}
        answers.append(answer)
    return {"notes": notes, "versions": versions, "answers": answers, "executable": sys.executable}


# ------------------------------------------------------------------------------ 4. fakes

def _fake_objects(version):
    """{role: object} of the test fakes for TensorRT ``version`` (and their CUDA fakes)."""
    sys.path[:0] = [os.path.join(ROOT, "tests"), ROOT]
    import test_tensorrt_build as build_tests
    import test_tensorrt_runner as runner_tests

    trt = build_tests.make_trt(version, parse_errors=[(1, "unsupported")])
    gpu = runner_tests.FakeGPU()
    spec = {"input": ("input", (1, 3, 8, 8), runner_tests.FLOAT), "outputs": [("logits", (1, 7), runner_tests.FLOAT)],
            "profile": None}
    runner_tests.add_runtime(trt, gpu, spec)
    logger = trt.Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    config = builder.create_builder_config()
    parser = trt.OnnxParser(network, logger)
    parser.parse(b"")
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(b"ENGINE|{}")
    objects = {TRT: trt, TRT + ".Builder": builder, TRT + ".INetworkDefinition": network,
               TRT + ".IBuilderConfig": config, TRT + ".OnnxParser": parser, TRT + ".ParserError": parser.get_error(0),
               TRT + ".IOptimizationProfile": builder.create_optimization_profile(),
               TRT + ".ITimingCache": config.create_timing_cache(b""), TRT + ".Runtime": runtime,
               TRT + ".Logger": logger, TRT + ".ICudaEngine": engine,
               TRT + ".IExecutionContext": engine.create_execution_context()}
    for name in dir(trt):
        if isinstance(getattr(trt, name), type):
            objects.setdefault(TRT + "." + name, getattr(trt, name))
    cuda = {PYCUDA: runner_tests.make_pycuda(gpu).driver, CUDART: runner_tests.make_cudart(gpu)}
    return objects, cuda


def _major(version):
    return int(str(version).split(".")[0])


def _fake_offers(fake, name, stored):
    """Whether a fake object offers ``name``: has it, or (for an attribute the code sets)
    accepts it being set, as real TensorRT's properties do."""
    if fake is None:
        return False
    if hasattr(fake, name):
        return True
    if stored and not isinstance(fake, type):
        try:
            setattr(fake, name, None)
        except AttributeError:
            return False
        return True
    return False


def check_fakes(uses, real_by_major):
    """Compare the fakes with the real API, name by name: [(severity, text)]. Methods the
    code itself defines on a subclass (the calibrator's overrides) are not asked of fakes."""
    findings = []
    stored = {u.key() for u in uses if u.kind == "store"}
    keys = sorted({(u.role.split(":")[0], u.name) for u in uses if u.kind != "override" and u.name != "__init__"})
    for version in FAKE_VERSIONS:
        objects, _ = _fake_objects(version)
        major = _major(version)
        vt = tuple(int(v) for v in version.split(".")[:2])
        for role, name in keys:
            if not role.startswith(TRT):
                continue
            fake = objects.get(role)
            fake_has = _fake_offers(fake, name, (role, name) in stored)
            if major >= 10:
                real = real_by_major.get(major)
                if real is None:
                    continue
                real_has = real.get((role, name))
                source = "real TensorRT %s" % real["__version__"]
                if real_has is None:
                    continue
            else:
                real_has = name in DOCUMENTED_8X.get(role, set())
                source = "TensorRT 8.5 / 8.6 as documented (DOCUMENTED_8X)"
                if vt < (8, 5) and (role, name) in NAMED_API_8_5:
                    real_has = False
                    source = "TensorRT < 8.5 (the named-tensor API and TensorIOMode came with 8.5.1)"
            if fake_has and not real_has:
                findings.append(("FAIL", "fake %s offers %s.%s, which %s lacks" % (version, role, name, source)))
            elif real_has and not fake_has and fake is not None:
                findings.append(("note", "fake %s lacks %s.%s (%s has it): that path is not exercised"
                                 % (version, role, name, source)))
    return findings


def check_cuda_fakes(uses, real_cuda):
    """The pycuda and cuda-python fakes of both test files against the real modules."""
    import test_tensorrt_build as build_tests

    findings = []
    _, runner_fakes = _fake_objects("10.3.0.30")
    fake_sets = (("tests/test_tensorrt_runner.py", runner_fakes),
                 ("tests/test_tensorrt_build.py", {PYCUDA: build_tests.make_pycuda().driver,
                                                   CUDART: build_tests.make_cudart()}))
    keys = sorted({(u.role.split(":")[0], u.name) for u in uses if u.role.startswith((PYCUDA, CUDART))
                   and u.name != "__init__"})
    for where, fakes in fake_sets:
        for role, name in keys:
            module_role = PYCUDA if role.startswith(PYCUDA) else CUDART
            obj = fakes[module_role]
            for part in role[len(module_role):].strip(".").split("."):
                if part:
                    obj = getattr(obj, part, None)
            fake_has = obj is not None and hasattr(obj, name)
            real_has = real_cuda.get((role, name))
            if real_has is None:
                continue
            if fake_has and not real_has:
                findings.append(("FAIL", "%s's CUDA fake offers %s.%s, which the real module lacks" % (where, role, name)))
            elif real_has and not fake_has:
                findings.append(("note", "%s's CUDA fake lacks %s.%s (not exercised there)" % (where, role, name)))
    return findings


# ------------------------------------------------------------------------------ driver

def _queries(uses):
    seen, out = {}, []
    for u in uses:
        q = (u.role, u.name, u.kind, u.npos, u.keywords)
        if q not in seen:
            seen[q] = len(out)
            out.append(q)
    return out, seen


def run_real(python, queries):
    p = subprocess.run([python, os.path.abspath(__file__), "--introspect"], input=json.dumps(queries),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600,
                       env=dict(os.environ, PYTHONPATH=""))
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (python, p.stderr[-2000:]))
    return json.loads(p.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", action="append", default=[], help="Python of a check environment with tensorrt")
    ap.add_argument("--markdown", default=None, help="write the report here too")
    ap.add_argument("--json", default=None, help="write every use and answer as JSON")
    ap.add_argument("--introspect", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.introspect:
        queries = [(r, n, k, p, tuple(kw)) for r, n, k, p, kw in json.load(sys.stdin)]
        json.dump(introspect(queries), sys.stdout)
        return 0

    uses, unresolved = collect_uses()
    queries, index = _queries(uses)
    lines, failed = [], bool(unresolved)
    for u in unresolved:
        lines.append("FAIL: a name reached through a variable the tool cannot resolve: %s" % u)
    keys = sorted({(u.role.split(":")[0], u.name) for u in uses if u.kind != "call" or u.name != "__init__"})
    lines.append("%d uses of %d distinct names in %s" % (len(uses), len(keys), ", ".join(SOURCES)))
    sources = {rel: open(os.path.join(ROOT, rel), encoding="utf-8").read() for rel in SOURCES}
    for (role, name), (where, pattern, _) in GATES.items():
        if (role, name) not in keys:
            lines.append("FAIL: GATES lists %s.%s, which the code no longer uses" % (role, name))
            failed = True
        elif not any(re.search(pattern, text) for text in sources.values()):
            lines.append("FAIL: the gate for %s.%s (%s) is not in the source any more" % (role, name, where))
            failed = True

    real_by_major, real_cuda, results = {}, {}, []
    for python in args.real:
        res = run_real(python, queries)
        results.append(res)
        version = res["versions"].get(TRT)
        lines.append("")
        lines.append("## %s: TensorRT %s, cuda-python %s" % (python, version, res["versions"].get("cuda-python")))
        lines += ["note: " + n for n in res["notes"]]
        major = _major(version) if version else None
        by_key = {"__version__": version}
        counts = {}
        for q, answer in zip(queries, res["answers"]):
            role, name, kind, npos, kw = q
            counts[answer["status"]] = counts.get(answer["status"], 0) + 1
            if kind != "call" or name != "__init__":
                key = (role.split(":")[0], name)
                has = answer["status"] != "missing"
                if answer["status"] != "unchecked":
                    target = by_key if role.startswith(TRT) else real_cuda
                    target[key] = target.get(key, False) or has
            if answer["status"] in ("ok", "unchecked"):
                continue
            base = role.split(":")[0]
            gate = GATES.get((base, name)) or GATES.get((base.rsplit(".", 1)[0], base.rsplit(".", 1)[-1]))
            use = uses[[i for i, u in enumerate(uses) if (u.role, u.name, u.kind, u.npos, u.keywords) == q][0]]
            if answer["status"] == "missing" and gate and major in gate[2]:
                lines.append("gated: %s.%s absent in TensorRT %s; the code reaches it only elsewhere: %s (%s:%d)"
                             % (role.split(":")[0], name, version, gate[0], use.file, use.line))
            elif answer["status"] == "missing" and re.search(r"hasattr\(\w+(\.\w+)?, ['\"]%s['\"]\)" % re.escape(name),
                                                            use.guard):
                lines.append("guarded: %s.%s absent in %s; the code calls it only under `if %s` (%s:%d)"
                             % (role.split(":")[0], name, version, use.guard, use.file, use.line))
            elif answer["status"] == "missing" and kind == "probe":
                lines.append("probed: %s.%s absent in %s; the code only asks whether it is there (%s:%d)"
                             % (role.split(":")[0], name, version, use.file, use.line))
            else:
                failed = True
                lines.append("FAIL: %s (%s:%d, %s)" % (answer["why"], use.file, use.line, kind))
        lines.append("answers: %s" % ", ".join("%s %d" % kv for kv in sorted(counts.items())))
        checked = [a.get("args", "") for a in res["answers"]]
        lines.append("calls whose arguments were checked against a documented signature: %d fit, %d not introspectable"
                     % (sum(a.startswith("fits") for a in checked), sum(a == "not introspectable" for a in checked)))
        if major:
            real_by_major[major] = by_key

    lines.append("")
    lines.append("## Test fakes (tests/test_tensorrt_build.py, tests/test_tensorrt_runner.py)")
    for severity, text in check_fakes(uses, real_by_major) + (check_cuda_fakes(uses, real_cuda) if real_cuda else []):
        failed = failed or severity == "FAIL"
        lines.append("%s: %s" % (severity, text))
    lines.append("")
    lines.append("## Not checkable without a GPU")
    lines += ["* " + t for t in UNTESTABLE]
    lines.append("")
    lines.append("result: %s" % ("FAILED" if failed else "passed"))
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"uses": [u.to_dict() for u in uses], "real": results}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
