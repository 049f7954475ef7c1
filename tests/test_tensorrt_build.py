"""edgefer.runtime.tensorrt_engine against FAKE ``tensorrt`` modules (no GPU, no TensorRT here).

Two generations are faked from NVIDIA's Python API reference:

* TensorRT 10.3 (JetPack 6): no ``Builder.build_engine``, no ``config.max_workspace_size``,
  ``NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` still present but deprecated/ignored,
  implicit INT8 calibration deprecated (from 10.1 on);
* TensorRT 8.6 (and 8.2, which predates ``set_memory_pool_limit``): EXPLICIT_BATCH required,
  ``config.int8_calibrator`` supported.

Every fake records its calls with their arguments; the tests check the call sequence and the
arguments. The fake builder mimics what TensorRT does with a calibrator (read the cache, else
ask get_batch_size, call get_batch(names) until it returns None, then write the cache), and
appends to the timing cache it was given.
"""

import ctypes
import hashlib
import json
import logging
import os
import stat
import sys
import types

import numpy as np
import pytest

from conftest import assert_python38, run_python_without
from edgefer.errors import EdgeferError, MissingDependencyError
from edgefer.runtime import tensorrt_engine as tb

SHA_A = "a" * 64
# what the TensorRT modules may import only when an engine is built or run, never at import
TENSORRT_SIDE = ("torch", "tensorrt", "pycuda", "cuda")


# ----------------------------------------------------------------------------- fakes


class Recorder(object):
    def __init__(self):
        self.calls = []

    def __call__(self, name, *args):
        self.calls.append((name,) + args)

    def names(self):
        return [c[0] for c in self.calls]

    def named(self, name):
        return [c[1:] for c in self.calls if c[0] == name]


class HostMemory(object):
    """IHostMemory: a buffer; bytes() of it gives the data."""

    def __init__(self, data):
        self._data = bytes(data)

    def __bytes__(self):
        return self._data


def _read_model_inputs(model):
    """The fake parser's view of a model: either our tiny JSON stand-in or a real ONNX file."""
    try:
        spec = json.loads(model.decode("utf-8"))
        return [(name, tuple(shape)) for name, shape in spec["inputs"]]
    except (UnicodeDecodeError, ValueError):
        import onnx

        graph = onnx.load_from_string(model).graph
        weights = {i.name for i in graph.initializer}
        inputs = []
        for value in graph.input:
            if value.name in weights:
                continue
            dims = value.type.tensor_type.shape.dim
            inputs.append((value.name, tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)))
        return inputs


