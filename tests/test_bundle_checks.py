"""A bundle is untrusted input: its files stay inside it, and its manifest is checked against
its schema and against its models before anything runs (issue 12, classes 1 and 2)."""

import json
import os
import shutil

import pytest

from conftest import ROOT
from edgefer import schema
from edgefer.bundle import Bundle, manifest_schema
from edgefer.errors import EdgeferError

DEFAULT = os.path.join(ROOT, "edgefer", "bundles", "default.edgefer")


@pytest.fixture
def copy(tmp_path):
    """A writable copy of the shipped bundle, and a function that edits its manifest."""
    path = str(tmp_path / "b.edgefer")
    shutil.copytree(DEFAULT, path)

    def edit(fn):
        mpath = os.path.join(path, "manifest.json")
        m = json.load(open(mpath))
        fn(m)
        json.dump(m, open(mpath, "w"))
        return path

    return path, edit


def _error(path, **kw):
    with pytest.raises(EdgeferError) as e:
        Bundle.load(path, **kw)
    msg = str(e.value)
    assert "\n" not in msg and path in msg
    return msg


@pytest.mark.parametrize("name", ["../outside/evil.onnx", "/etc/hostname", "sub/model.onnx", "..", "a\\b.onnx"])
def test_artifact_paths_cannot_leave_the_bundle(copy, tmp_path, name):
    path, edit = copy
    msg_absent = _error(edit(lambda m: m["artifacts"][0].__setitem__("file", name)))
    # the same answer whether or not something exists outside: nothing is disclosed
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(os.path.join(DEFAULT, Bundle.load(DEFAULT, verify=False).artifacts[0]["file"]), outside / "evil.onnx")
    assert _error(path) == msg_absent
    assert "artifacts[0].file" in msg_absent or "not a plain file name" in msg_absent


def test_a_symlink_that_leads_out_is_refused_whatever_it_points_at(copy, tmp_path):
    path, _ = copy
    first = Bundle.load(path, verify=False).artifacts[0]["file"]
    real = tmp_path / "elsewhere.onnx"
    shutil.move(os.path.join(path, first), real)
    os.symlink(str(real), os.path.join(path, first))
    msg = _error(path)
    assert "leads outside the bundle" in msg and str(real) not in msg and "elsewhere" not in msg
    os.remove(real)  # a dangling link says the same
    assert _error(path) == msg


@pytest.mark.parametrize("tamper, field", [
    (lambda m: m["artifacts"][0].pop("sha256"), "artifacts[0]: missing 'sha256'"),
    (lambda m: m["model"]["preprocess"].__setitem__("size", 100000), "model.preprocess.size: expected <= 1024"),
    (lambda m: m["model"].__setitem__("labels", m["model"]["labels"][:5]), "model.num_classes: 7, but model.labels has 5"),
    (lambda m: m["model"]["labels"].__setitem__(1, m["model"]["labels"][0]), "model.labels: a name appears twice"),
    (lambda m: m["artifacts"][1].__setitem__("batch", 0), "artifacts[1].batch"),
    (lambda m: m["artifacts"][0].__setitem__("precision", "int4"), "artifacts[0].precision: expected one of"),
    (lambda m: m.__setitem__("artifacts", "model.onnx"), "artifacts: expected array, got string"),
    (lambda m: m["model"]["preprocess"].__setitem__("std", [0.5, 0.5]), "model.preprocess.std: expected at least 3"),
])
def test_a_manifest_that_breaks_its_schema_is_refused_naming_the_field(copy, tamper, field):
    _, edit = copy
    msg = _error(edit(tamper))
    assert field in msg and "re-export" in msg


def test_a_model_that_disagrees_with_its_manifest_is_refused(copy):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("cv2")
    from edgefer.runtime.pipeline import Pipeline

    def six_labels(m):
        m["model"]["labels"] = m["model"]["labels"][:6]
        m["model"]["num_classes"] = 6

    path = copy[1](six_labels)
    with pytest.raises(EdgeferError) as e:
        Pipeline(path)
    assert "output width 7 where the manifest's model.labels says 6" in str(e.value)


def test_the_validator_agrees_with_jsonschema_on_the_shipped_manifest():
    jsonschema = pytest.importorskip("jsonschema")
    m = json.load(open(os.path.join(DEFAULT, "manifest.json")))
    jsonschema.validate(m, manifest_schema())
    assert schema.first_error(m, manifest_schema()) is None
    m["artifacts"][0]["opset"] = 3
    assert schema.first_error(m, manifest_schema()) == "artifacts[0].opset: expected >= 7, got 3"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(m, manifest_schema())
    with pytest.raises(ValueError):
        schema.first_error({}, {"propertyNames": {}})  # a keyword it does not know is not ignored


def _paths(obj, prefix=()):
    """Every (path, value) in a JSON document."""
    yield prefix, obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        for p in _paths(v, prefix + (k,)):
            yield p


def test_fuzzed_manifests_load_or_give_one_clear_error(tmp_path_factory):
    """Property: a manifest with any one value replaced (or removed) by any JSON value loads,
    or is refused with one EdgeferError line naming the bundle; never another exception."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    base = json.load(open(os.path.join(DEFAULT, "manifest.json")))
    paths = [p for p, _ in _paths(base) if p]
    path = str(tmp_path_factory.mktemp("fuzz") / "b.edgefer")
    shutil.copytree(DEFAULT, path)
    json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
                               | st.text(max_size=20), lambda inner: st.lists(inner, max_size=3)
                               | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(where=st.sampled_from(paths), value=json_values, remove=st.booleans())
    def check(where, value, remove):
        m = json.loads(json.dumps(base))
        parent = m
        for k in where[:-1]:
            parent = parent[k]
        if remove and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = value
        with open(os.path.join(path, "manifest.json"), "w") as f:
            json.dump(m, f)
        try:
            b = Bundle.load(path, verify=False)
            for a in b.artifacts:
                b.file(a)
        except EdgeferError as exc:
            assert "\n" not in str(exc) and path in str(exc)

    check()
