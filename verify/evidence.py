"""Typed evidence: what a check found, as records that serialise themselves.

A check returns an :class:`Outcome` (its status, message and evidence); the
runner wraps it, unchanged, in a :class:`verify.results.CheckResult`. The
kinds of evidence:

* :class:`Comparison` (with its :class:`Mismatch` es): the result of the one
  comparison engine, :func:`verify.compare.compare`; ``str()`` is the
  numpy.testing-like report a message embeds;
* :class:`StatTest`: one hypothesis test (statistic, p-value, level, power,
  minimum detectable effect, measured and expected value);
* :class:`Counterexample`: the inputs on which a check failed, by name;
* :class:`Figure` (of :class:`Series`): plot data the HTML report draws;
* :class:`Diagnosis`: the likely cause, named (a catalogued variant or bug, an
  equivalent convention, a hyperparameter changed, a structural finding, or
  no match) with the numbers that support it (:class:`Candidate` s,
  :class:`HyperparameterFit`); it reads as its text. The catalogue that finds
  an optimizer's is :mod:`verify.diagnosis`.

Each record has ``to_dict()`` (its part of the JSON report, layout
``dlverify.report/3``) and ``from_dict()`` (tolerant: a report is read back
from a worker process or a file). How each is shown is decided in one place
per front end: :mod:`verify.report.model` (HTML) and :mod:`verify.console`
(terminal); checks never format evidence for a renderer.

This module is low in the import graph (numpy, :mod:`verify.numbers`,
nothing of the verifier above them).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from verify.numbers import format_number, format_p, format_percent, format_short

__all__ = [
    "Status",
    "jsonable",
    "Mismatch",
    "Comparison",
    "StatTest",
    "Details",
    "Holm",
    "MeanDetails",
    "MeanValueDetails",
    "TwoHypothesesDetails",
    "StdDetails",
    "ShapeDetails",
    "SupportDetails",
    "CorrelationDetails",
    "ConstantVectorsDetails",
    "LagDetails",
    "DETAIL_TYPES",
    "Counterexample",
    "DiagnosisKind",
    "Candidate",
    "HyperparameterFit",
    "Diagnosis",
    "Series",
    "Figure",
    "Outcome",
    "passed",
    "failed",
    "skipped",
    "inconclusive",
    "DEFAULT_POWER",
    "check_level",
    "stat_message",
]

#: Power at which statistical tests plan their sample sizes and state their MDEs.
DEFAULT_POWER = 0.99


class Status(str, enum.Enum):
    """Status of one check."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    TIMEOUT = "timeout"
    #: The check ran but its evidence cannot decide (no sharp estimator, a value the target
    #: cannot take): neither a pass nor a failure; the message says why and what to try.
    INCONCLUSIVE = "inconclusive"

    @property
    def is_problem(self) -> bool:
        """Whether this status makes the run (and the command) fail."""
        return self in (Status.FAIL, Status.ERROR, Status.TIMEOUT)

    def __str__(self) -> str:
        return self.value


def jsonable(value: Any) -> Any:
    """``value`` converted to JSON-safe Python types (numpy scalars and arrays included).

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the
    output is strict JSON.
    """
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isfinite(f):
            return f
        return "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")
    if isinstance(value, (complex, np.complexfloating)):
        return {"real": jsonable(value.real), "imag": jsonable(value.imag)}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        return jsonable(to_dict() if to_dict else dataclasses.asdict(value))
    return str(value)