def make_trt(version="10.3.0.30", parse_errors=None, build_ok=True, dla_cores=2):
    rec = Recorder()
    major, minor = [int(x) for x in version.split(".")[:2]]
    m = types.ModuleType("tensorrt")
    m.__version__ = version
    m.rec = rec
    m.build_ok = build_ok
    m.parse_errors = list(parse_errors or [])
    m.objects = {}

    class Logger(object):
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = "S_INTERNAL_ERROR", "S_ERROR", "S_WARNING", "S_INFO", "S_VERBOSE"

        def __init__(self, min_severity="S_WARNING"):
            rec("Logger", min_severity)
            self.min_severity = min_severity

    class NetworkDefinitionCreationFlag(object):
        pass

    if major < 11:  # TensorRT 11 removed it (networks are always explicit-batch; absent in 11.4.0.106)
        NetworkDefinitionCreationFlag.EXPLICIT_BATCH = 0  # enum value 0 in TensorRT: 1 << 0

    class BuilderFlag(object):
        GPU_FALLBACK = "GPU_FALLBACK"

    if major < 11:
        BuilderFlag.FP16 = "FP16"
        BuilderFlag.INT8 = "INT8"

    class MemoryPoolType(object):
        WORKSPACE = "WORKSPACE"

    class DeviceType(object):
        GPU, DLA = "GPU", "DLA"

    class Tensor(object):
        def __init__(self, name, shape):
            self.name, self.shape = name, shape

    class Network(object):
        def __init__(self):
            self.inputs = []

        @property
        def num_inputs(self):
            return len(self.inputs)

        def get_input(self, i):
            return self.inputs[i]

    class ParserError(object):
        def __init__(self, node, desc):
            self._node, self._desc = node, desc

        def node(self):
            return self._node

        def desc(self):
            return self._desc

        def code(self):
            return "UNSUPPORTED_NODE"

    class OnnxParser(object):
        def __init__(self, network, logger):
            rec("OnnxParser", network, logger)
            self.network = network
            self.errors = []

        def parse(self, model, path=None):
            rec("parser.parse", bytes(model), path)
            if m.parse_errors:
                self.errors = [ParserError(n, d) for n, d in m.parse_errors]
                return False
            self.network.inputs = [Tensor(n, s) for n, s in _read_model_inputs(bytes(model))]
            return True

        @property
        def num_errors(self):
            return len(self.errors)

        def get_error(self, i):
            return self.errors[i]

    class TimingCache(object):
        def __init__(self, blob):
            self.blob = bytes(blob)

        def serialize(self):
            rec("timing_cache.serialize")
            return HostMemory(self.blob)

    class Profile(object):
        def set_shape(self, name, mn, opt, mx):
            rec("profile.set_shape", name, tuple(mn), tuple(opt), tuple(mx))

    class Config(object):
        def __init__(self):
            object.__setattr__(self, "flags", [])
            object.__setattr__(self, "timing_cache", None)

        def __setattr__(self, name, value):
            if name == "max_workspace_size" and major >= 10:
                raise AttributeError("'tensorrt.IBuilderConfig' object has no attribute 'max_workspace_size'")
            if name == "int8_calibrator" and major >= 11:  # gone in 11 (11.4.0.106): pybind11 refuses it
                raise AttributeError("'tensorrt.IBuilderConfig' object has no attribute 'int8_calibrator'")
            rec("config." + name, value)
            object.__setattr__(self, name, value)

        def set_flag(self, flag):
            rec("config.set_flag", flag)
            self.flags.append(flag)

        def create_timing_cache(self, blob):
            rec("config.create_timing_cache", bytes(blob))
            return TimingCache(blob)

        def set_timing_cache(self, cache, ignore_mismatch):
            rec("config.set_timing_cache", cache.blob, ignore_mismatch)
            if cache.blob.startswith(b"OTHER-GPU") and not ignore_mismatch:
                return False
            object.__setattr__(self, "timing_cache", cache)
            return True

        def get_timing_cache(self):
            rec("config.get_timing_cache")
            return self.timing_cache

        def add_optimization_profile(self, profile):
            rec("config.add_optimization_profile", profile)
            return 0

    if major < 11:  # gone in TensorRT 11 (absent in 11.4.0.106)
        def set_calibration_profile(self, profile):
            rec("config.set_calibration_profile", profile)

        Config.set_calibration_profile = set_calibration_profile

    if (major, minor) >= (8, 4):
        def set_memory_pool_limit(self, pool, size):
            rec("config.set_memory_pool_limit", pool, size)

        Config.set_memory_pool_limit = set_memory_pool_limit

    class Builder(object):
        def __init__(self, logger):
            rec("Builder", logger)
            self.num_DLA_cores = dla_cores

        def create_network(self, flags=0):
            rec("builder.create_network", flags)
            m.objects["network"] = Network()
            return m.objects["network"]

        def create_builder_config(self):
            rec("builder.create_builder_config")
            m.objects["config"] = Config()
            return m.objects["config"]

        def create_optimization_profile(self):
            rec("builder.create_optimization_profile")
            m.objects["profile"] = Profile()
            return m.objects["profile"]

        def build_serialized_network(self, network, config):
            rec("builder.build_serialized_network", network, config)
            calibrator = config.__dict__.get("int8_calibrator")
            if calibrator is not None:
                cache = calibrator.read_calibration_cache()
                rec("calibrator.read_calibration_cache", None if cache is None else bytes(cache))
                if cache is None:
                    rec("calibrator.get_batch_size", calibrator.get_batch_size())
                    names = [t.name for t in network.inputs]
                    while True:
                        pointers = calibrator.get_batch(names)
                        rec("calibrator.get_batch", pointers)
                        if pointers is None:
                            break
                    calibrator.write_calibration_cache(memoryview(b"TRT-8601-EntropyCalibration2\ninput: 3c010a14\n"))
            if config.timing_cache is not None:
                config.timing_cache.blob += b"<tactics>"
            if not m.build_ok:
                return None
            return HostMemory(b"ENGINE|" + json.dumps({"trt": version, "flags": config.flags}).encode())

    if major < 10:
        def build_engine(self, network, config):  # present on 8.x, removed in 10: must stay unused
            rec("builder.build_engine", network, config)
            raise AssertionError("build_engine must not be used")

        Builder.build_engine = build_engine

    class Runtime(object):
        def __init__(self, logger):
            rec("Runtime", logger)

        def deserialize_cuda_engine(self, data):
            rec("runtime.deserialize_cuda_engine", bytes(data))
            return ("engine", bytes(data)) if bytes(data).startswith(b"ENGINE|") else None

    class IInt8EntropyCalibrator2(object):
        def __init__(self):
            rec("IInt8EntropyCalibrator2.__init__")

    for obj in (Logger, NetworkDefinitionCreationFlag, BuilderFlag, MemoryPoolType, DeviceType, OnnxParser,
                Builder, Runtime):
        setattr(m, obj.__name__, obj)
    if major < 11:
        m.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2  # deprecated in 10.1, removed in 11
    return m


def make_pycuda(capability=(8, 7)):
    rec = Recorder()
    pycuda = types.ModuleType("pycuda")
    driver = types.ModuleType("pycuda.driver")
    autoinit = types.ModuleType("pycuda.autoinit")
    pycuda.driver, pycuda.autoinit, pycuda.rec = driver, autoinit, rec

    class DeviceAllocation(object):
        def __init__(self, address):
            self.address = address

        def __int__(self):
            return self.address

        def free(self):
            rec("free", self.address)

    def mem_alloc(nbytes):
        rec("mem_alloc", nbytes)
        return DeviceAllocation(0x7F0000000000 + 0x1000 * len(rec.named("mem_alloc")))

    def memcpy_htod(dest, src):
        rec("memcpy_htod", int(dest), np.array(src, copy=True))

    class Context(object):  # the primary context (edgefer's CUDA layer never uses autoinit)
        def push(self):
            rec("Context.push")

        @staticmethod
        def pop():
            rec("Context.pop")

        def detach(self):
            rec("Context.detach")

    class Device(object):
        def __init__(self, index):
            rec("Device", index)

        def compute_capability(self):
            return capability

        def retain_primary_context(self):
            rec("retain_primary_context")
            return Context()

    driver.mem_alloc, driver.memcpy_htod, driver.Device, driver.Context = mem_alloc, memcpy_htod, Device, Context
    driver.init = lambda: rec("init")
    return pycuda


