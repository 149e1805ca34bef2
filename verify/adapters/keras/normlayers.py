"""``keras.layers.LayerNormalization`` and ``keras.layers.RMSNormalization`` (and their subclasses, and a
``keras.layers.Layer`` of one's own) as subjects of the ``layernorm`` and ``rmsnorm`` specs.

A target is the class, built per check as ``cls(dtype="float64")`` for ``(N, D)`` batches (``axis=-1``; a
``normalized_shape`` of k dimensions as ``axis=[-k, …, -1]``), or ``functools.partial(cls, center=False)``
and the like, or an instance, rebuilt from its config. What the checks take from Keras
(``keras/src/layers/normalization/layer_normalization.py``, ``rms_normalization.py``, ``keras/src/ops/nn.py``):

* **ε** is the layer's own: Keras' defaults (1e-3 for LayerNormalization, PyTorch's is 1e-5; 1e-6 for
  RMSNormalization) differ from the spec's, so unless ``--param eps`` is given the layer is built without
  one and its ``epsilon`` is read back and held (an instance's from its config).
* **precision**: ``_layer_normalization`` and ``_rms_normalization`` compute in
  ``backend.result_type(x.dtype, "float32")``, which Keras' dtype lattice makes float32 for a float64 input
  on jax and torch, whatever the layer's dtype, jax's x64 mode or floatx; the torch backend calls
  ``F.layer_norm`` / ``F.rms_norm`` on those float32 tensors. The precision is measured on a probe batch
  against float64 arithmetic: float32's machine ε for Keras' own call (the checks' tolerances then come from
  float32's rounding), float64's for a subclass whose call computes in float64.
* ``LayerNormalization(rms_scaling=True)`` (deprecated in 3.15) scales x by 1/√(var(x) + ε), neither a
  layer norm (no centring) nor an RMS norm (the variance, not the mean square; keras-team/keras#21234): it
  implements no spec, so it is refused in one line rather than given a verdict.
* backward: the backend's autodiff of the layer's own call (``jax.vjp`` of ``stateless_call``,
  ``torch.autograd.grad``).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from verify.adapters.base import (InputRecord, NormLayerInstance, NormLayerSubject, Request,
                                  Subject, accepted_keywords, as_array, call_target, describe_value, probe)
from verify.adapters.keras._backend import is_keras_object, require_keras
from verify.adapters.protocol.batchnorm import _BETA, _GAMMA, layer_hyperparameters
from verify.errors import ProtocolError, TargetError, TargetLoadError
from verify.specs.base import Family, Held

__all__ = ["claim", "normlayer"]

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
#: Time the precision probe may take while the target is adapted (a Keras layer's first call compiles).
PROBE_SECONDS = 60.0
#: A probe error within this many machine epsilons of a dtype is that dtype's rounding.
_ULPS = 64


def claim(request: Request) -> Subject | None:
    """The subject for a Keras layer-norm or RMS-norm class or instance; ``None`` for anything not Keras'."""
    obj = request.obj.func if isinstance(request.obj, functools.partial) else request.obj
    if request.family != Family.LAYERNORM or not is_keras_object(obj):
        return None
    return normlayer(request.obj, request, require_keras())


def _shown(cls: type, keywords: dict[str, Any]) -> str:
    module = getattr(cls, "__module__", "") or ""
    name = f"keras.layers.{cls.__qualname__}" if module.startswith("keras.") else f"{module}.{cls.__qualname__}"
    return name + ("(" + ", ".join(f"{k}={v!r}" for k, v in keywords.items()) + ")" if keywords else "")


