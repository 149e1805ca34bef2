"""Keras 3 initializers as subjects of the ``init-*`` and ``relu-bias`` specs.

A target is a ``keras.initializers.Initializer`` class (``keras.initializers.GlorotNormal``, a user's
subclass), an instance (``GlorotNormal(seed=1)``, ``VarianceScaling(2.0, "fan_in", "uniform")``) or a
Keras identifier string (``"he_normal"``, a module attribute such as ``kernel_initializer = "he_normal"``).
Each draw calls ``init(shape, dtype="float64")`` on an initializer seeded afresh:

* **Seeds.** A Keras initializer seeded with an int (or ``None``: it picks one int when it is built)
  returns the *same* array at every call (``RandomInitializer.seed`` is reused), so each draw gets its own
  int seed, derived from the check's: the class is built with ``seed=``, an instance is copied and its
  ``seed`` attribute replaced; ``keras.utils.set_random_seed`` seeds the global generators too, for a
  subclass that draws from them.
* **Layout.** Keras kernels are ``(in, out)`` for Dense and ``(*kernel, in, out)`` for Conv whatever the
  ``data_format`` (``keras/src/initializers/random_initializers.py: compute_fans``: fan_in =
  shape[-2]·∏shape[:-2], fan_out = shape[-1]·∏shape[:-2]): the spec's ``numpy`` layout.
* **Distribution.** Keras 3's ``GlorotNormal``, ``HeNormal``, ``LecunNormal`` (``VarianceScaling`` with
  ``distribution="truncated_normal"``, or ``"normal"``, its alias) draw a normal truncated at ±2σ' with
  σ' = σ/0.87962566 (the std of N(0, 1) truncated to [−2, 2]), so the weights' std is σ; torch's are
  plain normals. The declared distribution is what the checks test unless the run names one
  (``--param distribution``).
* **torch backend.** ``keras/src/backend/torch/random.py: truncated_normal`` draws four normals per value
  and keeps the first inside ±2, else the first of the four: a fraction P(|Z| > 2)⁴ ≈ 4.3e-6 of the values
  lies beyond the bounds by design, which the support test allows for (and no more).
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any

from verify.adapters.base import InitialiserSubject, Request, Subject, accepted_keywords, call_target
from verify.adapters.keras._backend import is_keras_object, require_keras
from verify.errors import TargetLoadError
from verify.specs.base import Family

__all__ = ["claim", "initialiser", "IDENTIFIERS", "TORCH_TRUNCATION_LEAK", "KERAS_LAYOUT"]

#: How the weights' shape reads in Keras (the spec's ``numpy`` layout).
KERAS_LAYOUT = "numpy"
# Seeds Keras takes on every backend (jax keys and torch generators alike).
_SEED_RANGE = 2 ** 31 - 1


def _torch_truncation_leak() -> float:
    """P(|Z| > 2)⁴: the fraction Keras' torch backend leaves beyond ±2σ' (four draws, then the first kept)."""
    return float((2.0 * 0.5 * math.erfc(2.0 / math.sqrt(2.0))) ** 4)


TORCH_TRUNCATION_LEAK = _torch_truncation_leak()

# VarianceScaling's ``distribution`` -> the spec's; "normal" is Keras' alias of "truncated_normal".
_DISTRIBUTIONS = {"truncated_normal": "truncated", "normal": "truncated", "untruncated_normal": "normal",
                  "uniform": "uniform"}


#: Keras' identifiers of initializers (``keras.initializers.get(name)``): a string target naming one is Keras',
#: recognised without importing keras.
IDENTIFIERS = frozenset({
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "zeros",
})


#: Each init-* spec as Keras's VarianceScaling writes it: (scale, mode), σ² = scale/n with n the mode's fan.
VARIANCE_SCALING = {"init-lecun": (1.0, "fan_in"), "init-xavier": (1.0, "fan_avg"), "init-he": (2.0, "fan_in")}


def _refuse_unmatched_variance_scaling(inst: Any, shown: str, spec_name: str, keras: Any) -> None:
    """Refuse, in one line, a VarianceScaling computing Keras's own σ² = scale/n at a (scale, mode) that no init-*
    spec has (He's fan_out mode, a scale of 0.1): it is right by its own declaration, and no spec can pass it.
    One whose (scale, mode) is another spec's is checked (and fails naming the σ it matches)."""
    vs = keras.initializers.VarianceScaling
    if spec_name not in VARIANCE_SCALING or not isinstance(inst, vs) or type(inst).__call__ is not vs.__call__:
        return
    declared = (float(getattr(inst, "scale", 0.0)), str(getattr(inst, "mode", "")))
    if declared in VARIANCE_SCALING.values():
        return
    raise TargetLoadError(f"{shown} is set scale={declared[0]!r}, mode={declared[1]!r}: it draws with σ² = scale/"
                          f"{declared[1]}, which no init-* spec has (init-lecun: 1/fan_in, init-xavier: 1/fan_avg, "
                          f"init-he: 2/fan_in), so it is not checked under {spec_name!r}")


def _is_identifier(obj: Any) -> bool:
    return isinstance(obj, str) and obj in IDENTIFIERS


def claim(request: Request) -> Subject | None:
    """The subject for a Keras initializer class, instance or identifier; ``None`` for anything else."""
    obj = request.obj
    if request.family not in (Family.INITIALISER, Family.BIAS):
        return None
    if not (is_keras_object(obj) or _is_identifier(obj)):
        return None
    keras = require_keras()
    if isinstance(obj, str):
        try:
            obj = keras.initializers.get(obj)
        except (ValueError, TypeError):
            return None          # not a Keras identifier: the numpy protocol refuses it with its reason
    return initialiser(obj, request, keras)


def _shown(obj: Any) -> str:
    cls = obj if inspect.isclass(obj) else type(obj)
    module = getattr(cls, "__module__", "") or ""
    name = cls.__qualname__
    return f"keras.initializers.{name}" if module.startswith("keras.") else f"{module}.{name}"


def _declared_distribution(inst: Any, keras: Any) -> tuple[str | None, str]:
    """(the spec's name of the distribution the initializer declares, how it was read) or (None, "")."""
    init = keras.initializers
    if isinstance(inst, init.VarianceScaling):
        raw = getattr(inst, "distribution", None)
        return _DISTRIBUTIONS.get(raw), f"its distribution={raw!r}"
    for cls, dist in ((init.TruncatedNormal, "truncated"), (init.RandomNormal, "normal"),
                      (init.RandomUniform, "uniform")):
        if isinstance(inst, cls):
            return dist, f"it is a {cls.__name__}"
    return None, ""


def initialiser(obj: Any, request: Request, keras: Any) -> InitialiserSubject:
    """The subject drawing ``obj(shape, dtype="float64")`` with a fresh seed per draw."""
    base = keras.initializers.Initializer
    shown = _shown(obj)
    target = request.target
    is_class = inspect.isclass(obj)
    if is_class and not issubclass(obj, base) or not is_class and not isinstance(obj, base):
        raise TargetLoadError(f"target {target!r} is a Keras {type(obj).__name__ if not is_class else 'class'} "
                              f"({shown}), not a keras.initializers.Initializer")
    takes_seed = False
    if is_class:
        names, var_kw = accepted_keywords(obj)
        takes_seed = "seed" in names or var_kw

    def build(seed: int) -> Any:
        if is_class:
            inst = call_target(f"{shown}(seed={seed})" if takes_seed else f"{shown}()", obj,
                               **({"seed": seed} if takes_seed else {}))
        else:
            inst = copy.copy(obj)
        if hasattr(inst, "seed"):
            inst.seed = seed       # an int seed: the same values at every call of this instance
        return inst

    probe = build(0)
    if not isinstance(probe, base):
        raise TargetLoadError(f"{shown}() built a {type(probe).__name__}, not a keras.initializers.Initializer")
    _refuse_unmatched_variance_scaling(probe, shown, request.spec.name, keras)
    if getattr(probe, "input_axes", None) is not None or getattr(probe, "output_axes", None) is not None:
        raise TargetLoadError(f"target {target!r} computes its fans over the axes input_axes="
                              f"{probe.input_axes!r}, output_axes={probe.output_axes!r}; the init-* specs use "
                              "the kernel fans (fan_in = shape[-2]·∏shape[:-2]): give it without these axes")
    backend = str(keras.backend.backend())

    def sample(shape: tuple[int, ...], seed: int) -> Any:
        seed = int(seed) % _SEED_RANGE
        call_target("keras.utils.set_random_seed(seed)", keras.utils.set_random_seed, seed)
        return call_target(f"{shown}(shape={shape}, dtype='float64')", build(seed), shape, dtype="float64")

    mapping = [
        "Keras layout: Dense kernels (in, out), Conv kernels (*kernel, in, out) whatever the data_format; "
        "fan_in = shape[-2]·∏shape[:-2], fan_out = shape[-1]·∏shape[:-2] (keras compute_fans), the spec's "
        "numpy layout",
        f"{shown}(shape, dtype='float64') on the {backend} backend, a fresh int seed per draw "
        + ("(the class built with seed=)" if is_class and takes_seed else "(its seed attribute replaced: an "
           "int-seeded Keras initializer returns the same values at every call)")
        + " and keras.utils.set_random_seed(seed)",
    ]
    declared, how = _declared_distribution(probe, keras)
    distribution = None
    if declared is not None and "distribution" not in request.given:
        distribution = declared
        text = {"truncated": "a normal truncated at ±2σ' with σ' = σ/0.87962566, so that the weights' std is σ "
                             "(Keras 3's GlorotNormal, HeNormal and LecunNormal are truncated; torch's are not)",
                "normal": "a plain normal", "uniform": "a uniform on ±√3·σ"}[declared]
        mapping.append(f"distribution: {text}, as {how} declares; checked as --param distribution={declared}")
    elif declared is not None and request.params.get("distribution") != declared:
        mapping.append(f"distribution: the run's {request.params.get('distribution')}, given explicitly, "
                       f"while {how} declares {declared}")
    leak = 0.0
    if backend == "torch":
        leak = TORCH_TRUNCATION_LEAK
        mapping.append(f"torch backend: keras' truncated_normal draws four normals and keeps the first inside ±2σ', "
                       f"else the first: a fraction P(|Z| > 2)⁴ = {leak:.3g} of the values lies beyond the bounds by "
                       "design, allowed for in the support test (Binomial count), not more")
    return InitialiserSubject(f"Keras initializer {shown} ({backend} backend, Keras layout (*kernel, in, out))",
                              mapping=mapping, library="keras", sampler=sample, layout=KERAS_LAYOUT,
                              distribution=distribution, support_leak=leak, name=shown)
