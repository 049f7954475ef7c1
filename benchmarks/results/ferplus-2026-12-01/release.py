"""Make the shipped FER+ bundle from the full export, as `edgefer export ... --keep` would:
keep INT8 CPU b1 + b8 and the TensorRT flavour b1 (the package's model files stay under
40 MB with the default's 23.0 MB); the others are recorded in the manifest's not_shipped.

    python benchmarks/results/ferplus-2026-12-01/release.py ~/edgefer-runs/lite96-ferplus/ferplus-lite0-96.edgefer \
        edgefer/bundles/ferplus.edgefer
"""
import json
import os
import sys

from edgefer.bundle import Bundle
from edgefer.export import bundle as writer
from edgefer.export.exporter import _keep

KEEP = ["int8/cpu", "int8/tensorrt/b1"]

src, out = sys.argv[1], sys.argv[2]
b = Bundle.load(src)
files = {a["file"]: b.file(a) for a in b.artifacts}
kept, dropped = _keep(b.artifacts, files, KEEP)
manifest = dict(b.manifest, artifacts=kept, not_shipped=list(b.manifest.get("not_shipped", [])) + dropped)
if "calibration_file" in manifest:
    files["calibration.json"] = os.path.join(src, manifest["calibration_file"])
print(writer.write(out, manifest, files))
print(json.dumps([(a["file"], a["size_bytes"]) for a in Bundle.load(out).artifacts]))