def make_cudart(capability=(8, 9), fail_malloc=False):
    rec = Recorder()
    rt = types.ModuleType("cuda.bindings.runtime")
    rt.rec = rec

    class cudaError_t(object):
        cudaSuccess = 0
        cudaErrorMemoryAllocation = 2

    class cudaDeviceAttr(object):
        cudaDevAttrComputeCapabilityMajor = "MAJOR"
        cudaDevAttrComputeCapabilityMinor = "MINOR"

    class cudaMemcpyKind(object):
        cudaMemcpyHostToDevice = "H2D"

    def cudaDeviceGetAttribute(attr, device):
        rec("cudaDeviceGetAttribute", attr, device)
        return (0, capability[0] if attr == "MAJOR" else capability[1])

    def cudaMalloc(nbytes):
        rec("cudaMalloc", nbytes)
        return (2, None) if fail_malloc else (0, 0xDEAD0000)

    def cudaMemcpy(dst, src, nbytes, kind):
        rec("cudaMemcpy", dst, ctypes.string_at(src, nbytes), nbytes, kind)  # reads the host memory given
        return (0,)

    def cudaFree(ptr):
        rec("cudaFree", ptr)
        return (0,)

    for obj in (cudaError_t, cudaDeviceAttr, cudaMemcpyKind, cudaDeviceGetAttribute, cudaMalloc, cudaMemcpy, cudaFree):
        setattr(rt, obj.__name__, obj)
    return rt


CUDA_MODULES = ("pycuda", "pycuda.driver", "pycuda.autoinit", "cuda", "cuda.bindings", "cuda.bindings.runtime",
                "cuda.cudart")


@pytest.fixture
def no_cuda(monkeypatch):
    """Hide any real pycuda / cuda-python (this venv has cuda-bindings) so probes are deterministic."""
    for name in CUDA_MODULES:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture
def install(monkeypatch, no_cuda):
    def _install(version="10.3.0.30", **kw):
        fake = make_trt(version, **kw)
        monkeypatch.setitem(sys.modules, "tensorrt", fake)
        return fake

    return _install


def use_pycuda(monkeypatch, fake):
    monkeypatch.setitem(sys.modules, "pycuda", fake)
    monkeypatch.setitem(sys.modules, "pycuda.driver", fake.driver)
    monkeypatch.setitem(sys.modules, "pycuda.autoinit", fake.autoinit)


def use_cudart(monkeypatch, rt):
    cuda = types.ModuleType("cuda")
    bindings = types.ModuleType("cuda.bindings")
    cuda.bindings, bindings.runtime = bindings, rt
    monkeypatch.setitem(sys.modules, "cuda", cuda)
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", rt)


def write_model(path, shape=(1, 3, 8, 8), name="input"):
    """A stand-in model file the fake parser understands (real TensorRT is never called)."""
    path.write_bytes(json.dumps({"inputs": [[name, list(shape)]]}).encode())
    return str(path)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ----------------------------------------------------------------------------- builds


def test_fp16_on_trt10_call_sequence(install, tmp_path):
    trt = install("10.3.0.30")
    onnx = write_model(tmp_path / "m.onnx")
    data = tb.build_serialized_engine(onnx, "fp16")
    assert trt.rec.names() == [
        "Logger", "Builder", "builder.create_network", "OnnxParser", "parser.parse",
        "builder.create_builder_config", "config.set_memory_pool_limit", "config.set_flag",
        "builder.build_serialized_network",
    ]
    assert trt.rec.named("Logger") == [("S_WARNING",)]
    assert trt.rec.named("builder.create_network") == [(0,)]  # EXPLICIT_BATCH is ignored on 10: not passed
    model, path = trt.rec.named("parser.parse")[0]
    assert model == open(onnx, "rb").read() and path == os.path.abspath(onnx)
    assert trt.rec.named("config.set_memory_pool_limit") == [("WORKSPACE", 1024 << 20)]
    assert trt.rec.named("config.set_flag") == [("FP16",)]
    assert json.loads(data.split(b"|", 1)[1]) == {"trt": "10.3.0.30", "flags": ["FP16"]}
    assert isinstance(data, bytes)


def test_fp16_on_trt86_requests_explicit_batch(install, tmp_path):
    trt = install("8.6.1.6")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "fp16", logger_severity="verbose")
    assert trt.rec.named("builder.create_network") == [(1 << 0,)]
    assert trt.rec.named("Logger") == [("S_VERBOSE",)]
    assert "builder.build_engine" not in trt.rec.names()
    assert trt.rec.named("config.set_flag") == [("FP16",)]


def test_fp32_sets_no_precision_flag(install, tmp_path):
    trt = install("10.3.0.30")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "fp32")
    assert trt.rec.named("config.set_flag") == []


@pytest.mark.parametrize(
    "version, expected",
    [
        ("10.3.0.30", ("config.set_memory_pool_limit", ("WORKSPACE", 256 << 20))),
        ("8.6.1.6", ("config.set_memory_pool_limit", ("WORKSPACE", 256 << 20))),
        ("8.2.1.8", ("config.max_workspace_size", (256 << 20,))),  # before 8.4
    ],
)
def test_workspace(install, tmp_path, version, expected):
    trt = install(version)
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "fp16", workspace_mb=256)
    name, args = expected
    assert trt.rec.named(name) == [args]
    other = {"config.set_memory_pool_limit", "config.max_workspace_size"} - {name}
    assert not other & set(trt.rec.names())


@pytest.mark.parametrize("version", ["10.3.0.30", "8.6.1.6"])
def test_int8_from_qdq(install, tmp_path, version):
    trt = install(version)
    tb.build_serialized_engine(write_model(tmp_path / "m_int8.onnx"), "int8")
    assert trt.rec.named("config.set_flag") == [("INT8",), ("FP16",)]
    assert "config.int8_calibrator" not in trt.rec.names()


def test_calibrator_refused_on_trt10(install, tmp_path):
    trt = install("10.3.0.30")
    onnx = write_model(tmp_path / "m.onnx")
    with pytest.raises(EdgeferError) as e:
        tb.build_serialized_engine(onnx, "int8", int8_mode="calibrator", calibrator=object())
    assert "10.1" in str(e.value) and "QDQ" in str(e.value)
    assert trt.rec.calls == []  # refused before any builder work
    with pytest.raises(EdgeferError) as e:
        tb.make_entropy_calibrator([], str(tmp_path / "calib.cache"), "input")
    assert "10.1" in str(e.value) and "QDQ" in str(e.value)


