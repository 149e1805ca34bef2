"""Figures as SVG geometry: a :class:`~verify.results.Figure` becomes a :class:`PlotView`.

The plots are hand-built rather than drawn by matplotlib: the output is small,
fully deterministic (the golden-file test compares it byte for byte) and costs
no heavy import. This module only computes geometry -- coordinates, path data
made of numbers, tick labels -- and the cleaned text of titles and labels; the
``figure.svg.j2`` template writes the SVG with autoescaping, so no text from a
check or a target is ever inserted unescaped.

Conventions a check can rely on (``docs/reports.md`` has the user-facing list; each kind is one
:class:`PlotKind` entry of :data:`PLOT_KINDS`, which says how its series are drawn):

* ``kind="lines"``: every series is drawn with its ``style``: ``line``,
  ``dashed`` (use it for a theoretical rate or bound), ``points`` or ``step``.
  ``xscale``/``yscale`` may be ``"log"``.
* ``kind="histogram"``: series with style ``step`` (or, if none has it, the
  first series) are bars: ``x`` are the bin edges (``len(x) == len(y) + 1``) or
  the bin centres (``len(x) == len(y)``), ``y`` the heights; an empty ``y``
  means ``x`` are raw samples, binned here as a density. The other series are
  drawn as lines (the expected density).
* ``kind="qq"``: ``x`` theoretical quantiles, ``y`` sample quantiles, drawn as
  points whatever the style, except ``dashed`` series (a band, a fitted line),
  with the identity line.
* ``markers``: ``{"x": v, "label": s}`` a vertical line, ``{"y": v, ...}`` a
  horizontal one, both ``x`` and ``y`` a labelled point.

Non-finite values (``nan``/``inf``, also as the strings JSON carries) break a
line and are counted in a note under the plot; so are values a log axis cannot
show. Series longer than :data:`MAX_POINTS` are decimated (min/max per bucket,
so spikes survive) and say so.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import numpy as np

from verify.report.text import clean, fmt_num
from verify.results import Figure

__all__ = ["PlotView", "Layer", "EndLabel", "Tick", "Marker", "LegendEntry", "PlotKind", "PLOT_KINDS", "build_plot",
           "MAX_POINTS", "PALETTE"]

MAX_POINTS = 2000
MAX_SERIES = 12
MAX_MARKERS = 12
WIDTH = 640
PLOT_HEIGHT = 330  # SVG height without the legend
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 10, 46
LEGEND_ROW = 16
PALETTE = (
    "#1f5fbf",  # blue
    "#d62728",  # red
    "#2a9d3a",  # green
    "#e07b00",  # orange
    "#8a4fbf",  # purple
    "#8c564b",  # brown
    "#d1479c",  # pink
    "#555555",  # grey
    "#9a9a1a",  # olive
    "#1aa3b8",  # cyan
)
MARKER_COLOUR = "#a30000"
IDENTITY_COLOUR = "#777777"


@dataclasses.dataclass
class Tick:
    pos: float  # pixel coordinate along its axis
    label: str


@dataclasses.dataclass
class Layer:
    """One series as drawn: a single ``<path>`` (line, step, points or bars)."""

    index: int
    label: str
    draw: str  # "line" | "points" | "bars"
    d: str
    colour: str
    dashed: bool = False
    ends: list["EndLabel"] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class EndLabel:
    """Where a series stops because its next value is not finite: ``→ inf``, ``→ nan``."""

    x: float
    y: float
    anchor: str
    text: str


@dataclasses.dataclass
class Marker:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    lx: float
    ly: float
    anchor: str  # SVG text-anchor
    point: bool = False


@dataclasses.dataclass
class LegendEntry:
    label: str
    colour: str
    draw: str
    dashed: bool
    y: float


@dataclasses.dataclass
class PlotView:
    """Everything the SVG template needs for one figure."""

    title: str
    xlabel: str
    ylabel: str
    kind: str
    xscale: str
    yscale: str
    width: int
    height: int
    left: float
    top: float
    right: float
    bottom: float
    xticks: list[Tick]
    yticks: list[Tick]
    layers: list[Layer]
    markers: list[Marker]
    legend: list[LegendEntry]
    identity: str = ""  # path data of the y = x line (QQ plots)
    notes: list[str] = dataclasses.field(default_factory=list)
    error: str = ""  # set when the figure could not be drawn at all

    @property
    def description(self) -> str:
        parts = [f"{self.kind} plot", f"{len(self.layers)} series"]
        if self.xscale == "log" or self.yscale == "log":
            parts.append("log " + "-".join(a for a, s in (("x", self.xscale), ("y", self.yscale)) if s == "log"))
        return ", ".join(parts)


# --------------------------------------------------------------------------
# numbers in, numbers out
# --------------------------------------------------------------------------


def _float(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())  # "nan", "inf", "-inf" from JSON; "1e-3"
        except ValueError:
            return math.nan
    try:
        return float(v)  # numpy scalars
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _array(seq: Any) -> np.ndarray:
    """``seq`` as a 1-d float array; anything that is not a number becomes nan."""
    if seq is None or isinstance(seq, (str, bytes, dict)):
        return np.empty(0)
    try:
        a = np.asarray(seq, dtype=float)
        if a.ndim == 1:
            return a
    except (TypeError, ValueError, OverflowError):
        pass
    return np.array(_floats(seq), dtype=float)


def _floats(seq: Any) -> list[float]:
    if seq is None or isinstance(seq, (str, bytes, dict)):
        return []
    try:
        items = list(seq)
    except TypeError:
        return []
    return [_float(v) for v in items]


class _Axis:
    """One axis: scale, data range (in transformed units) and pixel span."""

    def __init__(self, scale: str, lo_px: float, hi_px: float):
        self.log = scale == "log"
        self.lo_px, self.hi_px = lo_px, hi_px
        self.lo = self.hi = math.nan

    def ok(self, v: float) -> bool:
        return math.isfinite(v) and (v > 0 if self.log else True)

    def t(self, v: float) -> float:
        return math.log10(v) if self.log else v

    def include(self, tv: float) -> None:
        if not math.isfinite(tv):
            return
        self.lo = tv if math.isnan(self.lo) else min(self.lo, tv)
        self.hi = tv if math.isnan(self.hi) else max(self.hi, tv)

    def include_array(self, tv: np.ndarray) -> None:
        if tv.size:
            self.include(float(np.min(tv)))
            self.include(float(np.max(tv)))

    def finish(self, pad: float = 0.04, zero: bool = False) -> None:
        if math.isnan(self.lo):
            self.lo, self.hi = (0.0, 1.0)
        if zero and not self.log:
            self.lo, self.hi = min(self.lo, 0.0), max(self.hi, 0.0)
        if self.hi - self.lo <= 1e-12 * max(1.0, abs(self.lo), abs(self.hi)):
            d = 0.5 if self.log else (abs(self.lo) * 0.1 or 1.0)
            self.lo, self.hi = self.lo - d, self.hi + d
        span = self.hi - self.lo
        lo_pad = 0.0 if (zero and not self.log and self.lo == 0.0) else pad * span
        self.lo, self.hi = self.lo - lo_pad, self.hi + pad * span

    def px(self, tv: float) -> float:
        return self.lo_px + (tv - self.lo) / (self.hi - self.lo) * (self.hi_px - self.lo_px)

    def ticks(self) -> list[Tick]:
        vals = _log_ticks(self.lo, self.hi) if self.log else _linear_ticks(self.lo, self.hi)
        return [Tick(round(self.px(tv), 1), label) for tv, label in vals]


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _linear_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    step = _nice_step(hi - lo)
    first = math.ceil(lo / step - 1e-9)
    out = []
    k = first
    while k * step <= hi + 1e-9 * step and len(out) < 12:
        v = k * step
        out.append((v, _tick_label(v, step)))
        k += 1
    return out


def _tick_label(v: float, step: float) -> str:
    if abs(v) < step * 1e-6:
        return "0"
    big = max(abs(v), step)
    if big >= 1e5 or step < 1e-4:
        s = f"{v:.3g}"
    else:
        e = math.floor(math.log10(step) + 1e-9)
        decimals = max(0, -e + (1 if round(step / 10 ** e, 6) == 2.5 else 0))
        s = f"{v:.{decimals}f}"
    return s.replace("-", "\u2212")


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _decade_label(e: int) -> str:
    return "10" + str(e).translate(_SUPERSCRIPT)


def _fit(text: str, px: float, char_px: float = 6.6) -> str:
    """``text`` cut with an ellipsis to about ``px`` pixels of SVG text (no text wrapping in SVG)."""
    n = max(4, int(px / char_px))
    return text if len(text) <= n else text[: n - 1].rstrip() + "\u2026"


def _log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    n = last - first + 1
    if n >= 2:
        every = max(1, math.ceil(n / 7))
        decades = [e for e in range(first, last + 1) if (e - first) % every == 0]
        plain = all(-2 <= e <= 3 for e in decades)  # one style per axis: 0.01 … 1000, else 10ⁿ
        return [(float(e), f"{10.0 ** e:g}" if plain else _decade_label(e)) for e in decades]
    # less than two decades visible: ticks at 1, 2, 5 x 10^e, else plain values
    out = []
    for e in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        for m in (1, 2, 5):
            tv = e + math.log10(m)
            if lo - 1e-9 <= tv <= hi + 1e-9:
                out.append((tv, fmt_num(m * 10.0 ** e, 3)))
    if len(out) >= 2:
        return out
    return [(tv, fmt_num(10 ** tv, 3)) for tv, _ in _linear_ticks(lo, hi)]


def _c(v: float) -> str:
    """A pixel coordinate as path data (one decimal, no ``-0``)."""
    s = f"{v:.1f}"
    if s.endswith(".0"):
        s = s[:-2]
    return "0" if s == "-0" else s


# --------------------------------------------------------------------------
# series preparation
# --------------------------------------------------------------------------


@dataclasses.dataclass
class _Prepared:
    index: int
    label: str
    draw: str  # line | points | bars
    style: str
    dashed: bool
    segments: list[tuple[np.ndarray, np.ndarray]]  # transformed (x, y) runs without gaps
    ends: list[tuple[float, float, str]] = dataclasses.field(default_factory=list)  # (tx, ty, "inf")
    bars: list[tuple[float, float, float]] = dataclasses.field(default_factory=list)  # (x0, x1, h) raw


@dataclasses.dataclass
class _Series:
    """One series' drawable points, after dropping, transforming and decimating."""

    segments: list[tuple[np.ndarray, np.ndarray]]
    ends: list[tuple[float, float, str]]
    nonfinite: int
    nonpositive: int
    total: int   # drawable points before decimation
    kept: int    # points drawn


