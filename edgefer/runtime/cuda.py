"""The one CUDA layer of edgefer (device side): pinned host memory, device memory, copies and
a stream, through pycuda or cuda-python, always in the device's *primary* context.

Used by the TensorRT runner (:mod:`.tensorrt_runner`) and the INT8 entropy calibrator of the
engine builder (:mod:`.tensorrt_engine`); nothing else in edgefer talks to CUDA.

Why pycuda uses the device's *primary* context (``Device(0).retain_primary_context()``, what
pycuda's own ``pycuda.autoprimaryctx`` does) rather than ``pycuda.autoinit`` or
``make_context()``: TensorRT allocates and launches through the CUDA *runtime* API, which
uses the primary context on any thread with no context current. With the primary context,
pycuda's buffers, TensorRT's memory and cuda-python (if something else in the process uses
it) all live in one context, whichever thread calls. ``autoinit`` / ``make_context()`` create
a second, non-primary context that is current only on the importing thread and is popped by
an ``atexit`` hook we do not control. The context is pushed around every call that touches
the GPU (:meth:`active`) and popped afterwards, so a call from another thread works and the
caller's context stack is left as it was; :meth:`release` gives the retained context back
with ``detach()``.

Python 3.8, numpy only at import; ``pycuda`` and ``cuda-python`` are imported by
:func:`open_cuda`.
"""

import contextlib

import numpy as np

from ..errors import EdgeferError, MissingDependencyError

CUDA_LIBRARIES = ("pycuda", "cuda-python")
CUDA_HINT = (
    "pip install pycuda (or pip install cuda-python); on a Jetson build pycuda against JetPack's "
    "CUDA (PATH=/usr/local/cuda/bin:$PATH pip install pycuda)"
)
WHY_CUDA = "running a TensorRT engine (copying images to and from the GPU)"


def cudart():
    """cuda-python's runtime module: ``cuda.bindings.runtime`` (cuda-python >= 12.6) or the
    older ``cuda.cudart``."""
    try:
        from cuda.bindings import runtime as rt
    except ImportError:
        from cuda import cudart as rt
    return rt


def check(rt, result, what):
    """The value of a cuda-python call's ``(error, value...)`` result; RuntimeError on an error."""
    err = result[0]
    if err != rt.cudaError_t.cudaSuccess:
        raise RuntimeError("%s failed: %s" % (what, err))
    return result[1] if len(result) > 1 else None


def _host_owner(array):
    """The object that owns a pinned numpy array's memory (pycuda: PagelockedHostAllocation)."""
    base = array
    while base is not None and not hasattr(base, "free"):
        base = getattr(base, "base", None)
    return base


class _CudaIO(object):
    """What both CUDA layers share: a device allocation's address is ``int(allocation)``
    (pycuda's DeviceAllocation converts, cuda-python's is an int already)."""

    @staticmethod
    def pointer(allocation):
        return int(allocation)


class _PycudaIO(_CudaIO):
    """Pinned host memory, device memory and one stream through ``pycuda.driver``."""

    name = "pycuda"

    def __init__(self, device=0):
        import pycuda.driver as cuda  # noqa: F811

        self._cuda = cuda
        try:
            cuda.init()
            dev = cuda.Device(device)
            if hasattr(dev, "retain_primary_context"):  # pycuda >= 2017.1
                self._ctx = dev.retain_primary_context()
            else:  # very old pycuda: a context of our own, made current only while we use it
                self._ctx = dev.make_context()
                cuda.Context.pop()
        except Exception as exc:
            raise EdgeferError(
                "pycuda could not open CUDA device %d (%s); is this an NVIDIA GPU or a Jetson with its "
                "driver loaded?" % (device, " ".join(str(exc).split()) or type(exc).__name__)
            ) from None
        self._device = []
        self._host = []
        self._stream = None
        self.stream_handle = None

    @contextlib.contextmanager
    def active(self):
        self._ctx.push()
        try:
            yield
        finally:
            self._cuda.Context.pop()

    def host_empty(self, count, dtype):
        array = self._cuda.pagelocked_empty(int(count), dtype)
        self._host.append(array)
        return array

    def device_empty(self, nbytes):
        allocation = self._cuda.mem_alloc(int(nbytes))
        self._device.append(allocation)
        return allocation

    def create_stream(self):
        self._stream = self._cuda.Stream()
        self.stream_handle = int(self._stream.handle)

    def htod(self, device, host):
        self._cuda.memcpy_htod_async(device, host, self._stream)

    def htod_sync(self, device, host):
        self._cuda.memcpy_htod(device, host)

    def dtoh(self, host, device):
        self._cuda.memcpy_dtoh_async(host, device, self._stream)

    def synchronize(self):
        self._stream.synchronize()

    def free(self):
        """Free every buffer and the stream; call with the context active."""
        while self._device:
            self._device.pop().free()
        while self._host:
            owner = _host_owner(self._host.pop())
            if owner is not None:
                owner.free()
        self._stream = None
        self.stream_handle = None

    def release(self):
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.detach()


