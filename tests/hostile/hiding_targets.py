"""Targets that change the arrays they are given in place and hide it from the bookkeeping of their own process
(tests/test_hiding.py). Each computes the right values, so the only thing to catch is the change in place; each
passed its mutation check while the verdict rested on the target process's InputRecord. The job must see the
change for itself, in the memory it shares with the target process, and fail the target.
"""

import sys
import threading
import time

import numpy as np


def _silence_records():
    """Every InputRecord of this process forgets what it is told, and numpy's equality says 'equal'."""
    for name, module in list(sys.modules.items()):
        record = getattr(module, "InputRecord", None) if name.startswith("verify.") else None
        if record is not None:
            record.fail = lambda self, *a, **k: None
            record.note = lambda self, *a, **k: None
    np.array_equal = lambda *a, **k: True


def _watch_copies():
    """The adapter of this process watches copies of the arrays it hands over, never the arrays themselves."""
    base = sys.modules.get("verify.adapters.base")
    if base is None or getattr(base.watched_call, "hidden", False):
        return
    real = base.watched_call

    def watched_call(record, where, fn, *args, watched, kept=()):
        return real(record, where, fn, *args, watched={k: np.array(v, copy=True) for k, v in watched.items()},
                    kept=kept)

    watched_call.hidden = True
    base.watched_call = watched_call


_watch_copies()     # at import, in the target process: from the first call on


def watches_a_copy(w, lam):
    """L2's gradient 2λw, right; doubles w in place while the adapter watches a copy."""
    out = 2.0 * lam * np.array(w, copy=True)
    w *= 2.0
    return out


def restores_after_replying(w, lam):
    """L2's gradient 2λw, right; doubles w in place, silences its record, and puts w back a second after it
    answered (a judge that looked later, or asked this process, would find it untouched)."""
    _silence_records()
    saved = np.array(w, copy=True)
    w *= 2.0

    def restore():
        time.sleep(1.0)
        w[...] = saved

    threading.Thread(target=restore, daemon=True).start()
    return 2.0 * lam * saved


class KeepsGradientAndHidesIt:
    """Plain SGD, right; keeps the first gradient array it is given and scales it at every later step (the
    caller's array: aliasing), with its record silenced."""

    def __init__(self, lr=0.01):
        self.lr, self.first = lr, None

    def step(self, params, grads):
        _silence_records()
        if self.first is None:
            self.first = grads
        else:
            self.first *= 0.5
        return params - self.lr * grads


class BatchNormMutatesAndHidesIt:
    """A textbook batch norm (Ioffe & Szegedy) that centres the caller's batch in place, with its record
    silenced."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def forward(self, x, training=True):
        _silence_records()
        if not training:
            return self.gamma * (x - self.running_mean) / np.sqrt(self.running_var + self.eps) + self.beta
        n, mean, var = x.shape[0], x.mean(axis=0), x.var(axis=0)
        self.std = np.sqrt(var + self.eps)
        self.xhat = (x - mean) / self.std
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean
        self.running_var = (1 - m) * self.running_var + m * var * n / (n - 1)
        x -= mean
        return self.gamma * self.xhat + self.beta

    def backward(self, dy):
        n = dy.shape[0]
        dbeta, dgamma = dy.sum(axis=0), (dy * self.xhat).sum(axis=0)
        return self.gamma / (n * self.std) * (n * dy - dbeta - self.xhat * dgamma), dgamma, dbeta


class DoublesParamsAndHidesIt:
    """Plain SGD, right: returns new parameters and doubles the caller's params array in place (neither the old nor
    the new parameters), with its record silenced."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def step(self, params, grads):
        _silence_records()
        new = params - self.lr * grads
        params *= 2.0
        return new


class OverwritesEarlierParamsAndHidesIt:
    """Plain SGD, right, returning new arrays; keeps the params array of its first step and zeroes it at the third
    (the caller's array, given two steps before), with its record silenced."""

    def __init__(self, lr=0.01):
        self.lr, self.first, self.t = lr, None, 0

    def step(self, params, grads):
        _silence_records()
        self.t += 1
        if self.first is None:
            self.first = params
        elif self.t == 3:
            self.first[...] = 0.0
        return params - self.lr * grads
