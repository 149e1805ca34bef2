"""The adapter registry, the watched call and the rule that checks call subjects, never the target.

* ``verify.adapters.ADAPTERS`` is asked in order, each entry's module imported only when a run of one of its
  families consults it; the numpy protocols come last and claim what no library adapter took.
* Every call given arrays goes through ``watched_call``, which records what the target did to them on the
  subject's ``InputRecord``; the hygiene checks read that record.
* No module holding checks calls target code or reaches past the subject to it (``raw()``, ``.fn``, ``.fns``,
  ``call_target``): proved by reading their source.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import verify.adapters as adapters
from verify.adapters import ADAPTERS, Adapter, adapt
from verify.adapters.base import InputRecord, RegulariserSubject, reads, watched_call
from verify.errors import TargetError
from verify.specs import get_spec
from verify.specs.base import Family

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the registry


def test_every_family_ends_with_its_numpy_protocol_fallback():
    families = [getattr(Family, n) for n in dir(Family) if n.isupper()]
    for family in families:
        entries = [a for a in ADAPTERS if family in a.families]
        assert entries, family
        assert entries[-1].module.startswith("verify.adapters.protocol."), (family, entries[-1])
        assert all(not a.module.startswith("verify.adapters.protocol.") for a in entries[:-1]), family


def test_every_entry_names_an_importable_claim():
    for adapter in ADAPTERS:
        assert callable(adapter.load()), adapter


def test_adapting_numpy_targets_imports_neither_torch_nor_jax_nor_optax_nor_keras():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from verify.adapters import adapt
        from verify.specs import get_spec

        class SGD:
            def __init__(self, lr=0.01):
                self.lr = lr
            def step(self, params, grads):
                return params - self.lr * grads

        def init(shape, rng):
            return rng.normal(size=shape)

        class BN:
            def __init__(self, num_features, eps=1e-5, momentum=0.1):
                self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
                self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)
            def forward(self, x, training=True):
                return (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * self.gamma + self.beta

        spec = get_spec("sgd")
        adapt(SGD, spec, "SGD", {p.name: p.default for p in spec.params})
        adapt(init, get_spec("init-he"), "init", {})
        adapt(BN, get_spec("batchnorm"), "BN", {"eps": 1e-5, "momentum": 0.1})
        adapt(lambda w, lam: 2 * lam * w, get_spec("l2"), "grad", {})
        adapt(lambda w, g, h, lr: w - lr * g / h, get_spec("newton"), "step", {})
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "jax", "jaxlib", "optax", "keras"))
        print(heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


class _Marked:
    """An object a test adapter recognises."""


def claim_marked(request):
    """A test adapter: claims ``_Marked`` objects for regularisers (as ``grad(w, lam) = 3·lam·w``), passes on others."""
    if not isinstance(request.obj, _Marked):
        return None
    return RegulariserSubject("marked regulariser", fns={"grad": lambda w, lam: 3 * lam * w})


def test_a_new_adapter_is_one_entry_asked_before_the_fallback(monkeypatch):
    entry = Adapter("marked", frozenset({Family.REGULARISER}), __name__, "claim_marked")
    monkeypatch.setattr(adapters, "ADAPTERS", (entry, *ADAPTERS))
    spec = get_spec("l2")
    subject = adapters.adapt(_Marked(), spec, "marked", {})
    assert subject.description == "marked regulariser"
    np.testing.assert_array_equal(subject.grad(np.array([1.0, -2.0]), 0.5), [1.5, -3.0])
    # passed on: the numpy protocol claims a plain function
    other = adapters.adapt(lambda w, lam: lam * w, spec, "f", {})
    assert other.description.startswith("numpy regulariser")


def test_the_adapter_of_another_family_is_not_asked(monkeypatch):
    def boom(request):
        raise AssertionError("asked for a family it does not serve")

    monkeypatch.setattr(sys.modules[__name__], "claim_marked", boom)
    entry = Adapter("marked", frozenset({Family.NEWTON}), __name__, "claim_marked")
    monkeypatch.setattr(adapters, "ADAPTERS", (entry, *ADAPTERS))
    subject = adapters.adapt(lambda w, lam: lam * w, get_spec("l2"), "f", {})
    assert subject.description.startswith("numpy regulariser")


# ------------------------------------------------------------------ the watched call


def test_watched_call_records_which_input_and_how_many_entries_changed():
    record = InputRecord()
    w, g = np.array([1.0, np.nan, 3.0]), np.array([4.0, 5.0])

    def target(w, g, lr):
        w[2] -= lr          # one entry of w; NaN left as NaN is no change
        return w

    watched_call(record, "step(w, g, lr)", target, w, g, 0.5, watched={"w": w, "g": g})
    assert [(c.call, c.input, c.entries, c.earlier) for c in record.last] == [("step(w, g, lr)", "w", 1, False)]
    watched_call(record, "step(w, g, lr)", lambda w, g, lr: w, w, g, 0.5, watched={"w": w, "g": g})
    assert record.last == [] and len(record.changes) == 1


def test_watched_call_finds_an_input_the_target_kept_and_changed_later():
    record = InputRecord()
    kept = {}

    def step(g):
        if "buf" in kept:
            kept["buf"] *= 2.0          # the buffer is the caller's gradient of the first step
        else:
            kept["buf"] = g
        return None

    first, second = np.ones(2), np.ones(2)
    watched_call(record, "step(g)", step, first, watched={"grads": first}, kept=("grads",))
    assert record.last == []
    watched_call(record, "step(g)", step, second, watched={"grads": second}, kept=("grads",))
    assert [(c.input, c.entries, c.earlier) for c in record.last] == [("grads", 2, True)]
    watched_call(record, "step(g)", step, np.ones(2), watched={"grads": np.ones(2)}, kept=("grads",))
    assert record.last == []             # reported once


def test_watched_call_reads_an_input_the_target_may_rebind():
    record = InputRecord()
    box = {"grad": np.zeros(3)}

    def rebind():
        box["grad"] = np.array([0.0, 1.0, 0.0])

    watched_call(record, "step()", rebind, watched={"p.grad": reads(lambda: box["grad"])})
    assert [(c.input, c.entries) for c in record.last] == [("p.grad", 1)]


def test_an_exception_of_the_target_is_a_target_error_and_records_nothing():
    record = InputRecord()
    w = np.ones(2)

    def target(w):
        w[0] = 5.0
        raise ValueError("bad")

    with pytest.raises(TargetError, match="f\\(w\\)"):
        watched_call(record, "f(w)", target, w, watched={"w": w})
    assert record.changes == []


def test_regulariser_subject_records_mutation_and_keeps_the_callers_array():
    def grad(w, lam):
        w *= 2.0
        return lam * w

    subject = adapt(grad, get_spec("l2"), "grad", {})
    w = np.array([1.0, 2.0])
    subject.grad(w, 0.1)
    np.testing.assert_array_equal(w, [1.0, 2.0])
    assert subject.inputs.failures == ["grad(w, lam) modified its input w in place"]


def test_newton_subject_keeps_what_the_target_returned():
    subject = adapt(lambda w, g, h, lr: np.float32(w - lr * g / h), get_spec("newton"), "step", {})
    assert subject.step(1.0, 2.0, 4.0, 1.0) == 0.5
    assert subject.returned.dtype == np.float32 and subject.inputs.failures == []


# ------------------------------------------------------------------ nothing reaches past the subject

#: Modules holding checks, and what they use to judge: they see targets only through subjects.
CHECK_MODULES = sorted((ROOT / "verify" / "specs").glob("*.py")) + [
    ROOT / "verify" / name for name in ("conformance.py", "tolerance.py", "diagnosis.py", "convergence.py")
    if (ROOT / "verify" / name).exists()]

#: What reaches past a subject to the target's own code.
PAST_THE_SUBJECT_CALLS = {"call_target", "watched_call", "raw", "user_object"}
PAST_THE_SUBJECT_ATTRIBUTES = {"fn", "fns", "sampler", "factory", "opt", "tx", "module", "layer"}


def _reaches(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "verify.adapters.base":
            found += [f"imports {a.name}" for a in node.names if a.name in PAST_THE_SUBJECT_CALLS]
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in PAST_THE_SUBJECT_CALLS:
                found.append(f"line {node.lineno}: calls {name}")
            if name == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in PAST_THE_SUBJECT_ATTRIBUTES:
                found.append(f"line {node.lineno}: getattr(…, {node.args[1].value!r})")
        elif isinstance(node, ast.Attribute) and node.attr in PAST_THE_SUBJECT_ATTRIBUTES and \
                isinstance(node.value, ast.Attribute) and node.value.attr == "subject":
            found.append(f"line {node.lineno}: subject.{node.attr}")
    return found


def test_no_check_reaches_past_the_subject():
    assert CHECK_MODULES
    offences = {p.name: _reaches(p) for p in CHECK_MODULES}
    assert not any(offences.values()), {k: v for k, v in offences.items() if v}


def test_the_source_test_sees_a_check_that_reaches_past(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        from verify.adapters.base import call_target

        def check(ctx):
            fn = getattr(ctx.subject, "fn", None)
            call_target("f", ctx.subject.raw("grad"), 1)
            return ctx.subject.fns
    """))
    found = _reaches(bad)
    assert len(found) == 5, found
