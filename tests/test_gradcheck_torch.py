"""The PyTorch helper: autograd gradients checked with the same machinery."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from verify.gradcheck import check_torch_grad  # noqa: E402

pytestmark = pytest.mark.torch


def test_autograd_gradient_of_a_float64_function_passes_with_the_complex_step():
    x = torch.linspace(-2.0, 2.0, 50, dtype=torch.float64)
    result = check_torch_grad(lambda t: (torch.tanh(t) ** 2).sum(), x)
    assert result.passed, str(result)
    assert result.method == "complex step"
    assert result.n_grad_evals == 1


def test_a_custom_backward_with_a_missing_factor_two_is_diagnosed():
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return (t**2).sum()

        @staticmethod
        def backward(ctx, grad_out):
            (t,) = ctx.saved_tensors
            return grad_out * t  # should be 2 t

    result = check_torch_grad(Square.apply, torch.arange(1.0, 31.0, dtype=torch.float64))
    assert not result.passed
    assert "missing factor 2" in result.diagnosis


def test_a_float32_module_is_checked_to_float32_precision():
    torch.manual_seed(0)
    layer = torch.nn.Linear(12, 4)  # float32 parameters: float64 input is refused
    x = torch.randn(6, 12)
    fn = lambda t: torch.nn.functional.softplus(layer(t)).sum()  # noqa: E731
    # by default a 1e-6 resolution is asked for, which float32 cannot give;
    # float32 differences (noise ~7e-8 of |f| here) resolve ~1e-2 of a typical
    # entry of this gradient (entries ~0.1, |f| ~ 17 at n = 72)
    assert check_torch_grad(fn, x).inconclusive
    result = check_torch_grad(fn, x, resolution=5e-2)
    assert result.passed, str(result)
    assert any("float32" in note for note in result.notes)
    assert 1e-7 < result.attainable < 1e-2


def test_vector_outputs_are_checked_through_vjp():
    x = torch.linspace(-1.0, 1.0, 24, dtype=torch.float64).reshape(4, 6)
    result = check_torch_grad(lambda t: torch.softmax(t, dim=1), x)
    assert result.passed, str(result)
    assert result.n_grad_evals >= 1


def test_relu_at_zero_is_a_kink_not_a_failure():
    x = torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64)
    result = check_torch_grad(lambda t: torch.relu(t).sum(), x)
    assert result.passed
    assert "non-differentiable point at x[0]" in result.diagnosis


def test_numpy_input_is_accepted_and_n_evals_counts_calls():
    calls = []

    def fn(t):
        calls.append(t.dtype)
        return (t.sin() * t).sum()

    result = check_torch_grad(fn, np.linspace(0.1, 1.0, 9))
    assert result.passed
    # every call of fn except the one autograd forward pass is a finite-difference evaluation
    assert result.n_evals == len(calls) - result.n_grad_evals
