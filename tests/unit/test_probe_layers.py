"""probe/'s imports point one way (issue 22): no cycle among its modules, nothing from above it.

Lazy imports inside functions count too: a cycle there still ties the modules together, and the
next module-level import turns it into an ImportError.
"""

from __future__ import annotations

import ast
from pathlib import Path

PROBE = Path(__file__).resolve().parents[2] / "gridctl" / "probe"
ABOVE = ("gridctl.context", "gridctl.doctor", "gridctl.cli", "gridctl.watch", "gridctl.trace", "gridctl.render",
         "gridctl.report", "gridctl.auth", "gridctl.onboard")


def imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PROBE.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "gridctl.probe":
                    deps.update(f"gridctl.probe.{alias.name}" for alias in node.names)
                elif node.module == "gridctl":
                    deps.update(f"gridctl.{alias.name}" for alias in node.names)
                else:
                    deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[f"gridctl.probe.{path.stem}"] = {d for d in deps if d.startswith("gridctl")}
    return graph


def test_probe_imports_nothing_above_it() -> None:
    upward = {m: sorted(d for d in deps if d.startswith(ABOVE)) for m, deps in imports().items()}
    assert not {m: d for m, d in upward.items() if d}, upward


def test_probe_modules_import_each_other_one_way() -> None:
    graph = {m: {d for d in deps if d.startswith("gridctl.probe.")} for m, deps in imports().items()}
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(node):], node]))
        if node in done:
            return
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*path, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert "gridctl.probe.client" in graph and graph["gridctl.probe.deadline"] == set()
