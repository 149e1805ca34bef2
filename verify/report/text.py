"""Text for the report: cleaning target-controlled strings, formatting numbers and arrays.

Everything shown in the report passes through :func:`clean` before it reaches
a template (where autoescaping then turns ``<``, ``>``, ``&`` and quotes into
entities). Cleaning removes what escaping cannot: terminal escape sequences,
control characters, bidirectional overrides that make text read differently
from what it is, and lone surrogates (which would make the file unwritable
as UTF-8); it also bounds the length, saying how much was cut.
"""

from __future__ import annotations

import math
import re
from typing import Any

from verify.console import safe
from verify.numbers import format_number

__all__ = ["clean", "fmt_num", "fmt_value", "headline"]

_SPACES = re.compile(r"\s+")


def clean(text: Any, limit: int = 2000, *, oneline: bool = False, count: bool = True) -> str:
    """``text`` safe to show: no escapes, controls, bidi overrides; at most about ``limit`` characters.

    Cut text ends in ``... [N more characters]``, or, with ``count=False`` (short
    labels), in an ellipsis within ``limit``.
    """
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if oneline:
        s = s.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    if count:
        s = safe(s, limit)
    else:
        s = safe(s, len(s) + 1)
        if len(s) > limit:
            s = s[: max(1, limit - 1)] + "\u2026"
    if oneline:
        s = _SPACES.sub(" ", s).strip()
    return s


def headline(message: Any, limit: int = 300) -> str:
    """The first non-empty line of a message (the checks' headline convention)."""
    s = clean(message, 4 * limit + 100)
    for line in s.split("\n"):
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "\u2026"
    return ""


def fmt_num(v: Any, digits: int = 4) -> str:
    """A number in a table cell (:func:`verify.numbers.format_number`, ``%g`` style); ``None`` as a dash,
    booleans as words, JSON's strings cleaned."""
    if v is None:
        return "\u2014"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return clean(v, 60, oneline=True)
    if isinstance(v, int):
        return format_number(v)
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return clean(v, 60, oneline=True)
    return format_number(f, digits, general=True)


def _shape(v: Any) -> tuple[int, ...] | None:
    """Shape of a rectangular nested list of scalars, else ``None``."""
    if not isinstance(v, (list, tuple)):
        return ()
    if not v:
        return (0,)
    inner = [_shape(x) for x in v]
    if any(s is None for s in inner) or len(set(inner)) != 1:
        return None
    return (len(v), *inner[0])


def _flat(v: Any) -> list[Any]:
    if isinstance(v, (list, tuple)):
        out: list[Any] = []
        for x in v:
            out.extend(_flat(x))
        return out
    return [v]


def _nested(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_nested(x) for x in v) + "]"
    return _scalar(v)


def _scalar(v: Any) -> str:
    if isinstance(v, dict) and set(v) == {"real", "imag"}:
        return f"{fmt_num(v['real'], 6)}{'+' if not str(fmt_num(v['imag'], 6)).startswith('-') else ''}{fmt_num(v['imag'], 6)}j"
    if isinstance(v, (dict, list, tuple)):
        return clean(v, 200, oneline=True)
    return fmt_num(v, 6)


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def fmt_value(v: Any, limit: int = 1000, edge: int = 3, small: int = 12) -> str:
    """A counterexample value: scalars to 6 digits, arrays abbreviated with their shape."""
    if isinstance(v, (list, tuple)):
        shape = _shape(v)
        flat = _flat(v)
        if shape is None:
            return clean(_nested(v), limit)
        if len(flat) <= small:
            return clean(_nested(v), limit)
        head = ", ".join(_scalar(x) for x in flat[:edge])
        tail = ", ".join(_scalar(x) for x in flat[-edge:])
        desc = f"shape {shape}" if len(shape) > 1 else f"{len(flat)} values"
        nums = [f for f in (_as_float(x) for x in flat) if f is not None and math.isfinite(f)]
        extra = ""
        if nums:
            extra = f", min {fmt_num(min(nums), 6)}, max {fmt_num(max(nums), 6)}"
        nonfinite = sum(1 for x in flat if (f := _as_float(x)) is not None and not math.isfinite(f))
        if nonfinite:
            extra += f", {nonfinite} non-finite"
        return clean(f"[{head}, \u2026, {tail}] ({desc}{extra})", limit)
    if isinstance(v, dict):
        if set(v) == {"real", "imag"}:
            return _scalar(v)
        return clean("{" + ", ".join(f"{clean(k, 80, oneline=True)}: {fmt_value(x, 200)}" for k, x in v.items()) + "}", limit)
    if isinstance(v, str):
        return clean(v, limit)
    return fmt_num(v, 6)