def _batches(n=3, shape=(2, 3, 8, 8)):
    return [np.full(shape, i + 0.5, dtype=np.float32) for i in range(n)]


def test_int8_entropy_calibrator_on_trt86(install, monkeypatch, tmp_path):
    trt = install("8.6.1.6")
    cuda = make_pycuda()
    use_pycuda(monkeypatch, cuda)
    onnx = write_model(tmp_path / "m.onnx", shape=(2, 3, 8, 8))
    cache = tmp_path / "calib" / "m.calib"
    batches = _batches()
    calibrator = tb.make_entropy_calibrator(iter(batches), str(cache), "input")
    assert isinstance(calibrator, trt.IInt8EntropyCalibrator2)
    tb.build_serialized_engine(onnx, "int8", int8_mode="calibrator", calibrator=calibrator)

    assert trt.rec.named("config.set_flag") == [("INT8",)]
    assert trt.rec.named("config.int8_calibrator") == [(calibrator,)]
    assert trt.rec.names().index("config.int8_calibrator") < trt.rec.names().index("builder.build_serialized_network")
    assert trt.rec.named("calibrator.read_calibration_cache") == [(None,)]
    assert trt.rec.named("calibrator.get_batch_size") == [(2,)]
    address = 0x7F0000000000 + 0x1000  # the fake's first mem_alloc
    assert trt.rec.named("calibrator.get_batch") == [([address],), ([address],), ([address],), (None,)]
    assert cuda.rec.named("mem_alloc") == [(2 * 3 * 8 * 8 * 4,)]  # one buffer, reused
    copies = cuda.rec.named("memcpy_htod")
    assert [c[0] for c in copies] == [address] * 3
    for (_, host), batch in zip(copies, batches):
        assert host.dtype == np.float32 and host.flags["C_CONTIGUOUS"] and np.array_equal(host, batch)
    assert cuda.rec.named("free") == [(address,)]  # freed once exhausted
    assert cache.read_bytes() == b"TRT-8601-EntropyCalibration2\ninput: 3c010a14\n"
    assert calibrator.error is None and calibrator.batches_fed == 3

    # Second build: the cache is read, no image is touched and nothing goes to the GPU.
    def exploding():
        raise AssertionError("batches must not be read when the cache exists")
        yield  # pragma: no cover

    trt.rec.calls.clear()
    cuda.rec.calls.clear()
    again = tb.make_entropy_calibrator(exploding(), str(cache), "input")
    tb.build_serialized_engine(onnx, "int8", int8_mode="calibrator", calibrator=again)
    assert trt.rec.named("calibrator.read_calibration_cache") == [(cache.read_bytes(),)]
    assert "calibrator.get_batch" not in trt.rec.names()
    assert cuda.rec.calls == []
    assert [p for p in os.listdir(str(cache.parent))] == ["m.calib"]  # atomic write left no temp file


def test_calibrator_uses_cuda_python_without_pycuda(install, monkeypatch, tmp_path):
    trt = install("8.5.2.2")
    rt = make_cudart()
    use_cudart(monkeypatch, rt)
    batches = _batches(2, (1, 3, 8, 8))
    calibrator = tb.make_entropy_calibrator(batches, None, "input")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "int8", int8_mode="calibrator", calibrator=calibrator)
    assert trt.rec.named("calibrator.get_batch") == [([0xDEAD0000],), ([0xDEAD0000],), (None,)]
    assert rt.rec.named("cudaMalloc") == [(3 * 8 * 8 * 4,)]
    copies = rt.rec.named("cudaMemcpy")
    assert [(c[0], c[2], c[3]) for c in copies] == [(0xDEAD0000, 768, "H2D")] * 2
    assert [c[1] for c in copies] == [b.tobytes() for b in batches]
    assert rt.rec.named("cudaFree") == [(0xDEAD0000,)]


def test_calibrator_without_any_cuda_binding_reports_what_to_install(install, tmp_path):
    install("8.6.1.6")
    with pytest.raises(MissingDependencyError) as e:
        tb.make_entropy_calibrator(_batches(1), None, "input")
    assert "calibration" in str(e.value) and "pip install pycuda" in str(e.value)
    cache = tmp_path / "m.calib"  # with a calibration cache no GPU copy is needed
    cache.write_bytes(b"TRT-8601-EntropyCalibration2\n")
    assert tb.make_entropy_calibrator(_batches(1), str(cache), "input").read_calibration_cache() == cache.read_bytes()


@pytest.mark.parametrize(
    "batches, input_name, expected",
    [
        (_batches(2), "images", "not 'images'"),
        ([np.zeros((2, 3, 8, 8), np.float32), np.zeros((1, 3, 8, 8), np.float32)], "input", "batch 2 has shape"),
    ],
)
def test_calibrator_problems_become_one_error(install, monkeypatch, tmp_path, batches, input_name, expected):
    install("8.6.1.6")
    use_pycuda(monkeypatch, make_pycuda())
    calibrator = tb.make_entropy_calibrator(batches, None, input_name)
    onnx = write_model(tmp_path / "m.onnx")
    with pytest.raises(EdgeferError) as e:
        tb.build_serialized_engine(onnx, "int8", int8_mode="calibrator", calibrator=calibrator)
    assert expected in str(e.value) and onnx in str(e.value) and "\n" not in str(e.value)


def test_calibrator_mode_needs_a_calibrator(install, tmp_path):
    trt = install("8.6.1.6")
    with pytest.raises(EdgeferError, match="needs a calibrator"):
        tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "int8", int8_mode="calibrator")
    assert trt.rec.calls == []


