"""Mutation sweep: does every optimizer spec kill one-edit mutants of its own reference?

For each algorithm record (:mod:`verify.algorithms`) this takes the source of the module that defines
its reference (``reference/_src/*.py``), finds the functions the reference factory reaches in that
module (the factory, its ``scale_by_*`` transforms, their nested ``init``/``update``, helpers such as
``radam_rho``), and applies ONE AST mutation at a time to their arithmetic: ``+ ↔ −``, ``* ↔ /``,
``**`` → ``*``, a unary minus dropped, a numeric constant changed (0→1, 1→2, 1→0, 0.5→1, 2→1, else ×2),
a comparison changed (``> ↔ ≥``, ``< ↔ ≤``, ``== ↔ !=``, ``> ↔ <``), one hyperparameter read as another
(``b1 ↔ b2``, ``lr ↔ eps``), ``np.sqrt(x)`` → ``x``, one argument of ``np.maximum``/``np.minimum`` kept
alone, a statement swapped with the next, a step count read one off (``t`` → ``t + 1``). Validation
(``check_*`` calls, ``raise``, ``if …: raise``), docstrings, strings and default argument values are
never mutated.

Each mutant module is executed into a fresh namespace and its factory checked as a target under the
spec, in-process (``verify.api.check_conforms(..., isolate=False)``). A mutant is

* ``error``: the factory, ``init`` or a first ``update`` at the defaults raises (syntax-valid but broken);
* ``equivalent``: its iterates equal the reference's bit for bit on every probe (hyperparameters drawn
  over the spec's ranges by :func:`verify.strategies.hyperparameters`, the defaults, the defaults with
  every switch on and every combination of the choices, × gradient streams of several kinds) — equivalent on the tested domain, not a miss (``unreached`` when the
  mutated line never ran in those probes: another convention's branch);
* ``killed``: a check failed or errored (the diagnosis is kept: a catalogued name or not);
* ``survived``: every check passed or was skipped;
* ``inconclusive``: no check failed but one was inconclusive (neither a kill nor a miss).

    nice -n 19 python3 benchmarks/mutants.py                      # default effort (~15 min CPU)
    nice -n 19 python3 benchmarks/mutants.py --full               # every mutant, more examples
    python3 benchmarks/mutants.py --specs adam,radam --per-spec 0 --show survived
"""

from __future__ import annotations

import argparse
import ast
import copy
import functools
import dataclasses
import inspect
import itertools
import json
import os
import sys
import time
import types
import warnings
from collections import Counter
from typing import Any, Callable, Iterator

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from verify import algorithms  # noqa: E402

NUMPY_ALIASES = ("np", "numpy")
STEP_NAMES = ("t", "count", "step", "k")
CONST_CHANGES = {0: (1,), 1: (2, 0), 0.5: (1,), 2: (1,)}
BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult}
CMPOPS = {ast.Gt: (ast.GtE, ast.Lt), ast.GtE: (ast.Gt,), ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt,),
          ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,)}
STREAM_KINDS_PROBED = ("gaussian", "sign-flips", "sparse", "mixed-scales", "constant", "tiny")


@dataclasses.dataclass
class Mutant:
    spec: str
    index: int
    module: str            # the reference module mutated
    operator: str          # e.g. "binop", "const", "compare", "hparam", "sqrt", "maxmin", "swap", "step"
    where: str             # function name and line
    line: int
    what: str              # the edit, e.g. "b1 ** t -> b1 * t"
    tree: ast.Module       # the mutated module
    status: str = ""
    detail: str = ""
    seconds: float = 0.0


# ------------------------------------------------------------------ mutation sites


def _is_validation(stmt: ast.stmt) -> bool:
    """A statement that only validates (``check_*``/``_check_*`` calls, ``raise``, ``if …: raise``, asserts)."""
    if isinstance(stmt, (ast.Raise, ast.Assert)):
        return True
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Constant):          # docstring
            return True
        call = stmt.value
        if isinstance(call, ast.Call):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
            return "check" in name
    if isinstance(stmt, ast.If) and all(isinstance(s, ast.Raise) for s in stmt.body) and not stmt.orelse:
        return True
    return False


