"""Hostile target names and messages cannot inject anything into the HTML report.

Every string a target controls (its name, exception messages, printed output,
counterexample keys and values, metric names, figure titles and labels, series
labels, markers, versions, conventions) is put through the report with
payloads for HTML, attribute, template and terminal injection; the document
must keep exactly the structure (tags and attributes) of a harmless report.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_report import ALLOWED_ATTRS, ALLOWED_TAGS, parse

from verify.report import render_html
from verify.results import CheckResult, Figure, Report, RunResult, Series, Status

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</style><script>alert(1)</script>",
    "</textarea></title></pre><script>alert(1)</script>",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<!-- --><script>alert(1)</script>",
    "javascript:alert(1)",
    "{{ 7*7 }}{% raw %}{{ config }}{% endraw %}${7*7}",
    "\x1b[31mred\x1b[0m\x1b]0;title\x07\x1b[2J",
    "a\x00b\x07c\x08d\x0be\x0cf\x7fg\x9bh",
    "\u202eevil\u202dreversed\u2066iso\u2069",
    "lone \ud800 surrogate",
    "&lt;already escaped&gt; &amp; &#60;script&#62;",
]
ALL = "".join(PAYLOADS)


def _hostile_run(text: str, target: str | None = None) -> RunResult:
    t = text
    return RunResult(
        target=target if target is not None else t, spec="l2", seed=0, params={t: t, "lam": 0.01},
        adapter=t, mapping=[t], versions={"dlverify": "0.1.0", t: t}, command=t,
        checks=[
            CheckResult(
                "c-" + t, t, Status.FAIL, t + "\n" + t,
                metrics={t: t, "max_rel_err": 0.5}, counterexample={t: t, "w": [t, t]},
                reproduction=t, diagnosis=t, notes=[t, t + "\n" + t], output=t,
                stat_tests=[{"name": t, "message": t, "method": t, "mde_unit": t, "effect_unit": t,
                             "passed": False, "p_value": 1e-9, "n": 10, "alpha": 0.01, "mde": 0.1,
                             "estimate": 1.0, "expected": 2.0, "effect": -0.5}],
                figures=[Figure(t, t, t, [Series(t, [1, 2, 3], [1, 4, 9], "line"),
                                          Series(t, [1, 2], [2, 3], "points")],
                                markers=[{"x": 2, "label": t}, {"y": 4, "label": t}, {"x": 1, "y": 1, "label": t}]),
                         Figure(t, t, t, [Series(t, [0.1, 0.2, 0.3], [], "step")], kind="histogram"),
                         Figure(t, t, t, [Series(t, [1, 2], [1, 2], "points")], kind="qq")],
            ),
            CheckResult(t, "protocol", Status.ERROR, t + "\n" + t),
            CheckResult("skipped", "protocol", Status.SKIP, t + "\n" + t),
        ],
    )


def _report(text: str) -> Report:
    return Report(runs=[_hostile_run(text), _hostile_run("benign", target="other")], tool_version="0.1.0",
                  created="2026-01-01T00:00:00+00:00")


def _structure(doc: str) -> list[tuple[str, tuple[str, ...]]]:
    # <wbr> (a line-break opportunity inside a long name, no attributes, no content) is placed by the
    # text's own punctuation: not structure
    return [(tag, tuple(sorted(attrs))) for tag, attrs in parse(doc).tags if tag != "wbr"]


BASELINE = _structure(render_html(_report("harmless")))


@pytest.fixture(scope="module")
def hostile_html() -> str:
    return render_html(_report(ALL))


def test_structure_unchanged_by_hostile_text(hostile_html):
    assert _structure(hostile_html) == BASELINE


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_alone(payload):
    doc = render_html(_report(payload))
    assert _structure(doc) == BASELINE
    assert "<script" not in doc.lower()
    assert "<img" not in doc.lower()
    assert "<svg onload" not in doc.lower()


def test_only_known_tags_and_attributes(hostile_html):
    for tag, attrs in parse(hostile_html).tags:
        assert tag in ALLOWED_TAGS, tag
        assert set(attrs) <= ALLOWED_ATTRS, (tag, attrs)
        assert not any(a.startswith("on") for a in attrs)
        if "href" in attrs:  # the only URL-bearing attribute the report uses: anchors in the page
            assert re.fullmatch(r"#run-\d+(-check-\d+)?", attrs["href"]), attrs


def test_text_is_shown_escaped_not_dropped(hostile_html):
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in hostile_html
    # template syntax in data is shown, never evaluated
    assert "{{ 7*7 }}" in hostile_html and "{% raw %}" in hostile_html
    # already-escaped text is escaped again, so it reads as the target wrote it
    assert "&amp;lt;already escaped&amp;gt;" in hostile_html


def test_svg_text_is_escaped(hostile_html):
    for svg in re.findall(r"<svg .*?</svg>", hostile_html, flags=re.S):
        assert "<script" not in svg and "<img" not in svg
        for text in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S):
            assert "<" not in text
        for title in re.findall(r"<title>(.*?)</title>", svg, flags=re.S):
            assert "<" not in title


def test_terminal_controls_and_bidi_removed(hostile_html):
    assert "\x1b" not in hostile_html
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", hostile_html)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", hostile_html)
    assert "red" in hostile_html and "evil" in hostile_html  # the visible text stays


def test_lone_surrogates_do_not_break_writing(tmp_path, hostile_html):
    hostile_html.encode("utf-8")  # strict: would raise on a lone surrogate
    from verify.report import write_html

    path = tmp_path / "r.html"
    write_html(_report(ALL), str(path))
    assert path.read_text(encoding="utf-8") == hostile_html


def test_huge_messages_are_truncated_with_a_note():
    big = "x" * 1_000_000
    r = _report("harmless")
    c = r.runs[0].checks[0]
    c.message = "headline\n" + big
    c.output = big
    c.notes = [big]
    c.diagnosis = big
    c.counterexample = {"w": big, "v": list(range(100_000))}
    r.runs[0].target = "t" * 100_000
    doc = render_html(r)
    assert len(doc.encode("utf-8")) < 250_000
    assert "more characters]" in doc
    assert "(100000 values, min 0, max 99999)" in doc


def test_huge_series_are_decimated():
    n = 200_000
    r = _report("harmless")
    r.runs[0].checks[0].figures = [Figure("long", "x", "y", [Series("s", list(range(n)), [float(i % 97) for i in range(n)])])]
    doc = render_html(r)
    assert f"s: {n} points decimated to" in doc
    assert len(doc.encode("utf-8")) < 250_000


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60).map(lambda s: "x" + s.replace("\n", " ").replace("\r", " ")))
def test_any_text_keeps_the_structure(text):
    """Any text (newlines aside, which turn a one-line note into a block) leaves the tags alone."""
    doc = render_html(Report(runs=[_hostile_run(text)], tool_version="0.1.0", created=""))
    baseline = render_html(Report(runs=[_hostile_run("harmless")], tool_version="0.1.0", created=""))
    assert _structure(doc) == _structure(baseline)
    doc.encode("utf-8")


def test_escaped_name_round_trips():
    name = '<b>"quoted" & \'single\'</b>'
    doc = render_html(Report(runs=[_hostile_run("x", target=name)], tool_version="0.1.0"))
    escaped = "&lt;b&gt;&#34;quoted&#34; &amp; &#39;single&#39;&lt;/b&gt;"
    assert escaped in doc
    assert html.unescape(escaped) == name  # the reader sees exactly the name