@pytest.mark.parametrize("version", ["10.3.0.30", "8.5.2.2"])
def test_dla_core_with_gpu_fallback(install, tmp_path, version):
    trt = install(version, dla_cores=2)
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "fp16", dla_core=1)
    assert trt.rec.named("config.default_device_type") == [("DLA",)]
    assert trt.rec.named("config.DLA_core") == [(1,)]
    assert trt.rec.named("config.set_flag") == [("FP16",), ("GPU_FALLBACK",)]


def test_no_dla_settings_without_dla_core(install, tmp_path):
    trt = install("10.3.0.30")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "int8")
    assert not {"config.default_device_type", "config.DLA_core"} & set(trt.rec.names())
    assert ("GPU_FALLBACK",) not in trt.rec.named("config.set_flag")


def test_dla_core_errors(install, tmp_path):
    trt = install("10.3.0.30", dla_cores=0)  # e.g. Orin Nano
    onnx = write_model(tmp_path / "m.onnx")
    with pytest.raises(EdgeferError, match="0 DLA core"):
        tb.build_serialized_engine(onnx, "fp16", dla_core=0)
    assert "builder.build_serialized_network" not in trt.rec.names()
    with pytest.raises(EdgeferError, match="fp16 or int8"):
        tb.build_serialized_engine(onnx, "fp32", dla_core=0)


def test_timing_cache_round_trip(install, tmp_path):
    trt = install("10.3.0.30")
    onnx = write_model(tmp_path / "m.onnx")
    cache = tmp_path / "caches" / "timing.cache"
    tb.build_serialized_engine(onnx, "fp16", timing_cache_path=str(cache))
    assert trt.rec.named("config.create_timing_cache") == [(b"",)]
    assert trt.rec.named("config.set_timing_cache") == [(b"", False)]
    names = trt.rec.names()
    assert names.index("config.set_timing_cache") < names.index("builder.build_serialized_network")
    assert names.index("timing_cache.serialize") > names.index("builder.build_serialized_network")
    first = cache.read_bytes()
    assert first == b"<tactics>"

    trt.rec.calls.clear()
    tb.build_serialized_engine(onnx, "fp16", timing_cache_path=str(cache))
    assert trt.rec.named("config.create_timing_cache") == [(first,)]
    assert cache.read_bytes() == first + b"<tactics>"
    assert os.listdir(str(cache.parent)) == ["timing.cache"]


def test_timing_cache_from_another_gpu_is_replaced(install, tmp_path):
    trt = install("10.3.0.30")
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"OTHER-GPU tactics")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "fp16", timing_cache_path=str(cache))
    assert trt.rec.named("config.create_timing_cache") == [(b"OTHER-GPU tactics",), (b"",)]
    assert trt.rec.named("config.set_timing_cache") == [(b"OTHER-GPU tactics", False), (b"", False)]
    assert cache.read_bytes() == b"<tactics>"


def test_no_timing_cache_calls_without_a_path(install, tmp_path):
    trt = install("10.3.0.30")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "fp16")
    assert not [n for n in trt.rec.names() if "timing" in n]


def test_fixed_input_gets_no_profile(install, tmp_path):
    trt = install("10.3.0.30")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx", shape=(1, 3, 8, 8)), "fp16")
    assert "builder.create_optimization_profile" not in trt.rec.names()
    assert "config.add_optimization_profile" not in trt.rec.names()


@pytest.mark.parametrize("version", ["10.3.0.30", "8.6.1.6"])
def test_dynamic_batch_gets_a_default_profile(install, tmp_path, version):
    trt = install(version)
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx", shape=(-1, 3, 8, 8)), "fp16")
    one = (1, 3, 8, 8)
    assert trt.rec.named("profile.set_shape") == [("input", one, one, one)]
    assert trt.rec.named("config.add_optimization_profile") == [(trt.objects["profile"],)]
    names = trt.rec.names()
    assert names.index("config.add_optimization_profile") < names.index("builder.build_serialized_network")


def test_dynamic_batch_with_input_shapes(install, tmp_path):
    trt = install("10.3.0.30")
    shapes = {"input": ((1, 3, 8, 8), (4, 3, 8, 8), (8, 3, 8, 8))}
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx", shape=(-1, 3, 8, 8)), "fp16", input_shapes=shapes)
    assert trt.rec.named("profile.set_shape") == [("input", (1, 3, 8, 8), (4, 3, 8, 8), (8, 3, 8, 8))]


def test_dynamic_batch_real_onnx(install, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, 8, 8])],
    )
    path = tmp_path / "dyn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    trt = install("10.3.0.30")
    tb.build_serialized_engine(str(path), "fp16")
    assert trt.rec.named("profile.set_shape") == [("input", (1, 3, 8, 8), (1, 3, 8, 8), (1, 3, 8, 8))]


def test_calibration_profile_for_dynamic_input(install, monkeypatch, tmp_path):
    trt = install("8.6.1.6")
    use_pycuda(monkeypatch, make_pycuda())
    calibrator = tb.make_entropy_calibrator(_batches(1, (1, 3, 8, 8)), None, "input")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx", shape=(-1, 3, 8, 8)), "int8",
                               int8_mode="calibrator", calibrator=calibrator)
    assert trt.rec.named("config.set_calibration_profile") == [(trt.objects["profile"],)]


