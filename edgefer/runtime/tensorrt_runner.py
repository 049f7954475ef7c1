"""The native TensorRT classifier backend: a bundle's ONNX artifact -> a cached engine -> logits.

``TensorRTRunner`` gets (or builds) the engine through
:func:`edgefer.runtime.tensorrt_engine.get_engine` (cached under ``~/.cache/edgefer/engines/``,
keyed by the artifact's sha256, TensorRT version, compute capability and precision),
deserializes it, and allocates everything once: one page-locked host buffer and one device
buffer per I/O tensor, one execution context, one CUDA stream. ``run`` then only copies:
images -> pinned input, async H2D, execute, async D2H, one stream synchronize per chunk.

Device-side code: Python 3.8, numpy only at import; ``tensorrt``, ``pycuda`` and
``cuda-python`` are imported when a classifier is made.

API generations (TensorRT Python API reference; NVIDIA's samples/python/common_runtime.py):

* TensorRT >= 8.5, named tensors: ``engine.num_io_tensors``, ``get_tensor_name(i)``,
  ``get_tensor_mode(name)``, ``get_tensor_shape(name)``, ``get_tensor_dtype(name)``,
  ``get_tensor_profile_shape(name, profile)``; ``context.set_input_shape(name, shape)``,
  ``context.set_tensor_address(name, ptr)``, ``context.execute_async_v3(stream_handle)``.
  The only API on TensorRT 10 (JetPack 6), which removed the bindings API and
  ``execute_async_v2``. Used whenever the engine and context have it.
* TensorRT 8.0 - 8.4, bindings: ``engine.num_bindings``, ``get_binding_name(i)``,
  ``binding_is_input(i)``, ``get_binding_shape(i)``, ``get_binding_dtype(i)``,
  ``get_profile_shape(profile, i)``; ``context.set_binding_shape(i, shape)``,
  ``context.execute_async_v2(bindings, stream_handle)`` (explicit-batch engines).

CUDA memory and streams come from the one CUDA layer, :mod:`edgefer.runtime.cuda` (pycuda
when it is importable, else cuda-python's runtime module), in the device's primary context
(why: see that module). The context is made current around every call that touches the GPU
(construction, ``run``, ``close``); ``close`` releases the retained context.
"""

import os
import threading

import numpy as np

from ..errors import EdgeferError
from . import tensorrt_engine as tb
from .cuda import open_cuda

# TensorRT DataType names -> numpy, used where tensorrt.nptype is missing or refuses a type.
_DTYPE_BY_NAME = {
    "FLOAT": np.float32,
    "HALF": np.float16,
    "INT8": np.int8,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "BOOL": np.bool_,
}
_FLOAT_IO = (np.dtype(np.float32), np.dtype(np.float16))


def _shorten_home(path):
    home = os.path.expanduser("~")
    if home and home != "~" and path.startswith(home + os.sep):
        return "~" + path[len(home):]
    return path


# ----------------------------------------------------------------------------- engine I/O


class _Tensor(object):
    __slots__ = ("name", "index", "is_input", "shape", "trt_dtype", "dtype", "profile")

    def __init__(self, name, index, is_input, shape, trt_dtype, dtype, profile):
        self.name, self.index, self.is_input = name, index, is_input
        self.shape, self.trt_dtype, self.dtype, self.profile = shape, trt_dtype, dtype, profile


def _dims(shape):
    return tuple(int(d) for d in shape)


def numpy_dtype(trt, trt_dtype):
    """The numpy dtype of a TensorRT DataType (``trt.nptype`` when it knows it), or None."""
    nptype = getattr(trt, "nptype", None)
    if nptype is not None:
        try:
            return np.dtype(nptype(trt_dtype))
        except (TypeError, KeyError, ValueError):
            pass  # bfloat16, fp8, int4: no numpy type
    name = getattr(trt_dtype, "name", None) or str(trt_dtype).rsplit(".", 1)[-1]
    found = _DTYPE_BY_NAME.get(str(name).upper())
    return None if found is None else np.dtype(found)


