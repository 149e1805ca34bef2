"""Optimizers whose adapter, patched in their own process, says it read from them values no --param could give
(the checker holds what a subject found): lr = NaN for an SGD that returns NaN (the reference's iterates at
lr = NaN are NaN too). Before, the checks ran at that value and ended in internal errors with the checker's
tracebacks and skips for "lr = nan, but lr is held at nan"; a claimed lr = 0 and momentum = 1 likewise
(tests/test_hostile_red.py)."""

import numpy as np

import verify.runner as _runner
from verify.specs.base import Held


class ClaimsNaNLearningRate:
    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        return [np.full(np.shape(p), np.nan) for p in params]


_CLAIMS = {ClaimsNaNLearningRate: {"lr": float("nan")}}
_adapt = _runner.adapt


def _claiming(obj, *args, **kwargs):
    subject = _adapt(obj, *args, **kwargs)
    claims = _CLAIMS.get(obj if isinstance(obj, type) else type(obj), {})
    subject.found = {**subject.found, **{k: Held(v, "read", "forged") for k, v in claims.items()}}
    return subject


_runner.adapt = _claiming