class _CudartIO(_CudaIO):
    """The same through cuda-python's runtime API (``cudaMallocHost``, ``cudaMalloc``,
    ``cudaMemcpyAsync``, ``cudaStreamCreate``, ``cudaStreamSynchronize``). The runtime API
    uses the device's primary context, as TensorRT does."""

    name = "cuda-python"

    def __init__(self, rt):
        self._rt = rt
        self._device = []
        self._host = []
        self._stream = None
        self.stream_handle = None

    def _check(self, result, what):
        try:
            return check(self._rt, result, what)
        except RuntimeError as exc:
            raise EdgeferError("CUDA (cuda-python) %s" % exc) from None

    @staticmethod
    def active():
        return contextlib.nullcontext()

    def host_empty(self, count, dtype):
        import ctypes

        dtype = np.dtype(dtype)
        nbytes = int(count) * dtype.itemsize
        pointer = int(self._check(self._rt.cudaMallocHost(nbytes), "cudaMallocHost"))
        self._host.append(pointer)
        memory = (ctypes.c_uint8 * nbytes).from_address(pointer)
        return np.frombuffer(memory, dtype=dtype, count=int(count))

    def device_empty(self, nbytes):
        pointer = int(self._check(self._rt.cudaMalloc(int(nbytes)), "cudaMalloc"))
        self._device.append(pointer)
        return pointer

    def create_stream(self):
        self._stream = self._check(self._rt.cudaStreamCreate(), "cudaStreamCreate")
        self.stream_handle = int(self._stream)

    def htod(self, device, host):
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(
            self._rt.cudaMemcpyAsync(int(device), host.ctypes.data, host.nbytes, kind, self._stream), "cudaMemcpyAsync"
        )

    def htod_sync(self, device, host):
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(self._rt.cudaMemcpy(int(device), host.ctypes.data, host.nbytes, kind), "cudaMemcpy")

    def dtoh(self, host, device):
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._check(
            self._rt.cudaMemcpyAsync(host.ctypes.data, int(device), host.nbytes, kind, self._stream), "cudaMemcpyAsync"
        )

    def synchronize(self):
        self._check(self._rt.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def free(self):
        while self._device:
            self._rt.cudaFree(self._device.pop())
        while self._host:
            self._rt.cudaFreeHost(self._host.pop())
        if self._stream is not None:
            self._rt.cudaStreamDestroy(self._stream)
        self._stream = None
        self.stream_handle = None

    def release(self):
        pass


def _missing_cuda(why, which):
    return MissingDependencyError("%s needs %s; install it with: %s" % (why, which, CUDA_HINT))


def open_cuda(library=None, why=WHY_CUDA):
    """pycuda when importable (or asked for), else cuda-python; MissingDependencyError with
    what to install (and ``why``) when neither is."""
    if library not in (None,) + CUDA_LIBRARIES:
        raise EdgeferError("cuda library %r is not one of %s" % (library, ", ".join(CUDA_LIBRARIES)))
    if library in (None, "pycuda"):
        try:
            import pycuda.driver  # noqa: F401
        except ImportError as exc:
            if library == "pycuda":
                raise _missing_cuda(why, "the Python package 'pycuda' (%s)" % exc) from None
        else:
            return _PycudaIO()
    try:
        rt = cudart()
    except ImportError as exc:
        if library == "cuda-python":
            raise _missing_cuda(why, "the Python package 'cuda-python' (%s)" % exc) from None
        raise _missing_cuda(why, "the Python package 'pycuda' or 'cuda-python' (neither is installed)") from None
    return _CudartIO(rt)


class DeviceUpload(object):
    """One device buffer that host arrays are copied into (synchronously), reused while the
    size stays the same: what TensorRT's INT8 calibrator hands the builder, batch by batch.
    Opens the CUDA layer on creation (so a missing library is reported up front)."""

    def __init__(self, why, library=None):
        self._io = open_cuda(library, why)
        self._buffer = None

    def upload(self, array):
        """Copy ``array`` to the GPU; returns the device pointer (an int)."""
        with self._io.active():
            if self._buffer is None:
                self._buffer = self._io.device_empty(array.nbytes)
            self._io.htod_sync(self._buffer, array)
        return self._io.pointer(self._buffer)

    def free(self):
        io, self._io, self._buffer = self._io, None, None
        if io is not None:
            try:
                with io.active():
                    io.free()
            finally:
                io.release()
