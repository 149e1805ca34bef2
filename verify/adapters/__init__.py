"""Adapters: the target object -> the subject its spec's family checks (:mod:`verify.adapters.base`).

An ordered registry, :data:`ADAPTERS`: each entry names a module and its ``claim`` function, imported the
first time a run of one of the entry's families consults it. ``claim(request)`` returns the subject for the
object (the object is the adapter's) or ``None`` (it passes it on); the first claim wins. Library adapters
come first, each with a cheap test of whether an object is its library's; the numpy protocols
(:mod:`verify.adapters.protocol`) come last and claim whatever is left (refusing, with the reason, an object
that fits none of their shapes).

Adapter modules import no third-party library when they are imported (torch, jax and optax are imported
inside ``claim``, and only for an object that may be theirs), so checking numpy code never imports them.
Adding an adapter is one module with a ``claim`` and one entry here (``docs/architecture.md``).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Mapping

from verify.adapters.base import Request, Subject
from verify.errors import TargetLoadError
from verify.specs.base import Family, Spec

__all__ = ["adapt", "Adapter", "ADAPTERS", "Request"]


@dataclasses.dataclass(frozen=True)
class Adapter:
    """One registry entry: ``module``'s function ``claim`` offered the objects of ``families``."""

    name: str
    families: frozenset[Family]
    module: str
    claim: str = "claim"

    def load(self) -> Callable[[Request], Subject | None]:
        return getattr(importlib.import_module(self.module), self.claim)


_ALL_BUT_NEWTON = frozenset({Family.OPTIMIZER, Family.INITIALISER, Family.BIAS, Family.BATCHNORM, Family.LAYERNORM})

#: The adapters in the order they are asked; the numpy protocols last, as each family's fallback.
ADAPTERS: tuple[Adapter, ...] = (
    # Keras first: on the torch backend its layers are torch modules, which the torch adapter would claim.
    Adapter("keras optimizers", frozenset({Family.OPTIMIZER}), "verify.adapters.keras.optimizers"),
    Adapter("keras initializers", frozenset({Family.INITIALISER, Family.BIAS}), "verify.adapters.keras.initialisers"),
    Adapter("keras batch norm", frozenset({Family.BATCHNORM}), "verify.adapters.keras.batchnorm"),
    Adapter("keras layer norm", frozenset({Family.LAYERNORM}), "verify.adapters.keras.normlayers"),
    Adapter("torch", _ALL_BUT_NEWTON, "verify.adapters.torch_adapter"),
    Adapter("optax", frozenset({Family.OPTIMIZER}), "verify.adapters.optax_adapter"),
    Adapter("numpy optimizer protocol", frozenset({Family.OPTIMIZER}), "verify.adapters.protocol.optimizers"),
    Adapter("numpy initialiser protocol", frozenset({Family.INITIALISER, Family.BIAS}),
            "verify.adapters.protocol.initialisers"),
    Adapter("numpy batch-norm protocol", frozenset({Family.BATCHNORM}), "verify.adapters.protocol.batchnorm"),
    Adapter("numpy layer-norm protocol", frozenset({Family.LAYERNORM}), "verify.adapters.protocol.layernorm"),
    Adapter("numpy regulariser protocol", frozenset({Family.REGULARISER}), "verify.adapters.protocol.regularisers"),
    Adapter("numpy Newton protocol", frozenset({Family.NEWTON}), "verify.adapters.protocol.newton"),
    Adapter("torch gradient clipping", frozenset({Family.CLIPPING}), "verify.adapters.clip_libraries", "claim_torch"),
    Adapter("optax gradient clipping", frozenset({Family.CLIPPING}), "verify.adapters.clip_libraries", "claim_optax"),
    Adapter("numpy clipping protocol", frozenset({Family.CLIPPING}), "verify.adapters.protocol.clipping"),
)

#: What every subject of a family goes through once claimed, whichever adapter claimed it: ``module:function``
#: taking ``(subject, request)`` and returning the subject checks use.
FINISH: dict[Family, str] = {
    Family.BATCHNORM: "verify.adapters.batch_layout:finish",     # the batch layout the layer takes
    Family.LAYERNORM: "verify.adapters.norm_layout:finish",      # the input layout the layer takes
    Family.OPTIMIZER: "verify.adapters.mapping:one_tensor",      # LAMB's layer: one tensor
}


def adapt(obj: Any, spec: Spec, target: str, params: Mapping[str, Any], *, given: frozenset[str] = frozenset()
          ) -> Subject:
    """The subject for ``obj`` under ``spec``'s family protocol (``given``: hyperparameters given explicitly)."""
    request = Request(obj, spec, target, params, given)
    for adapter in ADAPTERS:
        if spec.family in adapter.families:
            subject = adapter.load()(request)
            if subject is not None:
                finish = FINISH.get(spec.family)
                if finish is not None:
                    module, name = finish.split(":")
                    subject = getattr(importlib.import_module(module), name)(subject, request)
                return subject
    raise TargetLoadError(f"no adapter for spec family {spec.family!r}")
