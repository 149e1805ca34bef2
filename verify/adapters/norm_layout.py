"""Layer-norm and RMS-norm layers fed the inputs they take: rows ``(N, D)``, sequences ``(B, T, D)`` or
channels-first ``(N, C, H, W)``; found by trial, fed the checks' ``(N, D)`` rows.

The layer-norm checks draw ``(N, D)`` batches of examples (rows). Real layers are written for other inputs:
a transformer's numpy ``LayerNorm`` unpacks ``B, T, C = x.shape`` or sums its parameter gradients over
``axis=(0, 1)``; ConvNeXt's ``LayerNorm(data_format="channels_first")`` normalises axis 1 of
``(N, C, H, W)`` and scales by ``weight[:, None, None]``. Each row of the checks is then one position of such
an input, and outputs and dx are read back as rows:

* ``BTD``: ``(B, T, D)`` with B·T = N (B the largest divisor of N up to √N; a prime N is ``(1, N, D)``),
  row ``b·T + t`` at ``[b, t]``: statistics over T or over the batch mix rows and are caught;
* ``NCHW``: batch norm's split layout ``(N₁, D, N₂, 1)`` (:data:`verify.adapters.batch_layout.SPLIT`), the
  features on axis 1, row ``i·N₂ + j`` at ``[i, :, j, 0]``.

Fail-closed: a layout is used only where a fresh layer runs on it (forward and, when it has one, backward,
with the shapes the protocol expects) and its statistics are confirmed per row: scaling each row by its own
factor, the statistics far above any usual ε, leaves the output unchanged (to 10⁻³ of its size). Rows come
first; another layout only where it does better. A layer that no layout confirms is checked on rows, where
the checks say what it does. ``--param batch_shape=ND|BTD|NCHW`` requires one without trial (a layer meant for
sequences whose statistics run over the wrong axis cannot be told from a row layer by trial).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from verify.adapters.base import NormLayerInstance, NormLayerSubject, Request, probe
from verify.adapters.batch_layout import SPLIT, split_rows
from verify.errors import ProtocolError, TargetError
from verify.targets import REFERENCE

__all__ = ["NormLayout", "ROWS", "SEQUENCE", "CHANNELS_FIRST", "LAYOUTS", "LAYOUT_CHOICES", "finish"]

_TRIAL_SIZES = (6, 5)        # a composite and a prime number of rows: both ways rows are split must run
_TRIAL_H = 4                 # no divisor of the trial sizes: a mix-up of the feature axis with another shows


@dataclasses.dataclass(frozen=True)
class NormLayout:
    """How the checks' ``(N, D)`` rows become a layer's input and back; the same rows, the same features."""

    name: str
    text: str
    to_layer: Callable[[np.ndarray], np.ndarray]
    to_rows: Callable[[np.ndarray], np.ndarray]
    #: the normalised (feature) axis of the layer's own input
    feature_axis: int = -1


def _to_sequence(x: np.ndarray) -> np.ndarray:
    n, d = np.shape(x)
    return np.reshape(x, (*split_rows(n), d))


ROWS = NormLayout("ND", "(N, D) rows, as the protocol's", np.asarray, np.asarray)
SEQUENCE = NormLayout("BTD", "(B, T, D) sequences with B·T = N", _to_sequence,
                      lambda y: np.reshape(y, (-1, np.shape(y)[-1])))
CHANNELS_FIRST = NormLayout("NCHW", f"channels-first {SPLIT.text.replace('C', 'D')}, the features on axis 1",
                            SPLIT.to4, SPLIT.to2, feature_axis=1)
LAYOUTS = {layout.name: layout for layout in (ROWS, SEQUENCE, CHANNELS_FIRST)}
LAYOUT_CHOICES = ("auto", *LAYOUTS)


class LaidOutNorm(NormLayerInstance):
    """A layer taking ``layout``'s inputs seen through rows; an input of the layer's own rank passes as it is
    (the normalised-axes check feeds those)."""

    def __init__(self, inner: NormLayerInstance, layout: NormLayout):
        self.inner, self.layout = inner, layout
        self._rows = True

    # what the checks read from a layer is the wrapped layer's
    inputs = property(lambda self: self.inner.inputs)
    precision = property(lambda self: self.inner.precision)
    hyper = property(lambda self: self.inner.hyper)
    hyper_source = property(lambda self: self.inner.hyper_source)
    affine = property(lambda self: self.inner.affine)

    def forward(self, x):
        x = np.asarray(x)
        self._rows = x.ndim == 2
        if not self._rows:
            return self.inner.forward(x)
        return self.layout.to_rows(self.inner.forward(self.layout.to_layer(x)))

    def backward(self, dy):
        if not self._rows:
            return self.inner.backward(dy)
        dx, dgamma, dbeta = self.inner.backward(self.layout.to_layer(np.asarray(dy)))
        return self.layout.to_rows(dx), dgamma, dbeta

    def set_affine(self, gamma, beta):
        self.inner.set_affine(gamma, beta)


def _rows(n: int) -> np.ndarray:
    """Distinct values, each row with its own offset and spread, every statistic far above any usual ε."""
    i = np.arange(n * _TRIAL_H, dtype=np.float64).reshape(n, _TRIAL_H)
    return 10.0 * np.cos(1.7 * i + 0.3) + 3.0 * np.arange(n)[:, None]


def _trial(factory: Callable[[], NormLayerInstance], layout: NormLayout, backward: bool) -> tuple[int, str]:
    """(how far a fresh layer gets on this layout, why not further): 0 nothing runs, 1 forward runs, 2 and its
    statistics are per row, 3 and backward runs too (2 is the top for a layer without backward)."""
    top = 3 if backward else 2
    reached, why = top, ""
    for n in (_TRIAL_SIZES[:1] if layout is ROWS else _TRIAL_SIZES):
        x = _rows(n)
        shown = str(np.shape(layout.to_layer(x)))
        factor = 1.0 + 0.7 * np.arange(n)[:, None]            # each row its own scale
        try:
            layer = probe(factory)
            y_scaled = layout.to_rows(probe(lambda: layer.forward(layout.to_layer(factor * x))))
            y = layout.to_rows(probe(lambda: layer.forward(layout.to_layer(x))))
        except (TargetError, ProtocolError) as exc:
            if isinstance(getattr(exc, "exc", None), TimeoutError):
                raise
            return 0, f"a forward of a {shown} input: {str(exc).splitlines()[0]}"
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(y_scaled))):
            return 0, f"a forward of a {shown} input returned non-finite values"
        change = float(np.max(np.abs(y_scaled - y)))
        if change > 1e-3 * (float(np.max(np.abs(y))) + 1e-3):
            reached, why = 1, (f"scaling each row of a {shown} input by its own factor changed the output by up "
                               f"to {change:.3g}: its statistics are not per row")
        elif backward and reached == top:
            try:
                probe(lambda: layer.backward(layout.to_layer(np.cos(x))))
            except (TargetError, ProtocolError) as exc:
                if isinstance(getattr(exc, "exc", None), TimeoutError):
                    raise
                reached, why = 2, f"a backward of a {shown} input: {str(exc).splitlines()[0]}"
    return reached, why


def _use(subject: NormLayerSubject, layout: NormLayout, note: str) -> NormLayerSubject:
    subject.mapping.append(note)
    if layout is ROWS:
        return subject
    base = subject.factory
    subject.layout = layout.name
    subject.factory = lambda shape, eps: LaidOutNorm(base(shape, eps), layout) if len(shape) == 1 else \
        base(shape, eps)
    return subject


def choose(subject: NormLayerSubject, eps: float, requested: str = "auto") -> NormLayerSubject:
    """``subject``, its layers fed the inputs they take; the report's mapping says which and why."""
    if requested != "auto":
        layout = LAYOUTS[requested]
        return _use(subject, layout, f"inputs: each (N, D) batch of the checks is given as {layout.text} "
                                     f"(--param batch_shape={requested}; no trial)")
    base = subject.factory

    def fresh() -> NormLayerInstance:
        return base((_TRIAL_H,), eps)

    # a backward written by hand may take only its own shapes (sums over axis=(0, 1)); autodiff's takes any
    backward = subject.has_backward and subject.library is None
    top = 3 if backward else 2
    best: tuple[int, NormLayout] | None = None
    why: dict[str, str] = {}
    for layout in LAYOUTS.values():
        try:
            reached, reason = _trial(fresh, layout, backward)
        except TargetError as exc:             # the trial timed out: the protocol's rows, the checks time it
            subject.mapping.append(f"inputs: (N, D) rows, as the protocol's (the shape trial stopped: {exc.exc})")
            return subject
        if reason:
            why[layout.name] = reason
        if best is None or reached > best[0]:
            best = (reached, layout)
        if reached == top:
            break
    reached, layout = best
    unconfirmed = "no input shape confirmed per-row statistics (" + "; ".join(f"{k}: {v}" for k, v in why.items()) + ")"
    if layout is ROWS or reached == 0:
        if reached < 2 and why:
            subject.mapping.append(f"inputs: (N, D) rows, as the protocol's; {unconfirmed}")
        return subject
    refused = "; ".join(f"{k}: {v}" for k, v in why.items() if k != layout.name)
    note = (f"inputs: each (N, D) batch of the checks is given as {layout.text} (outputs and dx read back as rows; "
            f"the first shape its forward ran on; {unconfirmed})" if reached < 2 else
            f"inputs: each (N, D) batch of the checks is given as {layout.text} (outputs and dx read back as rows); "
            f"tried first: {refused}")
    return _use(subject, layout, note)


def finish(subject: NormLayerSubject, request: Request) -> NormLayerSubject:
    """Every layer-norm subject, whichever adapter claimed its layer, fed the inputs the layer takes (the
    bundled reference takes rows, and any leading dimensions)."""
    if request.target == REFERENCE:
        return subject
    return choose(subject, request.params["eps"], request.params.get("batch_shape", "auto"))