def _prepare_series(x: np.ndarray, y: np.ndarray, xa: _Axis, ya: _Axis, points: bool) -> _Series:
    """Drop what cannot be drawn (breaking the line there), transform for log axes, decimate."""
    n = min(x.size, y.size)
    x, y = x[:n], y[:n]
    finite = np.isfinite(x) & np.isfinite(y)
    ok = finite.copy()
    with np.errstate(invalid="ignore"):
        if xa.log:
            ok &= x > 0
        if ya.log:
            ok &= y > 0
    idx = np.flatnonzero(ok)
    tx = np.log10(x[idx]) if xa.log else x[idx]
    ty = np.log10(y[idx]) if ya.log else y[idx]
    # runs of consecutive drawable points: gid numbers them
    breaks = np.diff(idx) > 1
    gid = np.concatenate([[0], np.cumsum(breaks)]) if idx.size else np.empty(0, dtype=int)
    last_of_run = np.flatnonzero(np.concatenate([breaks, [True]])) if idx.size else np.empty(0, dtype=int)

    ends: list[tuple[float, float, str]] = []
    for j in last_of_run:
        e = idx[j] + 1
        if e < n and not finite[e]:
            v = y[e] if not math.isfinite(y[e]) else x[e]
            ends.append((float(tx[j]), float(ty[j]), "nan" if math.isnan(v) else ("inf" if v > 0 else "\u2212inf")))
            if len(ends) == 3:
                break

    total = idx.size
    if total <= MAX_POINTS:
        keep = np.arange(total)
    elif points:
        keep = np.arange(0, total, math.ceil(total / MAX_POINTS))
    else:  # min and max of y per bucket, so spikes survive
        bucket = math.ceil(total / (MAX_POINTS // 2))
        nb = math.ceil(total / bucket)
        v = np.concatenate([ty, np.full(nb * bucket - total, np.nan)]).reshape(nb, bucket)
        starts = np.arange(nb) * bucket
        extra = [0, total - 1] + (last_of_run.tolist() if last_of_run.size <= 100 else [])
        keep = np.unique(np.concatenate([starts + np.nanargmin(v, axis=1), starts + np.nanargmax(v, axis=1),
                                         np.asarray(extra, dtype=int)]))
    segments = []
    if keep.size:
        g = gid[keep]
        for part in np.split(keep, np.flatnonzero(np.diff(g) != 0) + 1):
            segments.append((tx[part], ty[part]))
    return _Series(segments, ends, int(n - finite.sum()), int(finite.sum() - ok.sum()), total, int(keep.size))


def _simplify(px: np.ndarray, py: np.ndarray, tolerance: float = 0.25) -> np.ndarray:
    """Indices of the vertices of a polyline drawn within ``tolerance`` pixels of it (Ramer–Douglas–Peucker):
    a curve that is straight on screen — a geometric rate on a log axis — needs two points, not hundreds."""
    n = px.size
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        dx, dy = px[b] - px[a], py[b] - py[a]
        xs, ys = px[a + 1:b] - px[a], py[a + 1:b] - py[a]
        length = math.hypot(dx, dy)
        dist = np.abs(xs * dy - ys * dx) / length if length > 0 else np.hypot(xs, ys)
        j = int(np.argmax(dist))
        if dist[j] > tolerance:
            keep[a + 1 + j] = True
            stack += [(a, a + 1 + j), (a + 1 + j, b)]
    return np.flatnonzero(keep)


def _fmt_pts(px: np.ndarray, py: np.ndarray) -> list[str]:
    return [f"{a:.1f} {b:.1f}" for a, b in zip(px.tolist(), py.tolist())]


def _bins(xs: list[float], ys: list[float], notes: list[str], label: str) -> list[tuple[float, float, float]]:
    """Bars (x0, x1, height) from edges, centres or raw samples."""
    if not ys:
        sample = sorted(v for v in xs if math.isfinite(v))
        dropped = len(xs) - len(sample)
        if dropped:
            notes.append(f"{label}: {dropped} non-finite sample value(s) not counted.")
        if not sample:
            return []
        n = len(sample)
        k = max(5, min(80, int(round(math.sqrt(n)))))
        lo, hi = sample[0], sample[-1]
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        width = (hi - lo) / k
        counts = [0] * k
        for v in sample:
            counts[min(k - 1, int((v - lo) / width))] += 1
        notes.append(f"{label}: histogram of {n} samples in {k} bins, scaled as a density.")
        return [(lo + i * width, lo + (i + 1) * width, c / (n * width)) for i, c in enumerate(counts)]
    if len(xs) == len(ys) + 1:
        edges = xs
    elif len(xs) == len(ys):
        if len(xs) == 1:
            edges = [xs[0] - 0.5, xs[0] + 0.5]
        else:
            mids = [(a + b) / 2 for a, b in zip(xs, xs[1:])]
            edges = [xs[0] - (mids[0] - xs[0])] + mids + [xs[-1] + (xs[-1] - mids[-1])]
    else:
        m = min(len(xs), len(ys))
        notes.append(f"{label}: {len(xs)} x values for {len(ys)} heights; drew the first {m}.")
        return _bins(xs[:m], ys[:m], notes, label)
    bars = []
    bad = 0
    for i, h in enumerate(ys):
        x0, x1 = edges[i], edges[i + 1]
        if math.isfinite(x0) and math.isfinite(x1) and math.isfinite(h):
            bars.append((min(x0, x1), max(x0, x1), h))
        else:
            bad += 1
    if bad:
        notes.append(f"{label}: {bad} bin(s) with non-finite values not drawn.")
    return bars


# --------------------------------------------------------------------------
# kinds of figure
# --------------------------------------------------------------------------


def _no_bars(series: Sequence[Any]) -> set[int]:
    return set()


def _histogram_bars(series: Sequence[Any]) -> set[int]:
    """The series drawn as bars: those with style ``step``, else the first."""
    bars = {i for i, s in enumerate(series) if getattr(s, "style", "") == "step"}
    return bars or ({0} if series else set())


@dataclasses.dataclass(frozen=True)
class PlotKind:
    """How one kind of figure is drawn. A new kind is one entry of :data:`PLOT_KINDS`."""

    name: str
    bars: Callable[[Sequence[Any]], set[int]] = _no_bars   # indices of the series drawn as bars
    points: bool = False          # series drawn as points, except dashed ones (a band, a fitted line)
    log_axes: bool = True         # honour ``xscale``/``yscale="log"``
    xpad: float = 0.03            # margin on a linear x axis, as a fraction of its range (log axes: 0.03)
    y_from_zero: bool = False     # the y axis includes 0 (bars stand on it)
    identity: bool = False        # one range for both axes and the line y = x


PLOT_KINDS: dict[str, PlotKind] = {k.name: k for k in (
    PlotKind("lines"),
    PlotKind("histogram", bars=_histogram_bars, xpad=0.0, y_from_zero=True),
    PlotKind("qq", points=True, log_axes=False, xpad=0.04, identity=True),
)}


# --------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------


def build_plot(fig: Figure | dict) -> PlotView:
    """The geometry of ``fig``; never raises (a broken figure gets ``error`` set)."""
    try:
        return _build(fig)
    except Exception as exc:  # a malformed figure must not take the report down
        title = clean(getattr(fig, "title", "") if not isinstance(fig, dict) else fig.get("title", ""), 200)
        return PlotView(title=title or "figure", xlabel="", ylabel="", kind="lines", xscale="linear",
                        yscale="linear", width=WIDTH, height=0, left=0, top=0, right=0, bottom=0,
                        xticks=[], yticks=[], layers=[], markers=[], legend=[],
                        error=f"this figure could not be drawn ({type(exc).__name__}: {clean(exc, 300)})")


def _build(fig: Figure | dict) -> PlotView:
    if isinstance(fig, dict):
        fig = Figure.from_dict(fig)
    notes: list[str] = []
    rules = PLOT_KINDS.get(fig.kind) if isinstance(fig.kind, str) else None
    if rules is None:
        notes.append(f"unknown figure kind {clean(fig.kind, 40)!r}; drawn as lines.")
        rules = PLOT_KINDS["lines"]
    kind = rules.name
    xscale = "log" if fig.xscale == "log" and rules.log_axes else "linear"
    yscale = "log" if fig.yscale == "log" and rules.log_axes else "linear"
    series = list(fig.series or [])
    if len(series) > MAX_SERIES:
        notes.append(f"{len(series)} series; only the first {MAX_SERIES} are drawn.")
        series = series[:MAX_SERIES]

    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, PLOT_HEIGHT - MARGIN_BOTTOM
    xa = _Axis(xscale, left, right)
    ya = _Axis(yscale, bottom, top)

    bar_idx = rules.bars(series)

    prepared: list[_Prepared] = []
    for i, s in enumerate(series):
        label = clean(getattr(s, "label", "") or f"series {i + 1}", 120, oneline=True, count=False)
        style = getattr(s, "style", "line")
        if style not in ("line", "points", "step", "dashed"):
            notes.append(f"{label}: unknown style {clean(style, 20)!r}; drawn as a line.")
            style = "line"
        xarr, yarr = _array(getattr(s, "x", [])), _array(getattr(s, "y", []))
        if i in bar_idx:
            bars = _bins(xarr.tolist(), yarr.tolist(), notes, label)
            ok = []
            for x0, x1, h in bars:
                if xa.ok(x0) and xa.ok(x1) and (not ya.log or h > 0):
                    ok.append((x0, x1, h))
            if len(ok) < len(bars):
                notes.append(f"{label}: {len(bars) - len(ok)} bin(s) a log axis cannot show not drawn.")
            prepared.append(_Prepared(i, label, "bars", style, False, [], bars=ok))
            for x0, x1, h in ok:
                xa.include(xa.t(x0))
                xa.include(xa.t(x1))
                ya.include(ya.t(h) if ya.log else h)
            continue
        if xarr.size != yarr.size:
            m = min(xarr.size, yarr.size)
            notes.append(f"{label}: {xarr.size} x values and {yarr.size} y values; drew the first {m}.")
        draw = "points" if style == "points" or (rules.points and style != "dashed") else "line"
        ser = _prepare_series(xarr, yarr, xa, ya, draw == "points")
        if ser.nonfinite:
            m = min(xarr.size, yarr.size)
            fin = np.flatnonzero(np.isfinite(xarr[:m]) & np.isfinite(yarr[:m]))
            where = f"; the last finite point is at x = {fmt_num(float(xarr[fin[-1]]))}" if fin.size else ""
            notes.append(f"{label}: {ser.nonfinite} non-finite value(s) (nan/inf) not drawn{where}.")
        if ser.nonpositive:
            axes = " and ".join(a for a, ax in (("x", xa), ("y", ya)) if ax.log)
            notes.append(f"{label}: {ser.nonpositive} point(s) with {axes} <= 0 not drawn on the log axis.")
        if ser.kept < ser.total:
            notes.append(f"{label}: {ser.total} points decimated to {ser.kept} for drawing.")
        for tx, ty in ser.segments:
            xa.include_array(tx)
            ya.include_array(ty)
        prepared.append(_Prepared(i, label, draw, style, style == "dashed", ser.segments, ser.ends))

    # markers take part in the range so they are always inside the plot
    raw_markers = [m for m in (fig.markers or []) if isinstance(m, dict)][:MAX_MARKERS]
    if len(fig.markers or []) > MAX_MARKERS:
        notes.append(f"only the first {MAX_MARKERS} markers are drawn.")
    markers_in: list[tuple[float | None, float | None, str]] = []
    for m in raw_markers:
        mx = _float(m["x"]) if "x" in m and m["x"] is not None else None
        my = _float(m["y"]) if "y" in m and m["y"] is not None else None
        label = clean(m.get("label", ""), 80, oneline=True, count=False)
        if mx is None and my is None:
            continue
        if (mx is not None and not xa.ok(mx)) or (my is not None and not ya.ok(my)):
            notes.append(f"marker {label or '(unlabelled)'!s} at a value the axes cannot show not drawn.")
            continue
        if mx is not None:
            xa.include(xa.t(mx))
        if my is not None:
            ya.include(ya.t(my))
        markers_in.append((mx, my, label))

    if rules.identity:
        lo = min(v for v in (xa.lo, ya.lo) if not math.isnan(v)) if not (math.isnan(xa.lo) and math.isnan(ya.lo)) else 0.0
        hi = max(v for v in (xa.hi, ya.hi) if not math.isnan(v)) if not (math.isnan(xa.hi) and math.isnan(ya.hi)) else 1.0
        for ax in (xa, ya):
            ax.include(lo)
            ax.include(hi)
    xa.finish(pad=0.03 if xa.log else rules.xpad)
    ya.finish(zero=rules.y_from_zero)

    layers: list[Layer] = []
    for p in prepared:
        colour = PALETTE[p.index % len(PALETTE)]
        if p.draw == "bars":
            base = ya.px(ya.lo if ya.log else max(ya.lo, 0.0))
            parts = []
            for x0, x1, h in p.bars:
                px0, px1 = xa.px(xa.t(x0)), xa.px(xa.t(x1))
                ph = ya.px(ya.t(h) if ya.log else h)
                parts.append(f"M{_c(px0)} {_c(base)}V{_c(ph)}H{_c(px1)}V{_c(base)}Z")
            if not parts:
                notes.append(f"{p.label}: nothing to draw.")
                continue
            layers.append(Layer(p.index, p.label, "bars", "".join(parts), colour))
            continue
        parts = []
        for tx, ty in p.segments:
            px, py = xa.px(tx), ya.px(ty)
            if p.draw == "points":
                parts.extend(f"M{pt}h0" for pt in _fmt_pts(px, py))
            elif p.style == "step":
                xs_, ys_ = [f"{v:.1f}" for v in px.tolist()], [f"{v:.1f}" for v in py.tolist()]
                parts.append(f"M{xs_[0]} {ys_[0]}" + "".join(f"H{a}V{b}" for a, b in zip(xs_[1:], ys_[1:])))
            else:
                keep = _simplify(px, py)
                parts.append("M" + "L".join(_fmt_pts(px[keep], py[keep])) + ("h0" if px.size == 1 else ""))
        if not parts:
            notes.append(f"{p.label}: no finite values to draw.")
            continue
        ends = []
        for tx, ty, what in p.ends:
            px, py = xa.px(tx), ya.px(ty)
            if px > right - 50:
                ends.append(EndLabel(round(px - 4, 1), round(py - 6, 1), "end", f"\u2192 {what}"))
            else:
                ends.append(EndLabel(round(px + 5, 1), round(py + 4, 1), "start", f"\u2192 {what}"))
        layers.append(Layer(p.index, p.label, p.draw, "".join(parts), colour, p.dashed, ends))

    identity = ""
    if rules.identity:
        lo, hi = max(xa.lo, ya.lo), min(xa.hi, ya.hi)
        identity = f"M{_c(xa.px(lo))} {_c(ya.px(lo))}L{_c(xa.px(hi))} {_c(ya.px(hi))}"

    markers: list[Marker] = []
    for k, (mx, my, label) in enumerate(markers_in):
        ly = top + 12 + 13 * (k % 4)
        if mx is not None and my is not None:
            px, py = xa.px(xa.t(mx)), ya.px(ya.t(my))
            anchor, lx = ("end", px - 6) if px > (left + right) / 2 else ("start", px + 6)
            room = (lx - left) if anchor == "end" else (right - lx)
            markers.append(Marker(px, py, px, py, _fit(label, room), lx, py - 6, anchor, point=True))
        elif mx is not None:
            px = xa.px(xa.t(mx))
            anchor, lx = ("end", px - 4) if px > left + 0.6 * (right - left) else ("start", px + 4)
            room = (lx - left) if anchor == "end" else (right - lx)
            markers.append(Marker(px, top, px, bottom, _fit(label, room), lx, ly, anchor))
        else:
            py = ya.px(ya.t(my))
            markers.append(Marker(left, py, right, py, _fit(label, right - left - 8), right - 4, py - 4, "end"))
    for m in markers:
        for a in ("x1", "y1", "x2", "y2", "lx", "ly"):
            setattr(m, a, round(getattr(m, a), 1))

    legend: list[LegendEntry] = []
    y = PLOT_HEIGHT + 2
    for layer in layers:
        legend.append(LegendEntry(layer.label, layer.colour, layer.draw, layer.dashed, y))
        y += LEGEND_ROW
    if identity:
        legend.append(LegendEntry("y = x (perfect agreement)", IDENTITY_COLOUR, "line", True, y))
        y += LEGEND_ROW
    height = int(y + 6) if legend else PLOT_HEIGHT

    xlabel = clean(fig.xlabel, 200, oneline=True, count=False) + (" (log scale)" if xscale == "log" else "")
    ylabel = clean(fig.ylabel, 200, oneline=True, count=False) + (" (log scale)" if yscale == "log" else "")
    for e in legend:
        e.label = _fit(e.label, WIDTH - left - 34)
    return PlotView(
        title=clean(fig.title, 200, oneline=True, count=False),
        xlabel=_fit(xlabel, right - left, 7.2),
        ylabel=_fit(ylabel, bottom - top, 7.2),
        kind=kind, xscale=xscale, yscale=yscale,
        width=WIDTH, height=height, left=left, top=top, right=right, bottom=bottom,
        xticks=xa.ticks(), yticks=ya.ticks(), layers=layers, markers=markers,
        legend=legend, identity=identity, notes=notes,
    )

