"""Code is read more than written (issue 10): no function in edgefer/ over ~80 lines unless a
comment right above it, starting "# Long on purpose:", says why."""

import ast
import os

from conftest import ROOT

LIMIT = 80
MARK = "# Long on purpose:"


def _long_functions():
    out = []
    for folder, _, files in os.walk(os.path.join(ROOT, "edgefer")):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            lines = open(path, encoding="utf-8").read().splitlines()
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = node.end_lineno - node.lineno + 1
                    first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                    above = [line.strip() for line in lines[max(0, first - 4):first - 1]]
                    if length > LIMIT and not any(line.startswith(MARK) for line in above):
                        out.append("%s:%d %s (%d lines)" % (os.path.relpath(path, ROOT), node.lineno, node.name, length))
    return out


def test_no_function_is_long_without_a_reason():
    assert _long_functions() == []