SKIPPED_FUNCTIONS = ("as_float", "_check_same_shape")      # input conversion and validation, not arithmetic


@functools.lru_cache(maxsize=None)
def _module_tree(name: str) -> ast.Module:
    filename = inspect.getsourcefile(sys.modules[name])
    with open(filename, encoding="utf-8") as f:
        return ast.parse(f.read(), filename)


def _reference_imports(tree: ast.Module) -> dict[str, str]:
    """``{local name: module}`` for what ``tree`` imports from ``reference._src``."""
    return {a.asname or a.name: n.module for n in tree.body
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("reference._src") for a in n.names}


def _reachable_functions(module_name: str, factory: str) -> list[tuple[str, ast.FunctionDef]]:
    """``(module, function)`` for every reference function ``factory`` reaches through names, factory first."""
    trees: dict[str, ast.Module] = {}
    seen, order, todo = set(), [], [(module_name, factory)]
    while todo:
        mod, name = todo.pop(0)
        if (mod, name) in seen or name in SKIPPED_FUNCTIONS or "check" in name:
            continue
        seen.add((mod, name))
        tree = trees.setdefault(mod, _module_tree(mod))
        defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        if name not in defs:
            imported = _reference_imports(tree).get(name)
            if imported:
                todo.append((imported, name))
            continue
        order.append((mod, defs[name]))
        for node in ast.walk(defs[name]):
            if isinstance(node, ast.Name):
                todo.append((mod, node.id))
    return order


def reached_modules(module_name: str, factory: str) -> set[str]:
    """The reference modules whose functions ``factory`` (of ``module_name``) reaches."""
    return {mod for mod, _ in _reachable_functions(module_name, factory)} | {module_name}


def _hparam_names(fn: ast.FunctionDef) -> list[str]:
    return [a.arg for a in fn.args.args + fn.args.kwonlyargs]


def _mutable_nodes(fn: ast.FunctionDef) -> Iterator[tuple[ast.AST, str]]:
    """Every node of ``fn``'s body outside validation statements, with the enclosing function's name."""

    def visit(node, owner):
        if isinstance(node, ast.stmt) and _is_validation(node):
            return
        if isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not fn:
            name = getattr(node, "name", "lambda")
            for child in node.body if isinstance(node, ast.FunctionDef) else [node.body]:
                yield from visit(child, f"{owner}.{name}")
            return
        if node is not fn:
            yield node, owner
        if isinstance(node, ast.Constant):
            return
        for field, value in ast.iter_fields(node):
            if node is fn and field != "body":
                continue                                   # arguments and their defaults
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and not isinstance(child, ast.JoinedStr):
                    yield from visit(child, owner)

    yield from visit(fn, fn.name)


def _stmt_lists(fn: ast.FunctionDef) -> Iterator[tuple[list, str]]:
    def walk(body, owner):
        yield body, owner
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef):
                yield from walk(stmt.body, f"{owner}.{stmt.name}")
            elif isinstance(stmt, (ast.If, ast.For, ast.While, ast.With)):
                yield from walk(stmt.body, owner)
                if getattr(stmt, "orelse", None):
                    yield from walk(stmt.orelse, owner)

    yield from walk(fn.body, fn.name)


def _is_np_call(node: ast.AST, names: tuple[str, ...]) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names
            and isinstance(node.func.value, ast.Name) and node.func.value.id in NUMPY_ALIASES)


def _replace(parent_tree: ast.Module, target: ast.AST, new: ast.AST) -> ast.Module:
    """A deep copy of ``parent_tree`` with ``target`` (found by identity in the original) replaced by ``new``."""
    path = _path_to(parent_tree, target)
    tree = copy.deepcopy(parent_tree)
    holder = tree
    for field, idx in path[:-1]:
        holder = getattr(holder, field) if idx is None else getattr(holder, field)[idx]
    field, idx = path[-1]
    if idx is None:
        setattr(holder, field, new)
    else:
        getattr(holder, field)[idx] = new
    return ast.fix_missing_locations(tree)


