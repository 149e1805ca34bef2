"""Symbolic derivations of the specs' formulas, turned into numbers: one module per spec family.

Each public function derives one formula of ``shared/FORMULAS.md`` with sympy
(``diff``, ``solve``, ``reduce_inequalities``, ``integrate``, ``summation``,
``series``, ``rsolve``) — never by writing the final formula down — checks
inside the derivation that sympy's result has the property the derivation
claims, and returns a :class:`Derivation`: the sympy result, the derivation's
steps as text, and a numpy function (``sympy.lambdify``) of the result, so it
can be compared with ``reference`` or with a target at any numeric point.

These derivations are the *independent* source of expected values: the
statistical and convergence checks take their constants (initialisation
scales, the truncated-normal correction, kurtoses, convergence rates and
stability bounds) from here, not from ``reference``.

The modules mirror :mod:`verify.specs`: :mod:`~verify.symbolic.regularisers`,
:mod:`~verify.symbolic.newton`, :mod:`~verify.symbolic.initialisers`,
:mod:`~verify.symbolic.batchnorm`, :mod:`~verify.symbolic.layernorm`, :mod:`~verify.symbolic.optimizers`; the
type, the registry and the shared helpers are in :mod:`~verify.symbolic.base`.
A derivation is registered by the :func:`~verify.symbolic.base.derivation`
decorator; :data:`ALL` maps every name to the function that produces it.

Nothing is derived at import time: sympy is slow, so every derivation runs on
first use and is cached. If sympy ever returns something other than what a
derivation claims, the derivation raises :class:`DerivationError` naming the
step that failed.
"""

from __future__ import annotations

from verify.symbolic.base import ALL, Derivation, DerivationError, derivation, derivations, get, readable
from verify.symbolic.regularisers import (l1_derivative, l1_subgradient_at_zero, l2_gradient, l2_sgd_step,
                                          weight_decay_bound, weight_decay_factor)
from verify.symbolic.newton import (newton_exact_on_quadratic, newton_quadratic_convergence, newton_step_1d,
                                    newton_step_nd)
from verify.symbolic.initialisers import (KURTOSIS_DISTRIBUTIONS, excess_kurtosis, he_std, lecun_std,
                                          relu_second_moment, truncated_normal_std, uniform_bound, xavier_std)
from verify.symbolic.batchnorm import batchnorm_backward, batchnorm_output_variance, biased_variance_expectation
from verify.symbolic.layernorm import (layernorm_backward, normalisation_rescaling, rmsnorm_backward,
                                       rmsnorm_output_mean_square)
from verify.symbolic.optimizers import (adam_constant_gradient, decoupled_decay_iterates, gd_optimal_rate,
                                        gd_stability_bound, heavy_ball_optimal, heavy_ball_stability,
                                        momentum_iterates, nesterov_iterates, nesterov_optimal,
                                        rmsprop_constant_gradient)

__all__ = [
    "Derivation",
    "DerivationError",
    "derivation",
    "ALL",
    "derivations",
    "get",
    "readable",
    # regularisation
    "l2_gradient",
    "l2_sgd_step",
    "weight_decay_factor",
    "weight_decay_bound",
    "l1_derivative",
    "l1_subgradient_at_zero",
    # Newton
    "newton_step_1d",
    "newton_step_nd",
    "newton_exact_on_quadratic",
    "newton_quadratic_convergence",
    # initialisation
    "lecun_std",
    "relu_second_moment",
    "he_std",
    "xavier_std",
    "uniform_bound",
    "truncated_normal_std",
    "excess_kurtosis",
    "KURTOSIS_DISTRIBUTIONS",
    # batch norm
    "batchnorm_backward",
    "batchnorm_output_variance",
    "biased_variance_expectation",
    # layer norm, RMS norm
    "layernorm_backward",
    "rmsnorm_backward",
    "rmsnorm_output_mean_square",
    "normalisation_rescaling",
    # optimizers
    "momentum_iterates",
    "nesterov_iterates",
    "adam_constant_gradient",
    "gd_stability_bound",
    "gd_optimal_rate",
    "heavy_ball_optimal",
    "heavy_ball_stability",
    "nesterov_optimal",
    "rmsprop_constant_gradient",
    "decoupled_decay_iterates",
]