class _KerasNormLayer(NormLayerInstance):
    """One Keras layer built for inputs whose trailing ``shape`` is normalised, its variables float64."""

    def __init__(self, keras: Any, layer: Any, shown: str, shape: tuple[int, ...], passed: dict[str, Any],
                 precision: float):
        self.keras, self.layer, self.shown, self.shape = keras, layer, shown, shape
        self.backend = str(keras.backend.backend())
        self.inputs = InputRecord("the layer is given a float64 backend tensor converted from x")
        self.hyper, self.hyper_source = layer_hyperparameters(layer, passed, names=("eps",))
        self.precision = precision
        self.variables = _affine_variables(keras, layer, shape)
        self.affine = tuple(r for r in ("gamma", "beta") if r in self.variables)
        self._graph: Any = None

    def set_affine(self, gamma, beta) -> None:
        for role, value in (("gamma", gamma), ("beta", beta)):
            if role not in self.variables or value is None:
                continue
            var = self.variables[role]
            arr = np.asarray(value, dtype=np.float64)
            if int(np.prod(var.shape)) != arr.size:
                raise ProtocolError(f"{self.shown}'s {role} has shape {tuple(var.shape)}; cannot set it to "
                                    f"shape {arr.shape}")
            call_target(f"{self.shown}.{role}.assign(...)", var.assign, arr.reshape(tuple(var.shape)))
        self._graph = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        where = f"{self.shown}(x)"
        x64 = np.asarray(x, dtype=np.float64)
        if self.backend == "torch":
            import torch

            xt = torch.tensor(x64, dtype=torch.float64, requires_grad=True)
        else:
            xt = self.keras.ops.convert_to_tensor(x64, dtype="float64")
        y = call_target(where, self.layer, xt)
        self._graph = (xt, y)
        try:
            arr = self.keras.ops.convert_to_numpy(y)
        except Exception:  # noqa: BLE001 - whatever it returned, as_array names it
            arr = y
        return as_array(arr, where, shape=np.shape(x))

    def backward(self, dy: np.ndarray):
        if self._graph is None:
            raise ProtocolError("backward(dy) needs a forward first")
        grads = self._torch_backward(dy) if self.backend == "torch" else self._jax_backward(dy)
        shapes = {"dx": np.shape(dy), **{f"d{r}": self.shape for r in self.affine}}
        out = {}
        for g, (name, shape) in zip(grads, shapes.items()):
            arr = np.zeros(shape) if g is None else as_array(g, f"the gradient {name}")
            if arr.size != int(np.prod(shape)):
                raise ProtocolError(f"the gradient {name} has shape {arr.shape}; expected {shape}")
            out[name] = arr.reshape(shape)
        return out["dx"], out.get("dgamma"), out.get("dbeta")

    def _torch_backward(self, dy: np.ndarray) -> list[Any]:
        import torch

        xt, y = self._graph
        if not getattr(y, "requires_grad", False):
            raise ProtocolError(f"{self.shown}'s output does not depend on its input through autograd (detached?)")
        dyt = torch.tensor(np.asarray(dy, dtype=np.float64), dtype=y.dtype)
        wrt = (xt, *(self.variables[r].value for r in self.affine))
        where = f"torch.autograd.grad(y, (x{''.join(', ' + r for r in self.affine)}), dy)"
        grads = call_target(where, torch.autograd.grad, y, wrt, dyt, retain_graph=True, allow_unused=True)
        return [None if g is None else g.detach().cpu().numpy() for g in grads]

    def _jax_backward(self, dy: np.ndarray) -> list[Any]:
        import jax

        xt, _ = self._graph
        trainable = list(self.layer.trainable_variables)
        index = {id(v): i for i, v in enumerate(trainable)}
        if any(id(self.variables[r]) not in index for r in self.affine):
            raise ProtocolError(f"{self.shown}'s {' and '.join(self.affine)} are not among its trainable variables")
        values = [v.value for v in trainable]
        frozen = [v.value for v in self.layer.non_trainable_variables]

        def f(x: Any, *params: Any) -> Any:
            return self.layer.stateless_call(list(params), frozen, x)[0]

        where = f"jax.vjp of {self.shown}.stateless_call(...)"
        y, vjp = call_target(where, jax.vjp, f, xt, *values)
        grads = call_target(where, vjp, jax.numpy.asarray(np.asarray(dy, dtype=np.float64), dtype=y.dtype))
        return [np.asarray(grads[0])] + [np.asarray(grads[1 + index[id(self.variables[r])]]) for r in self.affine]