def _path_to(root: ast.AST, target: ast.AST) -> list[tuple[str, int | None]]:
    stack = [(root, [])]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, v in enumerate(value):
                    if isinstance(v, ast.AST):
                        stack.append((v, path + [(field, i)]))
            elif isinstance(value, ast.AST):
                stack.append((value, path + [(field, None)]))
    raise LookupError("node not in tree")


def _src(node: ast.AST) -> str:
    return ast.unparse(node)


def mutations(module_name: str, factory: str, float_hparams: list[str]) -> Iterator[tuple[str, str, str, int, str, ast.Module]]:
    """``(module, operator, where, line, what, mutated module)`` for every single edit of the reachable arithmetic."""
    for mod, fn in _reachable_functions(module_name, factory):
        module = _module_tree(mod)
        fn = next(n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == fn.name)
        for item in _mutations_of(module, fn, float_hparams):
            yield (mod, *item)


def _mutations_of(module: ast.Module, fn: ast.FunctionDef, float_hparams: list[str]):
    hp_names = [h for h in _hparam_names(fn) if h in float_hparams]
    passed_on = {id(a) for n in ast.walk(fn) if isinstance(n, ast.Call)
                 for a in [*n.args, *(k.value for k in n.keywords)] if isinstance(a, ast.Name)}
    for node, owner in _mutable_nodes(fn):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            new = copy.deepcopy(node)
            new.op = BINOPS[type(node.op)]()
            yield "binop", owner, line, f"{_src(node)} -> {_src(new)}", _replace(module, node, new)
            # `X + 1` with X a step count read one off the other way
            if (isinstance(node.op, ast.Add) and isinstance(node.right, ast.Constant) and node.right.value == 1
                    and _src(node.left).split(".")[-1] in STEP_NAMES):
                yield "step", owner, line, f"{_src(node)} -> {_src(node.left)}", _replace(module, node, copy.deepcopy(node.left))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield "unary", owner, line, f"{_src(node)} -> {_src(node.operand)}", _replace(module, node, copy.deepcopy(node.operand))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
              and not isinstance(node.value, bool)):
            for v in CONST_CHANGES.get(node.value, (node.value * 2,)):
                v = type(node.value)(v) if isinstance(node.value, float) else v
                yield "const", owner, line, f"{node.value!r} -> {v!r}", _replace(module, node, ast.Constant(v))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMPOPS:
            for op in CMPOPS[type(node.ops[0])]:
                new = copy.deepcopy(node)
                new.ops = [op()]
                yield "compare", owner, line, f"{_src(node)} -> {_src(new)}", _replace(module, node, new)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in hp_names:
                # in arithmetic, read as every other hyperparameter; passed on as an argument, as the next one
                # only (b1 -> b2 at a call site), which keeps the sweep's size linear in the call's length
                others = [h for h in hp_names if h != node.id]
                if id(node) in passed_on and others:
                    others = others[hp_names.index(node.id) % len(others):][:1]
                for other in others:
                    yield ("hparam", owner, line, f"{node.id} -> {other}",
                           _replace(module, node, ast.Name(other, ast.Load())))
            if node.id in STEP_NAMES:
                new = ast.BinOp(ast.Name(node.id, ast.Load()), ast.Add(), ast.Constant(1))
                yield "step", owner, line, f"{node.id} -> {node.id} + 1", _replace(module, node, new)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in STEP_NAMES:
            new = ast.BinOp(copy.deepcopy(node), ast.Add(), ast.Constant(1))
            yield "step", owner, line, f"{_src(node)} -> {_src(new)}", _replace(module, node, new)
        if _is_np_call(node, ("sqrt",)) and len(node.args) == 1:
            yield "sqrt", owner, line, f"{_src(node)} -> {_src(node.args[0])}", _replace(module, node, copy.deepcopy(node.args[0]))
        if _is_np_call(node, ("maximum", "minimum")) and len(node.args) == 2:
            for keep in node.args:
                yield "maxmin", owner, line, f"{_src(node)} -> {_src(keep)}", _replace(module, node, copy.deepcopy(keep))
    for body, owner in _stmt_lists(fn):
        for i in range(len(body) - 1):
            a, b = body[i], body[i + 1]
            if any(_is_validation(s) or isinstance(s, (ast.Return, ast.FunctionDef)) for s in (a, b)):
                continue
            tree = copy.deepcopy(module)
            holder_path = _path_to(module, a)
            holder = tree
            for field, idx in holder_path[:-1]:
                holder = getattr(holder, field) if idx is None else getattr(holder, field)[idx]
            field, idx = holder_path[-1]
            lst = getattr(holder, field)
            lst[idx], lst[idx + 1] = lst[idx + 1], lst[idx]
            yield ("swap", owner, a.lineno, f"line {a.lineno} <-> line {b.lineno}",
                   ast.fix_missing_locations(tree))


