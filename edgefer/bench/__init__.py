"""Benchmarks on the device (``edgefer bench``, ``edgefer info``): no torch at import.

* :func:`benchmark_model` — every artifact of a bundle on every backend this machine has:
  size, accuracy on a named split, latency (median / p90 / p99), throughput, FPS;
* :func:`benchmark_pipeline` — the whole runtime on a real source, per stage, with FPS,
  camera-to-result latency, CPU load and peak memory;
* :func:`device_report` — the machine (CPU and its features, RAM, OS, Python, Jetson /
  Raspberry Pi, ONNX Runtime, TensorRT, CUDA, OpenCV, cameras);
* :func:`write_all` — a result as JSON (``bench.schema.json``), CSV, markdown and PNG plots;
  :func:`print_lines` — the terminal table.

::

    from edgefer.bench import benchmark_model, write_all, print_lines
    doc = benchmark_model("vit.edgefer", data="fer2013.csv.gz", split="PublicTest", threads=[1, 4])
    print("\\n".join(print_lines(doc)))
    write_all(doc, "bench-results")
"""

from .device import report as device_report  # noqa: F401
from .model import benchmark_model  # noqa: F401
from .pipeline import benchmark_pipeline  # noqa: F401
from .report import load_schema, print_lines, write_all  # noqa: F401
from .resources import pin_cpus  # noqa: F401

__all__ = ["benchmark_model", "benchmark_pipeline", "device_report", "load_schema", "pin_cpus", "print_lines",
           "write_all"]
