"""The import rule of ARCHITECTURE.md, read from the source with ``ast`` (nothing is imported):

    cli  ->  train, export, bench  ->  runtime  ->  the contract (bundle, preprocess, labels,
    data, evaluation, metrics, errors, ...)

Imports flow one way (down), no module imports ``edgefer.cli`` but ``__main__``, and there
is no import cycle in ``edgefer/``. Imports inside functions (lazy ones) count too, except
the few listed in ``ALLOWED_LAZY`` with the reason they are allowed.
"""

import ast
import os

from conftest import ROOT

PKG = os.path.join(ROOT, "edgefer")

# Which layers a layer may import (its own included).
CONTRACT = "contract"
MAY_IMPORT = {
    CONTRACT: {CONTRACT},
    "runtime": {"runtime", CONTRACT},
    "train": {"train", CONTRACT},
    # export reads checkpoints with train's loader and model factory, and builds TensorRT
    # engines with the runtime's builder (--trt)
    "export": {"export", "train", "runtime", CONTRACT},
    "bench": {"bench", "runtime", CONTRACT},
    "cli": {"cli", "train", "export", "bench", "runtime", CONTRACT},
    "main": {"cli"},
}
# (importer layer, imported layer): why a lazy import (inside a function) is allowed there.
ALLOWED_LAZY = {
    ("bench", "train"): "the optional PyTorch row of the model benchmark (torch only where installed)",
}


def layer(module):
    parts = module.split(".")
    if module == "edgefer.__main__":
        return "main"
    if len(parts) > 1 and parts[1] in ("cli", "train", "export", "bench", "runtime"):
        return parts[1]
    return CONTRACT


def modules():
    out = {}
    for dirpath, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                name = ".".join(rel[:-1] if rel[-1] == "__init__" else rel)
                out[name] = path
    return out


def imports(name, path, known):
    """[(imported module, lazy)] for every ``edgefer`` import in the file."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    found = []

    def target(mod, names):
        out = []
        for n in names:
            sub = mod + "." + n if mod else n
            out.append(sub if sub in known else mod)
        return out

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, lazy) for a in child.names if a.name.split(".")[0] == "edgefer")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                if mod.split(".")[0] == "edgefer":
                    found.extend((m, lazy) for m in target(mod, [a.name for a in child.names]))
            visit(child, inner)

    visit(tree, False)
    return found


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}, known


def test_imports_follow_the_layers():
    edges, known = graph()
    bad = []
    for src, targets in sorted(edges.items()):
        for dst, lazy in targets:
            if dst not in known:
                bad.append("%s imports %s, which does not exist" % (src, dst))
                continue
            a, b = layer(src), layer(dst)
            if dst == "edgefer.cli" and src != "edgefer.__main__":
                bad.append("%s imports edgefer.cli (only __main__ may)" % src)
            elif b not in MAY_IMPORT[a] and not (lazy and (a, b) in ALLOWED_LAZY):
                bad.append("%s (%s) imports %s (%s)%s" % (src, a, dst, b, " lazily" if lazy else ""))
    assert not bad, "imports against the layers (ARCHITECTURE.md):\n" + "\n".join(bad)


def test_no_import_cycles():
    edges, _ = graph()
    adj = {m: sorted(set(d for d, _ in t if d in edges and d != m)) for m, t in edges.items()}
    cycles, state, stack = [], {}, []

    def dfs(m):
        state[m] = 1
        stack.append(m)
        for d in adj[m]:
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                dfs(d)
        stack.pop()
        state[m] = 2

    for m in sorted(adj):
        if m not in state:
            dfs(m)
    assert not cycles, "import cycles in edgefer/:\n" + "\n".join(cycles)


def test_the_checker_sees_lazy_imports_and_layers():
    """The checker itself: a lazy import is found, and the layer names are what we think."""
    edges, _ = graph()
    assert ("edgefer.train.checkpoint", True) in edges["edgefer.bench.model"]
    assert layer("edgefer.bundle") == CONTRACT and layer("edgefer.runtime.tensorrt_engine") == "runtime"
    assert layer("edgefer.train.models.attention") == "train" and layer("edgefer.__main__") == "main"
