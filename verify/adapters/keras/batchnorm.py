"""``keras.layers.BatchNormalization`` (and its subclasses) as a subject of the ``batchnorm`` spec.

A target is the class (``keras.layers.BatchNormalization``, a user's subclass), built per check as
``cls(momentum=m, epsilon=ε, dtype="float64")`` on ``(N, C)`` batches (``axis=-1``), or an instance, whose
``momentum`` and ``epsilon`` are read from its config and held, or a ``keras.layers.Layer`` of one's own
(given the keywords its signature names; γ, β and the moving statistics found under BatchNormalization's
names or the ones the numpy protocol knows). What Keras does differently from PyTorch
(``keras/src/layers/normalization/batch_normalization.py``), and how the checks take it:

* **momentum** weights the *old* value: r ← m·r + (1 − m)·stat (PyTorch: r ← (1 − m)·r + m·stat), default
  0.99 (PyTorch's 0.1). The spec's default convention is PyTorch's, under which a Keras layer fails the
  running-statistics check with that difference named; ``--param convention=keras`` checks Keras' form.
* the moving variance is fed the **biased** batch variance (PyTorch: the unbiased one), reported by the
  running-statistics check; ε defaults to 1e-3 (PyTorch: 1e-5) — the layer is given the run's ε.
* **precision**: ``call`` computes in ``backend.result_type(inputs.dtype, "float32")``, which Keras' dtype
  lattice makes float32 for a float64 input on jax and torch (``BIT64_TO_BIT32_DTYPE``), whatever the layer's
  dtype, jax's x64 mode or floatx: the outputs are float64 arrays of float32 arithmetic. The precision a
  layer attains is measured on a probe batch against float64 arithmetic and reported: float32's for Keras'
  own ``call`` (judged at float32's rounding), float64's for a subclass whose ``call`` computes in float64; on
  the torch backend the batch moments are one-pass (mean(x²) − mean(x)²), whose rounding grows with
  (μ² + σ²)/(σ² + ε): the precision of each batch is scaled by that, and a batch it cannot resolve at all
  (relative error above 1e-3) is not judged.
* backward: the backend's autodiff of the layer's own call — ``jax.vjp`` of ``stateless_call`` (jax),
  ``torch.autograd.grad`` through the layer call (torch).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, get_args

import numpy as np

from verify.adapters.base import (
    MachineEpsilon,
    BatchNormInstance,
    BatchNormSubject,
    InputRecord,
    Request,
    Subject,
    accepted_keywords,
    as_array,
    call_target,
    describe_value,
    one_pass_conditioning,
    probe,
)
from verify.adapters.keras._backend import is_keras_object, require_keras
from verify.adapters.protocol.batchnorm import _BETA, _GAMMA, _RUNNING
from verify.errors import ProtocolError, TargetError, TargetLoadError
from verify.specs.base import Family, Held

__all__ = ["claim", "batchnorm", "RESOLUTION"]

#: The precisions a checker accepts from a target process (float64's and float32's machine epsilons and the powers
#: of two up to float16's), ascending.
_EPSILONS = sorted(get_args(MachineEpsilon)[1].values)

#: The worst relative rounding of a batch's variance at which a torch-backend layer's output is still judged: the
#: widest precision short of float16's (at float16's the checks can fail a layer, never pass it).
RESOLUTION = _EPSILONS[-2]
#: Time the precision probe may take while the target is adapted (a Keras layer's first call compiles).
PROBE_SECONDS = 60.0
EPS64 = float(np.finfo(np.float64).eps)


def claim(request: Request) -> Subject | None:
    """The subject for a Keras BatchNormalization class or instance; ``None`` for anything not Keras'."""
    obj = request.obj.func if isinstance(request.obj, functools.partial) else request.obj
    if request.family != Family.BATCHNORM or not is_keras_object(obj):
        return None
    return batchnorm(request.obj, request, require_keras())


#: BatchNormalization's settings the batchnorm spec does not describe, and why each is refused.
_REFUSED = {
    "center": (False, "it has no β (the checks set γ and β and compare γ·x̂ + β)"),
    "scale": (False, "it has no γ (the checks set γ and β and compare γ·x̂ + β)"),
    "renorm": (True, "batch renormalisation (Ioffe 2017) corrects the batch statistics by r and d in training: "
                     "another formula"),
    "synchronized": (True, "Keras runs it on TensorFlow only, and the verifier drives Keras on jax or torch (on one "
                           "device it is the same layer: give it without)"),
}


