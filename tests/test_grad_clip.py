"""Spec grad-clip-norm: torch.nn.utils.clip_grad_norm_ (both kernels) and optax.clip_by_global_norm pass in their
own conventions, clipping written the way people write it passes (a list or a dict of gradients, returned or
scaled in place, with or without PyTorch's +1e-6), and per-tensor clipping and the other slips are named."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from tests.buggy.beyond import clip_per_tensor
from verify.results import Status
from verify.plan import RunPlan
from verify.runner import RunOptions, run_inline

FAST = RunOptions(max_examples=30, timeout=None)


def _run(target, overrides=None, checks=None):
    options = RunOptions(max_examples=30, timeout=None, checks=checks) if checks else FAST
    run = run_inline(RunPlan(target, "grad-clip-norm", overrides or {}, options))
    return run, {c.name: c for c in run.checks}


def _all_pass(run, checks):
    bad = {n: (c.status.value, c.message[:400]) for n, c in checks.items() if c.status not in (Status.PASS, Status.SKIP)}
    assert not bad, bad


# ------------------------------------------------------------------ the libraries


@pytest.mark.torch
@pytest.mark.parametrize("foreach", [False, True])
def test_torch_clip_grad_norm_passes_in_its_convention_with_both_kernels(foreach):
    torch = pytest.importorskip("torch")
    run, checks = _run(functools.partial(torch.nn.utils.clip_grad_norm_, foreach=foreach))
    _all_pass(run, checks)
    assert checks["returned-norm"].status is Status.PASS
    assert run.held["convention"]["value"] == "pytorch"
    assert "pytorch convention" in checks["conformance"].message


@pytest.mark.torch
def test_torch_clip_grad_norm_checked_as_optax_s_names_the_one_e_minus_6():
    torch = pytest.importorskip("torch")
    _, checks = _run(torch.nn.utils.clip_grad_norm_, {"convention": "optax"}, checks=("conformance",))
    assert checks["conformance"].status is Status.FAIL
    assert checks["conformance"].diagnosis.startswith("matches PyTorch's convention"), checks["conformance"].diagnosis


@pytest.mark.optax
def test_optax_clip_by_global_norm_passes_in_its_convention():
    optax = pytest.importorskip("optax")
    run, checks = _run(optax.clip_by_global_norm)
    _all_pass(run, checks)
    assert run.held["convention"]["value"] == "optax"
    assert checks["returned-norm"].status is Status.SKIP


# -------------------------------------------------------------- code as people write it


def clip_paper(grads, max_norm):
    """Pascanu et al.'s Algorithm 1 as a numpy function returning new arrays."""
    total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
    if total >= max_norm:
        return [g * (max_norm / total) for g in grads]
    return list(grads)


def clip_like_torch_in_place(grads, max_norm):
    """PyTorch's form written in numpy: the arrays scaled in place, the total norm returned."""
    total_norm = np.linalg.norm(np.array([np.linalg.norm(g) for g in grads]))
    clip_coef = max_norm / (total_norm + 1e-6)
    if clip_coef < 1:
        for g in grads:
            g *= clip_coef
    return total_norm


def clip_dict(grads, max_norm):
    """CS231n-style gradients in a dict, (clipped, norm) returned."""
    norm = np.sqrt(sum(np.sum(v * v) for v in grads.values()))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: v * scale for k, v in grads.items()}, norm


def clip_concat(grads, max_norm):
    """The norm of all entries concatenated (np.linalg.norm of a flat vector)."""
    flat = np.concatenate([g.ravel() for g in grads])
    n = np.linalg.norm(flat)
    return [g * max_norm / n for g in grads] if n > max_norm else grads


@pytest.mark.parametrize("target, convention", [
    (clip_paper, "optax"), (clip_like_torch_in_place, "pytorch"), (clip_dict, "optax"), (clip_concat, "optax"),
], ids=["paper", "torch-in-place", "dict", "concatenated"])
def test_correct_clipping_written_as_people_write_it_passes(target, convention):
    run, checks = _run(target)
    _all_pass(run, checks)
    assert f"it follows {convention}'s" in checks["conformance"].message or "pytorch and optax" in \
        checks["conformance"].message, checks["conformance"].message
    run, checks = _run(target, {"convention": convention}, checks=("conformance",))
    assert checks["conformance"].status is Status.PASS, checks["conformance"].message


