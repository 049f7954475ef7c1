"""edgefer.runtime.tensorrt_runner against FAKE ``tensorrt``, ``pycuda.driver`` and cuda-python
modules (no GPU, no TensorRT here).

The fakes follow NVIDIA's Python API reference and sample code:

* TensorRT >= 8.5 named tensors (``num_io_tensors``, ``get_tensor_name/mode/shape/dtype``,
  ``get_tensor_profile_shape``, ``set_input_shape``, ``set_tensor_address``,
  ``execute_async_v3(stream_handle)``); TensorRT 10 has nothing else, 8.5/8.6 also keep the
  bindings API, 8.0-8.4 have only the bindings API (``num_bindings``, ``binding_is_input``,
  ``get_binding_shape/dtype/name``, ``get_profile_shape``, ``set_binding_shape``,
  ``execute_async_v2(bindings, stream_handle)``);
* pycuda (``retain_primary_context``, ``Context.push/pop/detach``, ``pagelocked_empty``,
  ``mem_alloc``, ``memcpy_htod_async``, ``memcpy_dtoh_async``, ``Stream``);
* cuda-python's runtime (``cudaMallocHost``, ``cudaMalloc``, ``cudaMemcpyAsync``,
  ``cudaStreamCreate``, ``cudaStreamSynchronize``, ``cudaFree``, ``cudaFreeHost``,
  ``cudaStreamDestroy``).

The fake GPU really holds bytes: copies move numpy data, and the fake engine computes logits
(a fixed linear layer on the mean of each channel) from the bytes in its input buffer. Work
queued on a stream runs only at synchronize, as on a GPU, so a runner that reads results
before synchronizing, or copies from memory that is not page-locked, fails here. The engine
build goes through the real ``tensorrt_engine.get_engine`` with the fake builder of
``test_tensorrt_build``.
"""

import ctypes
import os
import sys
import types

import numpy as np
import pytest

from conftest import assert_python38, run_python_without
from edgefer.errors import EdgeferError, MissingDependencyError
from edgefer.runtime import tensorrt_engine as tb
from edgefer.runtime import tensorrt_runner as tr
from test_tensorrt_build import CUDA_MODULES, TENSORRT_SIDE, make_trt, sha, use_cudart, write_model

CLASSES = 7
# The fake network: logits = mean over H x W of each channel @ W + B.
W = np.array(
    [
        [1.0, -0.5, 0.25, 2.0, 0.0, -1.0, 0.5],
        [0.5, 1.5, -2.0, 0.0, 1.0, 0.25, -0.75],
        [-1.0, 0.0, 1.0, 0.5, -0.5, 2.0, 1.25],
    ],
    np.float32,
)
B = (np.arange(CLASSES, dtype=np.float32) * 0.1).astype(np.float32)


def reference(x, dtype=np.float32):
    x = np.asarray(x, np.float32).astype(dtype).astype(np.float32)
    return (x.mean(axis=(2, 3)) @ W + B).astype(dtype).astype(np.float32)


# ----------------------------------------------------------------------------- fake GPU


class FakeGPU(object):
    """Device memory, page-locked host ranges, streams whose work runs at synchronize, and the
    CUDA context stack (checked when pycuda is the library). Every runtime-side call of every
    fake is appended to ``calls`` as (name, args...)."""

    def __init__(self):
        self.calls = []
        self.memory = {}  # device address -> bytearray
        self.next_address = 0x7F0000000000
        self.pinned = {}  # host address -> nbytes
        self.keep = {}  # host address -> ctypes buffer (cuda-python fake)
        self.streams = {}
        self.ctx_stack = []
        self.need_context = False
        self.freed, self.host_freed, self.streams_destroyed = [], [], []
        self.fail_execute = False

    def rec(self, name, *args):
        self.calls.append((name,) + args)

    def names(self):
        return [c[0] for c in self.calls]

    def named(self, name):
        return [c[1:] for c in self.calls if c[0] == name]

    def since(self, mark):
        return [c[0] for c in self.calls[mark:]]

    def check_context(self, what):
        if self.need_context:
            assert self.ctx_stack and self.ctx_stack[-1] == "primary", "%s without the primary context current" % what

    def alloc(self, nbytes):
        address = self.next_address
        self.next_address += max(0x1000, (nbytes + 0xFFF) & ~0xFFF)
        self.memory[address] = bytearray(nbytes)
        return address

    def device_view(self, address, nbytes):
        for base, buf in self.memory.items():
            if base <= address and address + nbytes <= base + len(buf):
                return memoryview(buf)[address - base: address - base + nbytes]
        raise AssertionError("device range 0x%x+%d is not allocated" % (address, nbytes))

    def check_pinned(self, address, nbytes):
        for base, size in self.pinned.items():
            if base <= address and address + nbytes <= base + size:
                return
        raise AssertionError("host range 0x%x+%d is not page-locked memory" % (address, nbytes))

    def new_stream(self):
        handle = 0x5000 + len(self.streams)
        self.streams[handle] = []
        return handle

    def enqueue(self, handle, op):
        assert handle in self.streams, "unknown stream %r" % handle
        self.streams[handle].append(op)

    def synchronize(self, handle):
        ops, self.streams[handle] = self.streams[handle], []
        for op in ops:
            op()

    def h2d(self, handle, device, host_address, nbytes):
        self.check_pinned(host_address, nbytes)
        self.device_view(device, nbytes)  # checked now, copied at synchronize

        def op():
            self.device_view(device, nbytes)[:] = ctypes.string_at(host_address, nbytes)

        self.enqueue(handle, op)

    def d2h(self, handle, host_address, device, nbytes):
        self.check_pinned(host_address, nbytes)
        self.device_view(device, nbytes)

        def op():
            ctypes.memmove(host_address, bytes(self.device_view(device, nbytes)), nbytes)

        self.enqueue(handle, op)