def _named_tensors(trt, engine):
    tensors = []
    for i in range(int(engine.num_io_tensors)):
        name = engine.get_tensor_name(i)
        is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
        shape = _dims(engine.get_tensor_shape(name))
        trt_dtype = engine.get_tensor_dtype(name)
        profile = None
        if is_input and any(d < 0 for d in shape):
            profile = [_dims(s) for s in engine.get_tensor_profile_shape(name, 0)]
        tensors.append(_Tensor(name, i, is_input, shape, trt_dtype, numpy_dtype(trt, trt_dtype), profile))
    return tensors


def _binding_tensors(trt, engine):
    # With several optimization profiles the bindings repeat once per profile: use profile 0's.
    count = int(engine.num_bindings) // max(1, int(getattr(engine, "num_optimization_profiles", 1) or 1))
    tensors = []
    for i in range(count):
        is_input = bool(engine.binding_is_input(i))
        shape = _dims(engine.get_binding_shape(i))
        trt_dtype = engine.get_binding_dtype(i)
        profile = None
        if is_input and any(d < 0 for d in shape):
            profile = [_dims(s) for s in engine.get_profile_shape(0, i)]
        tensors.append(
            _Tensor(engine.get_binding_name(i), i, is_input, shape, trt_dtype, numpy_dtype(trt, trt_dtype), profile)
        )
    return tensors


def _uses_named_api(engine, context):
    return all(hasattr(engine, a) for a in ("num_io_tensors", "get_tensor_name", "get_tensor_mode")) and all(
        hasattr(context, a) for a in ("execute_async_v3", "set_tensor_address", "set_input_shape")
    )


def _checked_batch(batch, max_batch):
    """The artifact's batch as a positive int, or None for a dynamic one."""
    if batch == "dynamic":
        batch = None
    if batch is not None:
        try:
            batch = int(batch)
        except (TypeError, ValueError):
            batch = 0
        if batch < 1:
            raise EdgeferError("batch must be a positive number or 'dynamic', got %r" % (batch,))
    if int(max_batch) < 1:
        raise EdgeferError("max_batch must be a positive number, got %r" % (max_batch,))
    return batch


def _classifier_io(tensors, output_name, where):
    """The engine's one input and its logits output (``output_name`` when it has several)."""
    inputs = [t for t in tensors if t.is_input]
    outputs = [t for t in tensors if not t.is_input]
    if len(inputs) != 1:
        raise EdgeferError(
            "%s has %d inputs (%s); a classifier has one N x 3 x H x W input"
            % (where, len(inputs), ", ".join(t.name for t in inputs))
        )
    if not outputs:
        raise EdgeferError("%s has no output" % where)
    if output_name is not None:
        chosen = [t for t in outputs if t.name == output_name]
        if not chosen:
            raise EdgeferError(
                "%s has no output %r (its outputs: %s)" % (where, output_name, ", ".join(t.name for t in outputs))
            )
        return inputs[0], chosen[0]
    if len(outputs) == 1:
        return inputs[0], outputs[0]
    raise EdgeferError(
        "%s has several outputs (%s); say which holds the logits (output_name)"
        % (where, ", ".join(t.name for t in outputs))
    )


def _image_size(inp, input_size, where):
    """The side of the engine's square N x 3 x S x S input, checked against the bundle's."""
    shape = inp.shape
    if len(shape) != 4 or shape[1] != 3:
        raise EdgeferError("%s takes input %r of shape %s, not N x 3 x H x W" % (where, inp.name, list(shape)))
    height, width = shape[2], shape[3]
    if height < 0 or width < 0:
        raise EdgeferError(
            "%s has a dynamic image size %s; build it for the bundle's fixed size" % (where, list(shape))
        )
    if height != width:
        raise EdgeferError("%s takes %dx%d images; edgefer crops are square" % (where, height, width))
    if input_size is not None and height != int(input_size):
        s = int(input_size)
        raise EdgeferError(
            "%s takes %dx%d images but the bundle's preprocessing makes %dx%d crops; the engine was built from "
            "another model (rebuild it from this bundle's artifact)" % (where, height, width, s, s)
        )
    return height