def test_the_paper_form_checked_as_pytorch_s_is_named_as_optax_s_convention():
    _, checks = _run(clip_paper, {"convention": "pytorch"}, checks=("conformance",))
    assert checks["conformance"].status is Status.FAIL
    assert checks["conformance"].diagnosis.startswith("matches optax's convention"), checks["conformance"].diagnosis
    assert "--param convention=optax" in checks["conformance"].diagnosis


def test_per_tensor_clipping_is_named_by_conformance_and_by_the_direction_check():
    _, checks = _run(clip_per_tensor)
    assert checks["conformance"].status is Status.FAIL
    assert checks["conformance"].diagnosis.startswith("matches clipping per tensor"), checks["conformance"].diagnosis
    assert checks["direction-preserved"].status is Status.FAIL
    assert "per tensor" in checks["direction-preserved"].message


def clip_by_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads]


def clip_sum_of_norms(grads, max_norm):
    total = sum(np.linalg.norm(g) for g in grads)
    return [g * max_norm / total for g in grads] if total > max_norm else grads


def clip_squared(grads, max_norm):
    total = sum(np.sum(g * g) for g in grads)                     # the square root forgotten
    return [g * max_norm / total for g in grads] if total > max_norm else grads


def clip_max_entry(grads, max_norm):
    total = max(np.abs(g).max() for g in grads)
    return [g * max_norm / total for g in grads] if total > max_norm else grads


def clip_always(grads, max_norm):
    total = np.sqrt(sum(np.sum(g * g) for g in grads))
    return [g * max_norm / total for g in grads]


def clip_returns_clipped_norm(grads, max_norm):
    total = np.sqrt(sum(np.sum(g * g) for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))
    out = [g * scale for g in grads]
    return out, np.sqrt(sum(np.sum(g * g) for g in out))


@pytest.mark.parametrize("target, words", [
    (clip_by_value, "matches each entry clipped to [−max_norm, max_norm]"),
    (clip_sum_of_norms, "matches the sum of the tensors' norms"),
    (clip_squared, "matches the squared norm"),
    (clip_max_entry, "matches the norm taken as the largest |entry|"),
    (clip_always, "matches the gradients always rescaled to max_norm"),
], ids=["by-value", "sum-of-norms", "squared", "max-entry", "always"])
def test_slips_are_named(target, words):
    _, checks = _run(target, checks=("conformance",))
    assert checks["conformance"].status is Status.FAIL
    assert checks["conformance"].diagnosis.startswith(words), checks["conformance"].diagnosis


def test_a_returned_norm_after_clipping_is_named():
    _, checks = _run(clip_returns_clipped_norm, checks=("returned-norm",))
    assert checks["returned-norm"].status is Status.FAIL
    assert "it is the norm after clipping" in checks["returned-norm"].message


def test_zero_gradients_divided_without_a_guard_fail_the_edge_check():
    def unguarded(grads, max_norm):          # normalised, then scaled to min(n, max_norm): 0/0 at n = 0
        total = np.sqrt(sum(np.sum(g * g) for g in grads))
        return [g / total * min(total, max_norm) for g in grads]

    with np.errstate(all="ignore"):
        _, checks = _run(unguarded, checks=("edge-cases",))
    assert checks["edge-cases"].status is Status.FAIL
    assert "NaN" in checks["edge-cases"].message


@pytest.mark.optax
def test_a_built_optax_transformation_is_checked_at_the_max_norm_it_closes_over(tmp_path):
    pytest.importorskip("optax")
    (tmp_path / "built.py").write_text("import optax\ntx = optax.clip_by_global_norm(5.0)\n")
    run, checks = _run(f"{tmp_path / 'built.py'}:tx", checks=("conformance", "norm-after-clipping"))
    assert run.held["max_norm"]["value"] == 5.0 and run.held["max_norm"]["source"] == "read"
    _all_pass(run, checks)
