"""Mutants of the reference that survived the mutation sweep (benchmarks/mutants.py) before the gap they showed was
closed, and must stay killed.

Each is one AST edit of the reference's own source, built by the sweep's generator and executed as a fresh module,
then checked in-process under its spec. They lived in a region the run's hyperparameters (the defaults: weight decay
and momentum off, every convention canonical) never reach and a few hypothesis draws rarely do; conformance's
explicit corner examples (switches on, every other choice taken) now reach it whatever the draw count, so one drawn
example is enough here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import reference
from verify import algorithms
from verify.api import check_conforms

_SWEEP = Path(__file__).resolve().parent.parent / "benchmarks" / "mutants.py"


def _sweep_module():
    spec = importlib.util.spec_from_file_location("_mutation_sweep", _SWEEP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module                         # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


SWEEP = _sweep_module()

# spec, mutated function, the edit (as the sweep prints it), where it hid
SURVIVORS = [
    ("radam", "adam_variants.scale_by_radam.update",
     "u + decoupled_weight_decay * params -> u - decoupled_weight_decay * params",
     "decoupled decay pushing the weights away from 0: decoupled_weight_decay=True was held as 'ignored' when the "
     "signature named it (probed at weight decay 0, where no flag of the decay can matter)"),
    ("amsgrad", "adam_variants.amsgrad", "maximum_of == 'v' -> maximum_of != 'v'",
     "decoupled_weight_decay=True falls back to coupled decay: off by default"),
    ("amsgrad", "adam_variants.scale_by_amsgrad.update", "np.sqrt(nu_hat_max) -> nu_hat_max",
     "no root under maximum_of=v-hat with eps_placement=hat: two choices away from the defaults"),
    ("adam", "adaptive.scale_by_adam.update", "mu / c1 -> mu * c1",
     "the first bias correction multiplied in the eps_placement=inside branch"),
]


def _mutant(spec: str, where: str, what: str):
    alg = algorithms.get(spec)
    floats = [p.name for p in alg.params if p.to_target and p.type is float]
    home = alg.reference.__module__
    for module, _op, owner, _line, edit, tree in SWEEP.mutations(home, alg.reference.__name__, floats):
        if f"{module.rsplit('.', 1)[-1]}.{owner}" == where and edit == what:
            fresh = SWEEP.load(module, tree, SWEEP.reached_modules(home, alg.reference.__name__))
            return getattr(fresh[home], alg.reference.__name__)
    raise LookupError(f"the sweep no longer generates {spec}: {where}: {what}")


@pytest.mark.parametrize("spec, where, what, why", SURVIVORS, ids=[f"{s[0]}:{s[2]}" for s in SURVIVORS])
def test_previous_survivor_is_killed(spec, where, what, why):
    mutant = _mutant(spec, where, what)
    result = check_conforms(mutant, spec, isolate=False, max_examples=1, checks="conformance")
    (conformance,) = result.checks
    assert conformance.status == "fail", (why, conformance.message)


def test_mutant_loading_leaves_the_reference_alone():
    """A mutant is built on fresh copies of the modules; the real reference computes as before."""
    before = reference.amsgrad(maximum_of="v-hat", lr=0.1, b1=0.0, b2=0.5, eps=0.0)
    _mutant("amsgrad", "adam_variants.scale_by_amsgrad.update", "np.sqrt(nu_hat_max) -> nu_hat_max")
    after = reference.amsgrad(maximum_of="v-hat", lr=0.1, b1=0.0, b2=0.5, eps=0.0)
    for opt in (before, after):
        w, s = np.zeros(1), opt.init(np.zeros(1))
        for g in (1.0, 0.5):
            w, s = opt.update(np.array([g]), s, w)
        # the amsgrad docstring's worked example at lr = 1 gives -1.5 (optax's maximum of v-hat): 0.1 of it here
        np.testing.assert_allclose(w, [-0.15], rtol=1e-15)