def make_pycuda(gpu, primary=True):
    pycuda = types.ModuleType("pycuda")
    driver = types.ModuleType("pycuda.driver")
    pycuda.driver = driver

    class Context(object):
        def __init__(self, kind):
            self.kind = kind

        def push(self):
            gpu.rec("ctx.push")
            gpu.ctx_stack.append(self.kind)

        @staticmethod
        def pop():
            gpu.rec("ctx.pop")
            gpu.ctx_stack.pop()

        def detach(self):
            gpu.rec("ctx.detach")

    class Device(object):
        def __init__(self, index):
            gpu.rec("Device", index)

        def make_context(self):
            gpu.rec("make_context")
            Context("primary").push()  # like pycuda: the new context is made current
            return Context("primary")

    if primary:
        def retain_primary_context(self):
            gpu.rec("retain_primary_context")
            return Context("primary")

        Device.retain_primary_context = retain_primary_context

    class DeviceAllocation(object):
        def __init__(self, address):
            self.address = address

        def __int__(self):
            return self.address

        def free(self):
            gpu.check_context("DeviceAllocation.free")
            gpu.rec("mem.free", self.address)
            gpu.freed.append(self.address)

    def mem_alloc(nbytes):
        gpu.check_context("mem_alloc")
        gpu.rec("mem_alloc", nbytes)
        return DeviceAllocation(gpu.alloc(nbytes))

    def free_host(self):
        address = ctypes.addressof(self)
        gpu.rec("pagelocked.free", address)
        gpu.pinned.pop(address)
        gpu.host_freed.append(address)

    def pagelocked_empty(shape, dtype, order="C", mem_flags=0):
        gpu.check_context("pagelocked_empty")
        dtype = np.dtype(dtype)
        shape = (shape,) if np.isscalar(shape) else tuple(shape)
        count = int(np.prod(shape))
        gpu.rec("pagelocked_empty", shape, dtype.str)
        # Like pycuda: an ndarray whose .base is a PagelockedHostAllocation with free().
        allocation_type = type("PagelockedHostAllocation", (ctypes.c_uint8 * (count * dtype.itemsize),),
                               {"free": free_host})
        allocation = allocation_type()
        gpu.pinned[ctypes.addressof(allocation)] = count * dtype.itemsize
        return np.frombuffer(allocation, dtype=dtype, count=count).reshape(shape)

    class Stream(object):
        def __init__(self, flags=0):
            gpu.check_context("Stream")
            gpu.rec("Stream")
            self.handle = gpu.new_stream()

        def synchronize(self):
            gpu.check_context("Stream.synchronize")
            gpu.rec("stream.synchronize")
            gpu.synchronize(self.handle)

    def memcpy_htod_async(dest, src, stream=None):
        gpu.check_context("memcpy_htod_async")
        assert isinstance(stream, Stream), "no stream given"
        assert isinstance(src, np.ndarray) and src.flags.c_contiguous
        gpu.rec("memcpy_htod_async", int(dest), src.ctypes.data, src.nbytes)
        gpu.h2d(stream.handle, int(dest), src.ctypes.data, src.nbytes)

    def memcpy_dtoh_async(dest, src, stream=None):
        gpu.check_context("memcpy_dtoh_async")
        assert isinstance(stream, Stream), "no stream given"
        assert isinstance(dest, np.ndarray) and dest.flags.c_contiguous and dest.flags.writeable
        gpu.rec("memcpy_dtoh_async", dest.ctypes.data, int(src), dest.nbytes)
        gpu.d2h(stream.handle, dest.ctypes.data, int(src), dest.nbytes)

    driver.init = lambda: gpu.rec("cuda.init")
    for obj in (Context, Device, Stream, mem_alloc, pagelocked_empty, memcpy_htod_async, memcpy_dtoh_async):
        setattr(driver, obj.__name__, obj)
    return pycuda


