"""The HTML report: golden file, structure, figures, determinism, self-containment.

Golden file
-----------
``tests/golden/report.html`` is the rendering of :func:`sample_report` with the
creation time, versions and durations scrubbed (:func:`scrub`). When a change
to the report is intended, regenerate it and review the diff::

    UPDATE_GOLDEN=1 python -m pytest tests/test_report.py -k golden

:func:`sample_report` (also used by ``test_report_browser.py`` and
``test_report_escaping.py``) is a representative report built by hand:
four targets x four specs with an empty cell, every status, every figure kind
(log-scale trajectories with a theoretical rate and a marker where the
trajectories part, a finite-difference V-curve, a histogram against the
expected density, a QQ plot, running statistics, a step series), statistical
tests, arrays in counterexamples, non-finite values and hostile target text.
"""

from __future__ import annotations

import html.parser
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

import verify
from verify.report import render_html, write_html
from verify.report.model import build_view
from verify.results import CheckResult, Figure, Report, RunResult, Series, Status

GOLDEN = Path(__file__).parent / "golden" / "report.html"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>{{ 7*7 }}\x1b[31mred\x1b[0m\u202eevil'


# --------------------------------------------------------------------------
# the sample report
# --------------------------------------------------------------------------


def _trajectory_figure() -> Figure:
    steps = list(range(0, 61))
    rate = 0.85
    ref = [10.0 * rate ** t for t in steps]
    # the target follows the reference, then parts at step 12 and blows up to inf at step 58
    tgt = [r if t < 12 else r * (1.25 ** (t - 11)) for t, r in zip(steps, ref)]
    tgt[58:] = [math.inf, math.nan, math.nan]
    return Figure(
        title="Loss along the trajectory: target vs reference",
        xlabel="step t", ylabel="loss f(w_t) - f*",
        series=[
            Series("target: my_optim.py:Adam", steps, tgt, "line"),
            Series("reference Adam", steps, ref, "line"),
            Series("theoretical rate 10·0.85^t", steps, [10.0 * rate ** t for t in steps], "dashed"),
        ],
        yscale="log",
        markers=[{"x": 12, "label": "trajectories part (step 12)"}],
    )


def _distance_figure() -> Figure:
    steps = list(range(0, 40))
    dist = [0.0 if t < 12 else 1e-3 * 2.0 ** (t - 12) for t in steps]  # zeros: not drawable on a log axis
    return Figure("Distance between target and reference iterates", "step t", "‖w_target − w_ref‖",
                  [Series("‖Δw‖", steps, dist, "points")], yscale="log",
                  markers=[{"y": 1e-6, "label": "tolerance"}])


def _vcurve_figure() -> Figure:
    hs = [10.0 ** e for e in range(-12, 0)]
    err = [1e-16 / h + 0.3 * h * h for h in hs]
    return Figure("Finite-difference error against step size", "step h", "relative error",
                  [Series("central difference", hs, err, "line"),
                   Series("O(h²) truncation", hs, [0.3 * h * h for h in hs], "dashed"),
                   Series("O(ε/h) rounding", hs, [1e-16 / h for h in hs], "dashed")],
                  xscale="log", yscale="log", markers=[{"x": 1e-5, "label": "chosen h = 1e-5"}])


def _histogram_figures() -> list[Figure]:
    rng = np.random.default_rng(7)
    sample = rng.normal(0.0, 0.0625, size=400)
    counts, edges = np.histogram(sample, bins=16, density=True)
    xs = np.linspace(-0.25, 0.25, 41)
    density = np.exp(-0.5 * (xs / 0.0625) ** 2) / (0.0625 * math.sqrt(2 * math.pi))
    hist = Figure("Initialised weights against N(0, √(2/fan_in))", "weight", "density",
                  [Series("sample (400 weights)", edges.round(6).tolist(), counts.round(6).tolist(), "step"),
                   Series("expected density", xs.round(6).tolist(), density.round(6).tolist(), "line")],
                  kind="histogram")
    q = np.sort(sample[:60])
    theo = [0.0625 * math.sqrt(2) * _erfinv(2 * (i + 0.5) / 60 - 1) for i in range(60)]
    qq = Figure("QQ plot against the expected normal", "expected quantile", "sample quantile",
                [Series("weights", [round(t, 6) for t in theo], q.round(6).tolist(), "points")], kind="qq")
    raw = Figure("Bias values (raw samples, binned by the report)", "bias", "density",
                 [Series("bias", rng.uniform(0.0, 0.1, size=50).round(6).tolist() + ["nan"], [], "step")],
                 kind="histogram")
    return [hist, qq, raw]


def _erfinv(y: float) -> float:
    from scipy.special import erfinv

    return float(erfinv(y))


def _running_stats_figure() -> Figure:
    steps = list(range(1, 41))
    mean = [2.0 * (1 - 0.9 ** t) for t in steps]
    var = [1.0 + 3.0 * (1 - 0.9 ** t) for t in steps]
    return Figure("Batch-norm running statistics converging", "batches seen", "value",
                  [Series("running mean", steps, mean), Series("running variance", steps, var),
                   Series("population mean", [1, 40], [2.0, 2.0], "dashed"),
                   Series("population variance", [1, 40], [4.0, 4.0], "dashed"),
                   Series("learning-rate schedule", [1, 10, 20, 30, 40], [1, 1, 0.5, 0.5, 0.25], "step")],
                  markers=[{"x": 30, "y": 3.8, "label": "within 5%"}])


def _stat_test(name: str, passed: bool, p: float, est: float, exp: float) -> dict:
    return {"name": name, "statistic": 1.234, "p_value": p, "n": 4096, "alpha": 2.5e-7, "mde": 0.0153,
            "mde_unit": "relative sigma error", "passed": passed, "estimate": est, "expected": exp,
            "effect": (est - exp) / exp, "effect_unit": "relative", "method": "chi-square test of the variance",
            "power": 0.9, "summary": f"{name}: {est} vs {exp}",
            "message": f"{name}: {est} vs expected {exp}; p = {p} {'>' if passed else '<='} α = 2.5e-07",
            "details": {}}


def sample_report(tool_version: str | None = None, versions: dict | None = None) -> Report:
    """A representative report (see the module docstring). Deterministic."""
    tool_version = verify.__version__ if tool_version is None else tool_version
    versions = versions or {"dlverify": tool_version, "python": "3.11.7", "numpy": np.__version__}
    hist, qq, raw = _histogram_figures()

    bad_opt = RunResult(
        target="my_optim.py:Adam", spec="adam", seed=0, params={"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8},
        adapter="numpy optimizer: init(params) / step(state, grads)",
        mapping=["betas = (beta1, beta2)", "bias correction: on (PyTorch convention)"],
        versions=dict(versions), command="verify check my_optim.py:Adam --spec adam --seed 0", duration=3.21,
        checks=[
            CheckResult("update-rule", "reference", Status.PASS,
                        "step() matches the reference update at 60 drawn states (max relative difference 3.1e-16)",
                        metrics={"examples": 60, "max_rel_diff": 3.1e-16}, duration=0.41),
            CheckResult("trajectory-vs-reference", "trajectory", Status.FAIL,
                        "trajectory leaves the reference at step 12: relative error 0.2 > rtol 1e-06\n"
                        "ACTUAL = target's iterate w_12, DESIRED = reference Adam w_12\n"
                        "Tolerance: rtol=1.000e-06\n"
                        "Mismatched elements: 3 / 4 (75%)\n"
                        "Worst mismatches:\n"
                        "  index   ACTUAL  DESIRED  abs err  rel err  tolerance\n"
                        "      2   0.7512   0.6260   0.1252      0.2  6.260e-07\n"
                        "Max absolute difference: 0.1252\n"
                        "Max relative difference: 0.2",
                        metrics={"first_divergent_step": 12, "max_rel_err": 0.2, "final_loss": "inf",
                                 "reference_final_loss": 5.6e-4},
                        counterexample={"w0": [0.5, -1.25, 2.0, 0.0], "lr": 0.001,
                                        "grads": np.linspace(-1, 1, 40).reshape(4, 10).round(4).tolist()},
                        reproduction="verify check my_optim.py:Adam --spec adam --seed 0 --check trajectory-vs-reference",
                        diagnosis="the second-moment estimate is not bias-corrected: the first steps are too large "
                                  "by sqrt(1 - beta2^t)",
                        notes=["compared for 60 steps on a quadratic bowl with condition number 10"],
                        figures=[_trajectory_figure(), _distance_figure()], duration=1.73),
            CheckResult("state-dtype", "protocol", Status.ERROR,
                        "step() raised TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'",
                        notes=["Traceback (most recent call last):\n  File \"my_optim.py\", line 14, in step\n"
                               "    m = self.beta1 * m + g\nTypeError: unsupported operand type(s)"],
                        output="step 1: m=None\nstep 2: m=None\n",
                        reproduction="verify check my_optim.py:Adam --spec adam --seed 0 --check state-dtype",
                        duration=0.02),
            CheckResult("convergence-rate", "trajectory", Status.TIMEOUT,
                        "no result within the 60 s time limit", duration=60.0),
            CheckResult("sparse-gradients", "protocol", Status.SKIP,
                        "the target provides no sparse step (optional in the protocol)"),
        ],
    )
    ref_opt = RunResult(
        target="reference", spec="adam", seed=0, params={"lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8},
        adapter="reference implementation", versions=dict(versions),
        command="verify check reference --spec adam --seed 0", duration=2.0,
        checks=[CheckResult("trajectory-vs-reference", "trajectory", Status.PASS,
                            "the trajectory follows the reference for 60 steps (max relative error 0)",
                            metrics={"max_rel_err": 0.0, "steps": 60},
                            figures=[Figure("Loss along the trajectory", "step t", "loss",
                                            [Series("reference Adam", list(range(30)),
                                                    [0.9 ** t for t in range(30)])], yscale="log")],
                            duration=1.0)],
    )
    ref_init = RunResult(
        target="reference", spec="init-he", seed=0, params={"fan_in": 512, "fan_out": 256},
        adapter="reference implementation", versions=dict(versions),
        command="verify check reference --spec init-he --seed 0", duration=1.5,
        checks=[
            CheckResult("std", "statistical", Status.PASS,
                        "sample std 0.06243 matches √(2/fan_in) = 0.0625 (p = 0.41 > α = 2.5e-07)",
                        metrics={"std": 0.06243, "expected": 0.0625, "p_value": 0.41},
                        stat_tests=[_stat_test("std", True, 0.41, 0.06243, 0.0625),
                                    _stat_test("mean", True, 0.77, 0.0001, 1e-9)],
                        figures=[hist, qq], duration=0.3),
            CheckResult("bias-sample", "statistical", Status.PASS, "biases are small and positive",
                        figures=[raw], duration=0.1),
        ],
    )
    ref_bn = RunResult(
        target="reference", spec="batchnorm", seed=0, params={"eps": 1e-5, "momentum": 0.1},
        adapter="reference implementation", versions=dict(versions),
        mapping=["running variance fed the unbiased batch variance (PyTorch)"],
        command="verify check reference --spec batchnorm --seed 0", duration=0.8,
        checks=[CheckResult("running-statistics", "trajectory", Status.PASS,
                            "running mean and variance converge to the population values (within 1.2% after 40 batches)",
                            metrics={"rel_err_mean": 0.004, "rel_err_var": 0.012},
                            figures=[_running_stats_figure()], duration=0.2)],
    )
    bad_grad = RunResult(
        target="my_l2.py:grad", spec="l2", seed=0, params={"lam": 0.01},
        adapter="numpy regulariser: grad(w, lam) = grad", versions=dict(versions),
        command="verify check my_l2.py:grad --spec l2 --seed 0", duration=0.7,
        checks=[
            CheckResult("gradient-vs-symbolic", "symbolic", Status.FAIL,
                        "grad(w, lam) does not match sympy: ∂/∂w (λ Σ w²) = 2*lambda*w: 1 of 1 entries differ, "
                        "max relative difference 0.5\nMax relative difference: 0.5",
                        metrics={"examples": 21, "max_rel_diff": 0.5},
                        counterexample={"w": [1.0], "lam": 1.0},
                        diagnosis="the gradient is off by a constant factor 0.5: λw is the gradient of (λ/2) Σ w²",
                        reproduction="verify check my_l2.py:grad --spec l2 --seed 0 --check gradient-vs-symbolic",
                        duration=0.5),
            CheckResult("gradient-finite-difference", "gradient", Status.FAIL,
                        "grad disagrees with central differences of the penalty: relative error 0.5 at the best step",
                        metrics={"rel_err": 0.5, "best_step": 1e-5},
                        figures=[_vcurve_figure()], duration=0.1),
        ],
    )
    hostile = RunResult(
        target=HOSTILE, spec="l2", seed=0, params={"lam": HOSTILE},
        adapter=HOSTILE, mapping=[HOSTILE], versions={**versions, "evil<lib>": HOSTILE},
        command=f"verify check '{HOSTILE}' --spec l2", duration=0.1,
        checks=[CheckResult(
            "hostile-" + HOSTILE, HOSTILE, Status.ERROR, HOSTILE + "\nsecond line " + HOSTILE,
            metrics={HOSTILE: HOSTILE, "x": 1.0}, counterexample={HOSTILE: HOSTILE},
            reproduction=HOSTILE, diagnosis=HOSTILE, notes=[HOSTILE], output=HOSTILE + "\x00\x07\x08",
            stat_tests=[{"name": HOSTILE, "message": HOSTILE, "method": HOSTILE, "mde_unit": HOSTILE}],
            figures=[Figure(HOSTILE, HOSTILE, HOSTILE, [Series(HOSTILE, [1, 2, 3], [1, 4, 9])],
                            markers=[{"x": 2, "label": HOSTILE}])],
            duration=0.01)],
    )
    return Report(runs=[bad_opt, ref_opt, ref_init, ref_bn, bad_grad, hostile], tool_version=tool_version,
                  created="2026-01-02T03:04:05+00:00")


def optimizer_report() -> Report:
    """Only the failing optimizer: what a user checking their Adam sees."""
    r = sample_report()
    return Report(runs=[r.runs[0]], tool_version=r.tool_version, created=r.created)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def scrub(text: str) -> str:
    """The HTML with the creation time, versions and durations replaced by placeholders."""
    text = re.sub(r'(<time class="created">)[^<]*(</time>)', r"\1CREATED\2", text)
    text = re.sub(r'(<span class="ver">)[^<]*(</span>)', r"\1VERSION\2", text)
    text = re.sub(r'(<span class="dur">)[^<]*(</span>)', r"\1TIME\2", text)
    text = re.sub(r'(<span class="dur-run">)[^<]*(</span>)', r"\1TIME\2", text)
    return text


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.svgs: list[list[tuple[str, dict]]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "svg":
            self.svgs.append([])
        elif self.svgs and "svg" in self.stack:
            self.svgs[-1].append((tag, a))
        if tag not in ("meta", "path", "rect", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass


def parse(text: str) -> _Tags:
    p = _Tags()
    p.feed(text)
    p.close()
    return p


@pytest.fixture(scope="module")
def sample_html() -> str:
    return render_html(sample_report())


# --------------------------------------------------------------------------
# golden file
# --------------------------------------------------------------------------


def test_golden_file(sample_html):
    """Regenerate with ``UPDATE_GOLDEN=1`` after an intended change; review the diff."""
    got = scrub(sample_html)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(got, encoding="utf-8")
    assert GOLDEN.exists(), "no golden file; run with UPDATE_GOLDEN=1 to create it"
    want = GOLDEN.read_text(encoding="utf-8")
    if got != want:
        import difflib

        diff = "".join(list(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "rendered"))[:80])
        pytest.fail("the report differs from tests/golden/report.html (UPDATE_GOLDEN=1 regenerates it):\n" + diff)


def test_scrub_removes_every_version_and_time():
    a = scrub(render_html(sample_report(tool_version="0.0.1", versions={"dlverify": "0.0.1", "numpy": "1.0"})))
    b = scrub(render_html(sample_report(tool_version="9.9.9", versions={"dlverify": "9.9.9", "numpy": "3.2"})))
    assert a == b
    assert "9.9.9" not in b and "CREATED" in b and "VERSION" in b


# --------------------------------------------------------------------------
# determinism and the data model boundary
# --------------------------------------------------------------------------


def test_deterministic_and_json_round_trip(sample_html):
    assert render_html(sample_report()) == sample_html
    again = Report.from_json(sample_report().to_json())
    assert render_html(again) == sample_html  # non-finite values as "nan"/"inf" strings render the same


def test_no_random_ids(sample_html):
    ids = re.findall(r'\bid="([^"]*)"', sample_html)
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"run-\d+(-check-\d+)?", i) for i in ids)


# --------------------------------------------------------------------------
# self-contained
# --------------------------------------------------------------------------


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "footer", "section", "div", "span", "p",
    "h1", "h2", "h4", "b", "small", "a", "ol", "ul", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th",
    "td", "details", "summary", "pre", "code", "time", "figure", "figcaption", "wbr",
    "svg", "g", "path", "rect", "text",
}
ALLOWED_ATTRS = {
    "lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "open", "role", "aria-label",
    "aria-hidden", "title", "colspan", "viewbox", "width", "height", "font-size", "x", "y", "d", "fill",
    "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-linecap", "stroke-linejoin",
    "text-anchor", "transform", "opacity", "font-weight",
}


def test_self_contained_structure(sample_html):
    """Only known tags and attributes; links only to anchors in the page; a CSP that forbids loading."""
    for tag, attrs in parse(sample_html).tags:
        assert tag in ALLOWED_TAGS, tag
        assert set(attrs) <= ALLOWED_ATTRS, (tag, attrs)
        if "href" in attrs:
            assert re.fullmatch(r"#run-\d+(-check-\d+)?", attrs["href"]), attrs
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'' \
        in sample_html


def test_self_contained_no_urls():
    """Without hostile text in the report, no URL-ish string appears anywhere, CSS included."""
    r = sample_report()
    r.runs = r.runs[:-1]
    low = render_html(r).lower()
    for bad in ("<script", "<link", "<img", "<iframe", "<object", "<embed", "<image", "<use", "url(",
                "@import", "@font-face", "http:", "https:", "file://", "data:", "src=", "xlink", "xmlns"):
        assert bad not in low, bad


def test_write_html_is_atomic(tmp_path):
    path = tmp_path / "sub" / "r.html"
    write_html(sample_report(), str(path))
    assert path.read_text(encoding="utf-8") == render_html(sample_report())
    assert sorted(p.name for p in path.parent.iterdir()) == ["r.html"]  # no temporary file left


# --------------------------------------------------------------------------
# structure: header, matrix, sections, rows
# --------------------------------------------------------------------------


def test_header_verdict_and_metadata(sample_html):
    v = build_view(sample_report())
    assert v.verdict == "fail"
    assert "checks found a problem" in v.verdict_text
    head = sample_html.split("</header>", 1)[0]
    assert 'class="top s-fail"' in head
    assert "2026-01-02T03:04:05+00:00" in head
    assert "seed 0" in head
    assert f'numpy <span class="ver">{np.__version__}</span>' in head


def test_matrix_rows_targets_columns_specs(sample_html):
    """As many targets as specs: a row per target (the longer list runs down the page)."""
    v = build_view(sample_report())
    assert v.specs == ["adam", "init-he", "batchnorm", "l2"]
    assert v.matrix_corner == "target \\ spec" and ["".join(c) for c in v.matrix_columns] == v.specs
    assert ["".join(row.label) for row in v.matrix][:3] == ["my_optim.py:Adam", "reference", "my_l2.py:grad"]
    assert v.matrix[0].label == ["my_", "optim.", "py:", "Adam"]      # a long name wraps at its punctuation
    cells = {"".join(row.label): [[s for _, s, _ in c.runs] for c in row.cells] for row in v.matrix}
    assert cells["my_optim.py:Adam"] == [["fail"], [], [], []]
    assert cells["reference"] == [["pass"], ["pass"], ["pass"], []]
    assert cells["my_l2.py:grad"] == [[], [], [], ["fail"]]
    matrix = sample_html.split('<table class="matrix">', 1)[1].split("</table>", 1)[0]
    assert matrix.count("<tr>") == 1 + len(v.matrix)
    assert matrix.count('<td class="none">') == 16 - 6
    for i in range(6):
        assert f'href="#run-{i}"' in matrix
        assert f'id="run-{i}"' in sample_html


def test_matrix_with_more_specs_than_targets_has_a_row_per_spec():
    runs = [RunResult("reference", spec, 0, {}, checks=[CheckResult("c", "k", Status.PASS)])
            for spec in ("l1", "l2", "adam")] + [RunResult("my.py:f", "l2", 0, {}, checks=[CheckResult("c", "k", Status.FAIL)])]
    v = build_view(Report(runs=runs))
    assert v.matrix_corner == "spec \\ target" and ["".join(c) for c in v.matrix_columns] == ["reference", "my.py:f"]
    cells = {"".join(row.label): [[s for _, s, _ in c.runs] for c in row.cells] for row in v.matrix}
    assert cells == {"l1": [["pass"], []], "l2": [["pass"], ["fail"]], "adam": [["pass"], []]}


def test_problem_list_names_check_and_numbers(sample_html):
    problems = sample_html.split("<h2>Problems</h2>", 1)[1].split("</ol>", 1)[0]
    assert "trajectory-vs-reference" in problems
    assert "trajectory leaves the reference at step 12" in problems
    assert '<span class="k">max relative error</span> 0.2' in problems
    assert 'href="#run-0-check-1"' in problems


def test_failing_checks_first_and_open_passing_collapsed(sample_html):
    section = sample_html.split('id="run-0"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<details class="check c-(\w+)[^"]*" id="([^"]+)"( open)?>', section)
    assert [r[0] for r in rows] == ["fail", "error", "timeout", "pass", "skip"]
    assert [bool(r[2]) for r in rows] == [True, True, True, False, False]
    assert rows[0][1] == "run-0-check-1"  # anchors keep the check's index in the run


def test_check_row_has_headline_numbers_and_details(sample_html):
    block = sample_html.split('id="run-0-check-1"', 1)[1].split("</details>", 1)[0]
    summary = block.split("</summary>", 1)[0]
    assert "trajectory leaves the reference at step 12: relative error 0.2 &gt; rtol 1e-06" in summary
    assert "ACTUAL" not in summary  # only the headline in the row
    assert '<span class="k">max relative error</span> 0.2' in summary
    assert '<span class="k">first divergent step</span> 12' in summary
    detail = block.split("</summary>", 1)[1]
    # the numpy.testing layout survives in a <pre>
    assert "  index   ACTUAL  DESIRED  abs err  rel err  tolerance\n      2   0.7512" in detail
    assert "<h4>Diagnosis</h4>" in detail and "bias-corrected" in detail
    assert "<h4>Counterexample</h4>" in detail
    assert "[0.5, -1.25, 2, 0]" in detail
    assert "[-1, -0.9487, -0.8974, \u2026, 0.8974, 0.9487, 1] (shape (4, 10), min -1, max 1)" in detail
    assert "verify check my_optim.py:Adam --spec adam --seed 0 --check trajectory-vs-reference" in detail
    assert "quadratic bowl" in detail
    assert "<figure" in detail


def test_error_row_shows_traceback_and_output(sample_html):
    block = sample_html.split('id="run-0-check-2"', 1)[1].split("</details>", 1)[0]
    assert '<pre class="note bidi">Traceback (most recent call last):' in block
    assert "<h4>The target printed</h4>" in block and "step 2: m=None" in block


def test_stat_tests_table(sample_html):
    section = sample_html.split('id="run-2"', 1)[1].split("</section>", 1)[0]
    table = section.split('<table class="stats">', 1)[1].split("</table>", 1)[0]
    for header in ("n", "&alpha;", "p-value", "estimate", "expected", "MDE"):
        assert f"<th>{header}</th>" in table
    assert '<td class="num">4096</td>' in table
    assert '<td class="num">2.5e-07</td>' in table
    assert "0.0153 relative sigma error" in table
    assert table.count("<tr>") == 1 + 2 * 2


def test_incomplete_banner():
    r = sample_report()
    assert "incomplete" not in render_html(r).split("<main>", 1)[1].split("</header>", 1)[0].lower()
    r.incomplete = True
    r.runs[1].incomplete = True
    out = render_html(r)
    assert out.count('class="banner"') == 2
    assert build_view(r).verdict == "incomplete"
    assert "INCOMPLETE" in out


def test_single_run_has_no_matrix():
    out = render_html(optimizer_report())
    assert '<table class="matrix">' not in out
    assert "my_optim.py:Adam</span> against spec <b>adam</b>" in out


def test_empty_report_renders():
    out = render_html(Report(tool_version="0.1.0", created=""))
    assert "Nothing was checked" in out and "holds no runs" in out


def test_malformed_fields_do_not_break_the_page():
    c = CheckResult("c", "k", Status.FAIL, "m", metrics=[1, 2], counterexample="w=1", notes="one note",
                    stat_tests=[None, "text"], figures=[{"title": "from json", "xlabel": "x", "ylabel": "y",
                                                         "series": [{"label": "s", "x": [1, 2], "y": ["nan", 1]}]}])
    run = RunResult("t", "s", None, params=None, versions=None, mapping=None, checks=[c])
    out = render_html(Report(runs=[run]))
    assert "one note" in out and "w=1" in out and "from json" in out
    assert "<p class=\"note bidi\">o</p>" not in out


def test_failing_check_without_figure_still_shows_numbers():
    out = render_html(sample_report())
    block = out.split('id="run-4-check-0"', 1)[1].split("</details>", 1)[0]
    assert "<figure" not in block
    assert '<span class="k">max relative difference</span> 0.5' in block
    assert "constant factor 0.5" in block and " open>" in out.split('id="run-4-check-0"', 1)[1][:10]


# --------------------------------------------------------------------------
# figures in the page
# --------------------------------------------------------------------------


def _all_figures(report: Report) -> list[Figure]:
    out = []
    for run in report.runs:
        order = sorted(range(len(run.checks)), key=lambda j: ({"fail": 0, "error": 1, "timeout": 2, "pass": 3,
                                                                 "skip": 4}[run.checks[j].status.value], j))
        for j in order:
            out.extend(run.checks[j].figures)
    return out


def test_every_figure_is_one_svg_with_one_path_per_series(sample_html):
    figures = _all_figures(sample_report())
    doc = parse(sample_html)
    assert len(doc.svgs) == len(figures)
    for fig, svg in zip(figures, doc.svgs):
        series = [a for t, a in svg if t == "path" and "series" in a.get("class", "").split()]
        assert len(series) == len(fig.series), fig.title
        for s, a in zip(fig.series, series):
            classes = a["class"].split()
            if fig.kind == "histogram" and s.style == "step":
                assert classes[1] == "bars"
            elif s.style == "points" or (fig.kind == "qq" and s.style != "dashed"):
                assert classes[1] == "points"
            else:
                assert classes[1] == "line"
            assert ("dashed" in classes) == (s.style == "dashed" and classes[1] == "line")
            assert a["d"].startswith("M")
        identity = [a for t, a in svg if t == "path" and a.get("class") == "identity"]
        assert len(identity) == (1 if fig.kind == "qq" else 0)
        markers = [a for t, a in svg if t == "g" and a.get("class") == "marker"]
        assert len(markers) == len(fig.markers)


def test_figure_notes_in_page(sample_html):
    assert "target: my_optim.py:Adam: 3 non-finite value(s) (nan/inf) not drawn; the last finite point is at x = 57." in sample_html
    assert "‖Δw‖: 12 point(s) with y &lt;= 0 not drawn on the log axis." in sample_html
    assert "bias: 1 non-finite sample value(s) not counted." in sample_html
    assert "bias: histogram of 50 samples in 7 bins, scaled as a density." in sample_html


def test_log_axes_labelled(sample_html):
    assert "(log scale)" in sample_html
    doc = parse(sample_html)
    vcurve = doc.svgs[[f.title for f in _all_figures(sample_report())].index(
        "Finite-difference error against step size")]
    assert any(t == "text" for t, _ in vcurve)


# --------------------------------------------------------------------------
# the command line writes the report
# --------------------------------------------------------------------------


def test_cli_writes_html(tmp_path, capsys):
    from verify.cli import main

    target = tmp_path / "my_l2.py"
    target.write_text("def grad(w, lam):\n    return lam * w\n")
    out = tmp_path / "r.html"
    code = main(["check", f"{target}:grad", "--spec", "l2", "--html", str(out), "--no-isolation",
                 "--check", "gradient-vs-symbolic"])
    assert code == 1
    text = out.read_text(encoding="utf-8")
    assert 'class="top s-fail"' in text
    row = text.split('<details class="check c-fail problem"', 1)[1].split("</summary>", 1)[0]
    assert "gradient-vs-symbolic" in row and "0.5" in row  # which check failed, and by how much
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    json.dumps(text)  # valid text
