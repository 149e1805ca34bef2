"""The internal protocol every adapted target ("subject") follows, per family.

Checks never call target code directly: they call a subject, whose methods

* pass *copies* of the verifier's arrays through :func:`watched_call`, the one
  call into the target given arrays: a target that mutates its inputs cannot
  corrupt the verifier's data, and what it changed is recorded on the
  subject's :class:`InputRecord`, which checks read (in a worker, the arrays
  annotated :class:`Given` are memory the job shares with the target
  process, handed over as they are: the job compares them itself,
  :mod:`verify.shared`),
* wrap any exception the target raises in :class:`~verify.errors.TargetError`,
* validate what the target returns and raise
  :class:`~verify.errors.ProtocolError` naming the call and the problem
  (``None``, wrong shape, non-numeric, ...),
* return float64 numpy arrays.

Adapters (numpy protocols, PyTorch, optax) build subjects from raw objects, each claiming the objects it
recognises (:data:`verify.adapters.ADAPTERS`, asked with a :class:`Request`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import numbers
import os
import types
from typing import Annotated, Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from verify.errors import ProtocolError, TargetError, kind_of
from verify.shared import handed
from verify.specs.base import Family, Held, Spec, require_held

__all__ = [
    "Request",
    "call_target",
    "watched_call",
    "fail_on_changes",
    "reads",
    "Change",
    "Given",
    "LEFT_ALONE",
    "InputRecord",
    "as_array",
    "as_scalar",
    "describe_value",
    "Subject",
    "RegulariserSubject",
    "InitialiserSubject",
    "accepted_keywords",
    "float_precision",
    "NormalisationInstance",
    "BatchNormInstance",
    "BatchNormSubject",
    "NormLayerInstance",
    "NormLayerSubject",
    "NewtonSubject",
    "OptimizerRun",
    "OptimizerSubject",
    "Clipped",
    "ClipSubject",
    "snapshot",
    "same_state",
    "FLOAT64",
    "low_precision",
    "probe_grads",
    "PROBE_W0",
    "detect_precision",
    "probe",
]

#: Unit roundoff of float64 (the verifier's arithmetic); float32's and float16's by dtype size.
FLOAT64 = float(np.finfo(np.float64).eps) / 2.0
_UNIT_ROUNDOFF = {2: float(np.finfo(np.float16).eps) / 2.0, 4: float(np.finfo(np.float32).eps) / 2.0}


@dataclasses.dataclass(frozen=True)
class OneOf:
    """Annotation metadata, ``Annotated[float, OneOf((...))]``: the only values a field or a return may take.

    A subject in a target process (:mod:`verify.remote`) is held to it: a value the checks trust to set their
    own tolerance (the precision a target computes with) cannot be made up there to loosen a check.
    """

    values: tuple

    def accepts(self, value: Any) -> bool:
        return value in self.values


#: The unit roundoff of a float64, float32 or float16 (and bfloat16, counted as float16) computation.
UnitRoundoff = Annotated[float, OneOf((FLOAT64, *_UNIT_ROUNDOFF.values()))]
#: The machine epsilon of float64, float32 or float16, or a power of two between float32's and float16's (the
#: precision of float32 arithmetic that loses some bits, rounded up: Keras' batch norm on the torch backend).
MachineEpsilon = Annotated[float, OneOf((float(np.finfo(np.float64).eps),
                                         *(2.0 ** -k for k in range(23, 9, -1))))]
#: The machine epsilon of float64, float32 or float16 only: the precision of a layer that computes in the dtype
#: it works in (layer norm, RMS norm; no adapter accounts for one in between).
DtypeEpsilon = Annotated[float, OneOf(tuple(float(np.finfo(t).eps) for t in (np.float64, np.float32, np.float16)))]


@dataclasses.dataclass(frozen=True)
class Request:
    """An object offered to the adapters (:data:`verify.adapters.ADAPTERS`) for a spec: each adapter's ``claim``
    returns its subject, or ``None`` to pass it on.

    ``target`` is the TARGET string (for messages), ``params`` the run's hyperparameters (defaults and ``--param``
    values), ``given`` the names of those given explicitly.
    """

    obj: Any
    spec: Spec
    target: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    given: frozenset[str] = frozenset()

    @property
    def family(self) -> Family:
        return self.spec.family


def call_target(where: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call target code; an exception it raises becomes :class:`TargetError`.

    ``SystemExit`` from the target is caught too (a target must not end the
    run); ``KeyboardInterrupt`` still propagates so Ctrl-C works.
    """
    try:
        return fn(*args, **kwargs)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of the target is reported
        raise TargetError(where, exc) from exc


@dataclasses.dataclass(frozen=True)
class Change:
    """An input that a call into the target modified in place.

    ``call`` is the call as reports show it, ``input`` the input's name (``w``, ``grads``, ``p.grad of parameter
    0``), ``entries`` how many of its entries changed (``None`` where it is no array or its shape changed),
    ``earlier`` whether it was given at an earlier call and kept by the target (whose state then aliases the
    caller's array).
    """

    call: str
    input: str
    entries: int | None
    earlier: bool = False


@dataclasses.dataclass(frozen=True)
class Given:
    """An input a subject's method hands to the target, which it must not change in place, as an annotation of
    that parameter (``w: Annotated[np.ndarray, LEFT_ALONE]``): in a worker the job shares the array with the
    target process and compares it itself after the call (:mod:`verify.remote`), whatever the target's process
    records. ``changed``: what a change during the call is (``"fail"``; ``"note"``: harmless, as gradients a
    step scales; ``"returned"``: allowed only to the values the call returns, as params an optimizer updates in
    place); ``kept``: the array stays watched at the object's next calls, where a change is a failure (the
    target kept the caller's array in its state), under ``"returned"`` unless the array then holds exactly what
    that call returns (the array the caller gives again, updated in place)."""

    changed: str = "fail"
    kept: bool = False


