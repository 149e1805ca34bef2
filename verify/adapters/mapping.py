"""Mapping a spec's canonical hyperparameters to a library's keywords, shared by the adapters.

Library-neutral: importing this module imports neither torch nor jax.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from verify import algorithms
from verify.algorithms import Rule, as_python, pair, same
from verify.errors import BadParameterError, TargetLoadError
from verify.specs.base import Held

__all__ = ["Rule", "same", "pair", "as_python", "parameter_shapes", "split_flat", "spec_defaults", "held_conventions",
           "resolve_values", "ALIASES", "PAIRS", "aliases", "KeywordPlan", "keyword_plan", "bound_arguments",
           "read_attributes", "held_at_library_default", "refuse_other_settings"]


def parameter_shapes(shape: Sequence[int], *, one: bool = False) -> list[tuple[int, ...]]:
    """Shapes of the tensors (pytree leaves) a flat parameter vector of ``shape`` is split into.

    Several tensors of different ranks and sizes, so that per-tensor state
    (a step counter shared across tensors, a buffer reused for the wrong
    tensor) shows: ``(2, 3), (4,), (1,), (rest,)`` when there are enough
    entries, fewer pieces for small vectors, the original shape for 0 or 1
    entry.

    >>> parameter_shapes((12,))
    [(2, 3), (4,), (1,), (1,)]
    >>> parameter_shapes((3,))
    [(2,), (1,)]

    ``one``: a single tensor of the original shape (an algorithm whose update couples a tensor's entries,
    :attr:`verify.algorithms.Algorithm.one_tensor`).
    """
    shape = tuple(int(s) for s in shape)
    if one:
        return [shape]
    n = math.prod(shape)
    if n < 2:
        return [shape]
    if n < 7:
        return [(n - 1,), (1,)]
    if n < 11:
        return [(2, 3), (n - 6,)]
    out = [(2, 3), (4,), (1,)]
    if n > 11:
        out.append((n - 11,))
    return out


def one_tensor(subject: Any, request: Any) -> Any:
    """``adapt``'s finish for optimizers: an algorithm whose update couples a tensor's entries (LAMB's trust ratio)
    gets its parameters as one tensor, whichever adapter claimed the target."""
    record = algorithms.find(request.spec.name)
    if record is not None and record.one_tensor:
        subject.one_tensor = True
        subject.mapping.append(f"{record.name} couples the entries of a tensor (a layer): the parameters are handed "
                               "over as one tensor, not split into several")
    return subject


def split_flat(flat: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    out, start = [], 0
    for s in shapes:
        size = math.prod(s)
        out.append(flat[start:start + size].reshape(s))
        start += size
    return out


def held_at_library_default(rules: Sequence[Rule], spec: Any, who: str, default_of: Callable[[str], Any],
                             library_call: str) -> tuple[dict[str, Held], list[str]]:
    """Canonical hyperparameters of ``rules`` whose keywords the target does not take, held at the
    library's default for that keyword (mapped back to canonical values); the names that have none."""
    params = {p.name: p for p in getattr(spec, "params", ())}
    held: dict[str, Held] = {}
    unknown: list[str] = []
    for rule in rules:
        default = default_of(rule.target)
        values = None if default is inspect.Parameter.empty else rule.canonical(default)
        if values is None:
            unknown.append(rule.target)
            continue
        for name, value in values.items():
            try:
                held[name] = Held(params[name].parse(value), "not-taken", f"{who} (it uses {library_call}'s default)")
            except Exception:  # noqa: BLE001 - a library default outside the spec's range: nothing to hold
                unknown.append(rule.target)
    return held, unknown


def refuse_other_settings(config: Mapping[str, Any], mapping: Any, who: str, spec_name: str, primary: str, *,
                          partial: bool = False) -> None:
    """Refuse, in one line, a library object set otherwise than ``mapping.settings`` assume (``config``: its
    constructor keywords as the object reports them or as a ``functools.partial`` binds them; ``primary``: the
    library's object as shown, ``keras.optimizers.RMSprop``): the spec has no parameter for the setting, so
    checking it would fail a correct optimizer. ``partial``: the class takes the settings as keywords, and the
    message says which ``functools.partial`` of it would be checked (timm's ``Lamb(max_grad_norm=1.0)``)."""
    off = [f"{k}={config[k]!r}" for k, v in mapping.settings.items() if k in config and config[k] != v]
    if not off:
        return
    assumed = ", ".join(f"{k}={v!r}" for k, v in mapping.settings.items() if not partial or k in config)
    fix = ", ".join(f"{k}={v!r}" for k, v in mapping.settings.items() if k in config and config[k] != v)
    hint = f"; give functools.partial({who}, {fix}) to check the algorithm itself" if partial else ""
    raise TargetLoadError(f"{who} is set {', '.join(off)}: spec {spec_name!r} has no parameter for it (it checks "
                          f"{primary} at {assumed} only), so it is not checked{hint}")


def held_conventions(mapping: Any, spec: Any, shown: str, name: str | None = None) -> dict[str, Held]:
    """The canonical hyperparameters the library object ``name`` fixes (``LibraryMapping.conventions_for``), held
    at its values."""
    from verify import algorithms

    record = algorithms.find(getattr(spec, "name", ""))
    params = {p.name: p for p in (*(record.params if record is not None else ()), *getattr(spec, "params", ()))}
    return {n: Held(params[n].parse(v), "read", f"{shown}'s only convention: the library has no keyword for it")
            for n, v in mapping.conventions_for(name).items()}


def class_lines(mappings: Mapping[str, Any], mapping: Any, base: str | None, builtin: bool, shown: str,
                spec_name: str, module: str, fallback: Sequence[str] = ()) -> list[str]:
    """What the report says of a library optimizer class whose library base class is ``base`` (``None``: it
    derives from ``{module}.Optimizer`` directly) under ``mapping``; :class:`TargetLoadError` when it implements
    another spec (naming those of ``mappings`` it does, else ``fallback``) or is the library's own class of a
    mapping that takes only subclasses."""
    if base is not None and base != mapping.primary and base not in mapping.variants:
        specs = [n for n, m in mappings.items() if (m.primary == base and m.builtin) or base in m.variants]
        specs = specs or list(fallback)
        what = shown if builtin else f"{shown} (a subclass of {module}.{base})"
        hint = f"check it under --spec {' or '.join(specs)}" if specs else "no spec maps to it"
        raise TargetLoadError(f"{what} does not implement spec {spec_name!r}, which maps to "
                              f"{module}.{mapping.primary}; {hint}")
    if builtin and base == mapping.primary and not mapping.builtin:
        raise TargetLoadError(f"{shown} itself does not implement spec {spec_name!r}: {mapping.notes[0]}")
    if base in mapping.variants:
        return [mapping.variants[base]]
    if base is None:
        return [f"{shown} derives from {module}.Optimizer directly; it is called with "
                f"{module}.{mapping.primary}'s constructor keywords"]
    return []


def spec_defaults(spec: Any) -> dict[str, Any]:
    return {p.name: p.default for p in getattr(spec, "params", ()) if getattr(p, "to_target", True)}


def resolve_values(hparams: Mapping[str, Any], known: set[str], defaults: Mapping[str, Any], spec_name: str,
                   library_call: str) -> dict[str, Any]:
    """The canonical values for one construction: ``hparams`` over the spec's defaults, all mapped names present.

    ``library_call`` names what the adapter calls (for the error message).
    """
    unknown = sorted(set(hparams) - known)
    if unknown:
        raise BadParameterError(
            f"hyperparameter {', '.join(unknown)} of spec {spec_name!r} has no equivalent in {library_call} "
            f"(the adapter maps {', '.join(sorted(known))})")
    values = {**defaults, **hparams}
    absent = sorted(known - set(values))
    if absent:
        raise BadParameterError(f"spec {spec_name!r} gave no value for {', '.join(absent)}")
    return values


# --------------------------------------------------------------------------
# Users' own keyword names for the canonical hyperparameters
# --------------------------------------------------------------------------

#: Other keyword (and attribute) names real code gives a canonical hyperparameter. Only names that mean
#: one thing wherever the canonical name exists: ``alpha`` is Adam's step size (the paper's α) but
#: PyTorch's RMSprop decay, ``decay`` is ρ in some RMSprops and a learning-rate decay in others, so
#: neither is here except where the algorithm settles it (its record's ``aliases``).
ALIASES: dict[str, tuple[str, ...]] = {
    "lr": ("learning_rate", "step_size", "eta"),
    "momentum": ("mu",),
    "rho": ("decay_rate",),
    "b1": ("beta1", "beta_1"),
    "b2": ("beta2", "beta_2"),
    "eps": ("epsilon",),
    "weight_decay": ("wd",),
    "lam": ("lambda_", "lmbda"),
    "eta_minus": ("eta_neg", "etaminus"),
    "eta_plus": ("eta_pos", "etaplus"),
    "min_step_size": ("step_size_min", "delta_min", "min_step", "step_min"),
    "max_step_size": ("step_size_max", "delta_max", "max_step", "step_max"),
}

#: Two canonical hyperparameters some code takes as one tuple keyword (PyTorch's names).
PAIRS: dict[tuple[str, str], str] = {
    ("b1", "b2"): "betas",
    ("eta_minus", "eta_plus"): "etas",
    ("min_step_size", "max_step_size"): "step_sizes",
}


def aliases(name: str, spec_name: str) -> tuple[str, ...]:
    """The other names of canonical hyperparameter ``name`` under spec ``spec_name``."""
    algorithm = algorithms.find(spec_name)
    return ALIASES.get(name, ()) + (algorithm.aliases.get(name, ()) if algorithm is not None else ())


def _signature(obj: Any) -> inspect.Signature | None:
    """``obj``'s signature; for a class whose ``__init__`` only forwards ``*args, **kwargs`` to its base, the
    first base constructor in the MRO that names its parameters."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    if inspect.isclass(obj) and sig.parameters and all(
            p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        for base in inspect.getmro(obj)[1:]:
            if base is object or "__init__" not in vars(base):
                continue
            try:
                inner = inspect.signature(base)
            except (TypeError, ValueError):
                return sig
            if not all(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in inner.parameters.values()):
                return inner
    return sig


def bound_arguments(obj: Any) -> dict[str, Any]:
    """Arguments a ``functools.partial`` binds, by the wrapped callable's parameter names ({} otherwise)."""
    if not isinstance(obj, functools.partial):
        return {}
    sig = _signature(obj.func)
    if sig is None:
        return dict(obj.keywords)
    try:
        return dict(sig.bind_partial(*obj.args, **obj.keywords).arguments)
    except TypeError:
        return dict(obj.keywords)


@dataclasses.dataclass
class KeywordPlan:
    """How a user's constructor or factory receives the spec's canonical hyperparameters.

    ``keywords`` maps a canonical name to the keyword that receives it (itself or
    an alias), ``pairs`` a pair of canonical names to a tuple keyword;
    ``var_kw`` says the callable also takes ``**kwargs``; ``bound`` are the
    canonical values a ``functools.partial`` fixes (not passed again);
    ``required`` names required parameters the protocol cannot give.
    """

    keywords: dict[str, str]
    pairs: dict[tuple[str, str], str]
    var_kw: bool
    bound: dict[str, Any]
    required: list[str]

    def takes(self) -> set[str]:
        return set(self.keywords) | {n for pair in self.pairs for n in pair}

    def kwargs(self, hparams: Mapping[str, Any], extra: set[str] = frozenset()) -> dict[str, Any]:
        """The keywords for one construction; ``extra``: canonical names also passed (through ``**kwargs``)."""
        out = {kw: hparams[n] for n, kw in self.keywords.items() if n in hparams}
        out.update({kw: (hparams[a], hparams[b]) for (a, b), kw in self.pairs.items() if a in hparams and b in hparams})
        out.update({n: hparams[n] for n in extra if n in hparams})
        return out

    def lines(self, shown: str) -> list[str]:
        """Report lines for the keywords that are not the canonical names."""
        renamed = [f"{n} → {kw}" for n, kw in self.keywords.items() if kw != n]
        renamed += [f"({a}, {b}) → {kw}" for (a, b), kw in self.pairs.items()]
        return [f"{shown}'s own keyword names: {', '.join(renamed)}"] if renamed else []


def keyword_plan(obj: Any, spec: Any) -> KeywordPlan | None:
    """Which canonical hyperparameters ``obj`` (a class or factory) takes, under which keywords.

    ``None`` when the signature cannot be read (every hyperparameter is then
    passed under its canonical name, as before).
    """
    sig = _signature(obj)
    if sig is None:
        return None
    bound = bound_arguments(obj)
    params = {n: p for n, p in sig.parameters.items() if n not in bound and n != "self"}
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params.values())
    canonical = [p.name for p in getattr(spec, "params", ()) if getattr(p, "to_target", True)]
    keywords: dict[str, str] = {}
    used: set[str] = set()
    for n in canonical:
        for kw in (n, *aliases(n, spec.name)):
            if kw in named and kw not in used:
                keywords[n] = kw
                used.add(kw)
                break
    pairs = {pair: kw for pair, kw in PAIRS.items()
             if kw in named and kw not in used and all(n in canonical and n not in keywords for n in pair)}
    used |= set(pairs.values())
    fixed: dict[str, Any] = {}
    for n in canonical:
        for kw in (n, *aliases(n, spec.name)):
            if kw in bound:
                fixed[n] = bound[kw]
                break
    for (a, b), kw in PAIRS.items():
        if kw in bound and a in canonical and a not in fixed and isinstance(bound[kw], (tuple, list)) \
                and len(bound[kw]) == 2:
            fixed[a], fixed[b] = bound[kw]
    required = [n for n, p in params.items() if n not in used and p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return KeywordPlan(keywords, pairs, var_kw, fixed, required)


_CONTAINERS = ("hyperparameters", "hyperparams", "hparams", "defaults", "config", "params_dict")


def read_attributes(obj: Any, spec: Any) -> dict[str, tuple[Any, str]]:
    """Canonical hyperparameters found on a built object: ``{name: (value, where)}``.

    Looks at attributes named like the canonical names or their aliases, at
    dictionaries such as ``obj.hyperparameters`` or ``obj.defaults``, and at
    tuple attributes such as ``betas``. A value is taken only when it is a
    number the spec accepts and every place it is found agrees (otherwise the
    name is ambiguous and left out).
    """
    found: dict[str, list[tuple[Any, str]]] = {}
    by_param = {p.name: p for p in getattr(spec, "params", ()) if getattr(p, "to_target", True)}

    def look(get: Callable[[str], Any], where: Callable[[str], str]) -> None:
        for n in by_param:
            for key in (n, *aliases(n, spec.name)):
                value = get(key)
                if value is not None:
                    found.setdefault(n, []).append((value, where(key)))
        for (a, b), key in PAIRS.items():
            value = get(key)
            if a in by_param and isinstance(value, (tuple, list)) and len(value) == 2:
                found.setdefault(a, []).append((value[0], f"{where(key)}[0]"))
                found.setdefault(b, []).append((value[1], f"{where(key)}[1]"))

    def attribute(key: str) -> Any:
        try:
            return inspect.getattr_static(obj, key) if not _has_instance_attr(obj, key) else vars(obj)[key]
        except (AttributeError, TypeError):
            return None

    look(attribute, lambda key: f".{key}")
    for container in _CONTAINERS:
        d = attribute(container)
        if isinstance(d, Mapping):
            look(lambda k, d=d: d.get(k), lambda key, c=container: f".{c}[{key!r}]")
    out: dict[str, tuple[Any, str]] = {}
    for n, hits in found.items():
        values = []
        for value, where in hits:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                values = None
                break
            try:
                values.append((by_param[n].parse(float(value)), where))
            except Exception:  # noqa: BLE001 - an out-of-range value is not this hyperparameter
                values = None
                break
        if values and all(v == values[0][0] for v, _ in values):
            out[n] = (values[0][0], values[0][1])
    return out


def _has_instance_attr(obj: Any, key: str) -> bool:
    try:
        return key in vars(obj)
    except TypeError:
        return False