def _affine_variables(keras: Any, layer: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """γ and β among the layer's variables: by attribute (``gamma``/``weight``/``scale``, ``beta``/``bias``/…;
    LayerNormalization's ``scale`` and ``center`` are booleans, RMSNormalization's ``scale`` is its γ), then
    by the names the numpy protocol knows (``g``, ``a_2``, ``b_2``, …), then, for unnamed trainable variables of
    the normalised shape, by their initial values (ones: γ, zeros: β), as the torch adapter does."""
    from verify.adapters.protocol.layernorm import _role_of

    found = {role: v for role, v in ((r, next((getattr(layer, n) for n in names
                                                if hasattr(getattr(layer, n, None), "assign")), None))
                                     for r, names in (("gamma", _GAMMA), ("beta", _BETA))) if v is not None}
    size = int(np.prod(shape))
    for v in layer.trainable_variables:
        if any(v is f for f in found.values()) or int(np.prod(v.shape)) != size:
            continue
        role = _role_of(str(getattr(v, "name", "")).rsplit("/", 1)[-1])
        if role is None:
            values = np.asarray(keras.ops.convert_to_numpy(v.value))
            role = "gamma" if np.all(values == 1) else "beta" if np.all(values == 0) else None
        if role is not None and role not in found:
            found[role] = v
    return found


def _takes_size(cls: type) -> bool:
    """Whether the constructor wants the number of features first (``MyLN(dim, eps=...)``, PyTorch's way)."""
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False
    first = params[0] if params else None
    return first is not None and first.kind in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD) \
        and first.default is first.empty and first.name not in ("epsilon", "eps", "axis")


def _own_call(layer: Any, base: type) -> bool:
    return getattr(type(layer).call, "__code__", None) is base.call.__code__