#: The rule of most inputs: any change in place fails.
LEFT_ALONE = Given()


def settled(method: Callable) -> Callable:
    """Marks a method taking no arguments whose first answer is the object's for good (the subject keeps it): a
    worker asks the target process once per object and keeps the answer (:mod:`verify.remote`)."""
    method.settled = True
    return method


class InputRecord:
    """What calls into the target did to the inputs they were given: the one record checks read about mutation.

    :func:`watched_call` appends every :class:`Change` it sees to ``changes`` (those of the latest call are
    ``last``). The adapter, which knows its protocol, judges each change once: ``failures`` corrupt the caller's
    data (a check fails on the first), ``notes`` are reported but harmless (gradients a step modified in place,
    recomputed by every training loop). ``watched`` says what was compared, for reports.
    """

    #: How many calls an input named in ``kept`` stays watched after its own call.
    KEEP = 16
    #: Why the process judging the calls could not see their inputs for itself (a worker's record, when memory
    #: cannot be shared with the target process); ``None`` where it could, or where the checks run beside the
    #: target and trust it.
    unobserved: str | None = None

    def __init__(self, watched: str = ""):
        self.watched = watched
        self.changes: list[Change] = []
        self.last: list[Change] = []
        self.failures: list[str] = []
        self.notes: list[str] = []
        self._kept: list[tuple[str, Any, Any]] = []     # (name, value, fingerprint or None once reported)

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)


def _current(value: Any) -> Any:
    """A watched input's value now: ``value`` itself, or what a zero-argument reader returns (an input the target
    may rebind, such as a tensor's ``.grad``), torch tensors as numpy arrays."""
    if isinstance(value, _Reader):
        value = value.read()
    return _to_numpy(value)


class _Reader:
    def __init__(self, read: Callable[[], Any]):
        self.read = read


def reads(read: Callable[[], Any]) -> Any:
    """A watched input read afresh before and after the call (for :func:`watched_call`'s ``watched``)."""
    return _Reader(read)


def changed_entries(before: Any, after: Any) -> int | None:
    """How many entries of an array differ from what they were (NaN-aware); ``None`` where that cannot be said."""
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape:
        try:
            same = (before == after) | (np.isnan(before) & np.isnan(after)) if before.dtype.kind in "fc" \
                else before == after
            return int(np.size(same) - np.count_nonzero(same))
        except TypeError:
            return None
    return None


def left_alone(now: Any, before: Any) -> bool:
    """Whether a watched input holds what it held before a call: at once where an array holds the very bytes it held
    (as most do), else as :func:`same_state` judges it."""
    if type(now) is np.ndarray and type(before) is np.ndarray and now.dtype == before.dtype and \
            now.shape == before.shape and now.dtype.kind in "biufc" and now.tobytes() == before.tobytes():
        return True
    return same_state(now, before)


def watched_call(record: InputRecord, where: str, fn: Callable, *args: Any, watched: Mapping[str, Any],
                 kept: Sequence[str] = ()) -> Any:
    """``call_target(where, fn, *args)`` with every input in ``watched`` (name → the object passed, directly or
    inside a container; or :func:`reads` of it) fingerprinted before the call and compared after it (NaN-aware);
    each one changed is a :class:`Change` on ``record``. Inputs named in ``kept`` stay watched at the next calls on
    the same record (the last :attr:`InputRecord.KEEP`): one changed then, by a call it was not given to, was kept
    by the target (``earlier``). Inputs are not copied: the caller passes copies where the target must not reach
    its own data."""
    before = {name: snapshot(_current(value)) for name, value in watched.items()}
    out = call_target(where, fn, *args)
    changes = []
    adding = sum(name in kept for name in watched)
    window = record._kept[max(0, len(record._kept) + adding - InputRecord.KEEP):]     # with this call's: KEEP
    for k, (name, value, fingerprint) in enumerate(window):
        now = _current(value)
        if fingerprint is not None and not left_alone(now, fingerprint):
            changes.append(Change(where, name, changed_entries(fingerprint, now), earlier=True))
            window[k] = (name, value, None)              # reported once
    for name, value in watched.items():
        now = _current(value)
        changed = not left_alone(now, before[name])
        if changed:
            changes.append(Change(where, name, changed_entries(before[name], now)))
        if name in kept:
            window.append((name, value, None if changed else before[name]))
    record._kept = window[-InputRecord.KEEP:]
    record.last = changes
    record.changes += changes
    return out


def describe_value(value: Any) -> str:
    """A short description of a returned value for error messages."""
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    if type(value).__repr__ is object.__repr__:
        # The default repr carries a memory address: reports must not change from run to run.
        return f"a {type(value).__qualname__} instance"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _to_numpy(value: Any) -> Any:
    # torch tensors that require grad and jax arrays convert through these hooks.
    detach = getattr(value, "detach", None)
    if callable(detach) and type(value).__module__.startswith("torch"):
        value = detach().cpu().numpy()
    return value