# ------------------------------------------------------------------ running a mutant


def load(module_name: str, tree: ast.Module, within: set[str]) -> dict[str, types.ModuleType]:
    """``tree`` executed as a fresh copy of reference module ``module_name``, and fresh copies of the modules of
    ``within`` that import it (directly or not), built on it; the real modules stay as they were."""
    imports = {m: set(_reference_imports(_module_tree(m)).values()) for m in within | {module_name}}
    dependents, grew = set(), True
    while grew:
        grew = False
        for m in within:
            if m not in dependents and m != module_name and imports[m] & (dependents | {module_name}):
                dependents.add(m)
                grew = True
    saved = {m: sys.modules[m] for m in dependents | {module_name}}
    fresh: dict[str, types.ModuleType] = {}
    try:
        order, remaining = [module_name], set(dependents)
        while remaining:                                  # a module after the ones it imports
            order.append(next(m for m in sorted(remaining) if not imports[m] & (remaining - {m})))
            remaining.remove(order[-1])
        for m in order:
            mod = types.ModuleType(m)
            mod.__file__ = saved[m].__file__
            sys.modules[m] = mod
            code = tree if m == module_name else _module_tree(m)
            exec(compile(code, mod.__file__, "exec"), mod.__dict__)
            fresh[m] = mod
    finally:
        sys.modules.update(saved)
    return fresh