def _batch_range(inp, batch, where):
    """``(batch, min_batch, max_batch)`` of the engine's input: its fixed batch (None when
    dynamic) and the range its buffers hold; checked against the artifact's ``batch``."""
    shape = inp.shape
    if shape[0] >= 0:
        fixed = mn = mx = shape[0]
    else:
        lo, _opt, hi = inp.profile
        if _dims(hi[1:]) != _dims(shape[1:]) or _dims(lo[1:]) != _dims(shape[1:]):
            raise EdgeferError(
                "%s has an optimization profile %s for a %s input" % (where, inp.profile, list(shape))
            )
        fixed, mn, mx = None, int(lo[0]), int(hi[0])
    if batch is not None and fixed != batch:
        raise EdgeferError(
            "%s runs batch %s but the bundle artifact says batch %d" % (where, fixed or "dynamic", batch)
        )
    return fixed, mn, mx


# ----------------------------------------------------------------------------- the backend


class TensorRTRunner(object):
    """A classifier backend running a native TensorRT engine built from a bundle artifact.

    ``onnx_path`` / ``onnx_sha256`` / ``precision``: the bundle artifact (the engine is built
    from it on first use and cached; see :func:`edgefer.runtime.tensorrt_engine.get_engine`).
    ``batch``: the artifact's batch, an int for a fixed-batch artifact (checked against the
    engine), or None / ``"dynamic"`` for a dynamic one; a dynamic artifact gets an optimization
    profile for batches 1 .. ``max_batch`` when ``input_name`` and ``input_size`` are given
    (unless ``input_shapes`` is), else TensorRT's 1 .. 1. ``input_size``: the bundle's
    preprocessing size; an engine for another size is refused. ``output_name``: the logits
    tensor when the engine has several outputs. ``dla_core``: run on that DLA core (Xavier,
    AGX Orin). ``cuda``: force ``"pycuda"`` or ``"cuda-python"`` (default: pycuda when
    importable). Other keywords (``int8_mode``, ``calibrator``, ``timing_cache_path``,
    ``input_shapes``) go to the engine builder.

    ``run(x)``: float N x 3 x S x S -> float32 N x C logits, any N (chunks of the engine's
    batch; a fixed-batch engine gets its last chunk zero-padded). ``close()`` frees the GPU
    memory and the CUDA context; the object is also a context manager. ``run`` may be called
    from any thread (calls are serialized)."""

    name = "tensorrt"

    def __init__(
        self,
        onnx_path,
        onnx_sha256,
        precision,
        batch=None,
        dla_core=None,
        workspace_mb=1024,
        cache_root=None,
        rebuild=False,
        input_size=None,
        input_name=None,
        output_name=None,
        max_batch=8,
        logger_severity="WARNING",
        cuda=None,
        **build_options
    ):
        self._lock = threading.Lock()
        self._closed = True
        self._io = None
        self._engine = None
        self._context = None
        self.precision = precision
        self.dla_core = None if dla_core is None else int(dla_core)
        batch = _checked_batch(batch, max_batch)
        if batch is None and input_name and input_size and build_options.get("input_shapes") is None:
            s = int(input_size)
            build_options["input_shapes"] = {input_name: ((1, 3, s, s), (1, 3, s, s), (int(max_batch), 3, s, s))}

        # tensorrt first: on a machine without it, that is the thing to install.
        self._trt = trt = tb.import_tensorrt("running a TensorRT engine")
        self.tensorrt_version = str(trt.__version__)
        self._io = open_cuda(cuda)
        self.cuda_library = self._io.name
        try:
            with self._io.active():
                self._load_engine(onnx_path, onnx_sha256, precision, dict(
                    build_options, cache_root=cache_root, rebuild=rebuild, dla_core=dla_core,
                    workspace_mb=workspace_mb, logger_severity=logger_severity))
                self._setup(batch, input_size, output_name)
        except BaseException:
            self._release()
            raise
        self._closed = False

    def _load_engine(self, onnx_path, onnx_sha256, precision, options):
        """Get (or build) the cached engine, deserialize it and make its execution context."""
        self.engine_path = tb.get_engine(onnx_path, onnx_sha256, precision, **options)
        self._engine = tb.load_engine(self.engine_path, options["logger_severity"], dla_core=options["dla_core"])
        self._context = self._engine.create_execution_context()
        if self._context is None:
            raise EdgeferError(
                "TensorRT could not create an execution context for %s (out of GPU memory?)" % self.engine_path
            )

    # ------------------------------------------------------------------ set-up

    def _setup(self, batch, input_size, output_name):
        """Check the engine's I/O against the bundle, then allocate everything once."""
        engine, context, trt = self._engine, self._context, self._trt
        self._named = _uses_named_api(engine, context)
        self.api = "execute_async_v3" if self._named else "execute_async_v2"
        tensors = _named_tensors(trt, engine) if self._named else _binding_tensors(trt, engine)
        where = "the TensorRT engine %s" % self.engine_path
        inp, out = self._input, self._output = _classifier_io(tensors, output_name, where)
        self.input_size = _image_size(inp, input_size, where)
        for t, role in ((inp, "input"), (out, "output")):
            if t.dtype not in _FLOAT_IO:
                raise EdgeferError(
                    "%s has %s %r of type %s; edgefer feeds and reads float32 or float16 tensors (build the engine "
                    "from the bundle's ONNX, whose I/O is float)" % (where, role, t.name, t.trt_dtype)
                )
        self.batch, self.min_batch, self.max_batch = _batch_range(inp, batch, where)
        capacity = self.max_batch
        if out.shape[0] not in (capacity, -1) or any(d < 0 for d in out.shape[1:]):
            raise EdgeferError("%s has output %r of shape %s, not N x classes" % (where, out.name, list(out.shape)))
        self.num_classes = int(np.prod(out.shape[1:], dtype=np.int64)) if len(out.shape) > 1 else 1
        self.input_name, self.output_name = inp.name, out.name
        self.io_dtype = inp.dtype
        self._allocate(tensors, capacity, where)
        self._rows_set = None  # the batch the context's input shape was last set to (dynamic engines)

    def _allocate(self, tensors, capacity, where):
        """Pinned host buffers for the input and the logits, device buffers for every I/O
        tensor (TensorRT needs an address for each output), one stream; the addresses set."""
        io, inp, out, size = self._io, self._input, self._output, self.input_size
        self._per_image = 3 * size * size
        self._host_in = io.host_empty(capacity * self._per_image, inp.dtype)
        self._host_in4 = self._host_in.reshape(capacity, 3, size, size)
        self._host_out = io.host_empty(capacity * self.num_classes, out.dtype)
        self._host_out2 = self._host_out.reshape(capacity, self.num_classes)
        self._device = {}
        for t in tensors:
            if t is inp:
                nbytes = self._host_in.nbytes
            elif t is out:
                nbytes = self._host_out.nbytes
            else:
                if any(d < 0 for d in t.shape[1:]) or t.dtype is None:
                    raise EdgeferError("%s has an output %r of shape %s / type %s that edgefer cannot hold"
                                       % (where, t.name, list(t.shape), t.trt_dtype))
                nbytes = capacity * int(np.prod(t.shape[1:], dtype=np.int64)) * t.dtype.itemsize
            self._device[t.name] = io.device_empty(max(int(nbytes), 1))
        io.create_stream()
        if self._named:
            for t in tensors:
                if self._context.set_tensor_address(t.name, io.pointer(self._device[t.name])) is False:
                    raise EdgeferError("TensorRT refused the buffer address for %r of %s" % (t.name, where))
        else:
            self._bindings = [io.pointer(self._device[t.name]) for t in sorted(tensors, key=lambda t: t.index)]

    # ------------------------------------------------------------------ inference

    def _set_rows(self, rows):
        if self.batch is not None or rows == self._rows_set:
            return
        shape = (rows, 3, self.input_size, self.input_size)
        if self._named:
            ok = self._context.set_input_shape(self.input_name, shape)
        else:
            ok = self._context.set_binding_shape(self._input.index, shape)
        if ok is False:
            raise EdgeferError(
                "TensorRT refused input shape %s for %s (profile %d..%d)"
                % (list(shape), self.engine_path, self.min_batch, self.max_batch)
            )
        self._rows_set = rows

    def _run_chunk(self, chunk, out):
        n = chunk.shape[0]
        fixed = self.batch is not None
        rows = self.max_batch if fixed else max(n, self.min_batch)
        self._host_in4[:n] = chunk  # converts to the engine's input type (float16 engines too)
        if rows > n:
            self._host_in4[n:rows] = 0  # pad the last chunk of a fixed-batch engine
        self._set_rows(rows)
        io = self._io
        io.htod(self._device[self.input_name], self._host_in[: rows * self._per_image])
        if self._named:
            ok = self._context.execute_async_v3(io.stream_handle)
        else:
            ok = self._context.execute_async_v2(self._bindings, io.stream_handle)
        if ok is False:
            raise EdgeferError("TensorRT %s failed on %s (the TensorRT log says why)" % (self.api, self.engine_path))
        io.dtoh(self._host_out[: rows * self.num_classes], self._device[self.output_name])
        io.synchronize()
        out[:] = self._host_out2[:n]  # copies out of the pinned buffer (and float16 -> float32)

    def run(self, x):
        """float N x 3 x S x S (preprocessed crops) -> float32 N x C logits."""
        x = np.asarray(x)
        expected = (3, getattr(self, "input_size", -1), getattr(self, "input_size", -1))
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise EdgeferError(
                "the TensorRT classifier takes N x %d x %d x %d images, got shape %s" % (expected + (list(x.shape),))
            )
        if not np.issubdtype(x.dtype, np.floating):
            raise EdgeferError("the TensorRT classifier takes preprocessed float images, got %s" % x.dtype)
        logits = np.empty((x.shape[0], self.num_classes), np.float32)
        with self._lock:
            if self._closed:
                raise EdgeferError("this TensorRT classifier is closed")
            if x.shape[0] == 0:
                return logits
            with self._io.active():
                step = self.max_batch
                for start in range(0, x.shape[0], step):
                    stop = min(start + step, x.shape[0])
                    self._run_chunk(x[start:stop], logits[start:stop])
        return logits

    __call__ = run

    # ------------------------------------------------------------------ description, clean-up

    def describe(self):
        """E.g. ``TensorRT 10.3.0.30 int8 b8 (engine ~/.cache/edgefer/engines/...engine, pycuda)``."""
        if getattr(self, "batch", None) is not None:
            batch = "b%d" % self.batch
        else:
            batch = "b%d-%d dynamic" % (getattr(self, "min_batch", 1), getattr(self, "max_batch", 1))
        parts = ["TensorRT %s %s %s" % (self.tensorrt_version, self.precision, batch)]
        if getattr(self, "io_dtype", None) == np.dtype(np.float16):
            parts.append("fp16 I/O")
        if self.dla_core is not None:
            parts.append("DLA core %d" % self.dla_core)
        return "%s (engine %s, %s, %s)" % (
            " ".join(parts),
            _shorten_home(getattr(self, "engine_path", "?")),
            getattr(self, "api", "?"),
            getattr(self, "cuda_library", "?"),
        )

    def __repr__(self):
        return "<TensorRTRunner %s%s>" % (self.describe(), " closed" if self._closed else "")

    def _release(self):
        io, self._io = self._io, None
        if io is None:
            self._context = self._engine = None
            return
        try:
            with io.active():
                # TensorRT objects go first (context before engine), while the context they
                # allocated in is current; then our buffers and the stream.
                self._context = None
                self._engine = None
                self._bindings = None
                self._host_in = self._host_in4 = self._host_out = self._host_out2 = None
                self._device = {}
                io.free()
        finally:
            io.release()

    def close(self):
        """Free the buffers, the stream, the engine and (pycuda) the retained CUDA context.
        Safe to call twice."""
        with self._lock:
            self._closed = True
            self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