@pytest.mark.parametrize(
    "shape, input_shapes, expected",
    [
        ((1, 3, -1, -1), None, "dynamic dimensions"),
        ((-1, 3, 8, 8), {"image": ((1, 3, 8, 8),) * 3}, "image"),
        ((-1, 3, 8, 8), {"input": ((4, 3, 8, 8), (2, 3, 8, 8), (8, 3, 8, 8))}, "min <= opt <= max"),
        ((-1, 3, 8, 8), {"input": ((1, 3, 9, 8), (2, 3, 9, 8), (8, 3, 9, 8))}, "fixes at 8"),
        ((-1, 3, 8, 8), {"input": ((1, 3, 8), (2, 3, 8), (8, 3, 8))}, "4 dimensions"),
    ],
)
def test_bad_shapes_name_the_file(install, tmp_path, shape, input_shapes, expected):
    trt = install("10.3.0.30")
    onnx = write_model(tmp_path / "m.onnx", shape=shape)
    with pytest.raises(EdgeferError) as e:
        tb.build_serialized_engine(onnx, "fp16", input_shapes=input_shapes)
    assert expected in str(e.value) and onnx in str(e.value)
    assert "builder.build_serialized_network" not in trt.rec.names()


def test_parser_errors_make_one_line_naming_the_file(install, tmp_path):
    trt = install("10.3.0.30", parse_errors=[(3, "No importer registered for op: Foo"), (-1, "Invalid graph\nat x")])
    onnx = write_model(tmp_path / "bad.onnx")
    with pytest.raises(EdgeferError) as e:
        tb.build_serialized_engine(onnx, "fp16")
    msg = str(e.value)
    assert "\n" not in msg
    assert msg == "TensorRT cannot parse %s: node 3: No importer registered for op: Foo; Invalid graph at x" % onnx
    assert "builder.create_builder_config" not in trt.rec.names()


def test_build_returning_none_is_an_error(install, tmp_path):
    install("10.3.0.30", build_ok=False)
    onnx = write_model(tmp_path / "m.onnx")
    with pytest.raises(EdgeferError) as e:
        tb.build_serialized_engine(onnx, "int8")
    assert "could not build a int8 engine from %s" % onnx in str(e.value)


def test_bad_arguments(install, tmp_path):
    trt = install("10.3.0.30")
    onnx = write_model(tmp_path / "m.onnx")
    with pytest.raises(EdgeferError, match="precision 'int4'"):
        tb.build_serialized_engine(onnx, "int4")
    with pytest.raises(EdgeferError, match="int8_mode"):
        tb.build_serialized_engine(onnx, "int8", int8_mode="ptq")
    with pytest.raises(EdgeferError, match="ONNX file not found: .*missing.onnx"):
        tb.build_serialized_engine(str(tmp_path / "missing.onnx"), "fp16")
    with pytest.raises(EdgeferError, match="logger_severity"):
        tb.build_serialized_engine(onnx, "fp16", logger_severity="LOUD")
    assert "builder.build_serialized_network" not in trt.rec.names()


def test_trt11_has_no_precision_flags(install, tmp_path):
    """TensorRT 11 removed BuilderFlag.FP16/INT8 (strong typing): nothing to set, no crash."""
    trt = install("11.0.0.1")
    tb.build_serialized_engine(write_model(tmp_path / "m.onnx"), "int8", dla_core=0)
    assert trt.rec.named("config.set_flag") == [("GPU_FALLBACK",)]
    assert trt.rec.named("builder.create_network") == [(0,)]


# ----------------------------------------------------------------------------- missing TensorRT


def test_missing_tensorrt_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    onnx = write_model(tmp_path / "m.onnx")
    for call in (lambda: tb.tensorrt_version(),
                 lambda: tb.build_serialized_engine(onnx, "fp16"),
                 lambda: tb.get_engine(onnx, sha(onnx), "fp16", cache_root=str(tmp_path)),
                 lambda: tb.make_entropy_calibrator([], None, "input")):
        with pytest.raises(MissingDependencyError) as e:
            call()
        msg = str(e.value)
        assert "\n" not in msg and e.value.exit_code == 3
        for part in ("JetPack", "sudo apt install python3-libnvinfer", "--system-site-packages",
                     "pip install tensorrt", "Raspberry Pi", "ONNX Runtime"):
            assert part in msg, (part, msg)


def test_module_imports_without_torch_or_tensorrt_and_is_py38():
    p = run_python_without("import edgefer.runtime.tensorrt_engine\n"
                           "print(sorted(k for k in sys.modules if k.split('.')[0] in %r))\n" % (TENSORRT_SIDE,),
                           blocked=TENSORRT_SIDE + ("onnx",))
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr
    assert_python38("edgefer/runtime/tensorrt_engine.py", "edgefer/runtime/cuda.py")


# ----------------------------------------------------------------------------- compute capability


@pytest.fixture
def probes(monkeypatch, tmp_path, no_cuda):
    """No pycuda, no cuda-python, no nvidia-smi, no device tree, unless a test adds one."""
    monkeypatch.setattr(tb, "_NVIDIA_SMI", str(tmp_path / "no-such-nvidia-smi"))
    monkeypatch.setattr(tb, "_DEVICE_TREE_FILES", (str(tmp_path / "compatible"), str(tmp_path / "model")))
    return tmp_path


def fake_nvidia_smi(folder, output, rc=0):
    script = folder / "nvidia-smi"
    script.write_text('#!/bin/sh\necho "$@" > "%s"\necho "%s"\nexit %d\n' % (folder / "smi-args", output, rc))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_cc_from_pycuda_first(probes, monkeypatch):
    use_pycuda(monkeypatch, make_pycuda((7, 5)))
    use_cudart(monkeypatch, make_cudart((8, 9)))
    assert tb.compute_capability() == "7.5"


def test_cc_from_cuda_python(probes, monkeypatch):
    rt = make_cudart((8, 9))
    use_cudart(monkeypatch, rt)
    assert tb.compute_capability() == "8.9"
    assert rt.rec.named("cudaDeviceGetAttribute") == [("MAJOR", 0), ("MINOR", 0)]


