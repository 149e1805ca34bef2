"""Finite-difference gradient checking with estimated error bars.

``check_grad(f, grad, x)`` compares an analytic gradient with numerical
derivatives of ``f`` whose own error is *estimated* (Richardson extrapolation,
or the complex step when ``f`` is analytic), so the verdict is "wrong beyond
the error of the numerical derivative" rather than "outside rtol/atol".
For large ``x`` it uses a few random probes (cost independent of ``n``) and,
on failure, finds the wrong entries by bisection. See ``docs/gradcheck.md``.

Public names:

* :func:`check_grad`, :func:`assert_grad` -- scalar ``f``, ``grad(x)``;
* :func:`check_vjp`, :func:`assert_vjp` -- vector ``f``, ``vjp(x, dy)``;
* :func:`check_torch_grad` -- a torch function's autograd gradient;
* :func:`error_vs_step` -- the V-curve of central differences, for reports;
* :class:`GradCheckResult`, :class:`EntryError`, :class:`Kink`,
  :class:`TaylorResult` -- the result types; :class:`Options` -- the options.
"""

from ._check import InconclusiveGradCheck, assert_grad, assert_vjp, check_grad, check_vjp
from ._kinks import Kink
from ._options import Options
from ._result import EntryError, GradCheckResult
from ._taylor import TaylorResult
from ._torch import check_torch_grad
from ._vcurve import VCurve, error_vs_step

__all__ = [
    "check_grad",
    "check_vjp",
    "assert_grad",
    "assert_vjp",
    "check_torch_grad",
    "InconclusiveGradCheck",
    "GradCheckResult",
    "EntryError",
    "Kink",
    "TaylorResult",
    "Options",
    "VCurve",
    "error_vs_step",
]