def as_array(value: Any, where: str, *, shape: Sequence[int] | None = None) -> np.ndarray:
    """Validate a returned array and convert it to a float64 copy."""
    if value is None:
        expected = f" of shape {tuple(shape)}" if shape is not None else ""
        raise ProtocolError(f"{where} returned None; expected an array{expected}")
    try:
        arr = np.asarray(_to_numpy(value))
    except Exception as exc:  # noqa: BLE001 - anything numpy cannot read is a protocol error
        raise ProtocolError(f"{where} returned {describe_value(value)}, which is not an array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ProtocolError(f"{where} returned {describe_value(value)}; expected a numeric array")
    if np.iscomplexobj(arr):
        raise ProtocolError(f"{where} returned a complex array (dtype {arr.dtype}); expected real numbers")
    if shape is not None and arr.shape != tuple(shape):
        raise ProtocolError(f"{where} returned shape {arr.shape}; expected {tuple(shape)}")
    return np.array(arr, dtype=np.float64, copy=True)


def as_scalar(value: Any, where: str) -> float:
    """Validate a returned scalar (a 0-d or one-element array is accepted)."""
    arr = as_array(value, where)
    if arr.size != 1:
        raise ProtocolError(f"{where} returned shape {arr.shape}; expected a scalar")
    return float(arr.reshape(()))


def snapshot(x: Any) -> Any:
    """A deep copy of ``x`` to compare against later (``x`` itself when it cannot be copied)."""
    import copy

    try:
        return copy.deepcopy(x)
    except Exception:  # noqa: BLE001 - an uncopyable state is compared by identity only
        return x


def same_state(a: Any, b: Any) -> bool:
    """Whether two (nested) states hold the same values; NaN equals NaN, arrays compare entry by entry."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            x, y = np.asarray(a), np.asarray(b)
            if x.dtype.kind in "fc" or y.dtype.kind in "fc":
                return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=True))
            return x.shape == y.shape and bool(np.array_equal(x, y))
        except Exception:  # noqa: BLE001
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if hasattr(a, "__dict__") and hasattr(b, "__dict__") and type(a) is type(b) and not callable(a):
        return same_state(vars(a), vars(b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return a is b


def _dtype_size(x: Any) -> tuple[str, int] | None:
    """``(dtype name, bytes)`` of a floating array or scalar (numpy, torch, jax), else ``None``."""
    if isinstance(x, (np.ndarray, np.floating)):
        return (str(x.dtype), x.dtype.itemsize) if x.dtype.kind == "f" else None
    dtype = getattr(x, "dtype", None)
    module = type(x).__module__ or ""
    if dtype is None or not (module.startswith("torch") or module.startswith("jax") or module.startswith("jaxlib")):
        return None
    name = str(dtype).replace("torch.", "")
    sizes = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}
    return (name, sizes[name]) if name in sizes else None


def low_precision(obj: Any, where: str, *, depth: int = 5, _seen: set[int] | None = None) -> list[tuple[str, str, int]]:
    """Floating values narrower than float64 held in ``obj`` (arrays, scalars, tensors; nested in containers
    and object attributes): ``[(where, dtype, bytes)]``."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or depth < 0:
        return []
    seen.add(id(obj))
    found = _dtype_size(obj)
    if found is not None:
        return [(where, found[0], found[1])] if found[1] < 8 else []
    out: list[tuple[str, str, int]] = []
    if isinstance(obj, dict):
        items = [(f"{where}[{k!r}]", v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.FunctionType, types.MethodType,
                                                          types.ModuleType, functools.partial)):
        try:
            items = [(f"{where}.{k}", v) for k, v in vars(obj).items()]
        except TypeError:
            items = []
    else:
        items = []
    for sub_where, value in items[:256]:
        out += low_precision(value, sub_where, depth=depth - 1, _seen=seen)
    return out


_PROBE_STEPS = 10

#: A short stream and starting point on which every canonical hyperparameter changes a correct optimizer's
#: iterates: entry 0 keeps its sign (step sizes grow: η⁺, Δmax), entry 1 alternates (η⁻, Δmin), entry 2 varies.
PROBE_W0 = np.array([1.0, -2.0, 0.5])


def probe_grads() -> np.ndarray:
    t = np.arange(_PROBE_STEPS)
    return np.stack([np.ones(_PROBE_STEPS), np.where(t % 2 == 0, 1.0, -1.0),
                     np.array([0.3, -1.2, 0.7, 2.0, -0.4, 0.05, 1.5, -0.8, 0.9, -2.0])], axis=1)


def detect_precision(subject: "OptimizerSubject", hparams: dict[str, Any]) -> tuple[UnitRoundoff, str]:
    """The unit roundoff the target computes with, from what a short run leaves in its state.

    ``(FLOAT64, "")`` unless the target returns, or keeps in its state, floating values narrower than
    float64 (float32 moments, ``np.float32(lr)``, a float32 tensor buffer); then the narrowest one's unit
    roundoff and a line saying where it was seen. A target that fails on the probe is left to the checks.
    """
    try:
        run = subject.make(**hparams)
        run.init(PROBE_W0.copy())
        with np.errstate(all="ignore"):
            for g in probe_grads():
                run.step(g)
    except Exception:  # noqa: BLE001 - the checks report a target that cannot run
        return FLOAT64, ""
    found = []
    for name, obj in run.inspected().items():
        found += low_precision(obj, name)
    if run.returned_dtype is not None and np.dtype(run.returned_dtype).itemsize < 8 and \
            np.dtype(run.returned_dtype).kind == "f":
        found.append(("the parameters it returns", str(run.returned_dtype), np.dtype(run.returned_dtype).itemsize))
    if not found:
        return FLOAT64, ""
    size = min(f[2] for f in found)
    places = ", ".join(f"{w} ({d})" for w, d, b in found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
    u = _UNIT_ROUNDOFF.get(size, _UNIT_ROUNDOFF[4])
    return u, (f"reduced precision: the target computes with {'float16' if size == 2 else 'float32'} values — "
               f"{places}; iterates are compared within a {'float16' if size == 2 else 'float32'} error model "
               f"(unit roundoff {u:.3g} instead of float64's {FLOAT64:.3g}), so differences below about "
               f"{1e3 * u:.0e} relative cannot be told from rounding")


#: How long a look at the target while it is adapted may take (probing the hyperparameters it uses): a target
#: that hangs is then reported by the checks, under their own time limits, not as a load that never ends.
PROBE_SECONDS = 5.0


@dataclasses.dataclass
class Probing:
    """What the probes of one adaptation may take: ``cap`` bounds every probe (a worker sets it to half the time
    limit of the check that follows); ``timeout`` is the error of the probe that did not finish, if one did not.

    The timer is in the target's own process, which a target can block or ignore: it only spares a restart
    when the target lets it fire. In a worker the limit that holds is kept from outside: the job's parent times
    the whole adaptation against the first check's limit (:mod:`verify.isolation`)."""

    cap: float = float("inf")
    timeout: TimeoutError | None = None


#: While a target is adapted (:func:`probing`): its :class:`Probing`.
_adapting: list[Probing] = []


@contextlib.contextmanager
def probing(cap: float | None = None) -> Iterator[Probing]:
    """While a target is adapted: once one probe has timed out, the later ones fail at once with the same error.
    A target that hangs then costs one probe limit per load instead of one per probe (adapting tries several).
    Nested in another (a worker's load around the runner's), it is the same adaptation."""
    if _adapting:
        yield _adapting[-1]
        return
    state = Probing(float("inf") if cap is None else max(0.0, cap))
    _adapting.append(state)
    try:
        yield state
    finally:
        _adapting.pop()


def probe(fn: Callable[[], Any], seconds: float = PROBE_SECONDS) -> Any:
    """``fn()`` stopped after ``seconds`` (at most the adaptation's cap; a :class:`TargetError` wrapping
    ``TimeoutError``), where a timer can interrupt it (the main thread on POSIX); elsewhere ``fn()`` runs
    unbounded."""
    import signal
    import threading

    state = _adapting[-1] if _adapting else None
    if state is not None:
        if state.timeout is not None:
            raise TargetError("a short probe run", state.timeout)
        seconds = min(seconds, state.cap)
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return fn()
    if seconds <= 0:
        timeout = TimeoutError("the target had no time left for a short probe")
        if state is not None:
            state.timeout = timeout
        raise TargetError("a short probe run", timeout)

    def expired(signum: int, frame: Any) -> None:
        timeout = TimeoutError(f"the target did not finish a short probe within {seconds:g} s")
        if state is not None:          # noted here: the target's own wrappers may turn it into another error
            state.timeout = timeout
        raise timeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    except TimeoutError as exc:
        raise TargetError("a short probe run", exc) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fail_on_changes(record: InputRecord) -> None:
    """The protocol's rule where a function must leave every input alone: one failure per call that changed any."""
    if record.last:
        record.fail(f"{record.last[0].call} modified its input {', '.join(c.input for c in record.last)} in place")


@dataclasses.dataclass
class Subject:
    """Common fields of every adapted target.

    What the adapter learnt about the target's hyperparameters, from which
    :func:`verify.runner.prepare` decides what a run holds fixed:
    ``takes`` — the canonical hyperparameters the target can be given (``None``:
    every one); ``found`` — values read from the object or bound by
    ``functools.partial`` (each a :class:`~verify.specs.base.Held` with source
    ``read`` or ``bound``); ``name`` — how reports name the target ("MyAdam
    does not take it"). ``held`` is set by ``prepare``: the run's held
    hyperparameters, which subjects refuse to change.
    """

    description: str                       # what the adapter recognised, for reports
    mapping: list[str] = dataclasses.field(default_factory=list)   # conventions mapped
    library: str | None = None             # "torch", "optax", ... for version reporting
    takes: frozenset[str] | None = None
    found: dict[str, Held] = dataclasses.field(default_factory=dict)
    name: str = ""
    built: bool = False                    # an object built beforehand: it takes no hyperparameter
    held: dict[str, Held] = dataclasses.field(default_factory=dict)

    def check_fit(self, params: dict[str, Any]) -> None:
        """Raise :class:`ProtocolError` if what the target builds cannot follow the protocol at all (called once,
        before any check, so that a misfit is one line rather than every check failing alike)."""


@dataclasses.dataclass
class RegulariserSubject(Subject):
    """Roles: ``penalty(w, lam)``, ``grad(w, lam)``, ``step(w, g, lr, lam)``, ``prox_step(w, g, lr, lam)``."""

    fns: dict[str, Callable] = dataclasses.field(default_factory=dict)
    inputs: InputRecord = dataclasses.field(default_factory=InputRecord)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.fns)

    def _call(self, role: str, where: str, w: Any, *rest: Any) -> Any:
        arrays = {"w": handed(w)}
        if role in ("step", "prox_step"):
            arrays["g"] = handed(rest[0])
            rest = rest[1:]
        out = watched_call(self.inputs, where, self.fns[role], *arrays.values(), *rest, watched=arrays)
        fail_on_changes(self.inputs)
        return out

    def penalty(self, w: Annotated[np.ndarray, LEFT_ALONE], lam: float) -> float:
        return as_scalar(self._call("penalty", "penalty(w, lam)", w, lam), "penalty(w, lam)")

    def grad(self, w: Annotated[np.ndarray, LEFT_ALONE], lam: float) -> np.ndarray:
        return as_array(self._call("grad", "grad(w, lam)", w, lam), "grad(w, lam)", shape=np.shape(w))

    def step(self, w: Annotated[np.ndarray, LEFT_ALONE], g: Annotated[np.ndarray, LEFT_ALONE], lr: float,
             lam: float) -> np.ndarray:
        out = self._call("step", "step(w, g, lr, lam)", w, g, lr, lam)
        return as_array(out, "step(w, g, lr, lam)", shape=np.shape(w))

    def prox_step(self, w: Annotated[np.ndarray, LEFT_ALONE], g: Annotated[np.ndarray, LEFT_ALONE], lr: float,
                  lam: float) -> np.ndarray:
        out = self._call("prox_step", "prox_step(w, g, lr, lam)", w, g, lr, lam)
        return as_array(out, "prox_step(w, g, lr, lam)", shape=np.shape(w))


@dataclasses.dataclass
class InitialiserSubject(Subject):
    """``sample(shape, seed) -> ndarray``; ``shape`` is in the subject's ``layout``.

    ``distribution`` is the one the target declares (a Keras ``VarianceScaling``'s ``distribution``), which
    the checks test where the run was not given one explicitly (``None``: the run's ``distribution``);
    ``support_leak`` the fraction of values its library lets through a truncated law's bounds by design.
    """

    sampler: Callable[[tuple[int, ...], int], Any] | None = None
    layout: str = "numpy"
    distribution: str | None = None
    support_leak: float = 0.0

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"sample"})

    def sample(self, shape: Sequence[int], seed: int) -> np.ndarray:
        shape = tuple(int(s) for s in shape)
        where = f"init(shape={shape})"
        return as_array(call_target(where, self.sampler, shape, seed), where, shape=shape)

    def check_fit(self, params: dict[str, Any]) -> None:
        # An optimizer class or a function of other arguments given as an initialiser: refused in one line,
        # not failed alike by every check. A target that raises from inside its own code, or returns None or
        # a wrong shape, is an initialiser with a bug: the checks report it.
        if self.sampler is None:      # an adapter's own sample(): its library's protocol, checked there
            return
        shape = (4, 3)
        try:
            value = call_target(f"init(shape={shape})", self.sampler, shape, 0)
        except TargetError as exc:
            if raised_on_entry(exc.exc):
                raise ProtocolError(f"it cannot be called as an initialiser: {kind_of(exc.exc)}: "
                                    f"{exc.exc}") from None
            return
        if value is not None and np.ndim(value) == 0 and not isinstance(value, numbers.Number) \
                and not hasattr(value, "dtype"):
            raise ProtocolError(f"init(shape={shape}) returned {describe_value(value)}, not an array of weights")