def test_cc_from_nvidia_smi(probes, monkeypatch):
    monkeypatch.setattr(tb, "_NVIDIA_SMI", fake_nvidia_smi(probes, "8.6"))
    (probes / "compatible").write_bytes(b"nvidia,tegra194\x00")
    assert tb.compute_capability() == "8.6"
    assert (probes / "smi-args").read_text().split() == ["--query-gpu=compute_cap", "--format=csv,noheader"]


@pytest.mark.parametrize(
    "compatible, model, expected",
    [
        (b"nvidia,p3737-0000+p3701-0005\x00nvidia,p3701-0005\x00nvidia,tegra234\x00", None, "8.7"),
        (b"nvidia,p3509-0000+p3668-0001\x00nvidia,jetson-xavier-nx\x00nvidia,tegra194\x00", None, "7.2"),
        (None, b"NVIDIA Jetson Xavier NX Developer Kit\x00", "7.2"),
        (None, b"NVIDIA Orin Nano Developer Kit\x00", "8.7"),
        (None, b"NVIDIA Jetson AGX Orin Developer Kit\x00", "8.7"),
    ],
)
def test_cc_from_jetson_device_tree(probes, monkeypatch, compatible, model, expected):
    monkeypatch.setattr(tb, "_NVIDIA_SMI", fake_nvidia_smi(probes, "Field compute_cap is not valid", rc=2))
    if compatible is not None:
        (probes / "compatible").write_bytes(compatible)
    if model is not None:
        (probes / "model").write_bytes(model)
    assert tb.compute_capability() == expected


def test_cc_nothing_found_is_an_error(probes, monkeypatch):
    (probes / "model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    with pytest.raises(EdgeferError) as e:
        tb.compute_capability()
    msg = str(e.value)
    assert "compute capability" in msg and "pycuda" in msg and "nvidia-smi" in msg and "\n" not in msg


# ----------------------------------------------------------------------------- keys and cache


def test_engine_key_format():
    sha_ = "0123456789abcdef" + "f" * 48
    assert tb.engine_key(sha_, "int8", "10.3.0", "8.7", dla_core=0, batch=1) == "0123456789abcdef-int8-trt10.3.0-sm87-dla0-b1"
    assert tb.engine_key(sha_.upper(), "fp16", "8.5.2.2", "7.2") == "0123456789abcdef-fp16-trt8.5.2.2-sm72"
    with pytest.raises(EdgeferError, match="sha256"):
        tb.engine_key("not-a-sha", "fp16", "10.3", "8.7")
    with pytest.raises(EdgeferError, match="precision"):
        tb.engine_key(sha_, "int4", "10.3", "8.7")
    with pytest.raises(EdgeferError, match="compute capability"):
        tb.engine_key(sha_, "fp16", "10.3", "sm87")
    assert tb.engine_key(sha_, "fp16", "10.3.0 (custom/build)", "8.7") == "0123456789abcdef-fp16-trt10.3.0_custom_build-sm87"


def test_engine_cache_path_defaults_under_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEFER_CACHE_DIR", str(tmp_path / "c"))
    path = tb.engine_cache_path("abc-fp16-trt10.3-sm87")
    assert path == os.path.join(str(tmp_path / "c"), "engines", "abc-fp16-trt10.3-sm87.engine")
    assert os.path.isdir(os.path.dirname(path))
    assert tb.engine_cache_path("k", cache_root=str(tmp_path / "x")) == os.path.join(str(tmp_path / "x"), "k.engine")
    with pytest.raises(EdgeferError):
        tb.engine_cache_path("../evil")


@pytest.fixture
def cache_env(install, monkeypatch, tmp_path):
    """A 10.3 fake, an Orin GPU, an ONNX file and an engine folder; returns a namespace."""
    env = types.SimpleNamespace(cc="8.7", root=str(tmp_path / "engines"))
    env.trt = install("10.3.0.30")
    monkeypatch.setattr(tb, "compute_capability", lambda: env.cc)
    env.onnx = write_model(tmp_path / "model.onnx")
    env.sha = sha(env.onnx)

    def builds():
        return len(sys.modules["tensorrt"].rec.named("builder.build_serialized_network"))

    env.builds = builds
    return env


def _engine_messages(caplog):
    """What get_engine said (on the edgefer.runtime.tensorrt_engine logger) since the last call."""
    said = [r.getMessage() for r in caplog.records if r.name == "edgefer.runtime.tensorrt_engine"]
    caplog.clear()
    return said


def test_cache_hit_does_not_rebuild(cache_env, caplog):
    caplog.set_level(logging.INFO, logger="edgefer")
    first = tb.get_engine(cache_env.onnx, cache_env.sha, "int8", cache_root=cache_env.root)
    said = _engine_messages(caplog)
    assert len(said) == 1
    assert "building TensorRT int8 engine for model.onnx (first use; cached at %s" % first in said[0]
    assert os.path.basename(first) == "%s-int8-trt10.3.0.30-sm87.engine" % cache_env.sha[:16]
    meta = json.load(open(first[:-len(".engine")] + ".json"))
    assert meta["onnx_sha256"] == cache_env.sha and meta["tensorrt_version"] == "10.3.0.30"
    assert meta["compute_capability"] == "8.7" and meta["precision"] == "int8"
    assert meta["engine_sha256"] == sha(first)
    assert open(first, "rb").read().startswith(b"ENGINE|")

    second = tb.get_engine(cache_env.onnx, cache_env.sha, "int8", cache_root=cache_env.root)
    assert second == first and cache_env.builds() == 1
    assert _engine_messages(caplog) == []
    stem = os.path.basename(first)[:-len(".engine")]
    assert sorted(os.listdir(cache_env.root)) == [stem + ".engine", stem + ".json"]  # no temp files left


def test_rebuild_flag_rebuilds(cache_env):
    a = tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    b = tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root, rebuild=True)
    assert a == b and cache_env.builds() == 2


