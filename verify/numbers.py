"""The one number formatter: how every number reaches a person (messages, the terminal, the HTML page).

:func:`format_number` writes numbers the way numpy.testing does in its failure
messages; :func:`format_short`, :func:`format_p` and :func:`format_percent`
are its settings for statistical messages, p-values and relative errors. Everything here is pure and cheap to import.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["format_number", "format_short", "format_p", "format_percent"]


def format_number(x: Any, digits: int = 6, *, sci_decimals: int | None = None, general: bool = False) -> str:
    """Short, stable text for a number.

    Booleans and integers are written exactly, ``nan``/``inf``/``-inf`` as
    words, anything that is not a number with ``str``. A float is written

    * by default (messages, numpy.testing-like): in ``digits`` significant
      digits when its magnitude is in ``[1e-3, 1e5)``, else in scientific
      notation with ``sci_decimals`` decimals (default ``max(digits - 3, 3)``:
      a tolerance reads ``1.000e-09``); zero as ``0``;
    * with ``general=True`` (table cells, axis ticks): Python's ``%g`` with
      ``digits`` significant digits (``1e-08``), integral values below a
      million in full.
    """
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if general:
        if f == int(f) and abs(f) < 1e6:
            return str(int(f))
        return f"{f:.{digits}g}"
    if f == 0.0:
        return "0"
    if 1e-3 <= abs(f) < 1e5:
        return f"{f:.{digits}g}"
    return f"{f:.{max(digits - 3, 3) if sci_decimals is None else sci_decimals}e}"


def format_short(x: Any, digits: int = 4) -> str:
    """A number in a statistical test's message: :func:`format_number` of ``float(x)`` keeping ``digits - 2``
    decimals in scientific notation (``5.0e-04`` at three digits)."""
    return format_number(float(x), digits, sci_decimals=max(digits - 2, 1))


def format_p(p: Any) -> str:
    """A p-value (or a level α) in two significant digits: ``0.41``, ``1.7e-07``, ``0`` when it underflows."""
    return format_number(float(p), 2, sci_decimals=1)


def format_percent(rel: Any, signed: bool = True) -> str:
    """A relative error as a percentage with two decimals: ``-4.70 %``."""
    v = 100.0 * float(rel)
    if not math.isfinite(v):
        return format_number(v)
    return f"{v:+.2f} %" if signed else f"{v:.2f} %"