def raised_on_entry(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by the call itself (arguments that do not bind, a class that is not callable
    so), before any code of the target ran: the innermost frame of its traceback is the verifier's."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_VERIFY_DIR)


_VERIFY_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def accepted_keywords(fn: Callable) -> tuple[set[str], bool]:
    """(keyword names ``fn`` accepts, whether it takes ``**kwargs``); ``(set(), True)`` if unreadable."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set(), True
    names = {p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


def one_pass_conditioning(x: Any, eps: float) -> float:
    """How many ulps a batch's variance loses when computed in one pass, mean(x²) − mean(x)², as Keras' torch
    backend does: the largest (μ² + σ²)/(σ² + ε) over the features (axis 0) of ``x`` (NaN or infinite where x is
    not finite)."""
    x = np.asarray(x, dtype=np.float64)
    var = x.var(axis=0)
    with np.errstate(all="ignore"):
        return float(np.max((x.mean(axis=0) ** 2 + var) / (var + eps)))


def float_precision(value: Any) -> float | None:
    """Machine epsilon of a returned array's floating dtype (``None`` if it is not floating)."""
    dtype = getattr(_to_numpy(value), "dtype", None)
    try:
        dtype = np.dtype(dtype) if dtype is not None else np.asarray(value).dtype
    except TypeError:
        return None
    return float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else None


class NormalisationInstance:
    """What every normalisation layer built by a subject shares (batch norm, layer norm, RMS norm).

    ``inputs`` records the calls that modified an input in place (its
    ``failures``: a layer must leave its inputs alone). ``precision`` is
    the machine epsilon of the coarsest floating dtype the layer returned
    (outputs, running statistics, gradients): a float32 layer is checked at
    float32's rounding. ``hyper`` says how the layer got each hyperparameter:
    ``{"eps": (value, how), ...}`` with ``how`` one of ``"passed"`` (its
    constructor took it), ``"read"`` (not taken, read back from the attribute
    named in ``hyper_source``) or ``"unknown"`` (neither: the value is the
    spec's and only an assumption).
    """

    inputs: InputRecord
    precision: MachineEpsilon = float(np.finfo(np.float64).eps)
    hyper: dict[str, tuple[Any, str]]
    hyper_source: dict[str, str]

    def _seen(self, value: Any) -> None:
        p = float_precision(value)
        if p is not None and p > self.precision:
            self.precision = p


class BatchNormInstance(NormalisationInstance):
    """One batch-norm layer built by a :class:`BatchNormSubject`. Adapters subclass it.

    ``hyper`` holds ``"eps"`` and ``"momentum"`` (see :class:`NormalisationInstance`).
    """

    def forward(self, x: Annotated[np.ndarray, LEFT_ALONE], training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: Annotated[np.ndarray, LEFT_ALONE]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def set_affine(self, gamma: np.ndarray, beta: np.ndarray) -> None:
        raise NotImplementedError

    def running(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(running mean, running variance); ``None`` while the layer has not created them (lazily)."""
        raise NotImplementedError

    def trained(self, xs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """A training-mode forward of each batch in turn and :meth:`running` after each, in one call (the running
        statistics followed over many batches: one round trip through a target process instead of two a batch)."""
        states = []
        for x in xs:
            self.forward(x, True)
            states.append(self.running())
        return states

    def resolves(self, x: np.ndarray, eps: float) -> bool:
        """Whether the layer's arithmetic can resolve this batch's variance at all (a layer computing the
        moments in one pass in float32 cannot where μ² ≫ σ² + ε): a batch it cannot resolve is not judged."""
        return True

    def unrecognised_statistics(self) -> list[str]:
        """Names of per-feature state that may be running statistics under names the adapter does not know."""
        return []


@dataclasses.dataclass
class BatchNormSubject(Subject):
    """``new(num_features, eps, momentum) -> BatchNormInstance``.

    ``convention`` is how the protocol's ``momentum`` is meant (``"pytorch"``:
    the weight of the new statistic; ``"keras"``: of the old value;
    ``"cumulative"``: none, a cumulative average — the adapter then passes
    ``momentum=None``); ``takes`` the hyperparameters the constructor accepts;
    ``layout`` how the checks' (N, C) batches reach a layer that takes only
    4-D ones (a :class:`verify.adapters.batch_layout.Layout`; ``None``: as they are).
    """

    factory: Callable[[int, float, float], BatchNormInstance] | None = None
    has_backward: bool = True
    convention: str = "pytorch"
    layout: Any = None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"forward", "running"} | ({"backward"} if self.has_backward else set()))

    def new(self, num_features: int, eps: float, momentum: float) -> BatchNormInstance:
        require_held(self.held, {"eps": eps, "momentum": momentum})
        return self.factory(num_features, eps, momentum)

    def fresh_pass(self, eps: float, momentum: float, gamma: np.ndarray, beta: np.ndarray,
                   x: Annotated[np.ndarray, LEFT_ALONE], dy: Annotated[np.ndarray | None, LEFT_ALONE] = None,
                   resolve_eps: float | None = None) -> tuple[
            np.ndarray | None, tuple[np.ndarray, np.ndarray, np.ndarray] | None, MachineEpsilon]:
        """A new layer for ``x``'s features, given γ and β, one training-mode forward of ``x`` and, with ``dy``,
        its backward: ``(y, (dx, dγ, dβ) or None, the layer's precision)``. With ``resolve_eps``, a batch the
        layer says it cannot resolve (:meth:`BatchNormInstance.resolves`) is not run: ``y`` is ``None``.

        What the checks that build a layer per batch ask, in one call: through a target process one round trip
        instead of four or five (the finite differences of backward build some 500 layers)."""
        layer = self.new(int(np.shape(x)[1]), eps, momentum)
        layer.set_affine(gamma, beta)
        if resolve_eps is not None and not layer.resolves(x, resolve_eps):
            return None, None, layer.precision
        y = layer.forward(x, True)
        grads = layer.backward(dy) if dy is not None else None
        return y, grads, layer.precision

    def check_fit(self, params: dict[str, Any]) -> None:
        try:
            self.new(3, params["eps"], params["momentum"])      # a layer without forward(x, training) raises
        except TargetError:
            pass              # the constructor itself failed: a bug of the target, which the checks report


class NormLayerInstance(NormalisationInstance):
    """One per-example normalisation layer (layer norm, RMS norm) built by a :class:`NormLayerSubject`.

    ``affine`` names the parameters the layer has, a subset of
    ``("gamma", "beta")`` in that order (PyTorch's ``elementwise_affine=False``:
    none; ``bias=False`` and ``RMSNorm``: γ only). ``hyper`` holds ``"eps"``.
    """

    affine: tuple[str, ...] = ("gamma", "beta")
    precision: DtypeEpsilon = float(np.finfo(np.float64).eps)

    def forward(self, x: Annotated[np.ndarray, LEFT_ALONE]) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: Annotated[np.ndarray, LEFT_ALONE]) -> tuple[
            np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(dx, dgamma, dbeta)`` after a forward; ``None`` for a parameter the layer does not have."""
        raise NotImplementedError

    def set_affine(self, gamma: np.ndarray | None, beta: np.ndarray | None) -> None:
        """Set the parameters the layer has (``None`` for those in no ``affine``)."""
        raise NotImplementedError


@dataclasses.dataclass
class NormLayerSubject(Subject):
    """``new(normalized_shape, eps) -> NormLayerInstance``: a layer normalising the trailing ``normalized_shape``
    dimensions of each example.

    ``takes_shape`` says whether the layer can be given a ``normalized_shape``
    of several dimensions and inputs with several leading (batch) dimensions
    (PyTorch's modules and functions, a torch module whose first argument is
    ``normalized_shape``, a numpy function with a ``normalized_shape``
    keyword); otherwise it is checked on ``(N, D)`` batches only. ``initialises``: a new layer has γ and β of
    its own making (a class); ``False`` for a function, whose γ and β are the adapter's until set. ``layout``:
    the input the layer takes, the checks' rows given to it as such (``ND`` rows as they are, ``BTD``
    sequences, ``NCHW`` channels-first; :mod:`verify.adapters.norm_layout`). ``names_shape``: a numpy class
    whose size argument is named ``normalized_shape`` (or ``shape``): a shape of several dimensions is tried,
    fail-closed (code written for an int may name it so).
    """

    factory: Callable[[tuple[int, ...], float], NormLayerInstance] | None = None
    has_backward: bool = True
    takes_shape: bool = False
    initialises: bool = True
    layout: str = "ND"
    names_shape: bool = False

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"forward"} | ({"backward"} if self.has_backward else set()))

    def new(self, normalized_shape: Sequence[int], eps: float) -> NormLayerInstance:
        require_held(self.held, {"eps": eps})
        return self.factory(tuple(int(d) for d in normalized_shape), eps)

    def fresh_pass(self, normalized_shape: Sequence[int], eps: float, gamma: np.ndarray | None,
                   beta: np.ndarray | None, x: Annotated[np.ndarray, LEFT_ALONE],
                   dy: Annotated[np.ndarray | None, LEFT_ALONE] = None) -> tuple[
            np.ndarray, tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None, DtypeEpsilon]:
        """A new layer given the γ and β it has (neither set when both are ``None``), a forward of ``x`` and, with
        ``dy``, its backward: ``(y, (dx, dγ, dβ) or None, the layer's precision)``, in one call (as
        :meth:`BatchNormSubject.fresh_pass`)."""
        layer = self.new(normalized_shape, eps)
        if gamma is not None or beta is not None:
            layer.set_affine(gamma if "gamma" in layer.affine else None, beta if "beta" in layer.affine else None)
        y = layer.forward(x)
        grads = layer.backward(dy) if dy is not None else None
        return y, grads, layer.precision

    def check_fit(self, params: dict[str, Any]) -> None:
        try:
            self.new((3,), params["eps"])
        except TargetError:
            pass              # the constructor itself failed: a bug of the target, which the checks report


@dataclasses.dataclass
class NewtonSubject(Subject):
    """``step(w, g, H, lr) -> new_w`` for scalars (1-D) and vectors/matrices (n-D)."""

    fn: Callable | None = None
    inputs: InputRecord = dataclasses.field(default_factory=InputRecord)
    returned: Any = None                   # what the last step returned, before validation (its dtype, its shape)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"step"})

    def step(self, w: Annotated[Any, LEFT_ALONE], g: Annotated[Any, LEFT_ALONE], h: Annotated[Any, LEFT_ALONE],
             lr: float) -> np.ndarray:
        where = "step(w, grad, hess, lr)"
        given = {"w": handed(w), "grad": handed(g), "hess": handed(h)}
        self.returned = watched_call(self.inputs, where, self.fn, *given.values(), lr, watched=given)
        fail_on_changes(self.inputs)
        return as_array(self.returned, where, shape=np.shape(w))

    def closed_loop(self, w0: Any, lr: float, steps: int, w_star: np.ndarray, a: np.ndarray | None = None,
                    q: np.ndarray | None = None, scale: float = 1.0) -> np.ndarray:
        """``steps`` damped steps from ``w0``, each given the gradient and Hessian at its own iterate, of the
        quadratic ``½(w − w*)ᵀA(w − w*)`` (``a``) or of :class:`~verify.problems.ExpSeparable` (``q``, ``scale``);
        scalars for a scalar ``w0`` (the 1-D protocol). The iterates, ``(steps + 1, *shape)``; after a blow-up,
        infinities (as :func:`verify.convergence.iterate_closed_loop`)."""
        from verify.convergence import blew_up
        from verify.problems import ExpSeparable, Quadratic

        w_star = np.asarray(w_star, dtype=np.float64)
        problem = Quadratic(np.asarray(a, dtype=np.float64), w_star) if a is not None else \
            ExpSeparable(np.asarray(q, dtype=np.float64), w_star, float(scale))
        scalar = np.ndim(w0) == 0
        w = float(w0) if scalar else np.array(w0, dtype=np.float64)
        out = [w]
        for _ in range(int(steps)):
            if scalar:
                g, h = float(problem.grad(np.array([w]))[0]), float(problem.hess(np.array([w]))[0, 0])
                w = float(self.step(w, g, h, lr))
            else:
                w = self.step(w, problem.grad(w), problem.hess(w), lr)
            out.append(w)
            if blew_up(out, int(steps)):
                break
        return np.array(out, dtype=np.float64)


class OptimizerRun:
    """One optimizer instance driven step by step: ``init(params)`` then ``step(grads)``.

    ``step`` returns the new parameters as a float64 array of the params' shape.
    Adapters subclass it. ``inputs`` records what the target did to the
    inputs it was given (``None`` where the adapter cannot observe them): its
    ``failures`` (a caller's array corrupted) and ``notes`` (the gradients a
    step modified in place while it ran, as old PyTorch code does with
    ``d_p.add_(p, alpha=wd)``: not part of the formula and harmless where
    gradients are recomputed for every step, so reported, not failed), and
    what was ``watched``; ``in_place`` whether the target updates the params it
    is given in place (allowed: the caller's array then holds the new
    parameters); ``returned_dtype`` is the
    dtype of the last new parameters the target returned, before conversion
    (``None`` where the adapter reads them back itself).
    """

    inputs: InputRecord | None = None
    in_place: bool = False
    returned_dtype: Any = None
    one_tensor: bool = False      # hand the parameters over as one tensor (set by the subject, see parameter_shapes)

    def inspected(self) -> dict[str, Any]:
        """What holds the target's state, by the name reports give it (scanned for reduced precision)."""
        return {}

    def init(self, params: Annotated[np.ndarray, LEFT_ALONE]) -> None:
        raise NotImplementedError

    def step(self, grads: Annotated[np.ndarray, Given("note", kept=True)],
             params: Annotated[np.ndarray | None, Given("returned", kept=True)] = None) -> np.ndarray:
        """The new parameters after one step on ``grads``. ``params``, where given, are the caller's current
        parameters (the values the last step returned, or init's): a run handing the target an array of
        parameters hands these (in a worker, memory the job shares and compares itself), unless the target is
        updating an earlier one in place, which it gets again; runs that build their own tensors ignore them."""
        raise NotImplementedError

    def closed_loop(self, w0: np.ndarray, a: np.ndarray, w_star: np.ndarray, shape: list, steps: int,
                    lookahead: float | None) -> np.ndarray:
        """``init(w0)``, then ``steps`` steps each fed the gradient of ``½(w − w*)ᵀA(w − w*)`` at its own iterate
        (:func:`verify.convergence.closed_loop`, which calls this): the iterates, ``(steps + 1, *w0.shape)``."""
        from verify.convergence import iterate_closed_loop
        from verify.problems import Quadratic

        problem = Quadratic(np.asarray(a, dtype=np.float64), np.asarray(w_star, dtype=np.float64),
                            tuple(int(n) for n in shape))
        return iterate_closed_loop(self, w0, problem.grad, int(steps), lookahead)


@dataclasses.dataclass
class OptimizerSubject(Subject):
    """``make(**hyperparameters) -> OptimizerRun``.

    ``probe_hparams`` (set by :func:`verify.runner.prepare`) are the values a short run uses to see which
    precision the target computes with (:meth:`precision`), the first time a check asks: inside the check,
    so a target that hangs is stopped by the check's time limit, not at load.
    """

    factory: Callable[..., OptimizerRun] | None = None
    probe_hparams: dict[str, Any] | None = None
    one_tensor: bool = False
    _precision: tuple[float, str] | None = dataclasses.field(default=None, repr=False)

    @settled
    def precision(self) -> tuple[UnitRoundoff, str]:
        """``(unit roundoff, note)`` of the target's arithmetic: float64's and no note unless seen narrower."""
        if self._precision is None:
            self._precision = (FLOAT64, "") if self.probe_hparams is None else \
                detect_precision(self, dict(self.probe_hparams))
        return self._precision

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"step"})

    def make(self, **hparams: Any) -> OptimizerRun:
        require_held(self.held, hparams)
        run = self.factory(**hparams)
        if self.one_tensor:
            run.one_tensor = True
        return run

    def run(self, hparams: dict[str, Any], params0: np.ndarray, grads: Sequence[np.ndarray]) -> np.ndarray:
        """Feed ``grads`` one by one from ``params0``; returns the iterates, shape ``(T, *params.shape)``."""
        opt = self.make(**hparams)
        opt.init(np.array(params0, copy=True))
        out = [opt.step(np.array(g, copy=True)) for g in grads]
        return np.array(out) if out else np.empty((0,) + np.shape(params0))


