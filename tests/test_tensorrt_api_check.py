"""tools/check_tensorrt_api.py, the part that needs no TensorRT: the list of TensorRT and CUDA
names the device code uses is complete (no name reached through a variable it cannot
resolve) and its version gates still point at code that exists. The check against the
real modules needs NVIDIA's wheels in a separate environment; its result is recorded in
benchmarks/results/tensorrt-api-2026-12-01.md."""

import os
import re
import sys

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import check_tensorrt_api as check  # noqa: E402


def test_every_use_is_resolved_and_the_main_api_is_found():
    uses, unresolved = check.collect_uses()
    assert unresolved == []
    keys = {u.key() for u in uses}
    for key in [("tensorrt", "Builder"), ("tensorrt.Builder", "build_serialized_network"),
                ("tensorrt.IBuilderConfig", "set_memory_pool_limit"), ("tensorrt.BuilderFlag", "FP16"),
                ("tensorrt.Logger", "VERBOSE"), ("tensorrt.ICudaEngine", "get_tensor_profile_shape"),
                ("tensorrt.IExecutionContext", "execute_async_v3"), ("tensorrt.IInt8EntropyCalibrator2", "get_batch"),
                ("cudart", "cudaMemcpyAsync"), ("cudart.cudaDeviceAttr", "cudaDevAttrComputeCapabilityMajor"),
                ("pycuda.driver.Device", "retain_primary_context"), ("pycuda.driver.Stream", "handle")]:
        assert key in keys, key
    calls = {(u.role, u.name): (u.npos, u.keywords) for u in uses if u.kind == "call"}
    assert calls[("tensorrt.OnnxParser:call", "parse")] == (2, ())  # parse(model, path)
    assert calls[("cudart:call", "cudaMemcpyAsync")] == (5, ())


def test_version_gates_name_used_names_and_existing_code():
    uses, _ = check.collect_uses()
    keys = {u.key() for u in uses}
    sources = "".join(open(os.path.join(ROOT, rel), encoding="utf-8").read() for rel in check.SOURCES)
    for (role, name), (where, pattern, majors) in check.GATES.items():
        assert (role, name) in keys, "GATES lists %s.%s, which the code no longer uses" % (role, name)
        assert re.search(pattern, sources), "the gate of %s.%s (%s) is gone" % (role, name, where)
        assert set(majors) <= {10, 11}