# --------------------------------------------------------------------------
# comparisons
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """One entry where ACTUAL and DESIRED disagree."""

    index: tuple[int, ...]
    actual: float
    desired: float
    abs_err: float
    rel_err: float
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"index": list(self.index)}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`; ``str()`` gives the failure report."""

    ok: bool
    header: str
    structural: tuple[str, ...]
    n_mismatch: int
    n_total: int
    worst: tuple[Mismatch, ...]
    max_abs: float
    max_rel: float
    tolerance_text: str

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        lines = [self.header] if self.header else []
        if self.tolerance_text:
            lines.append(f"Tolerance: {self.tolerance_text}")
        lines.extend(self.structural)
        if self.n_total:
            pct = 100.0 * self.n_mismatch / self.n_total
            lines.append(
                f"Mismatched elements: {self.n_mismatch} / {self.n_total} ({pct:.3g}%)"
            )
        if self.worst:
            lines.append(_worst_table(self.worst))
        if self.n_total:
            lines.append(f"Max absolute difference: {format_number(self.max_abs)}")
            lines.append(f"Max relative difference: {format_number(self.max_rel)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "structural": list(self.structural),
            "n_mismatch": self.n_mismatch,
            "n_total": self.n_total,
            "worst": [m.to_dict() for m in self.worst],
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "tolerance": self.tolerance_text,
        }


def _worst_table(worst: Sequence[Mismatch]) -> str:
    rows = [("index", "ACTUAL", "DESIRED", "abs err", "rel err", "tolerance")]
    for m in worst:
        rows.append(
            (
                str(m.index if len(m.index) != 1 else m.index[0]),
                format_number(m.actual, 12),
                format_number(m.desired, 12),
                format_number(m.abs_err),
                format_number(m.rel_err),
                format_number(m.tolerance),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return "Worst mismatches:\n" + "\n".join(out)


# --------------------------------------------------------------------------
# statistical tests
# --------------------------------------------------------------------------


def check_level(alpha: Any, what: str = "alpha") -> float:
    """``alpha`` as a float in (0, 1), else a ValueError naming ``what``."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number in (0, 1), got {alpha!r}") from None
    if not (0.0 < a < 1.0):
        raise ValueError(f"{what} must be in (0, 1), got {alpha!r}")
    return a


def _mde_text(mde: float, unit: str) -> str:
    if unit.startswith("relative"):
        return f"{format_percent(mde, signed=False)} {unit}"
    return f"{format_short(mde, 3)} {unit}"


# --------------------------------------------------------------------------
# what a statistical test found beyond its common fields
# --------------------------------------------------------------------------


def _restored(value: Any) -> Any:
    """A value of a report read back: ``"nan"``/``"inf"``/``"-inf"`` (how :func:`jsonable` writes them) as floats."""
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


class _RecordMapping(Mapping[str, Any]):
    """A record that reads as the dict its JSON holds: the fields ``_keys()`` names, in that order."""

    def _keys(self) -> Sequence[str]:
        return _field_names(type(self))

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (non-finite floats become ``"nan"``/``"inf"``)."""
        return jsonable(dict(self))


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@dataclasses.dataclass(frozen=True)
class Holm(_RecordMapping):
    """How Holm's procedure decided a test within its family (:func:`verify.stats.apply_holm`); reads as the
    dict it was (``details["holm"]["family_size"]``)."""

    family_alpha: float
    family_size: int
    adjusted_p_value: float


@dataclasses.dataclass(frozen=True)
class Details(_RecordMapping):
    """What a statistical test found beyond :class:`StatTest`'s common fields: one record type per kind of
    test (its fields named, no free-form dict), and ``holm`` once Holm's procedure decided it.

    This base type holds nothing more (a test with no further facts, e.g. a constant sample). A record
    reads as the mapping its JSON holds (``t.details["verdict"]``), as the dicts before it did.
    """

    holm: Holm | None = dataclasses.field(default=None, kw_only=True)

    def _keys(self) -> list[str]:
        """The facts in their order, then ``holm`` when the test was decided within a family."""
        names = [n for n in _field_names(type(self)) if n != "holm"]
        return names + (["holm"] if self.holm is not None else [])

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> "Details | Mapping[str, Any]":
        """The record whose fields are ``d``'s keys (a report does not name the type: each type's fields
        differ); ``d`` as it is when none fits (a report of another version, or a hostile target's)."""
        holm = d.get("holm")
        keys = set(d) - {"holm"}
        if holm is not None and not (isinstance(holm, Mapping) and set(holm) == set(_field_names(Holm))):
            return d
        for cls in DETAIL_TYPES:
            if keys == {n for n in _field_names(cls) if n != "holm"}:
                return cls(**{k: _restored(d[k]) for k in keys},
                           holm=Holm(**{k: _restored(v) for k, v in holm.items()}) if holm is not None else None)
        return d


@dataclasses.dataclass(frozen=True)
class MeanDetails(Details):
    """z-test of a mean with known σ (:func:`verify.stats.mean_test`)."""

    expected_std: float
    standard_error: float


@dataclasses.dataclass(frozen=True)
class MeanValueDetails(Details):
    """t-test of replicate values' mean (:func:`verify.stats.mean_value_test`)."""

    standard_error: float
    sample_std: float


@dataclasses.dataclass(frozen=True)
class TwoHypothesesDetails(Details):
    """Which of two predicted means the values support (:func:`verify.stats.two_hypotheses_test`): the
    t-test against the alternative, the verdict (a label, ``"neither"`` or ``"inconclusive"``), and the
    planned power to tell them apart (``n_needed`` values reach ``power``)."""

    labels: list[str]
    alternative: float
    t_alternative: float
    p_alternative: float
    verdict: str
    standard_error: float
    separation_se: float
    planned_power: float
    n_needed: int


@dataclasses.dataclass(frozen=True)
class StdDetails(Details):
    """χ²-type test of σ (:func:`verify.stats.std_test`): the distribution assumed (or the excess kurtosis
    given), the variance factor it implies, whether the mean was known, the sample variance."""

    distribution: str
    excess_kurtosis: float
    variance_factor: float
    known_mean: bool
    variance: float


@dataclasses.dataclass(frozen=True)
class ShapeDetails(Details):
    """Goodness of fit with the scale fitted (:func:`verify.stats.shape_test`): the fit (location, scale and
    its interval, the interval's miss probability, the truncation), the support and the values outside it,
    the Kolmogorov distance and where it is largest, the σ of the fitted hypothesis."""

    distribution: str
    loc: float
    scale: float
    scale_interval: list[float]
    interval_miss: float
    truncation: float | None
    support: list[float]
    n_outside_support: int
    ks_distance: float
    ks_location: float
    std_of_hypothesis: float


@dataclasses.dataclass(frozen=True)
class SupportDetails(Details):
    """Values beyond a bounded distribution's support (:func:`verify.stats.support_test`): the bound at the
    top of the scale's interval, how many values pass it and how far the farthest reaches, and the fraction
    an implementation lets through by design (``leak``; 0: none may)."""

    distribution: str
    loc: float
    scale_interval: list[float]
    bound: float
    n_outside_support: int
    max_abs: float
    interval_miss: float
    leak: float


@dataclasses.dataclass(frozen=True)
class CorrelationDetails(Details):
    """Largest |Pearson r| over pairs of rows or columns (:func:`verify.stats.correlation_test`): the axis,
    how many vectors (of how many) of what length, the worst pair with its r and p-value, the typical
    maximum under independence and the mean r²."""

    axis: str
    vectors: int
    vectors_total: int
    length: int
    pairs: int
    worst_pair: list[int]
    r: float
    p_pair: float
    typical_max_abs_r: float
    mean_sq_r: float


@dataclasses.dataclass(frozen=True)
class ConstantVectorsDetails(Details):
    """Rows or columns that are constant (impossible for independent continuous entries): the first 20
    indices, and the number of pairs the correlation test would have compared."""

    constant: list[int]
    pairs: int


@dataclasses.dataclass(frozen=True)
class LagDetails(Details):
    """Serial correlation at one lag (:func:`verify.stats.serial_correlation_test`): the lag, the null's
    standard deviation, the mean the values were centred on (``None``: their own)."""

    lag: int
    null_sd: float
    known_mean: float | None


#: Every kind of details, tried in this order when a report is read back.
DETAIL_TYPES: tuple[type[Details], ...] = (Details, MeanDetails, MeanValueDetails, TwoHypothesesDetails, StdDetails,
                                           ShapeDetails, SupportDetails, CorrelationDetails, ConstantVectorsDetails,
                                           LagDetails)


@dataclasses.dataclass(frozen=True)
class StatTest(_RecordMapping):
    """The outcome of one hypothesis test.

    It also reads as the mapping its JSON holds (``t["p_value"]``, ``set(t)``): checks' results carried
    plain dicts before report schema 2, and code that reads them so keeps working.

    The null hypothesis is always "the implementation is right" (the sample
    has the expected mean / std / distribution / no dependence). It is
    rejected, and the check fails, when ``p_value <= alpha``.

    Attributes:
      name: the property tested, e.g. ``"std"``, ``"mean"``,
        ``"shape (Anderson-Darling vs normal)"``, ``"row correlation"``.
      statistic: the test statistic (chi-square, z, A^2, D, max |r|, t ...).
      p_value: probability, under the null, of a statistic at least as extreme.
      n: sample size the test used.
      alpha: the level the decision used (after any multiple-testing correction).
      mde: minimum detectable effect -- the smallest effect, in ``mde_unit``,
        that this test detects with probability ``power`` at this ``alpha``
        and ``n``.
      mde_unit: what ``mde`` measures, e.g. ``"relative sigma error"``.
      passed: ``p_value > alpha``.
      estimate: the measured value (e.g. the sample std).
      expected: the value the null hypothesis predicts (e.g. the derived std).
      effect: how far off the estimate is, in ``effect_unit`` (e.g. ``-0.047``
        for a std 4.7 % too small).
      message: one line: property, measured vs expected, by how much,
        p-value, alpha, decision, n and MDE.
      method: the test used and its null distribution.
      effect_unit: what ``effect`` measures.
      power: power at which ``mde`` is stated.
      summary: the first part of ``message`` (no decision), reused when the
        level changes (see :meth:`with_alpha`).
      details: what this kind of test found beyond these fields, a :class:`Details` record (the worst
        pair, the fitted scale, the verdict between two hypotheses, Holm's decision ...).
    """

    name: str
    statistic: float
    p_value: float
    n: int
    alpha: float
    mde: float
    mde_unit: str
    passed: bool
    estimate: float
    expected: float
    effect: float
    message: str
    method: str = ""
    effect_unit: str = ""
    power: float = DEFAULT_POWER
    summary: str = ""
    details: Details = dataclasses.field(default_factory=Details, hash=False)
    # MDE as a function of (alpha, power); a functools.partial of a module-level
    # function so results stay picklable. Not part of the JSON form.
    mde_fn: Callable[[float, float], float] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    @property
    def failed(self) -> bool:
        """``not passed``: the null hypothesis was rejected."""
        return not self.passed

    def with_alpha(self, alpha: float) -> "StatTest":
        """A copy decided at level ``alpha`` (passed, MDE and message updated)."""
        a = check_level(alpha)
        mde = self.mde_fn(a, self.power) if self.mde_fn is not None else self.mde
        return dataclasses.replace(
            self,
            alpha=a,
            mde=mde,
            passed=bool(self.p_value > a),
            message=stat_message(self.summary, self.p_value, a, self.n, mde, self.mde_unit, self.power),
        )

    def _keys(self) -> list[str]:
        """The fields the JSON holds: all but ``mde_fn``, and but those a report read from JSON lacked
        (``None``), so such a test is written back as it was read."""
        return [f.name for f in dataclasses.fields(self) if f.name != "mde_fn" and getattr(self, f.name) is not None]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StatTest":
        """The test a report's JSON holds. Whatever the JSON lacks is ``None``; values are kept as they are
        (a report may come from a hostile target's process: the views clean and check every one)."""
        fields = {f.name for f in dataclasses.fields(cls) if f.name != "mde_fn"}
        read = {name: d.get(name) for name in fields}
        if isinstance(read["details"], Mapping):
            read["details"] = Details.from_dict(read["details"])
        return cls(**read)

    def __str__(self) -> str:
        return self.message


def stat_message(summary: str, p: float, alpha: float, n: int, mde: float, mde_unit: str, power: float) -> str:
    """A test's one line: the summary, the decision at ``alpha``, the sample size and the MDE at ``power``."""
    rejected = not (p > alpha)
    decision = f"p = {format_p(p)} {'<=' if rejected else '>'} α = {format_p(alpha)}: {'FAIL' if rejected else 'pass'}"
    return f"{summary}; {decision} (n = {n}, MDE {_mde_text(mde, mde_unit)} at power {power:g})"


# --------------------------------------------------------------------------
# counterexamples
# --------------------------------------------------------------------------


class Counterexample(Mapping[str, Any]):
    """The inputs on which a check failed, by name (``w``, ``lam``, ``grads`` ...), in the order given.

    A read-only mapping: ``cx["w"]``, ``"w" in cx`` and ``dict(cx)`` work as on the dict a check passes.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None, **named: Any):
        self._values = {str(k): v for k, v in {**(values or {}), **named}.items()}

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Counterexample({self._values!r})"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self._values)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Counterexample":
        return cls(d)


def counterexample_rows(cx: Any) -> list[tuple[str, Any]]:
    """A counterexample as (name, value) rows for a view; a value that is not a mapping (a malformed
    report) is one row named ``value``."""
    if cx is None:
        return []
    if isinstance(cx, Mapping):
        return list(cx.items())
    return [("value", cx)]


# --------------------------------------------------------------------------
# diagnoses
# --------------------------------------------------------------------------


class DiagnosisKind(str, enum.Enum):
    """What a diagnosis names."""

    #: a catalogued variant or bug of the algorithm matches the target within the tolerance
    VARIANT = "variant"
    #: an equivalent parameterisation matches (the same iterates as the reference: a convention, not a bug)
    EQUIVALENT = "equivalent"
    #: the reference with one hyperparameter changed matches (a hard-coded, ignored or squared value)
    HYPERPARAMETER = "hyperparameter"
    #: what the check's own analysis found (a lag, a constant factor, NaN, a wrong gradient entry …)
    FINDING = "finding"
    #: nothing catalogued fits; the closest candidates are evidence, not a cause
    NO_MATCH = "no-match"

    def __str__(self) -> str:
        return self.value


def _float(value: Any) -> float | None:
    """A number of a report read back (``"inf"``/``"nan"`` as :func:`jsonable` writes them); ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A catalogued variant compared with the target: its name and description, and how far it is.

    ``max_diff``: the largest |target − variant| over the cases; ``ratio``: the largest |difference| over
    the tolerance (≤ 1 on every case: it matches); ``equivalent``: the variant is an equivalent
    parameterisation of the algorithm, not a bug.
    """

    name: str
    description: str
    max_diff: float
    ratio: float
    equivalent: bool = False

    @property
    def matched(self) -> bool:
        return self.ratio <= 1.0

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Candidate":
        return cls(_text(d.get("name")), _text(d.get("description")), _nan_if_none(d.get("max_diff")),
                   _nan_if_none(d.get("ratio")), d.get("equivalent") is True)


@dataclasses.dataclass(frozen=True)
class HyperparameterFit:
    """The reference with one hyperparameter changed, and how close it comes to the target.

    ``relation`` names the value as a bug would compute it (``"b2 = 0.999, the default: …"``,
    ``"momentum = 0.81 = momentum² instead of 0.9"``); ``ratio`` ≤ 1 on every case: it matches.
    """

    name: str
    value: float
    original: float
    max_diff: float
    ratio: float
    relation: str

    @property
    def exact(self) -> bool:
        return self.ratio <= 1.0

    @property
    def dropped(self) -> bool:
        """The target behaves as if this hyperparameter were 0: it ignores it."""
        return self.exact and self.value == 0.0 and self.original != 0.0

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HyperparameterFit":
        return cls(_text(d.get("name")), _nan_if_none(d.get("value")), _nan_if_none(d.get("original")),
                   _nan_if_none(d.get("max_diff")), _nan_if_none(d.get("ratio")), _text(d.get("relation")))


def _nan_if_none(value: Any) -> float:
    f = _float(value)
    return math.nan if f is None else f


class Diagnosis(str):
    """The likely cause of a failure, named, with the evidence that supports it.

    It reads as its text (``str``: what the terminal, the page and ``CheckResult.diagnosis`` show, as
    before report schema 3), and holds:

    * ``kind``: a :class:`DiagnosisKind` (``None`` for a diagnosis read from a report older than schema 3);
    * ``candidates``: every catalogued variant compared with the target, closest first (an optimizer's
      conformance diagnosis; empty elsewhere) — the named one is the first, the runner-up the second;
    * ``fit``: the one-hyperparameter change tried: the cause (``kind`` hyperparameter) or the closest
      change when nothing fits;
    * ``findings``: the structural findings (a lag, a constant factor, NaN, a difference confined to the
      first step …), named as the cause only when nothing else matched.

    A check may give its diagnosis as plain text: :class:`Outcome` makes it a ``finding``.
    """

    kind: DiagnosisKind | None
    candidates: tuple[Candidate, ...]
    fit: HyperparameterFit | None
    findings: tuple[str, ...]

    def __new__(cls, text: str, kind: DiagnosisKind | str | None = DiagnosisKind.FINDING, *,
                candidates: Sequence[Candidate] = (), fit: HyperparameterFit | None = None,
                findings: Sequence[str] = ()) -> "Diagnosis":
        self = super().__new__(cls, text)
        fields = {"kind": DiagnosisKind(kind) if kind is not None else None, "candidates": tuple(candidates),
                  "fit": fit, "findings": tuple(findings)}
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_diagnosis, (str(self), self.kind, self.candidates, self.fit, self.findings))

    def __repr__(self) -> str:
        return f"Diagnosis({str(self)!r}, kind={self.kind!s})"

    @property
    def text(self) -> str | None:
        """The text, or ``None`` for an empty diagnosis (nothing to say)."""
        return str(self) or None

    @property
    def matches(self) -> tuple[Candidate, ...]:
        """The candidates that match the target within the tolerance, closest first."""
        return tuple(c for c in self.candidates if c.matched)

    @property
    def matched_names(self) -> list[str]:
        return [c.name for c in self.matches]

    @property
    def match(self) -> Candidate | None:
        """The variant named as the cause (kinds ``variant`` and ``equivalent``)."""
        named = self.kind in (DiagnosisKind.VARIANT, DiagnosisKind.EQUIVALENT)
        return self.candidates[0] if named and self.candidates else None

    @property
    def closest(self) -> Candidate | None:
        """The candidate closest to the target, matching or not."""
        return self.candidates[0] if self.candidates else None

    @property
    def runner_up(self) -> Candidate | None:
        """The next candidate after the closest: how much the named one stands out."""
        return self.candidates[1] if len(self.candidates) > 1 else None

    @property
    def dropped(self) -> str | None:
        """The hyperparameter the target ignores (the reference with it at 0 matches), if that is the cause."""
        fit = self.fit
        return fit.name if self.kind is DiagnosisKind.HYPERPARAMETER and fit is not None and fit.dropped else None

    def to_dict(self) -> dict[str, Any]:
        """The structured part (``"diagnosis_detail"`` in a check's JSON; the text is ``"diagnosis"``)."""
        return {
            "kind": self.kind.value if self.kind is not None else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "fit": self.fit.to_dict() if self.fit is not None else None,
            "findings": list(self.findings),
        }

    @classmethod
    def from_dict(cls, text: str, d: Mapping[str, Any] | None) -> "Diagnosis":
        """The diagnosis of a check's JSON: its text and its structured part (``None`` in reports older than
        schema 3: the kind is then unknown). Malformed parts are dropped, not trusted."""
        if not isinstance(d, Mapping):
            return cls(text, None)
        kinds = {k.value: k for k in DiagnosisKind}
        raw_candidates, raw_fit, raw_findings = d.get("candidates"), d.get("fit"), d.get("findings")
        return cls(
            text,
            kinds.get(d.get("kind")) if isinstance(d.get("kind"), str) else None,
            candidates=[Candidate.from_dict(c) for c in raw_candidates if isinstance(c, Mapping)]
            if isinstance(raw_candidates, list) else (),
            fit=HyperparameterFit.from_dict(raw_fit) if isinstance(raw_fit, Mapping) else None,
            findings=[f for f in raw_findings if isinstance(f, str)] if isinstance(raw_findings, list) else (),
        )

    @classmethod
    def of(cls, value: Any) -> Any:
        """``value`` as a :class:`Diagnosis` when it is non-empty text (a check's plain text is a finding);
        anything else (``None``, ``""``, a malformed report's value) as it is."""
        if isinstance(value, str) and not isinstance(value, Diagnosis) and value:
            return cls(value)
        return value


def _diagnosis(text: str, kind: Any, candidates: Any, fit: Any, findings: Any) -> Diagnosis:
    return Diagnosis(text, kind, candidates=candidates, fit=fit, findings=findings)


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Series:
    """One line (or set of points) of a figure."""

    label: str
    x: list[float]
    y: list[float]
    style: str = "line"  # "line" | "points" | "step" | "dashed"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))


@dataclasses.dataclass
class Figure:
    """Plot data a check attaches to its result; the HTML report draws it."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    xscale: str = "linear"  # "linear" | "log"
    yscale: str = "linear"
    kind: str = "lines"     # "lines" | "histogram" | "qq"
    markers: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # {"x": .., "label": ..}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["series"] = [s.to_dict() for s in self.series]
        return jsonable(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Figure":
        d = dict(d)
        d["series"] = [Series(**s) for s in d.get("series", [])]
        return cls(**d)


# --------------------------------------------------------------------------
# what a check returns
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What a check function returns: its status, message and evidence. The runner wraps it in a
    :class:`~verify.results.CheckResult` (adding name, kind, timing and the reproduction command).

    ``counterexample`` may be given as a plain mapping: it becomes a :class:`Counterexample`; ``diagnosis``
    as plain text: it becomes a :class:`Diagnosis` (a finding of the check's own analysis).
    """

    status: Status
    message: str
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    counterexample: Counterexample | None = None
    diagnosis: Diagnosis | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    stat_tests: list[StatTest] = dataclasses.field(default_factory=list)
    figures: list[Figure] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.counterexample, Mapping) and not isinstance(self.counterexample, Counterexample):
            self.counterexample = Counterexample(self.counterexample)
        self.diagnosis = Diagnosis.of(self.diagnosis)

    def to_dict(self) -> dict[str, Any]:
        """The outcome's part of a check's JSON (``CheckResult.to_dict`` places it in the layout)."""
        diagnosis = Diagnosis.of(self.diagnosis)      # set as text after the check returned (the runner may)
        return {
            "status": self.status.value,
            "message": self.message,
            "metrics": jsonable(self.metrics),
            "counterexample": jsonable(self.counterexample),
            "diagnosis": str(diagnosis) if isinstance(diagnosis, str) else jsonable(diagnosis),
            "diagnosis_detail": diagnosis.to_dict() if isinstance(diagnosis, Diagnosis) else None,
            "notes": list(self.notes),
            "stat_tests": jsonable(self.stat_tests),
            "figures": [f.to_dict() for f in self.figures],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Outcome":
        """The outcome in a check's JSON. Evidence of the expected shape becomes its record; anything else
        (a report written by hand, or by a hostile target's process) is kept as it is for the views."""
        cx, tests, diagnosis = d.get("counterexample"), d.get("stat_tests", []), d.get("diagnosis")
        if isinstance(tests, list):
            tests = [StatTest.from_dict(t) if isinstance(t, Mapping) else t for t in tests]
        return cls(
            status=Status(d["status"]),
            message=d.get("message", ""),
            metrics=d.get("metrics", {}),
            counterexample=Counterexample.from_dict(cx) if isinstance(cx, Mapping) else cx,
            diagnosis=Diagnosis.from_dict(diagnosis, d.get("diagnosis_detail")) if isinstance(diagnosis, str)
            and diagnosis else diagnosis,
            notes=d.get("notes", []),
            stat_tests=tests,
            figures=[Figure.from_dict(f) for f in d.get("figures", [])],
        )


def passed(message: str, **fields: Any) -> Outcome:
    return Outcome(Status.PASS, message, **fields)


def failed(message: str, **fields: Any) -> Outcome:
    return Outcome(Status.FAIL, message, **fields)


def skipped(reason: str, **fields: Any) -> Outcome:
    return Outcome(Status.SKIP, reason, **fields)


def inconclusive(reason: str, **fields: Any) -> Outcome:
    """The check ran but cannot decide: ``reason`` says why and what to try."""
    return Outcome(Status.INCONCLUSIVE, reason, **fields)