@dataclasses.dataclass(frozen=True)
class Clipped:
    """What one call of a gradient-clipping target gave: the clipped gradients (float64, the shapes given) and the
    total norm it returned (``None`` when it returns none)."""

    grads: list[np.ndarray]
    norm: float | None


@dataclasses.dataclass
class ClipSubject(Subject):
    """``clip(grads, max_norm) -> Clipped``: ``grads`` a list of arrays of any shapes (the tensors of a model).

    ``call(grads, max_norm)`` is the adapter's: it hands the gradients over in its library's shape (numpy arrays
    in a list or dict, ``p.grad`` of torch parameters, a pytree of jax arrays) and reads back what the target made
    of them (returned, or written in place where its protocol does so: ``clip_grad_norm_``). ``returns_norm``:
    whether the target returns the total norm (torch's does). ``inputs``: what the calls did to the arrays given.
    """

    call: Callable[[list[np.ndarray], float], Clipped] | None = None
    returns_norm: bool = False
    inputs: InputRecord = dataclasses.field(default_factory=InputRecord)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"clip"} | ({"norm"} if self.returns_norm else set()))

    def clip(self, grads: Sequence[np.ndarray], max_norm: float) -> Clipped:
        require_held(self.held, {"max_norm": max_norm})
        given = [np.array(g, dtype=np.float64, copy=True) for g in grads]
        out = self.call(given, float(max_norm))
        if len(out.grads) != len(given):
            raise ProtocolError(f"clip(grads, max_norm) gave {len(out.grads)} gradients for the {len(given)} given")
        for i, (g, c) in enumerate(zip(given, out.grads)):
            if np.shape(c) != np.shape(g):
                raise ProtocolError(f"clip(grads, max_norm) gave gradient {i} the shape {np.shape(c)}; it was "
                                    f"{np.shape(g)}")
        return out

    def check_fit(self, params: dict[str, Any]) -> None:
        try:
            self.clip([np.array([3.0, 4.0]), np.array([[0.0, 12.0]])], float(params.get("max_norm", 1.0)))
        except TargetError as exc:
            if raised_on_entry(exc.exc):
                raise ProtocolError(f"it cannot be called as clip(grads, max_norm): {kind_of(exc.exc)}: "
                                    f"{exc.exc}") from None