def _attained(factory: Any, rms: bool, eps: float) -> float | None:
    """The largest relative error of a fresh layer's output (γ = 1, β = 0) on a well-conditioned probe batch
    against the formula in float64: ~1e-16 for float64 arithmetic, ~1e-7 for float32, large for a layer that
    computes something else (whose checks then say what); ``None`` if the probe could not run."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 8)) * np.array([[1.0], [2.0], [0.5], [3.0]]) + np.array([[0.5], [-1.0], [2.0], [0.0]])

    def run() -> np.ndarray:
        layer = factory((8,), eps)
        layer.set_affine(np.ones(8), np.zeros(8))
        return layer.forward(x)

    try:
        y = probe(run, PROBE_SECONDS)
    except (TargetError, ProtocolError):
        return None
    c = x if rms else x - x.mean(axis=1, keepdims=True)
    want = c / np.sqrt((c * c).mean(axis=1, keepdims=True) + eps)
    err = float(np.max(np.abs(y - want)) / np.max(np.abs(want)))
    return err if np.isfinite(err) else None


def normlayer(obj: Any, request: Request, keras: Any) -> NormLayerSubject:
    """The subject for a Keras layer-norm / RMS-norm class (built per check), a ``functools.partial`` of one,
    or an instance (rebuilt from its config)."""
    target, rms = request.target, request.spec.name == "rmsnorm"
    bound = dict(obj.keywords) if isinstance(obj, functools.partial) else {}
    base = obj.func if isinstance(obj, functools.partial) else obj
    instance = None if inspect.isclass(base) else base
    cls = base if instance is None else type(base)
    shown = _shown(cls, bound)
    if instance is not None and not isinstance(instance, keras.layers.Layer) and callable(instance):
        name = f"{getattr(instance, '__module__', '') or ''}.{getattr(instance, '__qualname__', type(instance).__name__)}"
        raise TargetLoadError(f"target {target!r} ({name}) is a function, not a Keras layer: give a layer class "
                              "(keras.ops.layer_normalization and rms_normalization are checked through "
                              "keras.layers.LayerNormalization and RMSNormalization, which call them)")
    if not (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)):
        raise TargetLoadError(f"target {target!r} ({shown}) is not a Keras layer: give keras.layers."
                              "LayerNormalization, keras.layers.RMSNormalization, a subclass, or a keras.layers."
                              "Layer of your own")
    if isinstance(obj, functools.partial) and (obj.args or instance is not None):
        raise TargetLoadError(f"target {target!r}: give functools.partial(cls, keyword=...) of a layer class, with "
                              "keywords only")
    given_eps = "eps" in request.given
    names, var_kw = accepted_keywords(cls)
    eps_kw = next((k for k in ("epsilon", "eps") if k in names), "epsilon" if var_kw else None)
    positional = _takes_size(cls) and instance is None
    fixed_axis = instance is not None or "axis" in bound or not ("axis" in names or var_kw)
    config = call_target(f"{shown}.get_config()", instance.get_config) if instance is not None else None
    if config is not None and config.get("axis", -1) not in (-1, [-1], 1, [1]):
        raise TargetLoadError(f"target {target!r} normalises over axis {config.get('axis')!r}; the checks feed (N, D) "
                              "batches normalised per example (axis=-1)")
    if "axis" in bound and bound["axis"] not in (-1, [-1]):
        raise TargetLoadError(f"target {target!r} normalises over axis {bound['axis']!r}; the checks feed (N, D) "
                              "batches normalised per example (axis=-1)")

    def factory(shape: tuple[int, ...], eps: float) -> NormLayerInstance:
        if instance is not None:
            values = {**config, "dtype": "float64"}
            values.pop("name", None)
            if given_eps:
                values["epsilon"] = float(eps)
            where = f"{shown}.from_config({{...{f', epsilon={eps!r}' if given_eps else ''}, dtype='float64'}})"
            layer = call_target(where, cls.from_config, values)
        else:
            kwargs = dict(bound)
            if given_eps and eps_kw is not None:
                kwargs[eps_kw] = float(eps)
            if len(shape) > 1 and not fixed_axis:
                kwargs["axis"] = list(range(-len(shape), 0))
            if "dtype" in names or var_kw:
                kwargs["dtype"] = "float64"
            args = (int(shape[-1]),) if positional else ()
            where = f"{_shown(cls, {})}({', '.join([str(a) for a in args] + [f'{k}={v!r}' for k, v in kwargs.items()])})"
            layer = call_target(where, cls, *args, **kwargs)
        if not isinstance(layer, keras.layers.Layer):
            raise ProtocolError(f"{where} returned {describe_value(layer)}, not a Keras layer")
        built = (None, *shape)
        call_target(f"{where}.build({built})", layer.build, built)
        passed = {"eps": float(eps)} if given_eps and (instance is not None or eps_kw is not None) else {}
        return _KerasNormLayer(keras, layer, shown, tuple(shape), passed, precision["eps"])

    compute = str(keras.backend.result_type("float64", "float32"))
    precision = {"eps": float(np.finfo(np.dtype(compute)).eps)}
    backend = str(keras.backend.backend())
    first = factory((3,), float(request.params["eps"]))
    if getattr(first.layer, "rms_scaling", False) is True and _own_call(first.layer, keras.layers.LayerNormalization):
        raise TargetLoadError(
            f"target {target!r} has rms_scaling=True, which Keras 3 deprecates: it scales x by 1/√(var(x) + ε), the "
            "variance of x, not its mean square (keras-team/keras#21234), without centring x: neither a layer norm "
            "nor an RMS norm, so no spec checks it; use keras.layers.RMSNormalization (spec rmsnorm) or "
            "LayerNormalization without rms_scaling (spec layernorm)")
    found: dict[str, Held] = {}
    eps_source = first.hyper.get("eps", (None, "unknown"))
    if not given_eps and eps_source[1] == "read":
        where = "its config" if instance is not None else \
            f"a {shown} built without epsilon (its default)"
        found["eps"] = Held(float(eps_source[0]), "read", f"{where}, attribute {first.hyper_source['eps']!r}")
    eps = found["eps"].value if "eps" in found else float(request.params["eps"])
    attained = _attained(factory, rms, eps)
    if attained is not None and attained <= _ULPS * EPS64:
        precision["eps"], compute = EPS64, "float64"      # a subclass computing in float64: judged so
    elif attained is not None and attained <= _ULPS * EPS32 and precision["eps"] < EPS32:
        precision["eps"], compute = EPS32, "float32"      # float32 arithmetic inside a float64 dtype
    # never coarser than float32 from the probe: an error above float32's rounding is the checks' to explain
    seen = ("" if attained is None else
            f"; attained: relative error {attained:.2g} against float64 arithmetic on a probe batch")
    # several normalised axes only where the layer's call is Keras' own (which honours axis) or a layer of one's
    # own names axis: a subclass overriding call for the last axis is not failed for an axis it never promised
    keras_call = any(_own_call(first.layer, c) for c in (keras.layers.LayerNormalization,
                                                         keras.layers.RMSNormalization))
    ln_like = issubclass(cls, (keras.layers.LayerNormalization, keras.layers.RMSNormalization))
    takes_shape = not fixed_axis and not positional and (keras_call or not ln_like and "axis" in names)
    what = "an RMS norm" if rms else "a layer norm"
    mapping = [
        (f"a {shown} instance: rebuilt from its config, dtype float64" if instance is not None else
         f"{_shown(cls, {**bound, 'dtype': 'float64'})[:-1].replace('(', '(D, ' if positional else '(', 1)}"
         f"{', ' + eps_kw + '=ε' if given_eps and eps_kw else ''}) "
         "built for (N, D) batches "
         f"(axis=-1{'; a normalized_shape of k dimensions as axis=[-k, …, -1]' if takes_shape else ''})")
        + f" on the {backend} backend",
        ("ε: the run's, given explicitly" if given_eps else
         f"ε: the layer's own, {found['eps'].value:g}, read from {found['eps'].detail} and held (Keras' defaults: "
         "LayerNormalization 1e-3, RMSNormalization 1e-6)" if "eps" in found else
         "ε: the layer takes none and has no epsilon attribute: the spec's value is only an assumption"),
        f"affine parameters: {', '.join(first.affine) or 'none'} (Keras variables "
        f"{', '.join(getattr(first.variables[r], 'name', r) for r in first.affine) or '—'})",
        (f"precision: {'Keras computes' if keras_call else 'its call computes with keras.ops, which compute'} "
         f"{what} in result_type(float64, float32) = {compute} on the {backend} backend "
         f"whatever the layer's dtype (float64 variables, {compute} arithmetic): judged at {compute}'s rounding "
         f"(machine ε {precision['eps']:.3g}), not float64's{seen}" if compute != "float64" else
         f"precision: float64{seen}, judged at float64's rounding"),
        "backward: " + ("jax.vjp of the layer's stateless_call" if backend == "jax" else
                        "torch.autograd.grad through the layer call") + " for dx and the affine parameters",
    ]
    return NormLayerSubject(f"Keras {'RMS' if rms else 'layer'} norm {shown} ({backend} backend, {compute} "
                            f"arithmetic, {'jax.vjp' if backend == 'jax' else 'autograd'} backward)",
                            mapping=mapping, library="keras", factory=factory, has_backward=True,
                            takes_shape=takes_shape, takes=frozenset({"eps"}) if given_eps and eps_kw else frozenset(),
                            found=found, name=shown, built=instance is not None)
