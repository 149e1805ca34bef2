"""Batch-norm layers that take only 4-D batches ``(N, C, H, W)``: found by trial, fed the checks' ``(N, C)`` batches.

The batch-norm checks draw ``(N, C)`` batches. A layer written for
convolutions (CS231n's ``spatial_batchnorm_forward``, a numpy ``BatchNorm2d``,
``torch.nn.BatchNorm2d``, d2l's layer with ``num_dims=4``) refuses them. Each
such batch is given to it as a 4-D batch holding the same values per channel,
so its per-channel statistics over (N, H, W) are the check's statistics over
N, and outputs and gradients are read back in the checks' shape:

* ``(N₁, C, N₂, 1)`` with N₁·N₂ = N (N₁ the largest divisor of N up to √N):
  a mean or variance over the wrong axes (the batch axis only, H and W only,
  C too) or a reshape that mixes channels gives other numbers and is caught;
  a prime N is ``(1, C, N, 1)``;
* ``(N, C, 1, 1)``, where the split shape does not run: N is kept, but a layer
  that takes its statistics over N only looks right.

Fail-closed: the shape is chosen by a training-mode trial on a fresh layer,
and only a shape that ran (on a composite and on a prime batch size) is used;
the report says which, and why. A layer named for convolutions (``spatial``,
``2d``, ``conv``) is tried in 4-D first, so a layer that happens to accept
(N, C) batches is still checked the way it is used.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Callable

import numpy as np

from verify.adapters.base import BatchNormInstance, BatchNormSubject, Request, probe
from verify.errors import ProtocolError, TargetError, TargetLoadError
from verify.targets import REFERENCE

__all__ = ["Layout", "SPLIT", "KEEP_N", "choose", "finish", "LAYOUT_CHOICES", "split_rows"]

LAYOUT_CHOICES = ("auto", "NC", "NCHW")
_CONVOLUTIONAL = re.compile(r"spatial|2d|conv|nchw", re.IGNORECASE)
_TRIAL_SIZES = (6, 3)        # a composite and a prime batch size: both ways a batch is split must run
_TRIAL_C = 3


def split_rows(n: int) -> tuple[int, int]:
    """(N₁, N₂) with N₁·N₂ = n, N₁ the largest divisor of n not above √n."""
    n1 = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return n1, n // n1


@dataclasses.dataclass(frozen=True)
class Layout:
    """How an (N, C) batch becomes a 4-D one and back; the same rows, the same channels."""

    name: str
    text: str
    shape: Callable[[int, int], tuple[int, int, int, int]]

    def to4(self, x: np.ndarray) -> np.ndarray:
        n, c = np.shape(x)
        n1, _, n2, w = self.shape(n, c)
        if w == 1 and n2 == 1:
            return np.ascontiguousarray(np.reshape(x, (n, c, 1, 1)))
        # row i·N₂ + j of x is sample i at position (j, 0)
        return np.ascontiguousarray(np.reshape(x, (n1, n2, c)).transpose(0, 2, 1)[..., None])

    def to2(self, y: np.ndarray) -> np.ndarray:
        n1, c, n2, w = np.shape(y)
        if w == 1 and n2 == 1:
            return np.reshape(y, (n1, c))
        return np.reshape(np.transpose(y[..., 0], (0, 2, 1)), (n1 * n2, c))

    def shown(self, n: int, c: int) -> str:
        return str(self.shape(n, c))


SPLIT = Layout("split", "(N₁, C, N₂, 1) with N₁·N₂ = N", lambda n, c: (split_rows(n)[0], c, split_rows(n)[1], 1))
KEEP_N = Layout("keep-n", "(N, C, 1, 1)", lambda n, c: (n, c, 1, 1))


class SpatialBatchNorm(BatchNormInstance):
    """A 4-D layer seen through (N, C) batches: inputs laid out by ``layout``, outputs and dx read back."""

    def __init__(self, inner: BatchNormInstance, layout: Layout):
        self.inner, self.layout = inner, layout

    # what the checks read from a layer is the wrapped layer's
    inputs = property(lambda self: self.inner.inputs)
    precision = property(lambda self: self.inner.precision)
    hyper = property(lambda self: self.inner.hyper)
    hyper_source = property(lambda self: self.inner.hyper_source)

    def forward(self, x, training):
        return self.layout.to2(self.inner.forward(self.layout.to4(np.asarray(x)), training))

    def backward(self, dy):
        dx, dgamma, dbeta = self.inner.backward(self.layout.to4(np.asarray(dy)))
        return self.layout.to2(dx), dgamma, dbeta

    def set_affine(self, gamma, beta):
        self.inner.set_affine(gamma, beta)

    def running(self):
        return self.inner.running()


def _trial(factory: Callable[[int], BatchNormInstance], layout: Layout | None) -> str | None:
    """Why a training forward of fresh layers on batches of this layout does not run; ``None`` if it does."""
    for n in _TRIAL_SIZES:
        x = np.arange(1.0, n * _TRIAL_C + 1).reshape(n, _TRIAL_C) ** 1.5     # distinct values, every channel spread
        layer = factory(_TRIAL_C)
        shown = f"({n}, {_TRIAL_C})" if layout is None else layout.shown(n, _TRIAL_C)
        fed = layer if layout is None else SpatialBatchNorm(layer, layout)
        try:
            y = probe(lambda: fed.forward(x, True))
        except TargetError as exc:
            if isinstance(exc.exc, TimeoutError):
                raise                                 # a layer that hangs: no shape can be told from another
            return f"a training forward of a {shown} batch: {str(exc).splitlines()[0]}"
        except ProtocolError as exc:
            return f"a training forward of a {shown} batch: {str(exc).splitlines()[0]}"
        if not np.all(np.isfinite(y)):
            return f"a training forward of a {shown} batch returned non-finite values"
    return None


def choose(subject: BatchNormSubject, eps: float, momentum: float, requested: str = "auto") -> BatchNormSubject:
    """``subject``, its layers fed 4-D batches when they take only those; the report's mapping says which.

    ``requested``: ``auto`` (tried), ``NC`` (the protocol's (N, C), no trial)
    or ``NCHW`` (4-D only). Raises :class:`TargetLoadError` when nothing runs
    in auto or NCHW mode: no shape of batch can be checked.
    """
    if requested == "NC":
        return subject
    base = subject.factory

    def fresh(c: int) -> BatchNormInstance:
        return base(c, eps, momentum)

    try:
        fresh(_TRIAL_C)
    except (TargetError, ProtocolError):
        return subject         # the constructor fails whatever the batch: the checks report it
    hinted = bool(_CONVOLUTIONAL.search(subject.name or subject.description or ""))
    order: list[Layout | None] = [SPLIT, KEEP_N] if requested == "NCHW" else (
        [SPLIT, KEEP_N, None] if hinted else [None, SPLIT, KEEP_N])
    why: dict[str, str] = {}
    for layout in order:
        try:
            reason = _trial(fresh, layout)
        except TargetError as exc:          # the trial timed out: leave the protocol's batches, the checks time it
            subject.mapping.append(f"batches: (N, C), as the protocol's (the shape trial stopped: {exc.exc})")
            return subject
        if reason is None:
            break
        why["(N, C)" if layout is None else layout.text] = reason
    else:
        tried = "; ".join(f"{k}: {v}" for k, v in why.items())
        raise TargetLoadError(f"{subject.name or 'the layer'} runs on no batch shape the batch-norm checks can "
                              f"use ({tried})")
    if layout is None:
        if why:
            subject.mapping.append(f"batches: (N, C), as the protocol's (4-D batches did not run: "
                                   f"{'; '.join(why.values())})")
        return subject
    refused = why.get("(N, C)", "not tried: the layer is named for convolutions" if requested == "auto"
                      else "not tried: --param batch_shape=NCHW")
    note = (f"batches: each (N, C) batch of the checks is given as {layout.text} (the same values per channel; "
            "outputs and dx read back as (N, C)); (N, C) batches: " + refused)
    if layout is KEEP_N:
        note += (f"; {SPLIT.text} did not run ({why[SPLIT.text]}), so statistics taken over N only, not N, H "
                 "and W, would go unnoticed")
    subject.mapping.append(note)
    subject.layout = layout
    subject.factory = lambda c, e, m: SpatialBatchNorm(base(c, e, m), layout)
    return subject


def finish(subject: BatchNormSubject, request: Request) -> BatchNormSubject:
    """Every batch-norm subject, whichever adapter claimed its layer, fed the batches the layer takes (the
    bundled reference takes (N, C) batches whatever the run asks of the target)."""
    requested = "NC" if request.target == REFERENCE else request.params.get("batch_shape", "auto")
    return choose(subject, request.params["eps"], request.params["momentum"], requested)