@pytest.mark.parametrize("change", ["trt_version", "compute_capability", "precision", "onnx_sha", "dla_core"])
def test_a_different_key_gives_another_path_and_a_rebuild(cache_env, monkeypatch, tmp_path, change):
    first = tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    onnx, sha_, precision, options = cache_env.onnx, cache_env.sha, "fp16", {}
    if change == "trt_version":
        monkeypatch.setitem(sys.modules, "tensorrt", make_trt("10.4.0.26"))
    elif change == "compute_capability":
        cache_env.cc = "8.6"
    elif change == "precision":
        precision = "int8"
    elif change == "onnx_sha":
        onnx = write_model(tmp_path / "other.onnx", shape=(2, 3, 8, 8))
        sha_ = sha(onnx)
    else:
        options = {"dla_core": 0}
    other = tb.get_engine(onnx, sha_, precision, cache_root=cache_env.root, **options)
    assert other != first and os.path.isfile(other) and os.path.isfile(first)
    assert cache_env.builds() == (1 if change == "trt_version" else 2)  # new fake counts its own builds
    assert "builder.build_serialized_network" in sys.modules["tensorrt"].rec.names()
    expected = {"trt_version": "trt10.4.0.26", "compute_capability": "sm86", "precision": "-int8-",
                "onnx_sha": sha_[:16], "dla_core": "-dla0"}[change]
    assert expected in os.path.basename(other)


def test_dynamic_profile_is_part_of_the_key(cache_env, tmp_path):
    onnx = write_model(tmp_path / "dyn.onnx", shape=(-1, 3, 8, 8))
    a = tb.get_engine(onnx, sha(onnx), "fp16", cache_root=cache_env.root)
    shapes = {"input": ((1, 3, 8, 8), (4, 3, 8, 8), (8, 3, 8, 8))}
    b = tb.get_engine(onnx, sha(onnx), "fp16", cache_root=cache_env.root, input_shapes=shapes)
    assert a != b and b.endswith("-sm87-b1_4_8.engine") and cache_env.builds() == 2


@pytest.mark.parametrize("tamper", ["sidecar_field", "sidecar_missing", "sidecar_garbage", "engine_bytes"])
def test_mismatching_sidecar_is_rebuilt_not_loaded(cache_env, caplog, tamper):
    caplog.set_level(logging.INFO, logger="edgefer")
    path = tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    good = open(path, "rb").read()
    sidecar = path[:-len(".engine")] + ".json"
    if tamper == "sidecar_field":
        meta = json.load(open(sidecar))
        meta["tensorrt_version"] = "10.2.0.19"
        json.dump(meta, open(sidecar, "w"))
    elif tamper == "sidecar_missing":
        os.remove(sidecar)
    elif tamper == "sidecar_garbage":
        open(sidecar, "w").write("{not json")
    else:
        open(path, "wb").write(b"ENGINE|stale engine from elsewhere")
    caplog.clear()
    again = tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    assert again == path and cache_env.builds() == 2
    assert open(path, "rb").read() == good
    assert json.load(open(sidecar))["tensorrt_version"] == "10.3.0.30"
    assert any("building TensorRT fp16 engine" in m for m in _engine_messages(caplog))


def test_sidecar_keeps_the_full_sha(cache_env, tmp_path):
    """Two artifacts sharing the 16-digit prefix: the sidecar's full sha tells them apart."""
    path = tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    sidecar = path[:-len(".engine")] + ".json"
    meta = json.load(open(sidecar))
    meta["onnx_sha256"] = cache_env.sha[:16] + "0" * 48
    json.dump(meta, open(sidecar, "w"))
    tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    assert cache_env.builds() == 2


def test_wrong_sha_for_the_onnx_is_refused(cache_env):
    with pytest.raises(EdgeferError) as e:
        tb.get_engine(cache_env.onnx, SHA_A, "fp16", cache_root=cache_env.root)
    assert cache_env.onnx in str(e.value) and SHA_A in str(e.value)
    assert cache_env.builds() == 0 and not os.listdir(cache_env.root)


def test_failed_build_caches_nothing(cache_env):
    cache_env.trt.build_ok = False
    with pytest.raises(EdgeferError, match="could not build"):
        tb.get_engine(cache_env.onnx, cache_env.sha, "fp16", cache_root=cache_env.root)
    assert os.listdir(cache_env.root) == []


def test_calibrator_engine_has_its_own_key(install, monkeypatch, tmp_path):
    install("8.6.1.6")
    use_pycuda(monkeypatch, make_pycuda())
    monkeypatch.setattr(tb, "compute_capability", lambda: "7.2")
    onnx = write_model(tmp_path / "m.onnx")
    root = str(tmp_path / "engines")
    qdq = tb.get_engine(onnx, sha(onnx), "int8", cache_root=root)
    cal = tb.get_engine(onnx, sha(onnx), "int8", cache_root=root, int8_mode="calibrator",
                        calibrator=tb.make_entropy_calibrator(_batches(1, (1, 3, 8, 8)), None, "input"))
    assert cal != qdq and cal.endswith("-sm72-cal.engine")
    assert json.load(open(cal[:-len(".engine")] + ".json"))["int8_mode"] == "calibrator"


def test_load_engine(install, tmp_path):
    trt = install("10.3.0.30")
    good = tmp_path / "good.engine"
    good.write_bytes(b"ENGINE|x")
    assert tb.load_engine(str(good)) == ("engine", b"ENGINE|x")
    assert trt.rec.named("runtime.deserialize_cuda_engine") == [(b"ENGINE|x",)]
    bad = tmp_path / "bad.engine"
    bad.write_bytes(b"garbage")
    with pytest.raises(EdgeferError, match="cannot load the engine .*bad.engine"):
        tb.load_engine(str(bad))