def make_cudart(gpu):
    rt = types.ModuleType("cuda.bindings.runtime")

    class cudaError_t(object):
        cudaSuccess = 0
        cudaErrorInvalidValue = 1

    class cudaMemcpyKind(object):
        cudaMemcpyHostToDevice = "H2D"
        cudaMemcpyDeviceToHost = "D2H"

    class cudaStream_t(object):
        def __init__(self, handle):
            self.handle = handle

        def __int__(self):
            return self.handle

    def cudaMallocHost(nbytes):
        gpu.rec("cudaMallocHost", nbytes)
        buf = (ctypes.c_uint8 * nbytes)()
        address = ctypes.addressof(buf)
        gpu.keep[address] = buf
        gpu.pinned[address] = nbytes
        return (0, address)

    def cudaFreeHost(address):
        gpu.rec("cudaFreeHost", address)
        gpu.pinned.pop(address)
        gpu.host_freed.append(address)
        return (0,)

    def cudaMalloc(nbytes):
        gpu.rec("cudaMalloc", nbytes)
        return (0, gpu.alloc(nbytes))

    def cudaFree(address):
        gpu.rec("cudaFree", address)
        gpu.freed.append(address)
        return (0,)

    def cudaStreamCreate():
        gpu.rec("cudaStreamCreate")
        return (0, cudaStream_t(gpu.new_stream()))

    def cudaStreamDestroy(stream):
        gpu.rec("cudaStreamDestroy", int(stream))
        gpu.streams_destroyed.append(int(stream))
        return (0,)

    def cudaMemcpyAsync(dst, src, count, kind, stream):
        assert isinstance(dst, int) and isinstance(src, int) and isinstance(stream, cudaStream_t)
        gpu.rec("cudaMemcpyAsync", dst, src, count, kind)
        if kind == "H2D":
            gpu.h2d(int(stream), dst, src, count)
        elif kind == "D2H":
            gpu.d2h(int(stream), dst, src, count)
        else:
            return (1,)
        return (0,)

    def cudaStreamSynchronize(stream):
        gpu.rec("cudaStreamSynchronize", int(stream))
        gpu.synchronize(int(stream))
        return (0,)

    for obj in (cudaError_t, cudaMemcpyKind, cudaStream_t, cudaMallocHost, cudaFreeHost, cudaMalloc, cudaFree,
                cudaStreamCreate, cudaStreamDestroy, cudaMemcpyAsync, cudaStreamSynchronize):
        setattr(rt, obj.__name__, obj)
    return rt


# ----------------------------------------------------------------------------- fake TensorRT runtime


class DataType(object):
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "DataType." + self.name

    __str__ = __repr__


FLOAT, HALF, INT8 = DataType("FLOAT"), DataType("HALF"), DataType("INT8")
_NP = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8}


def add_runtime(trt, gpu, spec, with_nptype=True):
    """Give a fake ``tensorrt`` (from test_tensorrt_build.make_trt) the runtime side.

    spec: {"input": (name, shape, DataType), "outputs": [(name, shape, DataType), ...],
    "profile": (min, opt, max) or None}; the first output holds the logits."""
    major, minor = [int(v) for v in trt.__version__.split(".")[:2]]
    named = (major, minor) >= (8, 5)
    bindings = major < 10  # TensorRT 10 removed the bindings API and execute_async_v2
    trt.spec = spec
    trt.float32, trt.float16, trt.int8 = FLOAT, HALF, INT8
    if with_nptype:
        def nptype(dtype):
            if dtype.name not in _NP:
                raise TypeError("Could not resolve TensorRT datatype to an equivalent numpy datatype.")
            return _NP[dtype.name]

        trt.nptype = nptype

    class TensorIOMode(object):  # came with the named-tensor API in 8.5
        NONE, INPUT, OUTPUT = "NONE", "INPUT", "OUTPUT"

    if named:
        trt.TensorIOMode = TensorIOMode

    def io():
        return [spec["input"]] + list(spec["outputs"])

    class EngineBase(object):
        def create_execution_context(self):
            gpu.check_context("create_execution_context")
            gpu.rec("create_execution_context")
            return context_type(self)

    class NamedEngine(object):
        @property
        def num_io_tensors(self):
            return len(io())

        def get_tensor_name(self, index):
            return io()[index][0]

        def get_tensor_mode(self, name):
            return TensorIOMode.INPUT if name == spec["input"][0] else TensorIOMode.OUTPUT

        def get_tensor_shape(self, name):
            return [t[1] for t in io() if t[0] == name][0]

        def get_tensor_dtype(self, name):
            return [t[2] for t in io() if t[0] == name][0]

        def get_tensor_profile_shape(self, name, profile_index):
            assert name == spec["input"][0] and profile_index == 0
            return spec["profile"]

    class BindingEngine(object):
        @property
        def num_bindings(self):
            return len(io())

        num_optimization_profiles = 1

        def get_binding_name(self, index):
            return io()[index][0]

        def binding_is_input(self, index):
            return index == 0

        def get_binding_shape(self, index):
            return io()[index][1]

        def get_binding_dtype(self, index):
            return io()[index][2]

        def get_profile_shape(self, profile_index, binding):
            assert profile_index == 0 and binding in (0, spec["input"][0])
            return spec["profile"]

    class ContextBase(object):
        def __init__(self, engine):
            self.engine = engine
            self.shape = None if spec["profile"] else spec["input"][1]
            self.addresses = {}

        def _execute(self, what, handle):
            gpu.check_context(what)
            if gpu.fail_execute:
                return False
            if self.shape is None:
                return False  # TensorRT: input shapes not specified
            name, _, in_type = spec["input"]
            out_name, out_shape, out_type = spec["outputs"][0]
            rows = self.shape[0]
            size = spec["input"][1][2]
            if spec["profile"]:
                assert spec["profile"][0][0] <= rows <= spec["profile"][2][0], rows
            in_dtype, out_dtype = np.dtype(_NP[in_type.name]), np.dtype(_NP[out_type.name])
            in_bytes = rows * 3 * size * size * in_dtype.itemsize
            out_bytes = rows * CLASSES * out_dtype.itemsize
            for n, _, _ in io():
                assert n in self.addresses, "no address for %s" % n
            src, dst = self.addresses[name], self.addresses[out_name]
            gpu.device_view(src, in_bytes)
            gpu.device_view(dst, out_bytes)

            def op():
                x = np.frombuffer(bytes(gpu.device_view(src, in_bytes)), dtype=in_dtype).reshape(rows, 3, size, size)
                y = (x.astype(np.float32).mean(axis=(2, 3)) @ W + B).astype(out_dtype)
                gpu.device_view(dst, out_bytes)[:] = y.tobytes()

            gpu.enqueue(handle, op)
            gpu.rec(what, handle, rows)
            return True

    class V3Context(object):
        def set_input_shape(self, name, shape):
            gpu.rec("set_input_shape", name, tuple(shape))
            assert name == spec["input"][0]
            mn, _, mx = spec["profile"]
            if not all(a <= b <= c for a, b, c in zip(mn, shape, mx)):
                return False
            self.shape = tuple(shape)
            return True

        def set_tensor_address(self, name, address):
            gpu.rec("set_tensor_address", name, address)
            assert isinstance(address, int)
            self.addresses[name] = address
            return True

        def execute_async_v3(self, stream_handle):
            assert isinstance(stream_handle, int)
            return self._execute("execute_async_v3", stream_handle)

    class V2Context(object):
        def set_binding_shape(self, binding, shape):
            gpu.rec("set_binding_shape", binding, tuple(shape))
            assert binding == 0
            self.shape = tuple(shape)
            return True

        def execute_async_v2(self, bindings, stream_handle):
            assert isinstance(stream_handle, int) and all(isinstance(b, int) for b in bindings)
            self.addresses = {t[0]: b for t, b in zip(io(), bindings)}
            return self._execute("execute_async_v2", stream_handle)

    engine_bases = ([NamedEngine] if named else []) + ([BindingEngine] if bindings else []) + [EngineBase]
    engine_type = type("ICudaEngine", tuple(engine_bases), {})
    context_bases = ([V3Context] if named else []) + ([V2Context] if bindings else []) + [ContextBase]
    context_type = type("IExecutionContext", tuple(context_bases), {})

    class Runtime(object):
        def __init__(self, logger):
            gpu.rec("Runtime")

        def __setattr__(self, name, value):
            gpu.rec("runtime." + name, value)
            object.__setattr__(self, name, value)

        def deserialize_cuda_engine(self, data):
            gpu.check_context("deserialize_cuda_engine")
            gpu.rec("deserialize_cuda_engine")
            return engine_type() if bytes(data).startswith(b"ENGINE|") else None

    trt.Runtime = Runtime
    return trt