def _refuse_settings(config: dict[str, Any], who: str) -> None:
    """Refuse, in one line, a BatchNormalization set where the batchnorm spec has no parameter for the setting, or
    normalising over an axis other than the features of ``(N, C)`` batches."""
    for key, (value, why) in _REFUSED.items():
        if key in config and config[key] is value:
            raise TargetLoadError(f"{who} is set {key}={value!r}: {why}; spec 'batchnorm' has no parameter for it, "
                                  "so it is not checked")
    if config.get("axis", -1) not in (-1, 1, [-1], [1]):
        raise TargetLoadError(f"{who} normalises over axis {config.get('axis')!r}; the checks feed (N, C) batches "
                              "normalised per feature (axis=-1, or 1)")


def _shown(cls: type) -> str:
    module = getattr(cls, "__module__", "") or ""
    return f"keras.layers.{cls.__qualname__}" if module.startswith("keras.") else f"{module}.{cls.__qualname__}"


class _KerasBatchNorm(BatchNormInstance):
    """One Keras layer built for ``(N, C)`` batches, its variables float64, its arithmetic as Keras' own."""

    def __init__(self, keras: Any, layer: Any, shown: str, passed: dict[str, Any], precision: float):
        from verify.adapters.protocol.batchnorm import layer_hyperparameters

        self.keras = keras
        self.layer = layer
        self.shown = shown
        self.backend = str(keras.backend.backend())
        self.inputs = InputRecord("the layer is given a float64 backend tensor converted from x")
        self.hyper, self.hyper_source = layer_hyperparameters(layer, passed)
        self.precision = precision
        self._single = precision
        self._graph: Any = None

    # -- variables ---------------------------------------------------------------------------------------

    def _find(self, names: tuple[str, ...]) -> str | None:
        """The first of ``names`` the layer holds as a Keras variable (BatchNormalization's own names first)."""
        return next((n for n in names if hasattr(getattr(self.layer, n, None), "assign")), None)

    def _variable(self, role: str) -> Any:
        names = {"gamma": _GAMMA, "beta": _BETA}[role]
        name = self._find(names)
        if name is None:
            what = {"gamma": "scale=False", "beta": "center=False"}[role]
            raise ProtocolError(f"{self.shown} has no {' or '.join(repr(n) for n in names)} variable ({what}?); "
                                "the batch-norm protocol needs γ, β and the moving statistics")
        return getattr(self.layer, name)

    def _read(self, name: str) -> np.ndarray:
        value = getattr(self.layer, name)
        return as_array(self.keras.ops.convert_to_numpy(getattr(value, "value", value)), f"{self.shown}.{name}")

    def set_affine(self, gamma: np.ndarray, beta: np.ndarray) -> None:
        for name, value in (("gamma", gamma), ("beta", beta)):
            var = self._variable(name)
            arr = np.asarray(value, dtype=np.float64)
            if tuple(var.shape) != arr.shape:
                raise ProtocolError(f"{self.shown}'s {name} has shape {tuple(var.shape)}; cannot set it to "
                                    f"shape {arr.shape}")
            call_target(f"{self.shown}.{name}.assign(...)", var.assign, arr)
        self._graph = None

    def running(self) -> tuple[np.ndarray, np.ndarray] | None:
        mean, var = self._find(_RUNNING["running_mean"]), self._find(_RUNNING["running_var"])
        if mean is None or var is None:
            return None
        return self._read(mean).reshape(-1), self._read(var).reshape(-1)

    # -- precision ---------------------------------------------------------------------------------------

    def resolves(self, x: np.ndarray, eps: float) -> bool:
        """Whether this batch's variance is within :data:`RESOLUTION` of its value at the layer's arithmetic
        (the torch backend's one-pass moments lose (μ² + σ²)/(σ² + ε) ulps)."""
        return self._conditioned(x, eps) * self._single <= RESOLUTION

    def _conditioned(self, x: np.ndarray, eps: float) -> float:
        return one_pass_conditioning(x, eps) if self.backend == "torch" else 1.0

    # -- calls ---------------------------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        ops = self.keras.ops
        where = f"{self.shown}(x, training={bool(training)})"
        if training:
            eps = self.hyper.get("eps", (None, ""))[0] or 0.0     # unknown: the most cautious
            # reported as the narrowest machine epsilon covering it: the checker accepts no other value
            needed = max(self.precision, self._single * self._conditioned(x, eps))
            self.precision = next((e for e in _EPSILONS if e >= needed), _EPSILONS[-1])
        if self.backend == "torch" and training:
            import torch

            xt = torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=True)
            y = call_target(where, self.layer, xt, training=True)
            self._graph = (xt, y)
        else:
            xt = ops.convert_to_tensor(np.asarray(x, dtype=np.float64), dtype="float64")
            if training and self.backend == "jax":
                before = [v.value for v in self.layer.non_trainable_variables]
                self._graph = (xt, before)
            y = call_target(where, self.layer, xt, training=bool(training))
        try:
            arr = ops.convert_to_numpy(y)
        except Exception:  # noqa: BLE001 - whatever it returned, as_array names it
            arr = y
        return as_array(arr, where, shape=np.shape(x))

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._graph is None:
            raise ProtocolError("backward(dy) needs a training-mode forward first")
        gamma, beta = self._variable("gamma"), self._variable("beta")
        c = np.shape(dy)[1]
        if self.backend == "torch":
            grads = self._torch_backward(dy, gamma, beta)
        else:
            grads = self._jax_backward(dy, gamma, beta)
        out = []
        for g, name, shape in zip(grads, ("dx", "dgamma", "dbeta"), (np.shape(dy), (c,), (c,))):
            arr = np.zeros(shape) if g is None else as_array(g, f"the gradient {name}")
            if arr.size != int(np.prod(shape)):
                raise ProtocolError(f"the gradient {name} has shape {arr.shape}; expected {shape}")
            out.append(arr.reshape(shape))
        return out[0], out[1], out[2]

    def _torch_backward(self, dy: np.ndarray, gamma: Any, beta: Any) -> list[Any]:
        import torch

        xt, y = self._graph
        if not getattr(y, "requires_grad", False):
            raise ProtocolError(f"{self.shown}'s output does not depend on its input through autograd (detached?)")
        dyt = torch.tensor(np.asarray(dy, dtype=np.float64), dtype=y.dtype)
        where = "torch.autograd.grad(y, (x, gamma, beta), dy)"
        grads = call_target(where, torch.autograd.grad, y, (xt, gamma.value, beta.value), dyt,
                            retain_graph=True, allow_unused=True)
        return [None if g is None else g.detach().cpu().numpy() for g in grads]

    def _jax_backward(self, dy: np.ndarray, gamma: Any, beta: Any) -> list[Any]:
        import jax

        xt, before = self._graph
        trainable = list(self.layer.trainable_variables)
        index = {id(v): i for i, v in enumerate(trainable)}
        if id(gamma) not in index or id(beta) not in index:
            raise ProtocolError(f"{self.shown}'s gamma and beta are not among its trainable variables")
        values = [v.value for v in trainable]

        def f(x: Any, *params: Any) -> Any:
            y, _ = self.layer.stateless_call(list(params), before, x, training=True)
            return y

        where = f"jax.vjp of {self.shown}.stateless_call(..., training=True)"
        y, vjp = call_target(where, jax.vjp, f, xt, *values)
        grads = call_target(where, vjp, jax.numpy.asarray(np.asarray(dy, dtype=np.float64), dtype=y.dtype))
        return [np.asarray(grads[0]), np.asarray(grads[1 + index[id(gamma)]]),
                np.asarray(grads[1 + index[id(beta)]])]


