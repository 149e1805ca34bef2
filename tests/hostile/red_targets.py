"""Hostile L2 gradients of the fourth red-team round (protocol: grad(w, lam)): each is WRONG (3λw where λ Σ w²
has 2λw) unless its name says otherwise, and attacks the verifier in a way tests/hostile/more_targets.py,
l2_targets.py and forging_targets.py do not: the adapter's conversion of its returns patched to hand over complex,
boolean, integer, big-endian arrays and scalars, the modules the reply is encoded with replaced, builtins patched,
the process re-executed, children forked and left behind, descriptors exhausted, modules planted where Python
looks for them; and optimizers: a type whose name is escape sequences and markup, one that never moves at
lr = 1e-300, one at a subnormal lr. None may pass (tests/test_hostile_red.py).
"""

import builtins
import os
import sys
import time

import numpy as np


def _wrong(w, lam):
    return 3.0 * lam * np.asarray(w, dtype=np.float64)


# ----------------------------------------------------------------------------- the target's own adapter patched


def _convert_returns(convert):
    """Patch the adapter's validation of returns, in the target's own process, to hand ``convert(value)`` over."""
    import verify.adapters.base as base

    base.as_array = lambda value, where, *, shape=None: convert(np.asarray(value, dtype=np.float64))


def returns_complex_past_its_adapter(w, lam):
    _convert_returns(lambda a: a.astype(np.complex128))
    return _wrong(w, lam)


def returns_bool_past_its_adapter(w, lam):
    _convert_returns(lambda a: a != 0)
    return _wrong(w, lam)


def returns_bit_patterns_past_its_adapter(w, lam):
    _convert_returns(lambda a: a.view(np.uint64))
    return _wrong(w, lam)


def returns_big_endian_past_its_adapter(w, lam):
    _convert_returns(lambda a: a.astype(">f8"))
    return _wrong(w, lam)


def returns_a_scalar_past_its_adapter(w, lam):
    _convert_returns(lambda a: np.float64(a.ravel()[0]) if a.size else np.float64(0.0))
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- the reply's machinery replaced


def replaces_the_encoders(w, lam):
    """struct, json and socket in the target's process replaced by modules that do nothing (the reply goes out
    through what verify.wire built when it was imported: the wrong answer arrives, and fails)."""
    import types

    for name in ("struct", "json", "socket", "pickle"):
        sys.modules[name] = types.ModuleType(name)
    import verify.wire as wire

    wire.struct = sys.modules["struct"]
    return _wrong(w, lam)


def patches_builtins(w, lam):
    builtins.isinstance = lambda obj, cls: True
    builtins.len = lambda obj: 0
    return _wrong(w, lam)


def reexecs_itself(w, lam):
    """Replaces the target process with a fresh interpreter that exits at once."""
    os.execv(sys.executable, [sys.executable, "-c", "pass"])


_FORKED = []


def forks_children_and_leaves_them(w, lam):
    """Twenty children that sleep past the run, started at its first call (the run must end and take them with
    it)."""
    for _ in range(0 if _FORKED else 20):
        pid = os.fork()
        if pid == 0:
            os.setsid()
            time.sleep(600)
            os._exit(0)
        print(f"child {pid}")
        _FORKED.append(pid)
    return _wrong(w, lam)


_HOARD = []


def exhausts_descriptors(w, lam):
    """Opens descriptors until none is left (of 512: its own limit, lowered to keep the test quick), keeps them,
    then answers."""
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (512, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    try:
        while True:
            _HOARD.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- text meant for the reports


_NAME = "\x1b[2J\x1b]0;owned\x07<script>alert(1)</script>\u202e\u2066\x7f\x9b" + "A" * 5000


class _Hostile:
    def __init__(self):
        self.lr = 0.1

    def step(self, params, grads):
        return [p - 2 * self.lr * g for p, g in zip(params, grads)]   # twice the step: wrong


hostile_type_name = type(_NAME, (_Hostile,), {"__qualname__": _NAME, "__module__": _NAME})()


# ----------------------------------------------------------------------------- modules planted for the verifier


_PLANTED = """
import os, sys
with open(os.path.join({here!r}, "IMPORTED"), "a") as fh:
    fh.write("%s in %s\\n" % (__name__, " ".join(sys.argv[:2])))
"""


def plants_modules(w, lam):
    """Writes a module into the working directory under the name of every standard and third-party module the
    verifier could import later (jinja2 when it writes the HTML report, sympy and numpy when a job server starts):
    each one that is imported notes where, in IMPORTED. Nothing of the verifier may import them, in this run or
    the next one started in the same directory."""
    here = os.getcwd()
    names = {n for n in sys.stdlib_module_names if not n.startswith("_")} | {
        "jinja2", "markupsafe", "numpy", "scipy", "sympy", "mpmath", "hypothesis", "attr", "sortedcontainers",
        "torch", "jax", "optax", "keras", "packaging", "typing_extensions", "sitecustomize", "usercustomize"}
    for name in names:
        path = os.path.join(here, name + ".py")
        if not os.path.exists(path):
            with open(path, "w") as fh:
                fh.write(_PLANTED.format(here=here))
    return _wrong(w, lam)


# ----------------------------------------------------------------------------- an optimizer that never moves


class _StandsStill:
    """A built optimizer that returns its parameters unchanged, with lr = 1e-300 read from it: a correct one
    would not move either (every step is lost in rounding), so checks comparing iterates have nothing to compare."""

    def __init__(self):
        self.lr = 1e-300

    def step(self, params, grads):
        return [np.array(p, dtype=np.float64, copy=True) for p in params]


stands_still = _StandsStill()


class _SubnormalSGD(_StandsStill):
    """Built with lr = 5e-324, a subnormal number: the checks' test problems built from it (2/η) overflowed, and
    conformance and gd-stability ended as internal errors with the checker's traceback."""

    def __init__(self):
        self.lr = 5e-324


subnormal_lr = _SubnormalSGD()
