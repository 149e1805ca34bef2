"""Pick an adapter from what the target object is, and build its subject.

PyTorch and optax adapters are imported only when the object comes from (or
builds on) those libraries, so checking numpy code never imports them.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from verify.adapters import numpy_protocol
from verify.adapters.base import Subject
from verify.errors import TargetLoadError
from verify.targets import REFERENCE
from verify.specs.base import Family, Spec

__all__ = ["adapt", "is_torch_object"]


def is_torch_object(obj: Any) -> bool:
    """Whether ``obj`` is (or derives from) something defined in torch."""
    if "torch" not in sys.modules:
        return False
    classes = inspect.getmro(obj) if inspect.isclass(obj) else (type(obj),)
    modules = [getattr(c, "__module__", "") or "" for c in classes]
    modules.append(getattr(obj, "__module__", "") or "")
    return any(m == "torch" or m.startswith("torch.") for m in modules)


def adapt(obj: Any, spec: Spec, target: str, params: dict[str, Any], *, given: frozenset[str] = frozenset()
          ) -> Subject:
    """The subject for ``obj`` under ``spec``'s family protocol (``given``: hyperparameters given explicitly)."""
    family = spec.family
    if family == Family.OPTIMIZER:
        if is_torch_object(obj):
            from verify.adapters import torch_adapter
            if inspect.isclass(obj):
                return torch_adapter.optimizer(obj, spec, target)
            torch = torch_adapter.require_torch()
            if isinstance(obj, torch.optim.Optimizer):
                return torch_adapter.optimizer(type(obj), spec, target, instance=obj)
        from verify.adapters import optax_adapter   # imports neither jax nor optax

        if optax_adapter.is_optax_object(obj):
            return optax_adapter.optimizer(obj, spec, target)
        return numpy_protocol.optimizer(obj, target, spec, params, given=given)
    if family in (Family.INITIALISER, Family.BIAS):
        if is_torch_object(obj) or (callable(obj) and numpy_protocol.initialiser_calling(obj) == "tensor"):
            from verify.adapters import torch_adapter
            return torch_adapter.initialiser(obj, target)
        return numpy_protocol.initialiser(obj, target, layout=params.get("layout", "numpy"))
    if family == Family.BATCHNORM:
        from verify.adapters import batch_layout

        if is_torch_object(obj):
            from verify.adapters import torch_adapter
            subject = torch_adapter.batchnorm(obj, target, convention=params.get("convention", "auto"))
        else:
            subject = numpy_protocol.batchnorm(obj, target, convention=params.get("convention", "auto"))
        # the bundled reference takes (N, C) batches whatever the run asks of the target
        requested = "NC" if target == REFERENCE else params.get("batch_shape", "auto")
        return batch_layout.choose(subject, params["eps"], params["momentum"], requested)
    if family == Family.REGULARISER:
        return numpy_protocol.regulariser(obj, target)
    if family == Family.NEWTON:
        return numpy_protocol.newton(obj, target)
    raise TargetLoadError(f"no adapter for spec family {family!r}")