def _constructor(cls: type, is_bn: bool) -> tuple[dict[str, str], bool]:
    """({"eps"/"momentum"/"dtype": the keyword the constructor takes for it}, whether it wants the number of
    features as its first argument). BatchNormalization's subclasses take epsilon and momentum (through
    ``**kwargs`` too); a layer of one's own is given only the keywords its signature names (``epsilon`` or
    ``eps``, ``momentum``), and dtype where it takes ``dtype`` or ``**kwargs`` (Keras' Layer does)."""
    names, var_kw = accepted_keywords(cls)
    out: dict[str, str] = {}
    eps_kw = next((k for k in ("epsilon", "eps") if k in names), "epsilon" if is_bn and var_kw else None)
    if eps_kw:
        out["eps"] = eps_kw
    if "momentum" in names or is_bn and var_kw:
        out["momentum"] = "momentum"
    if "dtype" in names or var_kw:
        out["dtype"] = "dtype"
    positional = False
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        params = []
    if params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD) \
            and params[0].default is params[0].empty and params[0].name not in ("epsilon", "eps", "momentum"):
        positional = True            # BN(num_features, ...) written PyTorch's way
    return out, positional


def _attained(factory: Any, held: dict[str, Any]) -> float | None:
    """The largest relative error of a fresh layer's training output (γ = 1, β = 0) on a well-conditioned probe
    batch against the formula in float64: ~1e-16 for float64 arithmetic, ~1e-7 for float32, large for a layer
    that computes something else (whose checks then say what); ``None`` if the probe could not run."""
    x = np.random.default_rng(0).normal(size=(16, 3)) * np.array([1.0, 2.0, 0.5]) + np.array([0.5, -1.0, 2.0])
    eps = float(held["eps"])

    def run() -> np.ndarray:
        layer = factory(3, eps, float(held["momentum"]))
        layer.set_affine(np.ones(3), np.zeros(3))
        return layer.forward(x, True)

    try:
        y = probe(run, PROBE_SECONDS)
    except (TargetError, ProtocolError):
        return None
    want = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    err = float(np.max(np.abs(y - want)) / np.max(np.abs(want)))
    return err if np.isfinite(err) else None


