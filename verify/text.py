"""Text from a target made safe to show and to store.

A target controls its exception messages and what it prints, and those reach
the terminal, the JSON and the HTML report. :func:`sanitise` removes what
could make them lie or break: terminal escape sequences and control
characters (a fake "all checks passed", a cleared screen), bidirectional
controls (text that reads differently from what it is), and lone surrogates
(which no UTF-8 file or terminal can take). Results are sanitised where they
cross from the target's side (:mod:`verify.runner`, :mod:`verify.isolation`);
the console and the report sanitise again what they show.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["sanitise", "sanitised", "clip"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# bidirectional controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every character _scrub can change or remove (each escape sequence begins with ESC, a control; so does \r).
_TOUCHED = re.compile("|".join(p.pattern for p in (_CONTROL, _BIDI, _SURROGATE)))


def sanitise(text: object) -> str:
    """``text`` without escape sequences, control characters (``\\n`` and ``\\t`` kept; ``\\r`` becomes a
    newline), bidirectional controls, or lone surrogates (each replaced by U+FFFD)."""
    s = str(text)
    if type(s) is not str:
        s = str.__str__(s)              # a str subclass's own methods must not decide what is safe
    # Most text has none of what _scrub changes: a printable string (no Cc, Cf or Cs character: every character
    # _TOUCHED names is one) or one _TOUCHED does not match comes back as it is.
    if s.isprintable() or _TOUCHED.search(s) is None:
        return s
    return _scrub(s)


def _scrub(s: str) -> str:
    """What :func:`sanitise` does to a string holding a character it changes (and, equally, to any other)."""
    s = _SURROGATE.sub("\ufffd", s)
    s = _ANSI.sub("", s).replace("\r\n", "\n").replace("\r", "\n")
    s = _BIDI.sub("?", s)
    return _CONTROL.sub("?", s)


def clip(text: object, limit: int) -> str:
    """:func:`sanitise`, then cut to ``limit`` characters, saying how much was cut."""
    s = sanitise(text)
    if len(s) > limit:
        s = s[:limit] + f"... [{len(s) - limit} more characters]"
    return s


def sanitised(value: Any) -> Any:
    """``value`` with every string in it (keys included) sanitised; other values unchanged."""
    if isinstance(value, str):
        return sanitise(value)
    if isinstance(value, dict):
        return {sanitised(k): sanitised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitised(v) for v in value]
    if isinstance(value, tuple):
        return tuple(sanitised(v) for v in value)
    return value