def _probe_hparams(alg, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` hyperparameter draws over the spec's ranges (deterministic), the defaults first."""
    from hypothesis import HealthCheck, given, settings
    from verify import strategies as vst

    draws: list[dict[str, Any]] = [{p.name: p.default for p in alg.params if p.to_target}]

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(vst.hyperparameters(alg))
    def collect(hp):
        if len(draws) <= n:
            draws.append(dict(hp))

    collect()
    return draws + _switched(alg, draws[0])


def _switched(alg, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """The defaults with every float hyperparameter at 0 switched on (0.5) and every combination of the choices
    (flags and conventions): a branch the draws rarely take is probed, so "unreached" means no tested value takes it."""
    from verify.errors import BadParameterError

    on = {}
    for p in alg.params:
        if p.to_target and p.type is float and p.choices is None and defaults.get(p.name) == 0:
            try:
                on[p.name] = p.parse(0.5)
            except BadParameterError:
                pass
    options = {p.name: tuple(p.choices if p.choices is not None else (False, True))
               for p in alg.params if p.to_target and (p.choices is not None or p.type is bool)}
    out = []
    for values in itertools.product(*options.values()):
        for switches in ({}, on) if on else ({},):
            hp = {**defaults, **switches, **dict(zip(options, values))}
            try:
                alg.validate(hp)
            except BadParameterError:
                continue
            if hp != defaults and hp not in out:
                out.append(hp)
    return out


def _probe_streams(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from verify.problems import open_loop_stream

    rng = np.random.default_rng(seed)
    out = []
    for i, kind in enumerate(STREAM_KINDS_PROBED):
        shape = (2, 3) if i % 2 else (4,)
        stream = open_loop_stream(kind, 30, shape, rng, scale=10.0 ** rng.uniform(-2, 2))
        w0 = rng.normal(size=shape) * (0.0 if kind == "constant" and i % 3 == 0 else 1.0)
        out.append((w0, stream))
    return out


def _iterates(factory: Callable, hp: dict, w0: np.ndarray, stream: np.ndarray) -> Any:
    try:
        with np.errstate(all="ignore"):
            opt = factory(**hp)
            w, s = w0.copy(), opt.init(w0.copy())
            out = []
            for g in stream:
                w, s = opt.update(g, s, w)
                out.append(np.asarray(w, dtype=np.float64).copy())
        return np.array(out)
    except Exception as exc:                                  # noqa: BLE001 - a mutant may raise anything
        return f"raises {type(exc).__name__}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


class LineTracer:
    """The lines of some files that ran (to tell an unreached mutant from an equivalent one)."""

    def __init__(self, filenames: set[str]):
        self.filenames, self.lines = filenames, set()

    def __enter__(self):
        def tracer(frame, event, arg):
            if frame.f_code.co_filename not in self.filenames:
                return None
            if event == "line":
                self.lines.add((frame.f_code.co_filename, frame.f_lineno))
            return tracer

        self._old = sys.gettrace()
        sys.settrace(tracer)
        return self

    def __exit__(self, *exc):
        sys.settrace(self._old)


def _classify_run(result) -> tuple[str, str]:
    failed = [c for c in result.checks if c.status in ("fail", "error", "timeout")]
    if failed:
        c = failed[0]
        diag = (c.diagnosis or "").strip().splitlines()
        diag_text = diag[0] if diag else ""
        named = "named" if diag_text and "no catalogued" not in diag_text else "unnamed"
        return "killed", f"{c.name} {c.status} [{named}] {diag_text[:110]}"
    inconclusive = [c.name for c in result.checks if c.status == "inconclusive"]
    if inconclusive:
        return "inconclusive", ", ".join(inconclusive)
    return "survived", ""


def sweep_spec(alg, *, per_spec: int, max_examples: int, probes: int, seed: int,
               show: Callable[[Mutant], None] | None = None, only: set[int] | None = None) -> list[Mutant]:
    """Generate, probe and check the mutants of one algorithm's reference."""
    from verify.api import check_conforms

    float_hparams = [p.name for p in alg.params if p.to_target and p.type is float]
    factory, home = alg.reference.__name__, alg.reference.__module__
    mutants = [Mutant(alg.name, i, mod, op, where, line, what, tree)
               for i, (mod, op, where, line, what, tree) in enumerate(mutations(home, factory, float_hparams))]
    within = reached_modules(home, factory)
    total = len(mutants)
    if only is not None:
        mutants = [m for m in mutants if m.index in only]
    elif per_spec and len(mutants) > per_spec:
        # a fixed, spread sample: every k-th mutant, so every function and operator keeps its share
        step = len(mutants) / per_spec
        mutants = [mutants[int(i * step)] for i in range(per_spec)]

    hps = _probe_hparams(alg, probes, seed)
    streams = _probe_streams(seed)
    with LineTracer({inspect.getsourcefile(sys.modules[m]) for m in within}) as trace:
        ref_runs = [[_iterates(alg.reference, hp, w0, s) for (w0, s) in streams] for hp in hps]
    for m in mutants:
        t0 = time.process_time()
        try:
            fn = getattr(load(m.module, m.tree, within)[home], factory)
            defaults = hps[0]
            opt = fn(**defaults)
            w = np.linspace(-1.0, 1.0, 4)
            opt.update(np.full(4, 0.5), opt.init(w), w)
        except Exception as exc:                              # noqa: BLE001
            m.status, m.detail = "error", f"{type(exc).__name__}: {str(exc)[:100]}"
            m.seconds = time.process_time() - t0
            _report(m, show)
            continue
        equivalent = all(_same(ref, _iterates(fn, hp, w0, s))
                         for hp, runs in zip(hps, ref_runs) for ref, (w0, s) in zip(runs, streams))
        if equivalent:
            m.status = "equivalent"
            ran = (inspect.getsourcefile(sys.modules[m.module]), m.line) in trace.lines
            m.detail = "bit-identical on every probe" if ran else "unreached"
        else:
            try:
                result = check_conforms(fn, alg.name, isolate=False, max_examples=max_examples, seed=seed,
                                        timeout=None)
                m.status, m.detail = _classify_run(result)
            except Exception as exc:                          # noqa: BLE001 - refused as a target
                m.status, m.detail = "error", f"refused: {type(exc).__name__}: {str(exc)[:100]}"
        m.seconds = time.process_time() - t0
        _report(m, show)
    for m in mutants:
        m.tree = None
    print(f"# {alg.name}: {len(mutants)} of {total} mutants checked", flush=True)
    return mutants


def _report(m: Mutant, show) -> None:
    if show is not None:
        show(m)


STATUSES = ("killed", "survived", "equivalent", "inconclusive", "error")


def table(results: list[Mutant]) -> str:
    rows = ["| spec | mutants | killed (named) | survived | equivalent (unreached) | inconclusive | errors |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    by_spec: dict[str, list[Mutant]] = {}
    for m in results:
        by_spec.setdefault(m.spec, []).append(m)
    totals = Counter()
    for spec, ms in by_spec.items():
        c = Counter(m.status for m in ms)
        named = sum(1 for m in ms if m.status == "killed" and "[named]" in m.detail)
        unreached = sum(1 for m in ms if m.status == "equivalent" and m.detail == "unreached")
        totals.update(c)
        totals["named"] += named
        totals["unreached"] += unreached
        totals["n"] += len(ms)
        rows.append(f"| {spec} | {len(ms)} | {c['killed']} ({named}) | {c['survived']} | {c['equivalent']} ({unreached}) "
                    f"| {c['inconclusive']} | {c['error']} |")
    rows.append(f"| **all** | {totals['n']} | {totals['killed']} ({totals['named']}) | {totals['survived']} | "
                f"{totals['equivalent']} ({totals['unreached']}) | {totals['inconclusive']} | {totals['error']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", default=",".join(algorithms.NAMES), help="comma-separated algorithm names")
    ap.add_argument("--full", action="store_true",
                    help="every mutant, 30 examples per search, 12 hyperparameter probes (hours of CPU)")
    ap.add_argument("--per-spec", type=int, default=None, help="mutants per spec, a spread sample (0: all)")
    ap.add_argument("--max-examples", type=int, default=None, help="examples per counterexample search")
    ap.add_argument("--probes", type=int, default=None, help="hyperparameter draws of the equivalence probe")
    ap.add_argument("--only", default=None, help="mutant indices to run (with one spec), e.g. 3,17")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", default="survived,inconclusive,error",
                    help="statuses printed one line per mutant ('all' for every one)")
    ap.add_argument("--json", default=None, help="write every mutant's result here")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")                     # mutants overflow and divide by zero; the verdicts say so
    per_spec = args.per_spec if args.per_spec is not None else (0 if args.full else 24)
    max_examples = args.max_examples or (30 if args.full else 6)
    probes = args.probes or (12 if args.full else 6)
    shown = set(STATUSES) if args.show == "all" else set(args.show.split(","))
    only = {int(i) for i in args.only.split(",")} if args.only else None

    def show(m: Mutant) -> None:
        if m.status in shown:
            print(f"{m.spec} #{m.index} {m.status:12s} {m.operator:7s} {m.module.rsplit('.', 1)[-1]}.{m.where}:{m.line} {m.what}  "
                  f"{m.detail}  ({m.seconds:.1f}s)", flush=True)

    results: list[Mutant] = []
    t0 = time.process_time()
    for name in args.specs.split(","):
        results += sweep_spec(algorithms.get(name), per_spec=per_spec, max_examples=max_examples, probes=probes,
                              seed=args.seed, show=show, only=only)
    print()
    print(f"seed {args.seed}, {max_examples} examples per search, {probes} drawn hyperparameter probes (with the "
          "defaults, switches on and every combination of the choices), "
          f"{'every mutant' if not per_spec else f'up to {per_spec} mutants per spec'}; "
          f"{time.process_time() - t0:.0f} s of CPU")
    print(table(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([{k: v for k, v in dataclasses.asdict(m).items() if k != "tree"} for m in results], f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