# ----------------------------------------------------------------------------- fixtures


class Env(object):
    def __init__(self, monkeypatch, tmp_path):
        self.monkeypatch, self.tmp = monkeypatch, tmp_path
        self.root = str(tmp_path / "engines")

    def setup(self, version="10.3.0.30", cuda="pycuda", batch=4, size=16, io_type=FLOAT, out_type=None,
              profile=None, outputs=None, onnx_batch=None, with_nptype=True):
        """A fake TensorRT ``version`` whose engines have ``batch`` (an int, or None with
        ``profile``) and ``size``; ``cuda``: "pycuda", "cuda-python", "both" or None."""
        self.gpu = gpu = FakeGPU()
        self.size = size
        shape = (batch if batch is not None else -1, 3, size, size)
        if outputs is None:
            outputs = [("logits", (shape[0], CLASSES), out_type or io_type)]
        spec = {"input": ("input", shape, io_type), "outputs": outputs,
                "profile": None if profile is None else tuple(tuple(s) for s in profile)}
        self.trt = add_runtime(make_trt(version), gpu, spec, with_nptype=with_nptype)
        self.monkeypatch.setitem(sys.modules, "tensorrt", self.trt)
        if cuda in ("pycuda", "both"):
            fake = make_pycuda(gpu)
            self.monkeypatch.setitem(sys.modules, "pycuda", fake)
            self.monkeypatch.setitem(sys.modules, "pycuda.driver", fake.driver)
            gpu.need_context = True
        if cuda in ("cuda-python", "both"):
            use_cudart(self.monkeypatch, make_cudart(gpu))
        model_batch = onnx_batch if onnx_batch is not None else shape[0]
        self.onnx = write_model(self.tmp / "model.onnx", shape=(model_batch, 3, size, size))
        self.sha = sha(self.onnx)
        return self

    def classifier(self, precision="fp16", **kw):
        kw.setdefault("cache_root", self.root)
        kw.setdefault("input_size", self.size)
        return tr.TensorRTRunner(self.onnx, self.sha, precision, **kw)

    def images(self, n, seed=0):
        return np.random.default_rng(seed).normal(size=(n, 3, self.size, self.size)).astype(np.float32)


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in CUDA_MODULES:  # hide any real pycuda / cuda-python (this venv has cuda-bindings)
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(tb, "compute_capability", lambda: "8.7")
    return Env(monkeypatch, tmp_path)


