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


def _imports(name: str, path: pathlib.Path, modules: dict[str, pathlib.Path], lazy: bool | None = None) -> set[str]:
    """The ``verify`` modules ``name`` imports anywhere in its source (``from pkg import mod`` names ``pkg.mod``);
    ``lazy``: only those imported inside functions (True) or only those at module level (False)."""

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
        in_function = id(node) in in_functions
        if lazy is not None and in_function != lazy:
            continue
        if isinstance(node, ast.Import):
            deps |= {known(a.name) for a in node.names if a.name.split(".")[0] == "verify"
                     and not (in_function and known(a.name) in ancestors)}
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
                if not (in_function and target in ancestors):
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


def test_a_spec_module_preloads_what_its_checks_import_inside_functions() -> None:
    """The job server imports a run's spec modules and their ``PRELOAD`` before any check's time limit starts
    (verify.specs.modules_needed): a module that a spec's code imports only inside a function must be among
    them, or a check pays for it (scipy.stats: a second) inside its limit."""
    from verify.specs import _MODULES, modules_needed

    modules = _modules()
    top = {m: _imports(m, p, modules, lazy=False) & set(modules) for m, p in modules.items()}

    def loaded(roots: list[str]) -> set[str]:          # what importing ``roots`` imports at module level
        seen, todo = set(), [r for r in roots if r in modules]
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo += top[m]
        return seen

    for spec_module in sorted(set(_MODULES.values())):
        name = f"verify.specs.{spec_module}"
        preloaded = loaded(modules_needed([next(s for s, m in _MODULES.items() if m == spec_module)]))
        family = {m for m in loaded([name]) if m.startswith("verify.specs")}
        missing = {d for m in family for d in _imports(m, modules[m], modules, lazy=True)} - preloaded
        assert not missing, f"{name}: imported inside functions, not preloaded: {sorted(missing)}"