def batchnorm(obj: Any, request: Request, keras: Any) -> BatchNormSubject:
    """The subject for a Keras BatchNormalization class (built per check) or instance (its config)."""
    base = keras.layers.BatchNormalization
    target = request.target
    bound: dict[str, Any] = {}
    if isinstance(obj, functools.partial):
        if obj.args or not inspect.isclass(obj.func):
            raise TargetLoadError(f"target {target!r}: give functools.partial(cls, keyword=...) of a layer class, with "
                                  "keywords only")
        bound, obj = dict(obj.keywords), obj.func
        _refuse_settings(bound, f"target {target!r}")
    instance = None if inspect.isclass(obj) else obj
    cls = obj if instance is None else type(obj)
    shown = _shown(cls)
    if not (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)):
        raise TargetLoadError(f"target {target!r} ({shown}) is not a Keras layer: give keras.layers."
                              "BatchNormalization, a subclass of it, or a keras.layers.Layer of your own")
    if instance is not None and not isinstance(instance, base):
        raise TargetLoadError(f"target {target!r} is a {cls.__name__} instance; give the class (built per check as "
                              f"{cls.__name__}(momentum=..., epsilon=...))")
    convention = request.params.get("convention", "auto")
    if convention == "cumulative":
        raise TargetLoadError("Keras' BatchNormalization has no cumulative average (momentum=None): use "
                              "--param convention=keras (its own form) or pytorch")
    resolved = "pytorch" if convention == "auto" else convention
    found: dict[str, Held] = {}
    if instance is not None:
        config = call_target(f"{shown}.get_config()", instance.get_config)
        _refuse_settings(config, f"target {target!r}")
        found = {"eps": Held(float(config["epsilon"]), "read", f"{shown}'s epsilon"),
                 "momentum": Held(float(config["momentum"]), "read", f"{shown}'s momentum")}
        takes = frozenset()
        keywords, positional = {}, False
    else:
        keywords, positional = _constructor(cls, issubclass(cls, base))
        for k, kw in list(keywords.items()):
            if kw in bound and k in ("eps", "momentum"):        # bound by the partial: read, held
                found[k] = Held(float(bound[kw]), "read", f"target {target!r}'s {kw}")
                del keywords[k]
        positional = positional and not bound
        takes = frozenset(k for k in keywords if k in ("eps", "momentum"))
    compute = str(keras.backend.result_type("float64", "float32"))
    precision = {"eps": float(np.finfo(np.dtype(compute)).eps)}
    backend = str(keras.backend.backend())

    def factory(num_features: int, eps: float, momentum: float) -> BatchNormInstance:
        values = {"epsilon": float(eps), "momentum": float(momentum)}
        if instance is not None:
            config = {**instance.get_config(), **values, "dtype": "float64", "name": None}
            config.pop("name")
            where = f"{shown}.from_config({{..., epsilon={eps!r}, momentum={momentum!r}, dtype='float64'}})"
            layer = call_target(where, cls.from_config, config)
        else:
            passed_values = {"eps": float(eps), "momentum": float(momentum)}
            kwargs = {kw: passed_values[k] for k, kw in keywords.items() if kw != "dtype"}
            if "dtype" in keywords.values():
                kwargs["dtype"] = "float64"
            args = (int(num_features),) if positional else ()
            kwargs = {**bound, **kwargs}
            where = f"{shown}({', '.join([str(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
            layer = call_target(where, cls, *args, **kwargs)
        if not isinstance(layer, keras.layers.Layer):
            raise ProtocolError(f"{where} returned {describe_value(layer)}, not a Keras layer")
        call_target(f"{where}.build((None, {int(num_features)}))", layer.build, (None, int(num_features)))
        passed = {k: v for k, v in (("eps", float(eps)), ("momentum", float(momentum)))
                  if instance is not None or k in takes}
        return _KerasBatchNorm(keras, layer, shown, passed, precision["eps"])

    held = {k: found[k].value if k in found else request.params.get(k) for k in ("eps", "momentum")}
    if instance is None and issubclass(cls, base):
        # a subclass may set in its __init__ what the spec has no parameter for (renorm, scale=False): built once
        try:
            probe_config = factory(3, float(held["eps"]), float(held["momentum"])).layer.get_config()
        except (TargetError, ProtocolError):
            probe_config = {}                  # a constructor that fails here fails in the checks, reported there
        _refuse_settings(probe_config, f"target {target!r}")
    attained = _attained(factory, held)
    if attained is not None and attained <= 64 * EPS64:
        precision["eps"], compute = EPS64, "float64"       # a subclass computing in float64: judged so
    seen = ("" if attained is None else
            f"; attained: relative error {attained:.2g} against float64 arithmetic on a probe batch")

    mapping = [
        f"{shown}({'num_features, ' if positional else ''}"
        f"{', '.join(f'{kw}=' + {'eps': 'ε', 'momentum': 'm', 'dtype': repr('float64')}[k] for k, kw in keywords.items())}"
        f") on the {backend} backend, built for (N, C) batches (axis=-1)"
        + ("" if len(takes) == 2 else "; what it does not take is read back from its eps/epsilon and momentum "
           "attributes, else only assumed") if instance is None else
        f"a {shown} instance: rebuilt from its config (epsilon and momentum read from it, held), dtype float64",
        "momentum: Keras' m weights the old value, r ← m·r + (1 − m)·stat (PyTorch's weights the new one); "
        + ("checked under PyTorch's form, the spec's default: use --param convention=keras for Keras' own"
           if resolved == "pytorch" else "checked under Keras' form (--param convention=keras)"),
        "moving variance: Keras feeds the biased batch variance (PyTorch the unbiased one); ε: the run's, passed "
        "as epsilon (Keras' default 1e-3, PyTorch's 1e-5)",
        (f"precision: Keras computes batch normalisation in result_type(float64, float32) = {compute} on the "
         f"{backend} backend whatever the layer's dtype (float64 variables, {compute} arithmetic): judged at "
         f"{compute}'s rounding (machine ε {precision['eps']:.3g}), not float64's{seen}" if compute != "float64" else
         f"precision: float64{seen}, judged at float64's rounding"),
        "backward: " + ("jax.vjp of the layer's stateless_call(training=True)" if backend == "jax" else
                        "torch.autograd.grad through the layer call") + " for (dx, dγ, dβ)",
    ]
    if backend == "torch":
        mapping.append("torch backend: the batch moments are one-pass, mean(x²) − mean(x)², whose rounding grows "
                       "with (μ² + σ²)/(σ² + ε): each batch is judged at float32's ε times that factor, and a batch "
                       f"whose variance it cannot resolve to {RESOLUTION:g} is not judged")
    subject = BatchNormSubject(f"Keras batch norm {shown} ({backend} backend, {compute} arithmetic, "
                               f"{'jax.vjp' if backend == 'jax' else 'autograd'} backward)",
                               mapping=mapping, library="keras", factory=factory, has_backward=True,
                               convention=resolved, name=shown, takes=takes, found=found,
                               built=instance is not None)
    return subject