EXEC = {"10.3.0.30": "execute_async_v3", "8.6.1.6": "execute_async_v3", "8.5.2.2": "execute_async_v3",
        "8.2.1.8": "execute_async_v2"}


# ----------------------------------------------------------------------------- results


@pytest.mark.parametrize("cuda", ["pycuda", "cuda-python"])
@pytest.mark.parametrize("n", [1, 3, 4, 9])
def test_logits_fixed_batch(env, cuda, n):
    """N < batch (padded), N == batch, N > batch (chunks, last one padded)."""
    env.setup("10.3.0.30", cuda=cuda, batch=4)
    clf = env.classifier(batch=4)
    x = env.images(n)
    mark = len(env.gpu.calls)
    y = clf.run(x)
    assert y.dtype == np.float32 and y.shape == (n, CLASSES)
    np.testing.assert_allclose(y, reference(x), rtol=1e-5, atol=1e-5)
    chunks = -(-n // 4)
    assert env.gpu.named("execute_async_v3")[-chunks:] == [(clf._io.stream_handle, 4)] * chunks
    assert env.gpu.since(mark).count("execute_async_v3") == chunks
    # the padding rows of the pinned input are zero, not the previous chunk's images
    if n % 4:
        assert not clf._host_in4[n % 4:].any()
    clf.close()


@pytest.mark.parametrize("version", ["10.3.0.30", "8.6.1.6", "8.2.1.8"])
def test_logits_every_api_generation(env, version):
    env.setup(version, cuda="pycuda", batch=2)
    clf = env.classifier(batch=2)
    assert clf.api == EXEC[version]
    x = env.images(5, seed=1)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    other = "execute_async_v2" if EXEC[version] == "execute_async_v3" else "execute_async_v3"
    assert other not in env.gpu.names()  # 8.6 has both: the named-tensor API wins
    clf.close()


def test_results_do_not_alias_the_pinned_buffer(env):
    env.setup(batch=2)
    clf = env.classifier()
    a_in, b_in = env.images(2, seed=3), env.images(2, seed=4)
    a = clf.run(a_in)
    b = clf.run(b_in)
    np.testing.assert_allclose(a, reference(a_in), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b, reference(b_in), rtol=1e-5, atol=1e-5)
    clf.close()


def test_empty_batch_and_bad_input(env):
    env.setup(batch=4)
    clf = env.classifier()
    mark = len(env.gpu.calls)
    y = clf.run(np.zeros((0, 3, 16, 16), np.float32))
    assert y.shape == (0, CLASSES) and y.dtype == np.float32 and env.gpu.calls[mark:] == []
    with pytest.raises(EdgeferError, match=r"N x 3 x 16 x 16 .*\[2, 3, 8, 8\]"):
        clf.run(np.zeros((2, 3, 8, 8), np.float32))
    with pytest.raises(EdgeferError, match="float"):
        clf.run(np.zeros((2, 3, 16, 16), np.uint8))
    # float64 input is converted
    x = env.images(3).astype(np.float64)
    np.testing.assert_allclose(clf(x), reference(x), rtol=1e-5, atol=1e-5)
    clf.close()


# ----------------------------------------------------------------------------- call order


def test_call_order_trt10_pycuda(env):
    env.setup("10.3.0.30", cuda="pycuda", batch=4)
    clf = env.classifier(batch=4)
    gpu = env.gpu
    assert gpu.names() == [
        "cuda.init", "Device", "retain_primary_context", "ctx.push",
        "Runtime", "deserialize_cuda_engine", "create_execution_context",
        "pagelocked_empty", "pagelocked_empty", "mem_alloc", "mem_alloc", "Stream",
        "set_tensor_address", "set_tensor_address", "ctx.pop",
    ]
    assert gpu.named("pagelocked_empty") == [((4 * 3 * 16 * 16,), "<f4"), ((4 * CLASSES,), "<f4")]
    assert gpu.named("mem_alloc") == [(4 * 3 * 16 * 16 * 4,), (4 * CLASSES * 4,)]
    in_ptr, out_ptr = [int(a) for a in clf._io._device]
    assert gpu.named("set_tensor_address") == [("input", in_ptr), ("logits", out_ptr)]
    assert gpu.ctx_stack == []

    mark = len(gpu.calls)
    clf.run(env.images(9))
    per_chunk = ["memcpy_htod_async", "execute_async_v3", "memcpy_dtoh_async", "stream.synchronize"]
    assert gpu.since(mark) == ["ctx.push"] + per_chunk * 3 + ["ctx.pop"]
    handle = clf._io.stream_handle
    assert gpu.named("execute_async_v3") == [(handle, 4)] * 3
    host_in, host_out = clf._host_in.ctypes.data, clf._host_out.ctypes.data
    assert set(gpu.named("memcpy_htod_async")) == {(in_ptr, host_in, 4 * 3 * 16 * 16 * 4)}
    assert set(gpu.named("memcpy_dtoh_async")) == {(host_out, out_ptr, 4 * CLASSES * 4)}
    assert gpu.ctx_stack == []
    clf.close()


def test_call_order_trt82_bindings_cuda_python(env):
    env.setup("8.2.1.8", cuda="cuda-python", batch=2)
    clf = env.classifier(batch=2)
    gpu = env.gpu
    assert gpu.names() == [
        "Runtime", "deserialize_cuda_engine", "create_execution_context",
        "cudaMallocHost", "cudaMallocHost", "cudaMalloc", "cudaMalloc", "cudaStreamCreate",
    ]
    assert clf.api == "execute_async_v2" and clf.cuda_library == "cuda-python"
    in_ptr, out_ptr = clf._io._device
    mark = len(gpu.calls)
    x = env.images(3)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    per_chunk = ["cudaMemcpyAsync", "execute_async_v2", "cudaMemcpyAsync", "cudaStreamSynchronize"]
    assert gpu.since(mark) == per_chunk * 2
    copies = gpu.named("cudaMemcpyAsync")
    assert copies[0] == (in_ptr, clf._host_in.ctypes.data, 2 * 3 * 16 * 16 * 4, "H2D")
    assert copies[1] == (clf._host_out.ctypes.data, out_ptr, 2 * CLASSES * 4, "D2H")
    assert gpu.named("execute_async_v2") == [(clf._io.stream_handle, 2)] * 2
    clf.close()


def test_bindings_are_in_binding_order(env):
    """execute_async_v2 gets one device pointer per binding, in binding-index order."""
    outputs = [("logits", (2, CLASSES), FLOAT), ("features", (2, 5), FLOAT)]
    env.setup("8.2.1.8", cuda="pycuda", batch=2, outputs=outputs)
    clf = env.classifier(batch=2, output_name="logits")
    in_ptr, logits_ptr, features_ptr = [int(a) for a in clf._io._device]
    assert clf._bindings == [in_ptr, logits_ptr, features_ptr]
    assert env.gpu.named("mem_alloc")[2] == (2 * 5 * 4,)
    x = env.images(2)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    clf.close()


# ----------------------------------------------------------------------------- dynamic batch


@pytest.mark.parametrize("version", ["10.3.0.30", "8.2.1.8"])
def test_dynamic_batch(env, version):
    s = 16
    env.setup(version, cuda="pycuda", batch=None, profile=((1, 3, s, s), (1, 3, s, s), (4, 3, s, s)))
    clf = env.classifier(batch=None)
    assert clf.batch is None and clf.max_batch == 4
    assert env.gpu.named("pagelocked_empty")[0] == ((4 * 3 * s * s,), "<f4")  # sized for the profile max
    gpu = env.gpu
    x = env.images(10, seed=2)
    mark = len(gpu.calls)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    execute = EXEC[version]
    if version.startswith("10"):
        set_shape, shapes = "set_input_shape", [("input", (4, 3, s, s)), ("input", (2, 3, s, s))]
        htod, dtoh = "memcpy_htod_async", "memcpy_dtoh_async"
    else:
        set_shape, shapes = "set_binding_shape", [(0, (4, 3, s, s)), (0, (2, 3, s, s))]
        htod, dtoh = "memcpy_htod_async", "memcpy_dtoh_async"
    chunk = [htod, execute, dtoh, "stream.synchronize"]
    # the input shape is set when the chunk size changes, not before every chunk
    assert gpu.since(mark) == ["ctx.push", set_shape] + chunk * 2 + [set_shape] + chunk + ["ctx.pop"]
    assert gpu.named(set_shape) == shapes
    assert [c[1] for c in gpu.named(execute)] == [4, 4, 2]
    # only the rows of the chunk are copied
    assert [c[2] for c in gpu.named(htod)] == [4 * 3 * s * s * 4] * 2 + [2 * 3 * s * s * 4]
    assert [c[2] for c in gpu.named(dtoh)] == [4 * CLASSES * 4] * 2 + [2 * CLASSES * 4]
    # a second call of the last size sets nothing
    mark = len(gpu.calls)
    clf.run(x[:2])
    assert set_shape not in gpu.since(mark)
    clf.close()


def test_dynamic_profile_minimum_pads(env):
    s = 16
    env.setup(batch=None, profile=((2, 3, s, s), (2, 3, s, s), (4, 3, s, s)))
    clf = env.classifier()
    x = env.images(1)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    assert env.gpu.named("set_input_shape") == [("input", (2, 3, s, s))]
    clf.close()


def test_dynamic_artifact_asks_for_a_profile_up_to_max_batch(env):
    s = 16
    env.setup(batch=None, profile=((1, 3, s, s), (1, 3, s, s), (6, 3, s, s)))
    clf = env.classifier(batch="dynamic", input_name="input", max_batch=6)
    assert env.trt.rec.named("profile.set_shape") == [("input", (1, 3, s, s), (1, 3, s, s), (6, 3, s, s))]
    assert clf.engine_path.endswith("-sm87-b1_1_6.engine")
    assert "b1-6 dynamic" in clf.describe()
    clf.close()


def test_fixed_artifact_gets_no_profile(env):
    env.setup(batch=4)
    env.classifier(batch=4, input_name="input").close()
    assert env.trt.rec.named("profile.set_shape") == []
    assert "builder.create_optimization_profile" not in env.trt.rec.names()


# ----------------------------------------------------------------------------- fp16 I/O


@pytest.mark.parametrize("with_nptype", [True, False])
@pytest.mark.parametrize("cuda", ["pycuda", "cuda-python"])
def test_fp16_io(env, cuda, with_nptype):
    env.setup("10.3.0.30", cuda=cuda, batch=4, io_type=HALF, with_nptype=with_nptype)
    clf = env.classifier(batch=4)
    assert clf._host_in.dtype == np.float16 and clf._host_out.dtype == np.float16
    if cuda == "pycuda":
        assert [c[1] for c in env.gpu.named("pagelocked_empty")] == ["<f2", "<f2"]
        assert env.gpu.named("mem_alloc") == [(4 * 3 * 16 * 16 * 2,), (4 * CLASSES * 2,)]
    else:
        assert env.gpu.named("cudaMallocHost") == [(4 * 3 * 16 * 16 * 2,), (4 * CLASSES * 2,)]
    x = env.images(6)
    y = clf.run(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, reference(x, np.float16), rtol=2e-3, atol=2e-3)
    assert "fp16 I/O" in clf.describe()
    clf.close()


def test_fp16_input_fp32_output(env):
    env.setup(batch=2, io_type=HALF, out_type=FLOAT)
    clf = env.classifier()
    x = env.images(3)
    np.testing.assert_allclose(clf.run(x), reference(x.astype(np.float16)), rtol=1e-3, atol=1e-3)
    clf.close()


def test_int8_io_is_refused(env):
    env.setup(batch=2, io_type=INT8)
    with pytest.raises(EdgeferError, match="input 'input' of type DataType.INT8.*float32 or float16"):
        env.classifier()
    assert env.gpu.ctx_stack == [] and env.gpu.names()[-1] == "ctx.detach"


# ----------------------------------------------------------------------------- buffers, close


@pytest.mark.parametrize("cuda", ["pycuda", "cuda-python"])
def test_buffers_are_allocated_once(env, cuda):
    env.setup(cuda=cuda, batch=4)
    clf = env.classifier()
    allocations = ("pagelocked_empty", "mem_alloc", "Stream", "cudaMallocHost", "cudaMalloc", "cudaStreamCreate",
                   "set_tensor_address", "create_execution_context")
    before = [n for n in env.gpu.names() if n in allocations]
    for n in (1, 4, 7, 12, 2):
        clf.run(env.images(n, seed=n))
    assert [n for n in env.gpu.names() if n in allocations] == before
    htod = "memcpy_htod_async" if cuda == "pycuda" else "cudaMemcpyAsync"
    sources = {c[1] for c in env.gpu.named(htod) if cuda == "pycuda" or c[3] == "H2D"}
    assert sources == {clf._host_in.ctypes.data}  # always from the one pinned buffer
    clf.close()


@pytest.mark.parametrize("cuda", ["pycuda", "cuda-python"])
def test_close_frees_everything(env, cuda):
    env.setup(cuda=cuda, batch=4)
    clf = env.classifier()
    clf.run(env.images(5))
    gpu = env.gpu
    device = set(gpu.memory)
    pinned = set(gpu.pinned)
    assert len(device) == 2 and len(pinned) == 2
    clf.close()
    assert set(gpu.freed) == device and set(gpu.host_freed) == pinned and gpu.pinned == {}
    if cuda == "pycuda":
        assert gpu.names()[-1] == "ctx.detach" and gpu.names().count("ctx.detach") == 1
        assert gpu.ctx_stack == []
    else:
        assert len(gpu.streams_destroyed) == 1
    assert clf._engine is None and clf._context is None
    mark = len(gpu.calls)
    clf.close()  # twice is fine and does nothing
    assert gpu.calls[mark:] == []
    with pytest.raises(EdgeferError, match="closed"):
        clf.run(env.images(1))


def test_context_manager_closes(env):
    env.setup(batch=2)
    with env.classifier() as clf:
        clf.run(env.images(1))
    assert env.gpu.names()[-1] == "ctx.detach"


def test_pycuda_is_preferred_over_cuda_python(env):
    env.setup(cuda="both", batch=2)
    clf = env.classifier()
    assert clf.cuda_library == "pycuda" and "retain_primary_context" in env.gpu.names()
    assert "cudaMallocHost" not in env.gpu.names()
    clf.close()
    env.setup(cuda="both", batch=2)
    env.gpu.need_context = False  # the runtime API finds the primary context by itself
    clf = env.classifier(cuda="cuda-python")
    assert clf.cuda_library == "cuda-python" and "retain_primary_context" not in env.gpu.names()
    clf.close()


def test_old_pycuda_without_primary_context(env, monkeypatch):
    env.setup(cuda=None, batch=2)
    fake = make_pycuda(env.gpu, primary=False)
    monkeypatch.setitem(sys.modules, "pycuda", fake)
    monkeypatch.setitem(sys.modules, "pycuda.driver", fake.driver)
    env.gpu.need_context = True
    clf = env.classifier()
    assert env.gpu.names()[:5] == ["cuda.init", "Device", "make_context", "ctx.push", "ctx.pop"]
    x = env.images(3)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    clf.close()
    assert env.gpu.ctx_stack == []


# ----------------------------------------------------------------------------- refusals


def test_engine_for_another_input_size_is_refused(env):
    env.setup(batch=4, size=16)
    with pytest.raises(EdgeferError) as e:
        env.classifier(input_size=24)
    msg = str(e.value)
    assert "16x16" in msg and "24x24" in msg and "preprocessing" in msg and "\n" not in msg
    gpu = env.gpu
    assert gpu.ctx_stack == [] and gpu.names()[-1] == "ctx.detach"  # nothing left behind
    assert set(gpu.freed) == set(gpu.memory)


def test_batch_mismatch_is_refused(env):
    env.setup(batch=4)
    with pytest.raises(EdgeferError, match="runs batch 4 but the bundle artifact says batch 8"):
        env.classifier(batch=8)
    with pytest.raises(EdgeferError, match="batch must be"):
        env.classifier(batch=0)


def test_several_outputs_need_a_name(env):
    outputs = [("logits", (2, CLASSES), FLOAT), ("features", (2, 5), FLOAT)]
    env.setup(batch=2, outputs=outputs)
    with pytest.raises(EdgeferError, match="several outputs \\(logits, features\\)"):
        env.classifier()
    with pytest.raises(EdgeferError, match="no output 'probs'"):
        env.classifier(output_name="probs")
    clf = env.classifier(output_name="logits")
    assert [c[0] for c in env.gpu.named("set_tensor_address")[-3:]] == ["input", "logits", "features"]
    x = env.images(3)
    np.testing.assert_allclose(clf.run(x), reference(x), rtol=1e-5, atol=1e-5)
    clf.close()


def test_execute_failure_is_an_error(env):
    env.setup(batch=2)
    clf = env.classifier()
    env.gpu.fail_execute = True
    with pytest.raises(EdgeferError, match="execute_async_v3 failed"):
        clf.run(env.images(1))
    assert env.gpu.ctx_stack == []  # the context was popped on the way out
    clf.close()


def test_unloadable_engine_is_an_error(env, monkeypatch):
    env.setup(batch=2)
    monkeypatch.setattr(tb, "build_serialized_engine", lambda *a, **k: b"garbage")
    with pytest.raises(EdgeferError, match="cannot load the engine"):
        env.classifier()
    assert env.gpu.names()[-1] == "ctx.detach"


# ----------------------------------------------------------------------------- engine cache, DLA, describe


def test_engine_is_built_once_and_cached(env):
    env.setup(batch=4)
    env.classifier(precision="int8").close()
    env.classifier(precision="int8").close()
    assert len(env.trt.rec.named("builder.build_serialized_network")) == 1
    assert len(env.gpu.named("deserialize_cuda_engine")) == 2


def test_dla_core(env):
    env.setup("8.5.2.2", batch=2)
    clf = env.classifier(precision="fp16", dla_core=1)
    assert env.gpu.named("runtime.DLA_core") == [(1,)]
    assert "-dla1" in os.path.basename(clf.engine_path)
    assert env.trt.rec.named("config.DLA_core") == [(1,)]
    assert "DLA core 1" in clf.describe()
    clf.close()


def test_describe(env, monkeypatch):
    monkeypatch.setenv("HOME", str(env.tmp))
    env.setup("10.3.0.30", batch=8)
    clf = env.classifier(precision="int8", batch=8)
    text = clf.describe()
    assert text.startswith("TensorRT 10.3.0.30 int8 b8 (engine ~/engines/")
    assert text.endswith(".engine, execute_async_v3, pycuda)")
    assert clf.name == "tensorrt" and clf.batch == 8 and clf.input_size == 16 and clf.num_classes == CLASSES
    assert "closed" not in repr(clf)
    clf.close()
    assert "closed" in repr(clf)


# ----------------------------------------------------------------------------- missing packages


HINT_PARTS = ("JetPack", "sudo apt install python3-libnvinfer", "--system-site-packages", "pip install tensorrt",
              "Raspberry Pi", "ONNX Runtime")


def test_missing_tensorrt_says_what_to_install(env):
    env.setup(batch=2)
    env.monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(MissingDependencyError) as e:
        env.classifier()
    msg = str(e.value)
    assert "\n" not in msg and e.value.exit_code == 3 and "running a TensorRT engine" in msg
    for part in HINT_PARTS:
        assert part in msg, (part, msg)
    assert env.gpu.calls == []  # asked for nothing else first


def test_missing_cuda_library_says_what_to_install(env):
    env.setup(cuda=None, batch=2)
    for forced in (None, "pycuda", "cuda-python"):
        with pytest.raises(MissingDependencyError) as e:
            env.classifier(cuda=forced)
        msg = str(e.value)
        assert "\n" not in msg and e.value.exit_code == 3
        assert "pip install pycuda" in msg and "pip install cuda-python" in msg and "PATH=/usr/local/cuda/bin" in msg
    assert "builder.build_serialized_network" not in env.trt.rec.names()  # refused before building
    with pytest.raises(EdgeferError, match="cuda library 'cupy'"):
        env.classifier(cuda="cupy")


def test_module_imports_without_tensorrt_and_is_py38():
    p = run_python_without("import edgefer.runtime.tensorrt_runner\n"
                           "print(sorted(k for k in sys.modules if k.split('.')[0] in %r))\n" % (TENSORRT_SIDE,),
                           blocked=TENSORRT_SIDE + ("onnx", "onnxruntime", "cv2"))
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr
    assert_python38("edgefer/runtime/tensorrt_runner.py")
