"""One comparison engine for arrays, with thin wrappers.

Every numeric comparison in the verifier (reference vs target, analytic vs
finite-difference gradient, symbolic vs numeric) goes through :func:`compare`,
so every failure message has the same layout, modelled on numpy.testing:

1. structural problems first (shape, dtype, NaN/inf positions);
2. the mismatch count;
3. the worst entries with ACTUAL vs DESIRED, absolute and relative error and
   the tolerance that applied;
4. max absolute and relative difference.

An entry mismatches when ``|actual - desired| > atol + rtol * |desired| + tol``
where ``tol`` is an optional per-entry tolerance (an error bar).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from verify.evidence import Comparison, Mismatch  # the engine's result, typed evidence (re-exported here)
from verify.numbers import format_number  # the one number formatter, re-exported here

__all__ = ["Mismatch", "Comparison", "compare", "assert_close", "format_number", "identical"]


def identical(a: Any, b: Any) -> bool:
    """Same shape and the same values, NaN counting as equal to NaN.

    For hygiene checks (was an input modified? did the same call give the same
    answer?): NaN ≠ NaN must not make an untouched array look changed.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if np.issubdtype(a.dtype, np.inexact) or np.issubdtype(b.dtype, np.inexact):
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _as_array(x: Any) -> np.ndarray:
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged sequences, objects numpy refuses
        raise TypeError(f"cannot be read as an array: {exc}") from None


def compare(
    actual: Any,
    desired: Any,
    *,
    rtol: float = 1e-7,
    atol: float = 0.0,
    tol: Any = None,
    equal_nan: bool = True,
    check_dtype: bool = False,
    n_worst: int = 5,
    header: str = "",
) -> Comparison:
    """Compare ``actual`` with ``desired`` entry by entry.

    Args:
      actual: what the code under test produced.
      desired: the trusted value (reference, symbolic, or hand-worked).
      rtol, atol: relative and absolute tolerance, as in numpy.testing.
      tol: optional per-entry extra tolerance, broadcast against ``desired``
        (finite-difference error bars, step-count-scaled bounds).
      equal_nan: NaN in both at the same place counts as equal.
      check_dtype: report a dtype difference as a structural problem.
      n_worst: how many of the worst entries to list.
      header: first line of the report.

    Returns:
      A :class:`Comparison`; it is falsy when the arrays disagree.
    """
    structural: list[str] = []
    tol_text = _tolerance_text(rtol, atol, tol)
    try:
        a = _as_array(actual)
    except TypeError as exc:
        return _structural_only(header, tol_text, [f"ACTUAL {exc}"])
    d = _as_array(desired)
    if a.dtype == object or not (
        np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_
    ):
        return _structural_only(
            header, tol_text, [f"ACTUAL is not numeric: got {type(actual).__name__} of dtype {a.dtype}"]
        )
    if a.shape != d.shape:
        return _structural_only(
            header, tol_text, [f"Shape mismatch: ACTUAL {a.shape} vs DESIRED {d.shape}"]
        )
    if check_dtype and a.dtype != d.dtype:
        structural.append(f"Dtype mismatch: ACTUAL {a.dtype} vs DESIRED {d.dtype}")

    a64 = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    d64 = d.astype(np.complex128 if np.iscomplexobj(d) else np.float64)
    an, dn = np.isnan(a64), np.isnan(d64)
    nan_bad = (an != dn) if equal_nan else (an | dn)
    if nan_bad.any():
        structural.append(_positions("NaN positions differ", nan_bad, an, "ACTUAL NaN at", dn, "DESIRED NaN at"))
    ai, di = np.isinf(a64), np.isinf(d64)
    inf_bad = (ai | di) & ~(ai & di & (a64 == d64)) & ~(an | dn)
    if inf_bad.any():
        structural.append(_positions("Inf positions differ", inf_bad, ai, "ACTUAL inf at", di, "DESIRED inf at"))

    finite = np.isfinite(a64) & np.isfinite(d64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(a64 - d64), 0.0)
    mag = np.where(finite, np.abs(d64), 0.0)
    allowed = atol + rtol * mag
    if tol is not None:
        allowed = allowed + np.broadcast_to(np.asarray(tol, dtype=np.float64), d.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mag > 0, diff / np.where(mag > 0, mag, 1.0), np.where(diff > 0, np.inf, 0.0))
    bad_value = finite & (diff > allowed)
    bad = bad_value | nan_bad | inf_bad
    n_bad = int(bad.sum())

    order = np.argsort(-diff.ravel(), kind="stable")
    worst = []
    for flat in order:
        if len(worst) >= n_worst:
            break
        if not bad_value.ravel()[flat]:   # large but within its own (per-entry) tolerance
            continue
        idx = tuple(int(i) for i in np.unravel_index(flat, d.shape)) if d.ndim else ()
        worst.append(
            Mismatch(
                index=idx,
                actual=_real(a64.ravel()[flat]),
                desired=_real(d64.ravel()[flat]),
                abs_err=float(diff.ravel()[flat]),
                rel_err=float(rel.ravel()[flat]),
                tolerance=float(np.broadcast_to(allowed, d.shape).ravel()[flat]),
            )
        )
    return Comparison(
        ok=n_bad == 0 and not structural,
        header=header,
        structural=tuple(structural),
        n_mismatch=n_bad,
        n_total=int(d.size),
        worst=tuple(worst),
        max_abs=float(diff.max()) if diff.size else 0.0,
        max_rel=float(rel[finite].max()) if finite.any() else 0.0,
        tolerance_text=tol_text,
    )


def assert_close(actual: Any, desired: Any, **kwargs: Any) -> None:
    """Raise ``AssertionError`` with the :func:`compare` report on mismatch."""
    result = compare(actual, desired, **kwargs)
    if not result.ok:
        raise AssertionError(str(result))


def _real(z: complex | float) -> float:
    return float(np.real(z))


def _structural_only(header: str, tol_text: str, problems: list[str]) -> Comparison:
    return Comparison(False, header, tuple(problems), 0, 0, (), float("nan"), float("nan"), tol_text)


def _tolerance_text(rtol: float, atol: float, tol: Any) -> str:
    parts = []
    if rtol:
        parts.append(f"rtol={format_number(rtol)}")
    if atol:
        parts.append(f"atol={format_number(atol)}")
    if tol is not None:
        t = np.asarray(tol, dtype=np.float64)
        parts.append(
            f"per-entry tol={format_number(float(t))}" if t.ndim == 0
            else f"per-entry tol up to {format_number(float(t.max()))}"
        )
    return ", ".join(parts) or "exact"


def _positions(title: str, bad: np.ndarray, mask_a: np.ndarray, label_a: str,
               mask_d: np.ndarray, label_d: str, limit: int = 5) -> str:
    def where(mask: np.ndarray) -> str:
        idx = np.argwhere(mask & bad)
        shown = [tuple(int(i) for i in row) if len(row) != 1 else int(row[0]) for row in idx[:limit]]
        more = f" (+{len(idx) - limit} more)" if len(idx) > limit else ""
        return f"{shown}{more}" if len(idx) else "none"
    return f"{title}: {label_a} {where(mask_a)}; {label_d} {where(mask_d)}"
