"""The report's plot geometry (verify.report.plot) and text helpers (verify.report.text)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from verify.report.model import build_view
from verify.report.plot import MAX_POINTS, PALETTE, _linear_ticks, _log_ticks, _simplify, build_plot
from verify.report.text import clean, fmt_num, fmt_value, headline
from verify.results import CheckResult, Figure, Report, RunResult, Series, Status


def _points(d: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+) (-?[\d.]+)", d)]


def _subpaths(d: str) -> int:
    return d.count("M")


# --------------------------------------------------------------------------
# lines
# --------------------------------------------------------------------------


def test_one_layer_per_series_with_styles_and_colours():
    fig = Figure("t", "x", "y", [Series("a", [1, 2, 3], [1, 2, 3], "line"), Series("b", [1, 2, 3], [3, 2, 1], "dashed"),
                                 Series("c", [1, 2, 3], [2, 2, 2], "points"), Series("d", [1, 2, 3], [1, 3, 2], "step")])
    p = build_plot(fig)
    assert [(l.label, l.draw, l.dashed) for l in p.layers] == [
        ("a", "line", False), ("b", "line", True), ("c", "points", False), ("d", "line", False)]
    assert [l.colour for l in p.layers] == list(PALETTE[:4])
    assert p.layers[2].d.count("h0") == 3  # a dot per point
    assert "H" in p.layers[3].d and "V" in p.layers[3].d  # a step line
    assert [e.label for e in p.legend] == ["a", "b", "c", "d"]
    assert not p.notes


def test_points_land_inside_the_frame_and_keep_order():
    xs = list(range(10))
    p = build_plot(Figure("t", "x", "y", [Series("s", xs, [x * x for x in xs])]))
    pts = _points(p.layers[0].d)
    assert len(pts) == 10
    assert all(p.left <= x <= p.right and p.top <= y <= p.bottom for x, y in pts)
    assert [x for x, _ in pts] == sorted(x for x, _ in pts)
    assert pts[0][1] > pts[-1][1]  # larger y is higher on the page


def test_non_finite_values_break_the_line_and_are_noted():
    ys = [1.0, 2.0, "nan", 3.0, 4.0, math.inf, "inf"]  # strings as JSON carries them
    p = build_plot(Figure("t", "x", "y", [Series("s", list(range(7)), ys)]))
    layer = p.layers[0]
    assert _subpaths(layer.d) == 2
    assert len(_points(layer.d)) == 4
    assert p.notes == ["s: 3 non-finite value(s) (nan/inf) not drawn; the last finite point is at x = 4."]
    assert [e.text for e in layer.ends] == ["\u2192 nan", "\u2192 inf"]


def test_log_axis_drops_non_positive_values_and_says_so():
    p = build_plot(Figure("t", "x", "y", [Series("s", [1, 2, 3, 4], [0.0, -1.0, 1e-2, 1e2])], yscale="log"))
    assert len(_points(p.layers[0].d)) == 2
    assert p.notes == ["s: 2 point(s) with y <= 0 not drawn on the log axis."]
    assert p.ylabel == "y (log scale)"
    assert [t.label for t in p.yticks] == ["0.01", "0.1", "1", "10", "100"]


def test_log_log_v_curve_ticks_are_decades():
    hs = [10.0 ** e for e in range(-12, 0)]
    p = build_plot(Figure("V", "h", "err", [Series("e", hs, [1e-16 / h + h * h for h in hs])], xscale="log",
                          yscale="log", markers=[{"x": 1e-5, "label": "chosen h"}]))
    labels = [t.label for t in p.xticks]
    assert all(l.startswith("10") for l in labels)  # one style per axis: 10ⁿ throughout
    assert "10\u207b\u00b9\u00b2" in labels
    m = p.markers[0]
    assert m.label == "chosen h" and m.x1 == m.x2 and m.y1 == p.top and m.y2 == p.bottom
    # the marker sits between the ticks of 1e-6 and 1e-4
    pos = {t.label: t.pos for t in p.xticks}
    lo, hi = sorted((pos.get("10\u207b\u2076", m.x1 - 1), pos.get("10\u207b\u2074", m.x1 + 1)))
    assert lo < m.x1 < hi


def test_long_series_are_decimated_but_keep_spikes():
    n = 50_000
    ys = [0.0] * n
    ys[31_337] = 100.0
    p = build_plot(Figure("t", "x", "y", [Series("s", list(range(n)), ys)]))
    pts = _points(p.layers[0].d)
    assert len(pts) <= MAX_POINTS + 2
    assert min(y for _, y in pts) <= p.top + 0.05 * (p.bottom - p.top)  # the spike reaches the top
    kept = int(re.search(r"decimated to (\d+) ", p.notes[0])[1])
    assert p.notes == [f"s: {n} points decimated to {kept} for drawing."]
    assert len(pts) <= kept <= MAX_POINTS + 2       # the path then drops the vertices a straight line covers


def test_lines_are_drawn_with_the_vertices_they_need():
    """A geometric rate on a log axis is straight: two vertices. Any line is drawn within 0.25 px of
    every point it passes through (Ramer–Douglas–Peucker)."""
    t = list(range(500))
    p = build_plot(Figure("t", "x", "y", [Series("s", t, [0.9 ** k for k in t])], yscale="log"))
    assert len(_points(p.layers[0].d)) == 2
    rng = np.random.default_rng(3)
    for _ in range(20):
        px = np.cumsum(rng.uniform(0.1, 3.0, size=400))
        py = np.cumsum(rng.normal(scale=rng.choice([0.05, 1.0, 20.0]), size=400))
        keep = _simplify(px, py)
        assert keep[0] == 0 and keep[-1] == 399 and np.all(np.diff(keep) > 0)
        for a, b in zip(keep[:-1], keep[1:]):      # every dropped point lies within 0.25 px of its segment
            dx, dy = px[b] - px[a], py[b] - py[a]
            inner = np.arange(a + 1, b)
            dist = np.abs((px[inner] - px[a]) * dy - (py[inner] - py[a]) * dx) / np.hypot(dx, dy)
            assert np.all(dist <= 0.25 + 1e-9)


def test_decimated_points_by_stride():
    n = 10_000
    p = build_plot(Figure("t", "x", "y", [Series("s", list(range(n)), list(range(n)), "points")]))
    assert p.layers[0].d.count("h0") <= MAX_POINTS


def test_constant_and_empty_series():
    p = build_plot(Figure("t", "x", "y", [Series("c", [1, 2, 3], [5, 5, 5]), Series("e", [], [])]))
    assert len(p.layers) == 1
    assert "e: no finite values to draw." in p.notes
    assert len(p.yticks) >= 2
    one = build_plot(Figure("t", "x", "y", [Series("p", [1], [1])]))
    assert one.layers[0].d.endswith("h0")


def test_mismatched_lengths_noted():
    p = build_plot(Figure("t", "x", "y", [Series("s", [1, 2, 3], [1, 2])]))
    assert "s: 3 x values and 2 y values; drew the first 2." in p.notes
    assert len(_points(p.layers[0].d)) == 2


# --------------------------------------------------------------------------
# histogram and QQ
# --------------------------------------------------------------------------


def test_histogram_from_edges_centres_and_samples():
    edges = build_plot(Figure("h", "x", "d", [Series("b", [0, 1, 2, 3], [1, 2, 1], "step")], kind="histogram"))
    assert edges.layers[0].draw == "bars" and edges.layers[0].d.count("Z") == 3
    centres = build_plot(Figure("h", "x", "d", [Series("b", [0.5, 1.5, 2.5], [1, 2, 1], "step")], kind="histogram"))
    assert centres.layers[0].d == edges.layers[0].d
    samples = build_plot(Figure("h", "x", "d", [Series("b", [0.1 * i for i in range(100)], [], "step"),
                                                Series("pdf", [0, 10], [0.1, 0.1])], kind="histogram"))
    assert samples.layers[0].d.count("Z") == 10
    assert samples.layers[1].draw == "line"
    assert "b: histogram of 100 samples in 10 bins, scaled as a density." in samples.notes
    # bars stand on zero
    zero = next(t.pos for t in edges.yticks if t.label == "0")
    assert all(abs(y - zero) < 0.11 or y < zero for _, y in _points(edges.layers[0].d.replace("V", " V ")) or [])


def test_histogram_first_series_are_bars_without_a_step_style():
    p = build_plot(Figure("h", "x", "d", [Series("b", [0, 1, 2], [1, 2]), Series("pdf", [0, 2], [1, 1])],
                          kind="histogram"))
    assert [l.draw for l in p.layers] == ["bars", "line"]


def test_qq_has_identity_and_equal_axes():
    p = build_plot(Figure("qq", "expected", "sample", [Series("w", [-1, 0, 1], [-2, 0, 2])], kind="qq"))
    assert p.layers[0].draw == "points"
    assert p.identity
    assert [t.label for t in p.xticks] == [t.label for t in p.yticks]
    assert p.legend[-1].label.startswith("y = x")
    (x0, y0), (x1, y1) = _points(p.identity)
    assert x0 == p.left and y0 == p.bottom and x1 == p.right and y1 == p.top


# --------------------------------------------------------------------------
# markers, malformed figures
# --------------------------------------------------------------------------


def test_markers_vertical_horizontal_point():
    p = build_plot(Figure("t", "x", "y", [Series("s", [0, 10], [0, 10])],
                          markers=[{"x": 5, "label": "v"}, {"y": 2, "label": "h"}, {"x": 8, "y": 8, "label": "p"},
                                   {"label": "nothing"}, "not a dict"]))
    v, h, pt = p.markers
    assert v.x1 == v.x2 and (v.y1, v.y2) == (p.top, p.bottom)
    assert h.y1 == h.y2 and (h.x1, h.x2) == (p.left, p.right)
    assert pt.point and pt.label == "p"


def test_markers_extend_the_range():
    p = build_plot(Figure("t", "x", "y", [Series("s", [0, 1], [0, 1])], markers=[{"x": 100, "label": "far"}]))
    assert p.left <= p.markers[0].x1 <= p.right
    assert p.xticks[-1].label == "100"


def test_marker_a_log_axis_cannot_show_is_noted():
    p = build_plot(Figure("t", "x", "y", [Series("s", [1, 10], [1, 10])], xscale="log", markers=[{"x": 0, "label": "z"}]))
    assert not p.markers and any("marker z" in n for n in p.notes)


def test_long_labels_fit_the_svg():
    long = "L" * 500
    p = build_plot(Figure(long, long, long, [Series(long, [0, 1], [0, 1])], markers=[{"x": 0.5, "label": long}]))
    assert len(p.xlabel) < 90 and len(p.ylabel) < 45 and p.xlabel.endswith("\u2026")
    assert len(p.markers[0].label) < 50 and len(p.legend[0].label) < 90
    assert len(p.layers[0].label) == 120  # the series' <title> keeps more


def test_malformed_figures_never_raise():
    weird = Figure("w", "x", "y", [Series("s", "garbage", None), Series("t", [1, "a", None, [2]], [1, 2, 3, 4], "wavy")],
                   kind="pie", xscale="sqrt")
    p = build_plot(weird)
    assert p.kind == "lines" and p.xscale == "linear"
    assert any("unknown figure kind" in n for n in p.notes)
    assert any("unknown style" in n for n in p.notes)
    broken = build_plot(object())
    assert broken.error.startswith("this figure could not be drawn")
    from_dict = build_plot({"title": "d", "xlabel": "x", "ylabel": "y", "series": [{"label": "s", "x": [1, 2], "y": [1, 2]}]})
    assert len(from_dict.layers) == 1


def test_many_series_are_capped():
    p = build_plot(Figure("t", "x", "y", [Series(f"s{i}", [0, 1], [i, i]) for i in range(30)]))
    assert len(p.layers) == 12 and any("30 series" in n for n in p.notes)


def test_plot_is_deterministic():
    fig = Figure("t", "x", "y", [Series("s", [0.1 * i for i in range(100)], [math.sin(i) for i in range(100)])])
    assert build_plot(fig) == build_plot(fig)


# --------------------------------------------------------------------------
# ticks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("lo,hi,want", [
    (0.0, 1.0, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]),
    (-3.0, 7.0, ["\u22122", "0", "2", "4", "6"]),
    (0.0, 2.5e6, ["0", "5e+05", "1e+06", "1.5e+06", "2e+06", "2.5e+06"]),
    (0.0, 0.25, ["0", "0.05", "0.10", "0.15", "0.20", "0.25"]),
])
def test_linear_ticks(lo, hi, want):
    assert [label for _, label in _linear_ticks(lo, hi)] == want


def test_log_ticks_within_a_decade_use_1_2_5():
    labels = [label for _, label in _log_ticks(math.log10(1.5), math.log10(8))]
    assert labels == ["2", "5"]


# --------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------


def test_clean():
    assert clean("\x1b[31mred\x1b[0m") == "red"
    assert clean("a\x00b\x07c") == "a?b?c"
    assert clean("\u202eevil") == "?evil"
    assert clean("x\ud800y") == "x\ufffdy"
    assert clean("a\n\tb", oneline=True) == "a b"
    assert clean("a\nb") == "a\nb"
    assert clean("x" * 50, 10) == "x" * 10 + "... [40 more characters]"
    assert clean(None) == ""


def test_headline():
    assert headline("\n  first line  \nsecond") == "first line"
    assert headline("y" * 400, 300).endswith("\u2026") and len(headline("y" * 400, 300)) == 300


def test_fmt_num():
    assert [fmt_num(v) for v in (0.5, 1e-8, 12, 1234567.0, math.nan, -math.inf, "inf", None, True)] == [
        "0.5", "1e-08", "12", "1.235e+06", "nan", "-inf", "inf", "\u2014", "true"]


def test_fmt_value_abbreviates_arrays():
    assert fmt_value([1.0, 2.5]) == "[1, 2.5]"
    assert fmt_value([[1, 2], [3, 4]]) == "[[1, 2], [3, 4]]"
    assert fmt_value(list(range(100))) == "[0, 1, 2, \u2026, 97, 98, 99] (100 values, min 0, max 99)"
    grid = [[float(i * 10 + j) for j in range(10)] for i in range(5)]
    assert fmt_value(grid) == "[0, 1, 2, \u2026, 47, 48, 49] (shape (5, 10), min 0, max 49)"
    assert fmt_value([1.0] * 20 + ["nan"]).endswith(", 1 non-finite)")
    assert fmt_value({"real": 1.0, "imag": -2.0}) == "1-2j"
    assert fmt_value([[1], [2, 3]]) == "[[1], [2, 3]]"  # ragged: shown as is
    assert fmt_value(0.1 + 0.2) == "0.3"


# --------------------------------------------------------------------------
# the presentation model
# --------------------------------------------------------------------------


def test_key_metrics_are_numbers_saying_by_how_much_first():
    c = CheckResult("c", "k", Status.FAIL, "m", metrics={"examples": 60, "name": "text", "steps": 5,
                                                          "max_rel_diff": 0.5, "p_value": 1e-9, "shape": [3, 4],
                                                          "seed": 1})
    view = build_view(Report(runs=[RunResult("t", "s", 0, {}, checks=[c])]))
    keys = [p.key for p in view.runs[0].checks[0].key_metrics]
    assert keys == ["max relative difference", "p-value", "examples", "steps"]     # labels, not code names
    assert [p.key for p in view.runs[0].checks[0].metrics] == ["examples", "name", "steps", "max relative difference",
                                                               "p-value", "shape", "seed"]
