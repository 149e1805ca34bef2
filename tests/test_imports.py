"""No import cycle among the verifier's modules, and every module imports on its own.

The import graph is read from the source with ``ast``: every ``import`` and
``from … import`` of a ``verify`` module, at module level or inside a
function (a lazy import closes a cycle just as well, only later), is an edge.
A cycle is a strongly connected component of more than one module.

One kind of import is not an edge: a submodule's lazy import (inside a
function) of its own package, such as ``verify.report.files`` calling
``verify.report.render_html``. Importing a submodule always runs its
package's ``__init__`` first, so by the time such a function runs the package
is complete; and the package is where its public names live. A module-level
import of its package by a submodule is an edge, and the fresh-interpreter
test below would catch one that fails.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "verify"


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path]) -> set[str]:
    """The ``verify`` modules ``name`` imports anywhere in its source (``from pkg import mod`` names ``pkg.mod``)."""

    def known(dotted: str) -> str:
        while dotted not in modules and "." in dotted:
            dotted = dotted.rpartition(".")[0]
        return dotted

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_functions = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for n in ast.walk(f)}
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    deps = set()
    for node in ast.walk(tree):
        lazy = id(node) in in_functions
        if isinstance(node, ast.Import):
            deps |= {known(a.name) for a in node.names if a.name.split(".")[0] == "verify"
                     and not (lazy and known(a.name) in ancestors)}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "verify":
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in modules else known(base)
                if not (lazy and target in ancestors):
                    deps.add(target)
    deps.discard(name)
    return deps


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) & set(modules) for name, path in modules.items()}


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_graph_sees_lazy_and_relative_imports() -> None:
    graph = _graph()
    assert "verify.runner" in graph["verify.worker"]          # imported inside run_job
    assert "verify.report.files" in graph["verify.cli"]       # imported inside a function
    assert "verify.plan" in graph["verify.runner"]
    assert "verify.symbolic.base" in graph["verify.symbolic.optimizers"]
    assert "verify.symbolic" in graph["verify.specs.optimizers"]              # `from verify import symbolic`
    assert "verify.report.files" in graph["verify.report"]                    # write_html, lazily
    assert "verify.report" not in graph["verify.report.files"]                # its own package, lazily
    assert len(graph) > 40


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_report_package_does_not_import_the_command_line() -> None:
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("verify.report"):
            assert not {d for d in deps if d in ("verify.cli", "verify.pytest_plugin", "verify.api")}, name


_IMPORT_EACH = """\
import importlib, os, sys
import numpy, scipy.special, scipy.stats, sympy  # noqa: F401  third-party libraries only, imported once
packages = sys.argv[1].split(",")
assert not [m for m in sys.modules if m.split(".")[0] in packages]
bad = []
for name in sys.argv[2:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            importlib.import_module(name)
        except BaseException as e:
            os.write(w, f"{type(e).__name__}: {e}".encode()[:2000])
            os._exit(1)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        why = f.read().decode()
    if os.waitpid(pid, 0)[1]:
        bad.append(f"{name}: {why or 'died'}")
print("\\n".join(bad))
"""


def _modules_that_fail_alone(packages: str, names: list[str], cwd: pathlib.Path) -> list[str]:
    """Each module imported in a fresh interpreter, forked from one that imported only third-party libraries
    (forking spares re-importing numpy, scipy and sympy per module): the ones whose import fails, with why."""
    out = subprocess.run([sys.executable, "-c", _IMPORT_EACH, packages, *names], capture_output=True, text=True,
                         cwd=cwd, timeout=1200)
    assert out.returncode == 0, out.stderr
    return out.stdout.split("\n")[:-1] if out.stdout.strip() else []


def test_every_module_imports_on_its_own() -> None:
    # An import that only works after another module was imported fails here.
    names = sorted(n for n in _modules() if n not in ("verify.__main__",))
    assert _modules_that_fail_alone("verify,reference", names, ROOT) == []


def test_a_module_that_imports_only_after_another_is_found(tmp_path: pathlib.Path) -> None:
    (tmp_path / "pkgx").mkdir()
    (tmp_path / "pkgx" / "__init__.py").write_text("")
    (tmp_path / "pkgx" / "a.py").write_text("import pkgx\npkgx.value = 1\n")
    (tmp_path / "pkgx" / "b.py").write_text("from pkgx import value\n")
    failed = _modules_that_fail_alone("pkgx", ["pkgx.a", "pkgx.b"], tmp_path)
    assert len(failed) == 1 and failed[0].startswith("pkgx.b: ImportError"), failed
