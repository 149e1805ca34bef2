"""Checking a PyTorch function's autograd gradient with this checker.

Unlike ``torch.autograd.gradcheck`` (fixed ``eps=1e-6, atol=1e-5,
rtol=1e-3``), the tolerance here is the estimated error of the numerical
derivative, and float32 modules are differenced in float64 when they accept
it. torch is imported only when the helper is called.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._check import check_grad, check_vjp
from ._result import GradCheckResult

__all__ = ["check_torch_grad"]


def check_torch_grad(fn: Callable[[Any], Any], x: Any, **options: Any) -> GradCheckResult:
    """Check ``torch.autograd``'s gradient of ``fn`` at ``x``.

    ``fn`` maps one tensor to a tensor. A 0-d output is checked with
    :func:`check_grad` (gradient by ``torch.autograd.grad``); any other output
    with :func:`check_vjp` (``torch.autograd.grad`` with ``grad_outputs``).
    Finite differences call ``fn`` on tensors made from numpy arrays: float64
    (or complex128, for the complex step) when ``fn`` accepts them, else
    ``x``'s dtype.

    Args:
      fn: ``tensor -> tensor``, differentiable by autograd.
      x: the point: a tensor or an array (its dtype is kept for autograd).
      **options: as :func:`check_grad`.

    Returns:
      A :class:`GradCheckResult`; ``n_evals`` counts calls of ``fn`` made for
      the finite differences, ``n_grad_evals`` the forward+backward passes.

    Raises:
      verify.errors.MissingDependencyError: torch is not installed.

    >>> import torch  # doctest: +SKIP
    >>> check_torch_grad(lambda t: (t.sin() ** 2).sum(), torch.rand(5, dtype=torch.float64)).passed  # doctest: +SKIP
    True
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        from verify.errors import MissingDependencyError
        raise MissingDependencyError("check_torch_grad needs PyTorch: pip install torch") from None

    if isinstance(x, torch.Tensor):
        x_np = x.detach().cpu().numpy().copy()
    else:
        x_np = np.array(x)
    if x_np.dtype.kind not in "f":
        raise TypeError(f"x must be a floating-point tensor or array; got dtype {x_np.dtype}")

    def f(point: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = fn(torch.as_tensor(point))
        return _to_numpy(out)

    def forward(point: np.ndarray):
        t = torch.tensor(point, requires_grad=True)
        return t, fn(t)

    t0, y0 = forward(x_np)
    if not isinstance(y0, torch.Tensor):
        raise TypeError(f"fn(x) returned {type(y0).__name__}; expected a torch.Tensor")

    if y0.dim() == 0:
        first = {"done": False}

        def grad(point: np.ndarray) -> np.ndarray:
            if not first["done"] and point.shape == x_np.shape and np.array_equal(point, x_np):
                first["done"] = True
                t, y = t0, y0
            else:
                t, y = forward(point)
            (g,) = torch.autograd.grad(y, t, allow_unused=True)
            return np.zeros_like(point) if g is None else g.detach().cpu().numpy()

        return check_grad(f, grad, x_np, **options)

    def vjp(point: np.ndarray, dy: np.ndarray) -> np.ndarray:
        t, y = forward(point)
        (g,) = torch.autograd.grad(y, t, grad_outputs=torch.as_tensor(dy, dtype=y.dtype), allow_unused=True)
        return np.zeros_like(point) if g is None else g.detach().cpu().numpy()

    return check_vjp(f, vjp, x_np, **options)


def _to_numpy(out: Any) -> Any:
    if hasattr(out, "detach"):
        return out.detach().cpu().numpy()
    return out
